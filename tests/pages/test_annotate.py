"""Annotate and retrain: the review queue, token corrections, IOB2 checks, the guidelines beside the queue, retraining."""

from __future__ import annotations

from pathlib import Path

import pytest

from ner_core.training import jobs
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
    # The saved list, its export and edits live on the Review and agreement page (tests/pages/test_review.py).


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


@pytest.mark.slow  # trains a child run in a job process
def test_retrain_submits_a_child_job_and_compares_it_with_its_parent(trained_run, store):
    from ner_core.settings import Settings

    if not store.list_annotations():
        annotation.save_correction(
            store,
            analyst="Ed",
            text=TYPED,
            tokens=TYPED.split(),
            tags=TYPED_TAGS,
            original_tags=["O"] * 7,
            model_run_id=trained_run.run_id,
            source="typed",
            tag_set=annotation.model_tag_set(TYPED_TAGS),
        )
    count = len(store.list_annotations())
    app = page_app("annotate.py").run()
    app.button(key="annotate_retrain").click().run()
    assert not app.exception
    runner = jobs.get_runner(store, Settings.from_env().models_dir)
    job = runner.get(app.session_state["annotate_job_id"])
    assert job.parent_run_id == trained_run.run_id
    assert (job.config.dataset, job.config.seed) == (trained_run.config.dataset, trained_run.config.seed)
    finished = runner.wait(job.job_id, timeout=240)
    assert finished.status == "completed", finished.error
    child = store.get_run(job.run_id)
    assert child.parent_run_id == trained_run.run_id
    assert child.metrics and Path(child.run_dir).is_dir()
    assert json_extra_train(child.run_dir) == count

    try:
        app.run()
        assert not app.exception
        assert any("is ready" in s.value for s in app.success)
        table = next(d.value for d in app.dataframe if "delta" in d.value.columns)
        assert list(table["metric"]) == ["Entity F1", "Entity precision", "Entity recall", "Token accuracy"]
        f1 = table[table["metric"] == "Entity F1"].iloc[0]
        assert f1[f"parent ({trained_run.run_id})"] == f"{trained_run.metrics['entity_f1']:.4f}"
        assert f1["delta"] == f"{child.metrics['entity_f1'] - trained_run.metrics['entity_f1']:+.4f}"
    finally:
        # Other page tests expect trained_run to be the newest model2 run.
        store.delete_run(child.id)


def json_extra_train(run_dir) -> int:
    import json

    return json.loads((Path(run_dir) / "config.json").read_text())["dataset"]["extra_train"]


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
