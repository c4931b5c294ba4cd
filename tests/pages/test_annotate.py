"""Annotate: the review queue, token corrections, IOB2 checks, saved annotations, export."""

from __future__ import annotations

from ner_core.workbench import annotation
from tests.helpers import page_app

TYPED = "Anna Berg visited Oslo on Monday ."
TYPED_TAGS = ["B-per", "I-per", "O", "B-geo", "O", "B-tim", "O"]


def edit_all(app, tags):
    """Seed the (only) tag editor with one chosen tag per row, as a user's cell edits."""
    [editor] = [e for e in app.data_editor if e.key and e.key.startswith("annotate_editor_")]
    app.session_state[editor.key] = {
        "edited_rows": {i: {"tag": tag} for i, tag in enumerate(tags)},
        "added_rows": [],
        "deleted_rows": [],
    }
    return editor


def typed_app(text: str, analyst: str = "Ada"):
    app = page_app("annotate.py").run()
    app.radio(key="annotate_source").set_value("typed").run()
    app.text_area(key="annotate_text").input(text).run()
    app.text_input(key="annotate_analyst").input(analyst).run()
    assert not app.exception
    return app


def saved_with_text(store, text):
    return [a for a in store.list_annotations() if a.text == text]


def test_annotate_on_an_empty_store_says_to_train_first(empty_workspace):
    app = page_app("annotate.py").run()
    assert not app.exception
    assert any("Training runs page" in info.value for info in app.info)


def test_queue_of_test_sentences_is_ordered_least_confident_first(trained_run):
    app = page_app("annotate.py").run()
    assert not app.exception
    assert app.selectbox(key="annotate_run").value.id == trained_run.run_id
    queue = app.dataframe[0].value
    assert len(queue) == 25  # the default queue length; the sample's test split is larger
    assert list(queue["confidence"]) == sorted(queue["confidence"])
    assert any("minimum token confidence" in caption.value for caption in app.caption)
    editor = next(e for e in app.data_editor if e.key.startswith("annotate_editor_"))
    assert list(editor.value.columns) == ["#", "token", "predicted", "confidence", "tag"]
    assert app.radio(key="annotate_measure").set_value("mean").run().exception == []


def test_an_uploaded_text_file_becomes_the_pool_and_binaries_are_refused(trained_run):
    app = page_app("annotate.py").run()
    app.radio(key="annotate_source").set_value("upload").run()
    app.file_uploader(key="annotate_upload").set_value(
        ("news.txt", b"Anna Berg visited Oslo. Peter met Lima officials on Monday.", "text/plain")
    ).run()
    assert not app.exception and not app.error
    queue = app.dataframe[0].value
    assert sorted(queue["sentence"]) == ["Anna Berg visited Oslo.", "Peter met Lima officials on Monday."]
    assert list(queue["confidence"]) == sorted(queue["confidence"])
    app.file_uploader(key="annotate_upload").set_value(("blob.txt", b"\x00\x01\x02", "text/plain")).run()
    assert "binary" in app.error[0].value


def test_a_corrected_sentence_is_saved_with_analyst_original_and_corrected_tags(trained_run, store):
    app = typed_app(TYPED, analyst="Ada Lovelace")
    editor = edit_all(app, TYPED_TAGS)
    predicted = list(editor.value["predicted"])
    app.run()
    assert not app.warning  # valid IOB2: nothing to complain about
    app.button(key="annotate_save").click().run()
    assert not app.exception and not app.error
    [saved] = saved_with_text(store, TYPED)
    assert saved.analyst == "Ada Lovelace"
    assert saved.tokens == TYPED.split()
    assert saved.tags == TYPED_TAGS
    assert saved.original_tags == predicted
    assert saved.model_run_id == trained_run.run_id and saved.source == "typed"
    assert any(f"Saved annotation #{saved.id}" in s.value for s in app.success)
    # The sentence leaves the queue, and the saved list shows it.
    assert any("Every sentence of this pool is annotated" in s.value for s in app.success)
    assert any(c.value.startswith("1 sentences in the pool, 1 already annotated") for c in app.caption)
    listing = next(d.value for d in app.dataframe if "analyst" in d.value.columns)
    assert listing[listing["id"] == saved.id]["analyst"].iloc[0] == "Ada Lovelace"

    # Export: the CoNLL preview holds exactly this sentence's block.
    conll = app.code[0].value
    assert "Anna\tB-per\nBerg\tI-per\nvisited\tO\nOslo\tB-geo\non\tO\nMonday\tB-tim\n.\tO" in conll
    app.radio(key="annotate_export_format").set_value("GMB CSV").run()
    assert app.code[0].value.startswith("Sentence #,Word,POS,Tag\n")
    assert "Monday,,B-tim" in app.code[0].value


