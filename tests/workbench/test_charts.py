"""The figures behind the explorer's and the comparison's charts: what is drawn, on which scale, in which colour."""

from __future__ import annotations

import numpy
import pandas
import pytest

from ner_core.corpus import annotated
from ner_core.evaluation import scoring
from ner_core.workbench import charts, comparison, explore, render
from tests.helpers import make_sentence


@pytest.fixture
def sentences():
    return [
        make_sentence("Anna/B-per Berg/I-per visited/O Oslo/B-geo ./O", 1),
        make_sentence("Oslo/B-geo is/O big/O", 2),
        make_sentence("Acme/B-org hired/O Anna/B-per", 3),
    ]


@pytest.fixture
def evaluation():
    gold = [["B-per", "O", "B-geo", "O"], ["B-geo", "I-geo", "O"]]
    predicted = [["B-per", "O", "B-per", "O"], ["B-geo", "O", "O"]]
    return scoring.evaluate_tags(gold, predicted, max_len=8)


# --------------------------------------------------------------------------- data explorer


def test_tag_and_type_bars_count_from_zero_on_a_linear_axis_by_default(sentences):
    distribution = explore.tag_distribution(sentences)
    tags = charts.tag_bars(distribution)
    assert list(tags.data[0].x) == list(distribution["tag"]) and tags.layout.title.text == "Tokens per tag"
    assert tags.layout.yaxis.type == "linear" and tags.layout.yaxis.rangemode == "tozero"
    types = charts.type_bars(explore.entity_type_distribution(sentences))
    assert types.layout.yaxis.type == "linear" and types.layout.yaxis.rangemode == "tozero"
    colours = {trace.name: trace.marker.color for trace in types.data}
    assert colours == render.entity_palette(["per", "geo", "org"])
    assert {trace.name: list(trace.y) for trace in types.data} == {"per": [2], "geo": [2], "org": [1]}


def test_a_log_axis_is_an_option_with_a_tick_at_each_power_of_ten(sentences):
    for figure in (
        charts.tag_bars(explore.tag_distribution(sentences), log_y=True),
        charts.type_bars(explore.entity_type_distribution(sentences), log_y=True),
    ):
        axis = figure.layout.yaxis
        # dtick 1 on a log axis: 1, 10, 100...; "~s" writes them 1, 10, 100, 1k, 10k (SI, no trailing zeros).
        assert (axis.type, axis.dtick, axis.tickformat) == ("log", 1, "~s")
        assert axis.range[0] == 0 and 10 ** axis.range[1] > max(max(trace.y) for trace in figure.data)  # from 1 up


def test_tag_bars_take_their_types_colours_and_o_is_grey(sentences):
    distribution = explore.tag_distribution(sentences)
    figure = charts.tag_bars(distribution)
    palette = render.entity_palette(["per", "geo", "org"])
    expected = [render.OUTSIDE_COLOUR if tag == "O" else palette[tag[2:]] for tag in distribution["tag"]]
    assert list(figure.data[0].marker.color) == expected


def test_wnut_types_are_drawn_in_distinct_colours():
    wnut = [make_sentence("Acme/B-corporation sells/O Widget/B-product in/O Lima/B-location by/O Ann/B-person")]
    figure = charts.type_bars(explore.entity_type_distribution(wnut))
    colours = [trace.marker.color for trace in figure.data]
    assert len(colours) == 4 and len(set(colours)) == 4


def test_length_and_oov_bars(sentences):
    lengths = charts.length_bars(explore.length_histogram(sentences))
    assert list(lengths.data[0].x) == [3, 4, 5] and list(lengths.data[0].y) == [2, 0, 1]
    splits = annotated.DatasetSplits(train=sentences[:2], validation=sentences[2:], test=[])
    oov = charts.oov_bars(explore.oov_by_split(splits))
    assert list(oov.data[0].x) == ["train", "validation", "test"] and oov.layout.yaxis.tickformat == ".1%"
    assert oov.data[0].y[0] == 0 and oov.data[0].y[1] == pytest.approx(2 / 3)  # Acme, hired unseen; Anna known


