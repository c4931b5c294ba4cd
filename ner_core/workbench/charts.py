"""Plotly figures of the data explorer and the model comparison, built from the frames of
:mod:`ner_core.workbench.explore` and :mod:`ner_core.workbench.comparison`.

A page only places a figure (``st.plotly_chart(figure, key=...)``); what is drawn, on which
axes, in which colours and on what scale is decided here, so it can be checked without a
browser. Entity types keep the colours of :func:`ner_core.workbench.render.entity_colour`, the
same as in the highlighted sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas
import plotly.express as px
import plotly.graph_objects as go

from ner_core.workbench import render

ERROR_KINDS = ("missed", "spurious", "wrong_type", "wrong_boundary")
CONFUSION_LABELS = {"x": "predicted", "y": "gold"}

# --------------------------------------------------------------------------
# Data explorer
# --------------------------------------------------------------------------


def tag_bars(tags: pandas.DataFrame, *, log_y: bool) -> go.Figure:
    """Tokens per tag (:func:`explore.tag_distribution`); a log axis keeps the rare tags visible next to O."""
    return px.bar(tags, x="tag", y="tokens", log_y=log_y, hover_data=["share"], title="Tokens per tag")


def type_bars(types: pandas.DataFrame, *, log_y: bool) -> go.Figure:
    """Entities per type (:func:`explore.entity_type_distribution`), each bar in its type's colour."""
    return px.bar(
        types,
        x="type",
        y="entities",
        log_y=log_y,
        hover_data=["tokens", "share"],
        color="type",
        color_discrete_map={kind: render.entity_colour(kind) for kind in types["type"]},
        title="Entities per type",
    )


def length_bars(lengths: pandas.DataFrame) -> go.Figure:
    """Sentences per length (:func:`explore.length_histogram`)."""
    return px.bar(lengths, x="length", y="sentences", title="Sentence length (tokens)")


def top_entity_bars(top: pandas.DataFrame, entity_type: str) -> go.Figure:
    """The most frequent entities of one type (rows of :func:`explore.top_entities`), most frequent on top."""
    figure = px.bar(
        top[top["type"] == entity_type],
        x="count",
        y="entity",
        orientation="h",
        title=f"Most frequent {entity_type} entities",
        color_discrete_sequence=[render.entity_colour(entity_type)],
    )
    figure.update_yaxes(autorange="reversed")
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
    figure.update_yaxes(tickformat=".1%")
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


def heatmap_height(labels: Sequence[str]) -> int:
    """Pixels for a label x label heatmap: every row readable, never smaller than 400."""
    return max(400, 32 * len(labels) + 150)


def confusion_heatmap(frame: pandas.DataFrame) -> go.Figure:
    """Token counts of a gold x predicted confusion frame; every cell can be clicked (see :func:`make_cells_clickable`)."""
    figure = px.imshow(
        frame,
        text_auto=True,
        aspect="auto",
        color_continuous_scale="Blues",
        labels={**CONFUSION_LABELS, "color": "tokens"},
        height=heatmap_height(list(frame.index)),
    )
    make_cells_clickable(figure, frame)
    return figure


def confusion_share_heatmap(frame: pandas.DataFrame) -> go.Figure:
    """A row-normalised confusion frame (each gold row sums to 1), on a fixed 0-1 scale."""
    return px.imshow(
        frame.round(3),
        text_auto=True,
        aspect="auto",
        color_continuous_scale="Blues",
        zmin=0,
        zmax=1,
        labels={**CONFUSION_LABELS, "color": "share"},
        height=heatmap_height(list(frame.index)),
    )


def confusion_difference_heatmap(difference: pandas.DataFrame) -> go.Figure:
    """Run B minus run A (:func:`comparison.confusion_difference`) on a scale symmetric around zero."""
    values = difference.abs().to_numpy()
    limit = (float(values.max()) if values.size else 0.0) or 1.0
    return px.imshow(
        difference.round(3),
        text_auto=True,
        aspect="auto",
        color_continuous_scale="RdBu_r",
        zmin=-limit,
        zmax=limit,
        labels={**CONFUSION_LABELS, "color": "B - A"},
        height=heatmap_height(list(difference.index)),
    )


def make_cells_clickable(figure: go.Figure, frame: pandas.DataFrame) -> None:
    """Streamlit selects points, not heatmap cells: an invisible marker on each cell takes the click.

    A selected point's ``x`` is the predicted tag and its ``y`` the gold tag (read by :func:`comparison.clicked_cell`).
    """
    gold = [row for row in frame.index for _ in frame.columns]
    predicted = [column for _ in frame.index for column in frame.columns]
    figure.update_traces(hoverinfo="skip", selector={"type": "heatmap"})
    figure.add_trace(
        go.Scatter(
            x=predicted,
            y=gold,
            customdata=frame.to_numpy().ravel(),
            mode="markers",
            showlegend=False,
            marker={"size": 22, "opacity": 0, "symbol": "square"},
            hovertemplate="gold %{y}<br>predicted %{x}<br>%{customdata} tokens<extra></extra>",
        )
    )
    # Markers would pad the axes; keep them tight around the cells.
    figure.update_xaxes(range=[-0.5, len(frame.columns) - 0.5])
    figure.update_yaxes(range=[len(frame.index) - 0.5, -0.5])


def error_bars(breakdown: pandas.DataFrame) -> go.Figure:
    """Entities per error kind and run (:func:`comparison.error_breakdown_frame`)."""
    return px.bar(
        breakdown.melt(id_vars="run", value_vars=list(ERROR_KINDS), var_name="error", value_name="entities"),
        x="error",
        y="entities",
        color="run",
        barmode="group",
    )


def loss_curves(curves: pandas.DataFrame) -> go.Figure:
    """Training and validation loss per epoch and run (:func:`comparison.learning_curve_frame`)."""
    return px.line(curves, x="epoch", y="value", color="run", line_dash="series", markers=True, labels={"value": "loss"})


def score_curves(curves: pandas.DataFrame) -> go.Figure:
    """Validation entity F1 per epoch and run (:func:`comparison.learning_curve_frame` of the score series)."""
    return px.line(curves, x="epoch", y="value", color="run", markers=True, labels={"value": "entity F1"})