def test_invalid_iob2_is_refused_with_the_wrong_tokens_named_then_repaired(trained_run, store):
    text = "Peter Olsen works in Lima ."
    app = typed_app(text, analyst="Bo")
    edit_all(app, ["I-per", "I-per", "O", "O", "I-geo", "O"])
    app.run()
    warning = app.warning[0].value
    assert "token 1 ('Peter')" in warning and "token 5 ('Lima')" in warning
    app.button(key="annotate_save").click().run()
    assert "not saved" in app.error[0].value and "I-per" in app.error[0].value
    assert saved_with_text(store, text) == []

    app.button(key="annotate_repair").click().run()
    assert not app.warning
    app.button(key="annotate_save").click().run()
    [saved] = saved_with_text(store, text)
    assert saved.tags == ["B-per", "I-per", "O", "O", "B-geo", "O"]


def test_saving_without_an_analyst_name_is_refused(trained_run, store):
    text = "Rain fell in Lima on Friday ."
    app = typed_app(text, analyst="")
    edit_all(app, ["O", "O", "O", "B-geo", "O", "B-tim", "O"])
    app.run()
    app.button(key="annotate_save").click().run()
    assert "analyst" in app.error[0].value
    assert saved_with_text(store, text) == []


def test_saved_annotation_can_be_edited_and_deleted(trained_run, store):
    text = "Acme hired Anna in 2004 ."
    sentence_id = annotation.save_correction(
        store,
        analyst="Cy",
        text=text,
        tokens=text.split(),
        tags=["B-org", "O", "B-per", "O", "B-tim", "O"],
        original_tags=["O"] * 6,
        model_run_id=trained_run.run_id,
        source="typed",
        tag_set=annotation.model_tag_set(["O", "B-org", "B-per", "B-tim"]),
    )
    app = page_app("annotate.py").run()
    app.text_input(key="annotate_analyst").input("Di").run()
    [chosen] = saved_with_text(store, text)
    app.selectbox(key="annotate_saved_pick").set_value(chosen).run()
    [editor] = [e for e in app.data_editor if e.key.startswith(f"annotate_saved_editor_{sentence_id}_")]
    app.session_state[editor.key] = {"edited_rows": {2: {"tag": "O"}}, "added_rows": [], "deleted_rows": []}
    app.run()
    app.button(key="annotate_saved_update").click().run()
    assert not app.error
    [edited] = saved_with_text(store, text)
    assert edited.tags == ["B-org", "O", "O", "O", "B-tim", "O"] and edited.analyst == "Di"

    app.selectbox(key="annotate_saved_pick").set_value(edited).run()
    assert app.button(key="annotate_saved_delete").disabled
    app.checkbox(key="annotate_saved_confirm").check().run()
    app.button(key="annotate_saved_delete").click().run()
    assert saved_with_text(store, text) == []


def test_after_a_save_the_chosen_sentence_and_the_editor_show_the_same_sentence(trained_run, store):
    """Regression: the selectbox held a queue position, so after a save it labelled the next sentence's editor
    with the saved sentence's text."""
    app = page_app("annotate.py").run()
    app.text_input(key="annotate_analyst").input("Ada").run()
    queue = list(app.dataframe[0].value["sentence"])
    app.selectbox(key="annotate_item").set_value(queue[1]).run()
    editor = next(e for e in app.data_editor if e.key.startswith("annotate_editor_"))
    assert " ".join(editor.value["token"]) == queue[1]
    edit_all(app, ["O"] * len(editor.value))
    app.run()
    app.button(key="annotate_save").click().run()
    assert not app.exception and not app.error
    [saved] = saved_with_text(store, queue[1])
    assert saved.tags == ["O"] * len(saved.tokens)
    chosen = app.selectbox(key="annotate_item").value
    editor = next(e for e in app.data_editor if e.key.startswith("annotate_editor_"))
    assert chosen != queue[1] and chosen in queue
    assert " ".join(editor.value["token"]) == chosen
    assert queue[1] not in list(app.dataframe[0].value["sentence"])
