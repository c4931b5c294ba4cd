"""Retrain and compare: no runs, no annotations, a launch through the job runner, and the parent-versus-child
view with the left-out test sentences, the interval of the gain, all 23 metrics and the lineage."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from ner_core.evaluation import held_out
from ner_core.store.database import Store
from ner_core.training import lineage, loop
from ner_core.workbench import retraining
from tests.helpers import JOB_TIMEOUT_S, page_app


def register_parent(store, source):
    """The session's trained run (a real run folder) as a completed run of ``store``."""
    store.create_run(source.id, source.model_name, config=source.config, status="completed")
    store.update_run(
        source.id,
        run_dir=source.run_dir,
        metrics=source.metrics,
        dataset_path=source.dataset_path,
        dataset_sha256=source.dataset_sha256,
    )
    return store.get_run(source.id)


def save_annotations(store, parent, sentences):
    for sentence in sentences:
        store.add_annotation(
            analyst="Ada",
            text=sentence.text,
            tokens=list(sentence.words),
            tags=list(sentence.tags),
            original_tags=["O"] * len(sentence),
            model_run_id=parent.id,
        )


def use_workspace(monkeypatch, root: Path) -> None:
    monkeypatch.delenv("NER_CORPUS_PATH", raising=False)
    monkeypatch.setenv("NER_MODELS_DIR", str(root / "models"))
    monkeypatch.setenv("NER_DATABASE_URL", f"sqlite:///{root / 'models' / 'workbench.db'}")
    monkeypatch.setenv("NER_UPLOADS_DIR", str(root / "uploads"))


@pytest.fixture
def fresh(empty_workspace, trained_run, store):
    """A new workspace whose only run is the session's trained model2 run, and no annotation."""
    from ner_core.settings import Settings

    fresh_store = Store(Settings.from_env().database_url)
    parent = register_parent(fresh_store, store.get_run(trained_run.run_id))
    return SimpleNamespace(store=fresh_store, parent=parent, test=held_out.test_split_for_run(parent.run_dir))


@pytest.fixture(scope="module")
def compared(tmp_path_factory, trained_run, store):
    """A workspace with a parent, two annotations (one copying a test sentence) and a warm-started child."""
    root = tmp_path_factory.mktemp("compared")
    workspace_store = Store(f"sqlite:///{root / 'models' / 'workbench.db'}")
    parent = register_parent(workspace_store, store.get_run(trained_run.run_id))
    test = held_out.test_split_for_run(parent.run_dir)
    from tests.helpers import make_sentence

    evil = make_sentence("<img/B-org src=x/I-org onerror=alert(1)>/I-org hired/O Anna/B-per ./O")
    save_annotations(workspace_store, parent, [test[0], evil])
    used = retraining.current_annotations(workspace_store)
    config = retraining.retrain_config(parent, retraining.WARM_START, epochs=1)
    child = loop.train(config, models_dir=root / "models", store=workspace_store, annotations=used, parent_run_id=parent.id)
    return SimpleNamespace(root=root, store=workspace_store, parent=parent, child=child, test=test, used=used)


def test_without_runs_the_page_says_to_train_first(empty_workspace):
    app = page_app("retrain.py").run()
    assert not app.exception
    assert any("Training runs page" in info.value for info in app.info)


def test_without_annotations_there_is_nothing_to_launch_and_no_child_to_compare(fresh):
    app = page_app("retrain.py").run()
    assert not app.exception and not app.error
    assert app.selectbox(key="retrain_parent").value == fresh.parent.id
    assert app.query_params["parent"] == fresh.parent.id
    infos = " ".join(info.value for info in app.info)
    assert "No saved annotations yet" in infos and "No retrained run of this model yet" in infos
    assert not [button for button in app.button if button.key == "retrain_launch"]
    assert any("trained without annotations" in caption.value for caption in app.caption)  # the parent's lineage


@pytest.mark.slow  # trains a child in a job process
def test_launch_queues_a_warm_start_whose_child_records_its_annotations(fresh, runner):
    save_annotations(fresh.store, fresh.parent, fresh.test[:2])
    app = page_app("retrain.py").run()
    assert app.radio(key="retrain_mode").value == retraining.WARM_START
    assert app.number_input(key="retrain_warm_epochs").value == retraining.WARM_START_EPOCHS
    app.number_input(key="retrain_warm_epochs").set_value(1).run()
    launch = app.button(key="retrain_launch")
    assert launch.label == "Warm start (fast): retrain with 2 annotation(s)"
    launch.click().run()
    assert not app.exception and not app.error
    job = runner.get(app.session_state["retrain_job_id"])
    assert job.parent_run_id == fresh.parent.id and job.config.warm_start_from == fresh.parent.run_dir
    assert (job.config.epochs, job.config.annotation_weight) == (1, retraining.WARM_START_ANNOTATION_WEIGHT)
    finished = runner.wait(job.job_id, timeout=JOB_TIMEOUT_S)
    assert finished.status == "completed", finished.error
    child = fresh.store.get_run(job.run_id)
    assert child.parent_run_id == fresh.parent.id
    used = retraining.current_annotations(fresh.store)
    assert lineage.read_lineage(child.run_dir) == used
    assert lineage.stored_lineage(fresh.store, child.id).checksum == used.checksum
    app.run()
    assert not app.exception
    assert any("is ready" in success.value for success in app.success)
    assert app.selectbox(key="retrain_child").value == child.id
    assert app.selectbox(key="retrain_lineage_run").value == child.id  # not the parent it showed before the child existed
    assert (app.query_params["child"], app.query_params["lineage"]) == (child.id, child.id)
    assert any("2 match an annotation" in info.value for info in app.info)