def test_top_entity_bars_show_one_type_most_frequent_on_top(sentences):
    top = explore.top_entities(sentences)
    figure = charts.top_entity_bars(top, "geo")
    assert list(figure.data[0].y) == ["Oslo"] and list(figure.data[0].x) == [2]
    assert figure.data[0].marker.color == render.entity_palette(top["type"])["geo"]
    assert figure.layout.yaxis.autorange == "reversed" and figure.layout.title.text == "Most frequent geo entities"
    assert len(charts.top_entity_bars(top, "tim").data[0].y) == 0  # a type without entities draws no bar


def test_pos_heatmap_has_one_row_per_pos_tag_and_names_its_scale(sentences):
    sentences[0].pos = ["NNP", "NNP", "VBD", "NNP", "."]
    matrix = explore.pos_by_tag(sentences[:1], normalize=True)
    figure = charts.pos_heatmap(matrix, shares=True)
    assert list(figure.data[0].y) == list(matrix.index) and figure.layout.yaxis.dtick == 1
    assert figure.layout.height == 400 and figure.layout.coloraxis.colorbar.title.text == "share"
    assert charts.pos_heatmap(matrix, shares=False).layout.coloraxis.colorbar.title.text == "tokens"
    tall = pandas.DataFrame(numpy.ones((30, 2)), index=[f"P{i}" for i in range(30)], columns=["O", "B-geo"])
    assert charts.pos_heatmap(tall, shares=False).layout.height == 16 * 30 + 150


# --------------------------------------------------------------------------- model comparison


def test_per_type_bars_facet_by_measure_on_a_zero_to_one_axis(evaluation):
    figure = charts.per_type_bars(comparison.per_type_frame({"run-a": evaluation}))
    assert {annotation.text for annotation in figure.layout.annotations} == {"precision", "recall", "f1"}
    assert tuple(figure.layout.yaxis.range) == (0, 1)


def test_confusion_heatmap_counts_tokens_and_every_cell_takes_a_click(evaluation):
    frame = evaluation.confusion_frame()
    figure = charts.confusion_heatmap(frame)
    errors, correct, markers = figure.data
    assert (errors.type, correct.type) == ("heatmap", "heatmap") and errors.hoverinfo == correct.hoverinfo == "skip"
    assert markers.type == "scatter" and markers.marker.opacity == 0
    cells = len(frame.index) * len(frame.columns)
    assert len(markers.x) == len(markers.y) == cells
    shares = evaluation.confusion_frame(normalize=True)
    assert [tuple(cell) for cell in markers.customdata] == list(zip(frame.to_numpy().ravel(), shares.to_numpy().ravel()))
    assert "tokens" in markers.hovertemplate and "of gold" in markers.hovertemplate
    # The marker of row r, column c sits at (predicted c, gold r).
    assert (markers.x[1], markers.y[1]) == (frame.columns[1], frame.index[0])
    assert tuple(figure.layout.xaxis.range) == (-0.5, len(frame.columns) - 0.5)
    assert tuple(figure.layout.yaxis.range) == (len(frame.index) - 0.5, -0.5)
    assert figure.layout.height == charts.heatmap_height(list(frame.index))


def seventeen_tag_confusion() -> pandas.DataFrame:
    """GMB's 17 tags: O-to-O in the tens of thousands, correct entity tokens in the hundreds, errors up to 40."""
    labels = ["O"] + [f"{prefix}-{kind}" for kind in ("art", "eve", "geo", "gpe", "nat", "org", "per", "tim") for prefix in "BI"]
    counts = numpy.random.default_rng(0).integers(0, 30, size=(17, 17))
    numpy.fill_diagonal(counts, 600)
    counts[0, 0], counts[3, 5], counts[0, 7] = 80_000, 40, 35
    return pandas.DataFrame(counts, index=labels, columns=labels)


def test_the_colour_scale_runs_over_the_errors_not_the_diagonal():
    frame = seventeen_tag_confusion()
    errors, correct, _ = charts.confusion_heatmap(frame).data
    assert (errors.zmin, errors.zmax) == (0, 40)  # the largest error, not O-to-O's 80,000
    z = numpy.array(errors.z, dtype=float)
    assert numpy.isnan(numpy.diag(z)).all() and not numpy.isnan(z[~numpy.eye(17, dtype=bool)]).any()
    # The diagonal is drawn apart, in one grey, with its counts written in.
    assert correct.showscale is False and {colour for _, colour in correct.colorscale} == {charts.CORRECT_COLOUR}
    assert correct.text[0][0] == "80,000" and correct.text[1][1] == "600" and errors.text[0][0] == ""
    assert errors.text[3][5] == "40" and errors.text[0][7] == "35"


