"""The span editor: a Streamlit custom component (v2) whose HTML, CSS and JavaScript are files in
``ui/components/span_editor/``, read here and passed in (no build step, nothing from a CDN).

The component's script is loaded from one blob URL, so it cannot import a sibling file; the editor's
pure logic (``editor_logic.js``, tested on its own with ``node --test``) is inlined where
``span_editor.js`` imports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import streamlit as st

COMPONENT_DIR = Path(__file__).resolve().parent / "components" / "span_editor"
COMPONENT_NAME = "ner_workbench.span_editor"
_LOGIC_IMPORT = re.compile(r'^import \{[^}]*\} from "\./editor_logic\.js";\n', re.MULTILINE)


def component_script() -> str:
    """``span_editor.js`` with ``editor_logic.js`` in place of its import (one module, as the browser loads it)."""
    script = (COMPONENT_DIR / "span_editor.js").read_text(encoding="utf-8")
    logic = (COMPONENT_DIR / "editor_logic.js").read_text(encoding="utf-8")
    inlined, count = _LOGIC_IMPORT.subn(lambda _match: logic + "\n", script, count=1)
    if count != 1:
        raise RuntimeError(f"{COMPONENT_DIR / 'span_editor.js'} no longer imports ./editor_logic.js as expected")
    return inlined


_span_editor = st.components.v2.component(
    COMPONENT_NAME,
    html=(COMPONENT_DIR / "span_editor.html").read_text(encoding="utf-8"),
    css=(COMPONENT_DIR / "span_editor.css").read_text(encoding="utf-8"),
    js=component_script(),
)


def visualize_span_editor(*, data: dict, on_message: Callable[[], None], key: str):
    """Mount the editor with ``data`` (:func:`ner_core.workbench.span_editing.editor_data`).

    The browser sends one trigger, ``message`` (``{"decisions": [...], "table": ... | None}``);
    ``on_message`` runs before the next run, reading it from ``st.session_state[key].message``.
    """
    return _span_editor(key=key, data=data, on_message_change=on_message, height="content")
