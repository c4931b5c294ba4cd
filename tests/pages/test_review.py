"""Review and agreement page: saved annotations (list, export, import, edit), agreement, adjudication, guidelines."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from ner_core.settings import Settings
from ner_core.store.database import Store
from ner_core.store.tables import AnnotationGuidelines
from ner_core.workbench import adjudication, annotation_formats, guidelines
from ner_core.workbench.saved_annotations import training_annotations
from tests.helpers import page_app
from ui.annotation_queue import ANALYST_STATE

S1 = "Anna Berg visited Oslo ."
S2 = "Acme hired Peter in 2004 ."
VERSIONS = {
    ("ann", S1): "B-per I-per O B-geo O",
    ("bob", S1): "B-per O O B-geo O",
    ("ann", S2): "B-org O B-per O B-tim O",
    ("bob", S2): "B-org O B-per O B-tim O",
}
DATASET = hashlib.sha256(b"review page dataset").hexdigest()


@pytest.fixture
def fresh_store(empty_workspace):
    return Store(Settings.from_env().database_url)


def annotate(store, analyst, text, tags):
    return store.add_annotation(
        analyst=analyst,
        text=text,
        tokens=text.split(),
        tags=tags.split(),
        original_tags=["O"] * len(text.split()),
        model_run_id=None,
    )


def fill(store):
    return {key: annotate(store, key[0], key[1], tags) for key, tags in VERSIONS.items()}


def review_app(name="Rita"):
    app = page_app("review.py").run()
    if name:
        app.text_input(key="review_name").input(name).run()
    assert not app.exception
    return app


def html_of(app):
    return "\n".join(element.proto.body for element in app.get("html"))


def test_an_empty_workspace_shows_what_each_tab_needs(fresh_store):
    app = review_app(name="")
    assert [tab.label for tab in app.tabs] == ["Saved annotations", "Agreement", "Disagreements", "Guidelines"]
    infos = " ".join(info.value for info in app.info)
    assert "No annotations saved yet" in infos and "No sentence has been annotated by two or more analysts" in infos
    assert "No disagreements" in infos and "No dataset known yet" in infos
    assert not app.error


def test_saved_annotations_are_listed_exported_in_every_format_and_scope(fresh_store):
    fill(fresh_store)
    app = review_app()
    listing = next(d.value for d in app.dataframe if "analyst" in d.value.columns)
    assert sorted(zip(listing["analyst"], listing["text"])) == sorted((a, t) for a, t in VERSIONS)
    # Default scope: what retraining uses, one per sentence: S1 is unresolved, so only S2's agreed version.
    assert app.code[0].value == "Acme\tB-org\nhired\tO\nPeter\tB-per\nin\tO\n2004\tB-tim\n.\tO"
    app.radio(key="review_export_scope").set_value("all").run()
    assert app.code[0].value.count("\n\n") == 3  # four versions, blank line between
    app.radio(key="review_export_format").set_value("JSONL").run()
    lines = [json.loads(line) for line in app.code[0].value.splitlines()]
    assert [(line["meta"]["analyst"], line["text"]) for line in lines] == list(VERSIONS)
    assert lines[0]["spans"][0] == {"start": 0, "end": 9, "token_start": 0, "token_end": 1, "label": "per"}


def test_a_saved_annotation_can_be_edited_and_deleted(fresh_store):
    sentence_id = annotate(fresh_store, "Cy", S2, "B-org O B-per O B-tim O")
    app = review_app(name="Di")
    [chosen] = fresh_store.list_annotations()
    app.selectbox(key="review_saved_pick").set_value(chosen).run()
    [editor] = [e for e in app.data_editor if e.key.startswith(f"review_saved_editor_{sentence_id}_")]
    app.session_state[editor.key] = {"edited_rows": {2: {"tag": "O"}}, "added_rows": [], "deleted_rows": []}
    app.run()
    app.button(key="review_saved_update").click().run()
    assert not app.error
    [edited] = fresh_store.list_annotations()
    assert edited.tags == ["B-org", "O", "O", "O", "B-tim", "O"] and edited.analyst == "Di"

    app.selectbox(key="review_saved_pick").set_value(edited).run()
    assert app.button(key="review_saved_delete").disabled
    app.checkbox(key="review_saved_confirm").check().run()
    app.button(key="review_saved_delete").click().run()
    assert fresh_store.list_annotations() == []


def test_a_jsonl_file_is_imported_under_the_named_analyst_and_a_bad_one_refused_whole(fresh_store, tmp_path):
    fill(fresh_store)
    exported = annotation_formats.annotations_to_jsonl([a for a in fresh_store.list_annotations() if a.analyst == "ann"])
    app = review_app(name="Rita")
    app.file_uploader(key="review_import_file").set_value(
        ("bad.jsonl", exported.encode() + b'{"text": "x"}\n', "application/jsonl")
    )
    app.run()
    app.text_input(key="review_import_analyst").input("Eve").run()
    app.button(key="review_import").click().run()
    assert "line 3: missing field 'tokens', 'spans'" in app.error[0].value
    assert len(fresh_store.list_annotations()) == 4

    app.file_uploader(key="review_import_file").set_value(("good.jsonl", exported.encode(), "application/jsonl")).run()
    app.button(key="review_import").click().run()
    assert not app.exception and not app.error
    assert any("Imported 2 annotations from good.jsonl" in s.value for s in app.success)
    imported = [a for a in fresh_store.list_annotations() if a.source == "import"]
    assert [(a.analyst, a.text, a.tags) for a in imported] == [
        ("Eve", text, VERSIONS[("ann", text)].split()) for text in (S1, S2)
    ]


def test_agreement_tab_shows_the_pairs_f1_and_kappa(fresh_store):
    fill(fresh_store)
    app = review_app()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Sentences with 2+ analysts": "2", "Identical": "1", "Disagreements": "1", "Resolved": "0"}
    pairs = next(d.value for d in app.dataframe if "Cohen's kappa" in d.value.columns)
    row = pairs.iloc[0]
    assert (row["analyst A"], row["analyst B"], row["sentences"], row["identical"]) == ("ann", "bob", 2, 1)
    # Entities: ann per(Anna Berg), geo, org, per, tim = 5; bob per(Anna), geo, org, per, tim = 5; 4 match: F1 = 8/10.
    assert row["entity F1"] == pytest.approx(0.8)
    # 11 tokens, 10 agree (Berg). ann: B-per 2, I-per 1, B-geo 1, B-org 1, B-tim 1, O 5; bob: B-per 2, B-geo 1, B-org 1,
    # B-tim 1, O 6. pe = (2*2 + 0 + 1 + 1 + 1 + 5*6)/121 = 37/121; kappa = (110/121 - 37/121)/(84/121) = 73/84.
    assert row["Cohen's kappa"] == pytest.approx(73 / 84)
    per_type = next(d.value for d in app.dataframe if "pair" in d.value.columns)
    assert per_type.iloc[0]["pair"] == "ann / bob" and per_type.iloc[0]["per"] == pytest.approx(0.5)


def test_a_reviewer_picks_a_version_and_retraining_uses_it_then_reopens(fresh_store):
    ids = fill(fresh_store)
    app = review_app(name="Rita")
    assert app.selectbox(key="review_sentence").value == S1
    page = html_of(app)
    # Where they differ: ann's person "Anna Berg" is outlined, bob's stray "Berg" underlined.
    assert 'class="entity flagged" data-type="per"' in page and '<u style="text-decoration-color:red">Berg</u>' in page
    app.button(key=f"review_pick_{ids[('bob', S1)]}").click().run()
    assert not app.error
    assert any("The version of bob is now final" in s.value for s in app.success)
    final = {a.text: a for a in training_annotations(fresh_store)}[S1]
    assert (final.tags, final.analyst, final.source) == (VERSIONS[("bob", S1)].split(), "Rita", "adjudicated")
    assert any("Every disagreement is resolved" in s.value for s in app.success)

    app.radio(key="review_show").set_value("resolved").run()
    assert any("Final version" in m.value and "picked by Rita" in m.value for m in app.markdown)
    app.button(key="review_reopen").click().run()
    assert adjudication.decisions(fresh_store) == {}
    assert S1 not in {a.text for a in training_annotations(fresh_store)}


def test_a_reviewer_edits_a_final_version_and_bad_iob2_or_no_name_is_refused(fresh_store):
    fill(fresh_store)
    app = review_app(name="")
    [editor] = [e for e in app.data_editor if e.key.startswith("review_final_editor_")]
    assert list(editor.value.columns) == ["#", "token", "by ann", "by bob", "tag"]
    app.button(key="review_final_save").click().run()
    assert "name as reviewer" in app.error[0].value and adjudication.decisions(fresh_store) == {}

    app.text_input(key="review_name").input("Sam").run()
    [editor] = [e for e in app.data_editor if e.key.startswith("review_final_editor_")]
    app.session_state[editor.key] = {"edited_rows": {0: {"tag": "I-per"}}, "added_rows": [], "deleted_rows": []}
    app.run()
    assert "cannot be saved yet" in app.warning[0].value
    app.button(key="review_final_save").click().run()
    assert "not saved" in app.error[0].value and adjudication.decisions(fresh_store) == {}

    [editor] = [e for e in app.data_editor if e.key.startswith("review_final_editor_")]
    app.session_state[editor.key] = {
        "edited_rows": {0: {"tag": "B-per"}, 1: {"tag": "O"}, 3: {"tag": "B-org"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    app.button(key="review_final_save").click().run()
    assert not app.error
    decision = adjudication.decisions(fresh_store)[S1]
    assert (decision.final.tags, decision.reviewer, decision.picked_annotation_id) == (
        ["B-per", "O", "O", "B-org", "O"],
        "Sam",
        None,
    )


def test_guidelines_are_saved_with_their_editor_and_history(fresh_store):
    fresh_store.register_dataset(name="news.csv", sha256=DATASET, path="/x/news.csv", format="gmb_csv", sentences=1, tokens=1)
    app = review_app(name="")
    [area] = [t for t in app.text_area if t.key.startswith("review_guidelines_text_")]
    area.input("# Persons\nTitles are **not** part of a per entity. <script>alert(1)</script>").run()
    app.button(key="review_guidelines_save").click().run()
    assert "enter your name" in app.error[0].value and guidelines.current_guidelines(fresh_store, DATASET) is None

    app.text_input(key="review_name").input("Ada").run()
    app.button(key="review_guidelines_save").click().run()
    assert not app.error
    saved = guidelines.current_guidelines(fresh_store, DATASET)
    assert saved.editor == "Ada" and saved.markdown.startswith("# Persons\nTitles are **not**")
    assert any("Saved the guidelines of news.csv" in s.value for s in app.success)
    assert any("by Ada" in c.value for c in app.caption)


def test_the_annotate_page_shows_the_datasets_guidelines_beside_the_queue(trained_run, store):
    run = store.get_run(trained_run.run_id)
    version = guidelines.save_guidelines(
        store, dataset_sha256=run.dataset_sha256, markdown="# Places\n**Cities** are geo, <b>never</b> gpe.", editor="Ada"
    )
    try:
        app = page_app("annotate.py")
        app.session_state[ANALYST_STATE] = "Ada"  # the page asks for the analyst's name first
        app.run()
    finally:  # the session's store is shared: leave no guidelines behind for the other annotate tests
        store.write(lambda session: session.execute(sa.delete(AnnotationGuidelines).where(AnnotationGuidelines.id == version)))
    assert not app.exception
    [expander] = [e for e in app.expander if e.label == "Annotation guidelines"]
    shown = [m.value for m in expander.markdown]
    assert "#### Places\n**Cities** are geo, <b>never</b> gpe." in shown  # the heading sized for the side panel
    assert not any(m.proto.allow_html for m in expander.markdown)  # team Markdown, never unsafe HTML
