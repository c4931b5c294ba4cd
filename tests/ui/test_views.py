"""The ui views take a keyword-only ``key`` that prefixes every widget key, so one view can appear twice on a page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def two_tag_editors():
    import pandas as pd

    from ui import tag_editor

    frame = pd.DataFrame({"#": [1, 2], "token": ["Anna", "slept"], "tag": ["I-per", "O"]})
    for key in ("left", "right"):
        tags, problems = tag_editor.visualize_tag_editor(
            frame, tokens=["Anna", "slept"], tag_set=["O", "B-per", "I-per"], key=key
        )
        if problems:
            tag_editor.show_problems(problems)


def two_exports():
    from types import SimpleNamespace

    from ner_core.store.database import Store
    from ui import saved_annotations

    saved = [SimpleNamespace(id=1, tokens=["Oslo", "."], tags=["B-geo", "O"])]
    store = Store("sqlite://")  # empty: the "as retraining uses them" scope would export nothing
    saved_annotations.visualize_export(saved, store=store, key="first")
    saved_annotations.visualize_export(saved, store=store, key="second")


def test_the_tag_editor_twice_keeps_two_editors_and_reports_problems_for_each():
    app = AppTest.from_function(two_tag_editors, default_timeout=30).run()
    assert not app.exception
    assert [editor.key for editor in app.data_editor] == ["left", "right"]
    assert len(app.warning) == 2 and all("token 1 ('Anna')" in w.value for w in app.warning)
    assert sum("ner-highlight" in m.value for m in app.html) == 2


def test_the_export_view_twice_has_its_own_format_per_key():
    app = AppTest.from_function(two_exports, default_timeout=30).run()
    assert not app.exception
    for key in ("first", "second"):
        app.radio(key=f"{key}_export_scope").set_value("all")
    app.radio(key="second_export_format").set_value("GMB CSV").run()
    assert app.radio(key="first_export_format").value == "CoNLL"
    assert app.code[0].value.startswith("Oslo\tB-geo\n.\tO")
    assert app.code[1].value.startswith("Sentence #,Word,POS,Tag\n")