def test_shares_colour_each_cell_by_its_part_of_the_gold_row():
    frame = seventeen_tag_confusion()
    errors = charts.confusion_heatmap(frame, shares=True).data[0]
    shares = frame.to_numpy() / frame.to_numpy().sum(axis=1, keepdims=True)
    off_diagonal = shares[~numpy.eye(17, dtype=bool)]
    assert errors.zmax == pytest.approx(off_diagonal.max())
    assert errors.text[3][5] == f"{shares[3, 5]:.2f}"


def test_errors_only_leaves_out_o_and_the_diagonal_and_keeps_shares_of_the_whole_row():
    frame = seventeen_tag_confusion()
    figure = charts.confusion_heatmap(frame, errors_only=True)
    errors, markers = figure.data
    assert list(errors.y) == list(frame.index[1:]) and list(errors.x) == list(frame.columns[1:])
    assert errors.zmax == 40 and "O" not in set(markers.x) | set(markers.y)
    row = frame.loc["B-geo"]
    point = next(i for i, (x, y) in enumerate(zip(markers.x, markers.y)) if (y, x) == ("B-geo", "I-gpe"))
    assert tuple(markers.customdata[point]) == pytest.approx((row["I-gpe"], row["I-gpe"] / row.sum()))


def test_seventeen_tags_get_room_and_readable_text():
    frame = seventeen_tag_confusion()
    figure = charts.confusion_heatmap(frame)
    assert figure.layout.height == 40 * 17 + 160  # about 40 px a row
    assert figure.data[0].textfont.size == figure.layout.xaxis.tickfont.size == 12
    assert figure.layout.xaxis.tickangle == -45
    assert figure.data[2].marker.size >= 30  # the click target covers most of a cell
    assert charts.heatmap_font_size(["O", "B-per", "I-per"]) == 14


def test_the_difference_heatmap_uses_a_symmetric_scale(evaluation):
    other = scoring.evaluate_tags([["B-per", "O", "B-geo", "O"]], [["B-per", "O", "B-geo", "O"]], max_len=8)
    difference = comparison.confusion_difference(evaluation, other)
    figure = charts.confusion_difference_heatmap(difference)
    limit = float(difference.abs().to_numpy().max())
    assert limit > 0 and (figure.layout.coloraxis.cmin, figure.layout.coloraxis.cmax) == (-limit, limit)
    same = charts.confusion_difference_heatmap(comparison.confusion_difference(other, other))
    assert (same.layout.coloraxis.cmin, same.layout.coloraxis.cmax) == (-1, 1)  # all zero: a unit scale
    empty = charts.confusion_difference_heatmap(pandas.DataFrame())
    assert (empty.layout.coloraxis.cmin, empty.layout.coloraxis.cmax) == (-1, 1)


def test_heatmap_height_grows_with_the_labels():
    assert charts.heatmap_height([]) == 400
    assert charts.heatmap_height([str(i) for i in range(20)]) == 40 * 20 + 160


def test_error_bars_group_the_four_error_kinds_per_run(evaluation):
    frame = comparison.error_breakdown_frame({"run-a": evaluation, "run-b": evaluation})
    figure = charts.error_bars(frame)
    assert figure.layout.yaxis.rangemode == "tozero"
    assert [trace.name for trace in figure.data] == ["run-a", "run-b"]
    assert list(figure.data[0].x) == list(charts.ERROR_KINDS)
    assert list(figure.data[0].y) == [frame.iloc[0][kind] for kind in charts.ERROR_KINDS]


def test_learning_curves_draw_one_line_per_run_and_series():
    histories = {"run-a": {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7], "val_entity_f1": [0.2, 0.4]}}
    losses = charts.loss_curves(comparison.learning_curve_frame(histories))
    assert len(losses.data) == 2 and list(losses.data[0].y) == [0.9, 0.5]
    assert losses.layout.yaxis.title.text == "loss"
    scores = charts.score_curves(comparison.learning_curve_frame(histories, series=comparison.SCORE_SERIES))
    assert len(scores.data) == 1 and list(scores.data[0].y) == [0.2, 0.4]
    assert scores.layout.yaxis.title.text == "entity F1"
