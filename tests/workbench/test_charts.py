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


def test_tag_and_type_bars_draw_the_distributions_on_the_chosen_scale(sentences):
    tags = charts.tag_bars(explore.tag_distribution(sentences), log_y=True)
    assert list(tags.data[0].x) == list(explore.tag_distribution(sentences)["tag"])
    assert tags.layout.yaxis.type == "log" and tags.layout.title.text == "Tokens per tag"
    assert charts.tag_bars(explore.tag_distribution(sentences), log_y=False).layout.yaxis.type != "log"
    types = charts.type_bars(explore.entity_type_distribution(sentences), log_y=False)
    colours = {trace.name: trace.marker.color for trace in types.data}
    assert colours == {kind: render.entity_colour(kind) for kind in ("per", "geo", "org")}
    assert {trace.name: list(trace.y) for trace in types.data} == {"per": [2], "geo": [2], "org": [1]}


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
    assert figure.data[0].marker.color == render.entity_colour("geo")
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
    heatmap, markers = figure.data
    assert heatmap.type == "heatmap" and heatmap.hoverinfo == "skip"
    assert markers.type == "scatter" and markers.marker.opacity == 0
    cells = len(frame.index) * len(frame.columns)
    assert len(markers.x) == len(markers.y) == cells
    assert list(markers.customdata) == list(frame.to_numpy().ravel())
    # The marker of row r, column c sits at (predicted c, gold r).
    assert (markers.x[1], markers.y[1]) == (frame.columns[1], frame.index[0])
    assert tuple(figure.layout.xaxis.range) == (-0.5, len(frame.columns) - 0.5)
    assert tuple(figure.layout.yaxis.range) == (len(frame.index) - 0.5, -0.5)
    assert figure.layout.height == charts.heatmap_height(list(frame.index))


def test_share_and_difference_heatmaps_use_fixed_and_symmetric_scales(evaluation):
    shares = charts.confusion_share_heatmap(evaluation.confusion_frame(normalize=True))
    assert (shares.layout.coloraxis.cmin, shares.layout.coloraxis.cmax) == (0, 1)
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
    assert charts.heatmap_height([str(i) for i in range(20)]) == 32 * 20 + 150


def test_error_bars_group_the_four_error_kinds_per_run(evaluation):
    frame = comparison.error_breakdown_frame({"run-a": evaluation, "run-b": evaluation})
    figure = charts.error_bars(frame)
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