def test_the_comparison_shows_the_left_out_sentences_the_interval_all_metrics_and_the_corrections(compared, monkeypatch):
    use_workspace(monkeypatch, compared.root)
    app = page_app("retrain.py")
    app.query_params["child"] = compared.child.run_id  # a deep link to this comparison
    app.run()
    assert not app.exception and not app.error
    assert app.selectbox(key="retrain_child").value == compared.child.run_id
    total = len(compared.test)
    note = next(info.value for info in app.info if "test sentences" in info.value)
    assert f"on {total - 1:,} of the {total:,} test sentences: 1 match an annotation a run trained on" in note
    gain = next(markdown.value for markdown in app.markdown if "Entity F1 gain" in markdown.value)
    assert re.search(r"95% interval \*\*\[[+-]\d\.\d{4}, [+-]\d\.\d{4}\]\*\*", gain)
    assert f"paired bootstrap over {total - 1:,} test sentences, 2,000 resamples" in gain
    [metrics] = [frame.value for frame in app.dataframe if "change" in frame.value.columns]
    assert len(metrics) == 23 and "Entity F1" in set(metrics["metric"])
    [per_type] = [frame.value for frame in app.dataframe if "F1 change" in frame.value.columns]
    assert {"parent f1", "child f1", "support"} <= set(per_type.columns)
    sentences = [html.proto.body for html in app.get("html")]
    corrected = [body for body in sentences if "annotation #" in body]
    assert len(corrected) == 2
    assert any("&lt;img" in body for body in corrected) and not any("<img" in body for body in corrected)
    assert any("corrected sentences exactly as annotated" in markdown.value for markdown in app.markdown)


def test_the_lineage_tab_lists_the_annotations_a_child_used_and_flags_an_edit(compared, monkeypatch):
    use_workspace(monkeypatch, compared.root)
    app = page_app("retrain.py")
    app.query_params["lineage"] = compared.child.run_id
    app.run()
    assert app.selectbox(key="retrain_lineage_run").value == compared.child.run_id
    facts = next(frame.value for frame in app.dataframe if "value" in frame.value.columns)
    as_dict = dict(zip(facts["fact"], facts["value"]))
    assert as_dict["parent run"] == compared.parent.id and as_dict["trained by"] == "warm start (fast)"
    assert as_dict["annotations used"] == f"2 (checksum {compared.used.checksum[:16]})"
    assert any("All 2 annotation(s) the run used are stored unchanged" in s.value for s in app.success)
    first = compared.used.annotations[0]
    compared.store.update_annotation(first.id, tags=["O"] * len(first.tags))
    try:
        app.run()
        assert any(f"1 edited since (#{first.id})" in warning.value for warning in app.warning)
        table = next(frame.value for frame in app.dataframe if "now" in frame.value.columns)
        assert list(table["now"]) == ["edited", "unchanged"]
    finally:
        compared.store.update_annotation(first.id, tags=list(first.tags))


def test_sentences_the_analysts_disagree_on_are_left_out_and_the_page_says_so(fresh):
    tokens = list(fresh.test[0].words)
    text = " ".join(tokens)
    for analyst, first_tag in (("Ada", "B-per"), ("Cy", "B-geo")):
        tags = [first_tag] + ["O"] * (len(tokens) - 1)
        fresh.store.add_annotation(
            analyst=analyst, text=text, tokens=tokens, tags=tags, original_tags=["O"] * len(tokens), model_run_id=fresh.parent.id
        )
    save_annotations(fresh.store, fresh.parent, fresh.test[1:2])
    app = page_app("retrain.py").run()
    assert not app.exception and not app.error
    assert app.button(key="retrain_launch").label.endswith("retrain with 1 annotation(s)")  # the agreed one only
    [warning] = [w.value for w in app.warning if "left out" in w.value]
    assert warning.startswith("1 sentence(s) are left out: their analysts disagree")
