"""The token-tag editor of the annotate page: a token table whose tag column is edited within the model's
tag set, the sentence highlighted as tagged so far, and the reasons the tags cannot be saved yet."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from ner_core.workbench import annotation, render


def visualize_tag_editor(
    frame: pd.DataFrame, *, tokens: Sequence[str], tag_set: list[str], key: str
) -> tuple[list[str | None], list[annotation.Problem]]:
    """The editable ``frame`` (only its ``tag`` column can change) and the highlighted sentence below it.

    Returns the tags as edited (None for an empty cell) and every problem :func:`annotation.validate_correction`
    finds; offending tokens are marked in the highlight. ``key`` is the editor's widget key.
    """
    edited = st.data_editor(
        frame,
        key=key,
        hide_index=True,
        width="stretch",
        num_rows="fixed",
        height=min(720, 40 + 35 * len(frame)),
        disabled=[column for column in frame.columns if column != "tag"],
        column_config={
            "#": st.column_config.NumberColumn("#", width="small"),
            "confidence": st.column_config.NumberColumn("confidence", format="%.3f"),
            "tag": st.column_config.SelectboxColumn("corrected tag", options=tag_set, required=True),
        },
    )
    tags = annotation.edited_tags(edited["tag"])
    problems = annotation.validate_correction(tokens, tags, tag_set)
    marked = [p.position for p in problems if p.position is not None]
    st.html(render.highlight_tokens(list(tokens), [t or "O" for t in tags], marked_tokens=marked))
    return tags, problems


def show_problems(problems: Sequence[annotation.Problem]) -> None:
    st.warning("This correction cannot be saved yet:\n" + "\n".join(f"- {render.markdown_escape(p.message)}" for p in problems))
