"""Plotly figures of the data explorer and the model comparison, built from the frames of
:mod:`ner_core.workbench.explore` and :mod:`ner_core.workbench.comparison`.

A page only places a figure (``st.plotly_chart(figure, key=...)``); what is drawn, on which
axes, in which colours and on what scale is decided here, so it can be checked without a
browser. Entity types take their colours from :func:`ner_core.workbench.render.entity_palette`,
the same as in the highlighted sentences.

Counts are drawn on a linear axis from zero unless a log axis is asked for: a log axis makes a
bar of 100 look half as tall as one of 10,000, which reads as "about the same". On a log axis every
tick is a power of ten, written 1, 10, 100, 1k, 10k (never "5, 2, 1000, 5, 2").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy
import pandas
import plotly.express as px
import plotly.graph_objects as go

from ner_core.corpus import tags as tagging
from ner_core.workbench import render

ERROR_KINDS = ("missed", "spurious", "wrong_type", "wrong_boundary")
CONFUSION_LABELS = {"x": "predicted", "y": "gold"}

# --------------------------------------------------------------------------
# Data explorer
# --------------------------------------------------------------------------


def count_axis(figure: go.Figure, *, log_y: bool) -> go.Figure:
    """A count axis: linear from zero, or log from 1 with a tick at each power of ten (1, 10, 100, 1k...).

    A log axis cannot start at zero; starting it at 1, not at the smallest bar, keeps a bar of 200
    from looking like nothing next to one of 2,000.
    """
    if log_y:
        counts = [float(value) for trace in figure.data for value in (trace.y if trace.y is not None else ())]
        top = max([value for value in counts if value > 0], default=10.0)
        figure.update_yaxes(type="log", dtick=1, tickformat="~s", range=[0, math.log10(top) * 1.05 + 0.05])
    else:
        figure.update_yaxes(type="linear", rangemode="tozero", tickformat="~s")
    return figure


def tag_colours(tag_names: Sequence[str]) -> dict[str, str]:
    """Tag -> its entity type's colour (B- and I- alike), O in grey: one palette over the tags' types."""
    palette = render.entity_palette(tagging.split_tag(tag)[1] for tag in tag_names if tagging.split_tag(tag)[1])
    return {tag: palette.get(tagging.split_tag(tag)[1], render.OUTSIDE_COLOUR) for tag in tag_names}


def tag_bars(tags: pandas.DataFrame, *, log_y: bool = False) -> go.Figure:
    """Tokens per tag (:func:`explore.tag_distribution`), each bar in its type's colour."""
    figure = px.bar(tags, x="tag", y="tokens", hover_data=["share"], title="Tokens per tag")
    colours = tag_colours(list(tags["tag"]))
    figure.update_traces(marker_color=[colours[tag] for tag in tags["tag"]])
    return count_axis(figure, log_y=log_y)


def type_bars(types: pandas.DataFrame, *, log_y: bool = False) -> go.Figure:
    """Entities per type (:func:`explore.entity_type_distribution`), each bar in its type's colour."""
    figure = px.bar(
        types,
        x="type",
        y="entities",
        hover_data=["tokens", "share"],
        color="type",
        color_discrete_map=render.entity_palette(types["type"]),
        title="Entities per type",
    )
    return count_axis(figure, log_y=log_y)


def length_bars(lengths: pandas.DataFrame) -> go.Figure:
    """Sentences per length (:func:`explore.length_histogram`)."""
    return count_axis(px.bar(lengths, x="length", y="sentences", title="Sentence length (tokens)"), log_y=False)


def top_entity_bars(top: pandas.DataFrame, entity_type: str) -> go.Figure:
    """The most frequent entities of one type (rows of :func:`explore.top_entities`), most frequent on top,
    in the type's colour among all the types of ``top`` (as in the entities-per-type chart)."""
    palette = render.entity_palette([*top["type"], entity_type])
    figure = px.bar(
        top[top["type"] == entity_type],
        x="count",
        y="entity",
        orientation="h",
        title=f"Most frequent {entity_type} entities",
        color_discrete_sequence=[palette[entity_type]],
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(rangemode="tozero")
    return figure


def pos_heatmap(matrix: pandas.DataFrame, *, shares: bool) -> go.Figure:
    """POS x tag counts or shares (:func:`explore.pos_by_tag`), one readable row per POS tag."""
    figure = px.imshow(
        matrix,
        aspect="auto",
        color_continuous_scale="Blues",
        labels={"color": "share" if shares else "tokens"},
        title="Part of speech by NER tag",
    )
    figure.update_layout(height=max(400, 16 * len(matrix) + 150))
    figure.update_yaxes(dtick=1)
    return figure


def oov_bars(oov: pandas.DataFrame) -> go.Figure:
    """OOV rate per split (:func:`explore.oov_by_split`) as percentages."""
    figure = px.bar(oov, x="split", y="oov_rate", hover_data=["tokens", "oov_tokens"], title="OOV rate per split")
    figure.update_yaxes(tickformat=".1%", rangemode="tozero")
    return figure


# --------------------------------------------------------------------------
# Model comparison
# --------------------------------------------------------------------------


def per_type_bars(frame: pandas.DataFrame) -> go.Figure:
    """Precision, recall and F1 per entity type and run (:func:`comparison.per_type_frame`), one facet per measure."""
    figure = px.bar(
        frame, x="type", y="value", color="run", barmode="group", facet_col="measure", hover_data=["support"], range_y=[0, 1]
    )
    figure.for_each_annotation(lambda annotation: annotation.update(text=annotation.text.split("=")[-1]))
    return figure


CORRECT_COLOUR = "#e6e6e6"  # diagonal cells: counted and labelled, but never on the error colour scale


def heatmap_height(labels: Sequence[str]) -> int:
    """Pixels for a label x label heatmap: rows about 40 px high (cell text fits), never smaller than 400."""
    return max(400, 40 * len(labels) + 160)


def heatmap_font_size(labels: Sequence[str]) -> int:
    """Cell and tick text size: 14 px for a few tags, shrinking to 11 px past 20 so numbers stay inside cells."""
    count = len(labels)
    return 14 if count <= 8 else 13 if count <= 12 else 12 if count <= 20 else 11


def _readable_axes(figure: go.Figure, labels: Sequence[str]) -> go.Figure:
    size = heatmap_font_size(labels)
    # No grid: its lines would show through the cells left blank (the diagonal when errors only are shown).
    figure.update_xaxes(
        type="category", tickfont_size=size, tickangle=-45 if len(labels) > 10 else 0, title="predicted", showgrid=False
    )
    figure.update_yaxes(type="category", tickfont_size=size, title="gold", showgrid=False)
    figure.update_layout(height=heatmap_height(labels), font_size=size, margin={"t": 30})  # no title to make room for
    return figure


def row_shares(counts: pandas.DataFrame) -> pandas.DataFrame:
    """Each cell as a share of its gold row (a row without tokens is all zeros, never NaN)."""
    totals = counts.sum(axis=1).to_numpy(dtype=float)[:, None]
    values = numpy.divide(counts.to_numpy(dtype=float), totals, out=numpy.zeros(counts.shape), where=totals > 0)
    return pandas.DataFrame(values, index=counts.index, columns=counts.columns)


def _cell_text(values: pandas.DataFrame, *, shares: bool) -> numpy.ndarray:
    """Cell labels: counts with thousands separators, shares to two places; empty for zero (a blank is "none")."""
    flat = [
        "" if not value or numpy.isnan(value) else f"{value:.2f}" if shares else f"{int(round(value)):,}"
        for value in values.to_numpy(dtype=float).ravel()
    ]
    return numpy.array(flat, dtype=object).reshape(values.shape)


def confusion_heatmap(counts: pandas.DataFrame, *, shares: bool = False, errors_only: bool = False) -> go.Figure:
    """A gold x predicted confusion frame of token counts, read at a glance at any number of tags.

    The colour scale runs over the off-diagonal cells only: correct tokens (O-to-O above all) would
    otherwise take the whole scale and leave every error pale. Diagonal cells are grey with their
    number. ``shares`` colours and labels each cell by its share of the gold row instead of tokens;
    ``errors_only`` leaves out the O row and column and the diagonal. Hovering a cell gives its
    tokens and row share either way, and every cell takes a click (:func:`make_cells_clickable`).
    """
    counts = counts.astype(float)
    share = row_shares(counts)  # of the whole gold row, O included, even when O is hidden
    if errors_only:
        kept = [label for label in counts.index if label != tagging.OUTSIDE]
        counts, share = counts.loc[kept, kept], share.loc[kept, kept]
    values = share if shares else counts
    diagonal = numpy.equal.outer(numpy.asarray(values.index), numpy.asarray(values.columns))
    errors = values.mask(diagonal)
    top = float(numpy.nanmax(errors.to_numpy())) if errors.notna().to_numpy().any() else 0.0
    text = _cell_text(values, shares=shares)
    labels = list(values.index)
    figure = go.Figure()
    figure.add_trace(
        go.Heatmap(
            z=errors.to_numpy(),
            x=list(values.columns),
            y=labels,
            zmin=0,
            zmax=top or 1.0,
            colorscale="Blues",
            colorbar={"title": {"text": "share of gold row" if shares else "tokens"}},
            text=numpy.where(diagonal, "", text),
            texttemplate="%{text}",
            textfont={"size": heatmap_font_size(labels)},
            name="errors",
        )
    )
    if not errors_only:
        figure.add_trace(
            go.Heatmap(
                z=values.where(diagonal).to_numpy(),
                x=list(values.columns),
                y=labels,
                colorscale=[[0, CORRECT_COLOUR], [1, CORRECT_COLOUR]],
                showscale=False,
                text=numpy.where(diagonal, text, ""),
                texttemplate="%{text}",
                textfont={"size": heatmap_font_size(labels)},
                name="correct",
            )
        )
    _readable_axes(figure, labels)
    make_cells_clickable(figure, counts, share)
    return figure


def confusion_difference_heatmap(difference: pandas.DataFrame) -> go.Figure:
    """Run B minus run A (:func:`comparison.confusion_difference`) on a scale symmetric around zero."""
    values = difference.abs().to_numpy()
    limit = (float(values.max()) if values.size else 0.0) or 1.0
    figure = px.imshow(
        difference.round(3),
        text_auto=True,
        aspect="auto",
        color_continuous_scale="RdBu_r",
        zmin=-limit,
        zmax=limit,
        labels={**CONFUSION_LABELS, "color": "B - A"},
    )
    return _readable_axes(figure, list(difference.index))


def make_cells_clickable(figure: go.Figure, counts: pandas.DataFrame, shares: pandas.DataFrame | None = None) -> None:
    """Streamlit selects points, not heatmap cells: an invisible marker on each cell takes the click and the hover.

    A selected point's ``x`` is the predicted tag and its ``y`` the gold tag (read by
    :func:`comparison.clicked_cell`); its ``customdata`` is the cell's (tokens, share of the gold row).
    """
    shares = row_shares(counts) if shares is None else shares
    gold = [row for row in counts.index for _ in counts.columns]
    predicted = [column for _ in counts.index for column in counts.columns]
    cell_px = (heatmap_height(list(counts.index)) - 160) / max(1, len(counts.index))
    figure.update_traces(hoverinfo="skip", selector={"type": "heatmap"})
    figure.add_trace(
        go.Scatter(
            x=predicted,
            y=gold,
            customdata=numpy.column_stack([counts.to_numpy().ravel(), shares.to_numpy().ravel()]),
            mode="markers",
            showlegend=False,
            marker={"size": max(12, min(36, int(cell_px * 0.8))), "opacity": 0, "symbol": "square"},
            hoverlabel={"bgcolor": "white", "font": {"color": "#262730"}},  # the invisible marker would make it blank
            hovertemplate="gold %{y}<br>predicted %{x}<br>%{customdata[0]:,.0f} tokens, "
            "%{customdata[1]:.1%} of gold %{y}<extra></extra>",
        )
    )
    # Markers would pad the axes; keep them tight around the cells.
    figure.update_xaxes(range=[-0.5, len(counts.columns) - 0.5])
    figure.update_yaxes(range=[len(counts.index) - 0.5, -0.5])


def error_bars(breakdown: pandas.DataFrame) -> go.Figure:
    """Entities per error kind and run (:func:`comparison.error_breakdown_frame`), from zero."""
    figure = px.bar(
        breakdown.melt(id_vars="run", value_vars=list(ERROR_KINDS), var_name="error", value_name="entities"),
        x="error",
        y="entities",
        color="run",
        barmode="group",
    )
    return count_axis(figure, log_y=False)


def loss_curves(curves: pandas.DataFrame) -> go.Figure:
    """Training and validation loss per epoch and run (:func:`comparison.learning_curve_frame`)."""
    figure = px.line(curves, x="epoch", y="value", color="run", line_dash="series", markers=True, labels={"value": "loss"})
    figure.update_yaxes(rangemode="tozero")
    return figure


def score_curves(curves: pandas.DataFrame) -> go.Figure:
    """Validation entity F1 per epoch and run (:func:`comparison.learning_curve_frame` of the score series)."""
    figure = px.line(curves, x="epoch", y="value", color="run", markers=True, labels={"value": "entity F1"})
    figure.update_yaxes(range=[0, 1])
    return figure
