"""The training page: launch from the form, follow and cancel jobs, browse the run history."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ner_core.corpus import annotated, uploads, writing
from ner_core.evaluation import metric_registry
from ner_core.modeling import architectures
from ner_core.settings import SAMPLE_DATA_PATH, Settings
from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.training import callbacks, config, run_folder
from tests.helpers import JOB_TIMEOUT_S, page_app, register_run_copy

TINY = {"epochs": 1, "batch_size": 16, "embedding_dim": 8, "max_len": 16}


def history(app):
    return next(d.value for d in app.dataframe if "status" in d.value.columns)


def test_empty_store_tells_the_user_to_train(empty_workspace):
    app = page_app("training_runs.py").run()
    assert not app.exception
    assert app.selectbox(key="training_runs_model").options == architectures.model_names()
    assert app.selectbox(key="training_runs_dataset").value == "Bundled sample"
    assert any("No training runs yet" in i.value for i in app.info)
    assert not app.dataframe


def test_form_defaults_follow_the_chosen_model_and_dataset(empty_workspace, monkeypatch):
    corpus = empty_workspace / "corpus.csv"
    corpus.write_text(SAMPLE_DATA_PATH.read_text(encoding="utf-8"), encoding="utf-8")  # a corpus that is not the sample
    monkeypatch.setenv("NER_CORPUS_PATH", str(corpus))
    app = page_app("training_runs.py").run()
    fields = ("epochs", "batch_size", "learning_rate", "max_len", "embedding_dim", "patience")
    for name in architectures.model_names():
        app.selectbox(key="training_runs_model").set_value(name).run()
        # The configured corpus is the default dataset: the model's own defaults.
        assert app.selectbox(key="training_runs_dataset").value == "Configured corpus (corpus.csv)"
        defaults = config.TrainConfig(model=name).resolved()
        for field in fields:
            assert app.number_input(key=f"training_runs_{name}_{field}").value == getattr(defaults, field)
        # The bundled sample: settings that learn from 250 sentences, not the design's batch 64 / 1e-3.
        app.selectbox(key="training_runs_dataset").set_value("Bundled sample").run()
        sample = config.sample_config(name).resolved()
        for field in fields:
            assert app.number_input(key=f"training_runs_{name}_sample_{field}").value == getattr(sample, field)
        assert sample.batch_size == 8 != defaults.batch_size
        assert any("small dataset" in c.value for c in app.caption)
        app.selectbox(key="training_runs_dataset").set_value("Configured corpus (corpus.csv)").run()
    assert not app.exception


def _gmb_csv(copies: int) -> bytes:
    """The sample's sentences ``copies`` times over, renumbered: a valid upload of ``418 * copies`` sentences."""
    header, *rows = SAMPLE_DATA_PATH.read_text(encoding="utf-8").splitlines()
    out, number = [header], 0
    for _ in range(copies):
        for row in rows:
            if row.startswith("Sentence:"):
                number += 1
                row = f"Sentence: {number}," + row.split(",", 1)[1]
            out.append(row)
    return ("\n".join(out) + "\n").encode("utf-8")


def test_form_defaults_follow_the_size_of_an_uploaded_dataset(empty_workspace):
    """A small upload learns with the small-data settings (the design's batch 64 / 1e-3 left model2 at F1 0 on the
    sample uploaded as a file); a large one keeps the model's defaults. Sizes come from the upload's own record."""
    settings = Settings.from_env()
    store = Store(settings.database_url)
    small = uploads.save_upload("small.csv", _gmb_csv(1), settings.uploads_dir, store)
    large = uploads.save_upload("large.csv", _gmb_csv(13), settings.uploads_dir, store)
    assert small.sentences < config.SMALL_DATASET_SENTENCES <= large.sentences
    app = page_app("training_runs.py").run()
    fields = ("epochs", "batch_size", "learning_rate", "patience")
    defaults = config.TrainConfig(model="model2").resolved()
    app.selectbox(key="training_runs_dataset").set_value(f"Upload: small.csv ({small.sha256[:8]})").run()
    assert [app.number_input(key=f"training_runs_model2_sample_{f}").value for f in fields] == [
        getattr(config.sample_config("model2").resolved(), f) for f in fields
    ]
    assert any("small dataset" in c.value for c in app.caption)
    app.selectbox(key="training_runs_dataset").set_value(f"Upload: large.csv ({large.sha256[:8]})").run()
    assert [app.number_input(key=f"training_runs_model2_{f}").value for f in fields] == [getattr(defaults, f) for f in fields]
    assert not any("small dataset" in c.value for c in app.caption)
    assert not app.exception


@pytest.mark.slow  # trains in a job process
def test_form_launches_a_tiny_job_that_completes_and_appears_in_the_history(runner):
    app = page_app("training_runs.py").run()
    app.selectbox(key="training_runs_model").set_value("baseline").run()
    for field, value in TINY.items():
        app.number_input(key=f"training_runs_baseline_sample_{field}").set_value(value)
    app.button(key="training_runs_submit").click().run()
    assert not app.exception
    [job] = runner.jobs()
    shown = [element.value for element in (*app.success, *app.error, *app.warning)]
    assert any(job.run_id in value for value in shown), shown  # once failed once under load in CI: say what showed
    assert (job.config.model, job.config.dataset) == ("baseline", str(SAMPLE_DATA_PATH))
    assert {field: getattr(job.config, field) for field in TINY} == TINY

    finished = runner.wait(job.job_id, JOB_TIMEOUT_S)
    assert finished.status == RunStatus.COMPLETED, finished.error
    app.run()
    row = history(app).set_index("run").loc[job.run_id]
    assert (row["status"], row["model"], row["dataset"]) == ("completed", "baseline", SAMPLE_DATA_PATH.name)
    assert row["Entity F1"] == metric_registry.format_metric("entity_f1", finished.metrics["entity_f1"])
    assert not any(i.value.startswith("No training runs yet") for i in app.info)


@pytest.mark.slow  # trains in a job process
def test_running_job_shows_progress_and_queued_job_can_be_cancelled(runner):
    long_job = runner.submit(
        config.TrainConfig(
            model="baseline",
            dataset=str(SAMPLE_DATA_PATH),
            epochs=500,
            early_stopping=False,
            **{k: v for k, v in TINY.items() if k != "epochs"},
        )
    )
    deadline = time.time() + JOB_TIMEOUT_S
    while (runner.get(long_job.job_id).last_event or callbacks.ProgressEvent("none")).kind not in ("batch", "epoch_end"):
        assert time.time() < deadline, "the long job never reached a batch"
        time.sleep(0.5)

    # A second job launched from the form waits behind the long one; its "Queued run" notice outlives page reruns.
    app = page_app("training_runs.py").run()
    app.selectbox(key="training_runs_model").set_value("baseline").run()
    for field, value in TINY.items():
        app.number_input(key=f"training_runs_baseline_sample_{field}").set_value(value)
    app.button(key="training_runs_submit").click().run()
    [queued] = [job for job in runner.jobs() if job.job_id != long_job.job_id]
    app.run()
    assert not app.exception
    assert [s.value for s in app.success if "Queued run" in s.value] == [
        f"Queued run `{queued.run_id}`; it trains in the background, even if you leave this page."
    ]
    headers = [m.value for m in app.markdown if m.value.startswith("**")]
    assert any(long_job.run_id in h and "running" in h for h in headers)
    assert any(queued.run_id in h and "queued" in h for h in headers)
    assert len(app.get("progress")) == 2  # epochs, and batches within the epoch
    # The history reads the same status as the cards, and the ETA says what it assumes.
    table = history(app).set_index("run")
    assert (table.loc[long_job.run_id, "status"], table.loc[queued.run_id, "status"]) == ("running", "queued")
    assert any("left (assumes all 500 epochs run)" in c.value for c in app.caption)

    app.button(key=f"training_runs_cancel_{queued.job_id}").click().run()
    assert runner.get(queued.job_id).status == RunStatus.CANCELLED
    assert not any("Queued run" in s.value for s in app.success)  # the notice goes when its job ends
    app.button(key=f"training_runs_cancel_{long_job.job_id}").click().run()
    assert runner.wait(long_job.job_id, JOB_TIMEOUT_S).status == RunStatus.CANCELLED
    app.run()
    table = history(app).set_index("run")
    assert table.loc[queued.run_id, "status"] == "cancelled"
    assert table.loc[long_job.run_id, "status"] == "cancelled"
    assert "cancel" in table.loc[long_job.run_id, "error"]


def test_history_and_run_detail_with_a_completed_run(trained_run):
    app = page_app("training_runs.py").run()
    assert not app.exception
    table = history(app).set_index("run")
    assert table.loc[trained_run.run_id, "status"] == "completed"
    assert table.loc[trained_run.run_id, "Token accuracy"] == metric_registry.format_metric(
        "token_accuracy", trained_run.metrics["token_accuracy"]
    )

    app.selectbox(key="training_runs_detail").set_value(trained_run.run_id).run()
    assert not app.exception
    metric_table = next(d.value for d in app.dataframe if "definition" in d.value.columns)
    assert metric_table["metric"].tolist() == [spec.name for spec in metric_registry.METRICS]
    assert len(metric_table) == 23
    f1_row = metric_table.set_index("metric").loc[metric_registry.metric_spec("entity_f1").name]
    assert f1_row["value"] == metric_registry.format_metric("entity_f1", trained_run.metrics["entity_f1"])
    per_type = next(d.value for d in app.dataframe if "support" in d.value.columns)
    assert {"geo", "per"} <= set(per_type.index)
    assert app.json[0].value  # the config
    assert Path(trained_run.run_dir).is_dir()


def test_failed_run_shows_its_error_message(empty_workspace):
    store = Store(Settings.from_env().database_url)
    store.create_run("model2-broken", "model2", config={"model": "model2"}, status="failed")
    store.update_run("model2-broken", error_message="[E001] data.csv: no such file. Check the path.\nmore detail")
    app = page_app("training_runs.py").run()
    assert not app.exception
    assert history(app).set_index("run").loc["model2-broken", "error"] == "[E001] data.csv: no such file. Check the path."
    assert any("no such file" in e.value for e in app.error)


def test_run_detail_shows_the_training_log_or_says_none_was_kept(empty_workspace, monkeypatch):
    settings = Settings.from_env()
    store = Store(settings.database_url)
    for run_id in ("model2-logged", "model2-silent"):
        store.create_run(run_id, "model2", config={"model": "model2"}, status="failed")
    asked = []

    def read_log(models_dir, run_id):
        asked.append((Path(models_dir), run_id))
        return "Epoch 1/30\nloss 0.52 - val_loss 0.61\n" if run_id == "model2-logged" else None

    monkeypatch.setattr(run_folder, "read_log", read_log)
    app = page_app("training_runs.py").run()
    detail = app.selectbox(key="training_runs_detail")
    detail.set_value("model2-logged").run()
    assert not app.exception
    assert (settings.models_dir, "model2-logged") in asked
    assert any(e.label == "Training log" for e in app.expander)
    assert any("val_loss 0.61" in c.value for c in app.code)
    assert not any("No log kept" in c.value for c in app.caption)

    detail.set_value("model2-silent").run()
    assert any(c.value == "No log kept for this run." for c in app.caption)
    assert not any(e.label == "Training log" for e in app.expander)


def test_a_run_gets_a_name_and_tags_in_its_detail_and_run_pickers_show_them(trained_run, empty_workspace):
    register_run_copy(trained_run, "model2-named")
    app = page_app("training_runs.py").run()
    assert not app.exception
    app.text_input(key="training_runs_run_name").set_value("lr  sweep best")
    app.text_input(key="training_runs_run_tags").set_value("gmb, #baseline, GMB")
    app.button(key="training_runs_run_name_save").click().run()
    assert not app.exception and not app.error
    run = Store(Settings.from_env().database_url).get_run("model2-named")
    assert (run.name, json.loads(run.tags_json)) == ("lr sweep best", ["gmb", "baseline"])
    [saved] = [s.value for s in app.success if s.value.startswith("Saved.")]
    assert "lr sweep best · model2 · bundled sample ·" in saved and saved.endswith("#gmb #baseline")

    comparison = page_app("model_comparison.py").run()
    [label] = comparison.multiselect(key="model_comparison_runs").options
    assert label.startswith("lr sweep best · model2 · bundled sample · ") and label.endswith(" · #gmb #baseline")


def test_a_refused_tag_list_says_why_and_changes_nothing(trained_run, empty_workspace):
    register_run_copy(trained_run, "model2-named", name="kept")
    app = page_app("training_runs.py").run()
    app.text_input(key="training_runs_run_tags").set_value(",".join(f"tag{i}" for i in range(12)))
    app.button(key="training_runs_run_name_save").click().run()
    assert not app.exception
    assert any("[E015]" in e.value and "at most 10 tags, 12 were given" in e.value for e in app.error)
    run = Store(Settings.from_env().database_url).get_run("model2-named")
    assert (run.name, run.tags_json) == ("kept", None)


def test_the_name_inputs_follow_the_run_chosen_in_the_detail(trained_run, empty_workspace):
    register_run_copy(trained_run, "model2-first", name="first")
    register_run_copy(trained_run, "model2-second", name="second", tags_json='["b"]')
    app = page_app("training_runs.py").run()
    for run_id, name, tags in (("model2-first", "first", ""), ("model2-second", "second", "b")):
        detail = app.selectbox(key="training_runs_detail")
        detail.set_value(next(o for o in detail.options if o.startswith(run_id))).run()
        assert not app.exception
        assert (app.text_input(key="training_runs_run_name").value, app.text_input(key="training_runs_run_tags").value) == (
            name,
            tags,
        )


# --------------------------------------------------------------------------- the repair choice, failures, re-queue


def stray_conll(tiny_sentences) -> bytes:
    """A CoNLL corpus of the tiny sentences in which every person starts with I- (IOB1): valid only with repair."""
    iob1 = [
        annotated.Sentence(s.words, ["I-per" if tag == "B-per" else tag for tag in s.tags], number=s.number)
        for s in tiny_sentences
    ]
    return writing.corpus_to_conll(iob1).encode("utf-8")


def upload_needing_repair(tiny_sentences):
    settings = Settings.from_env()
    return uploads.save_upload(
        "x.train", stray_conll(tiny_sentences), settings.uploads_dir, Store(settings.database_url), repair_iob=True
    )


def test_an_upload_accepted_with_repair_turns_repair_on_in_the_form(empty_workspace, tiny_sentences):
    dataset = upload_needing_repair(tiny_sentences)
    app = page_app("training_runs.py").run()
    app.selectbox(key="training_runs_dataset").set_value(f"Upload: x.train ({dataset.sha256[:8]})").run()
    assert not app.exception
    assert app.toggle(key="training_runs_model2_sample_repaired_repair_iob").value is True
    assert any('accepted with IOB2 repair, so "Repair IOB2" is on' in c.value for c in app.caption)
    app.selectbox(key="training_runs_dataset").set_value("Bundled sample").run()
    assert app.toggle(key="training_runs_model2_sample_repair_iob").value is False


def launch_tiny(app, dataset_label: str, *, repair: bool | None = None):
    """Choose baseline on ``dataset_label``, tiny settings, optionally set the repair switch, and submit."""
    app.selectbox(key="training_runs_model").set_value("baseline").run()
    app.selectbox(key="training_runs_dataset").set_value(dataset_label).run()
    prefix = next(t.key for t in app.toggle if t.key.endswith("_repair_iob")).removesuffix("_repair_iob")
    for field, value in TINY.items():
        app.number_input(key=f"{prefix}_{field}").set_value(value)
    if repair is not None:
        app.toggle(key=f"{prefix}_repair_iob").set_value(repair)
    return app.button(key="training_runs_submit").click().run()


@pytest.mark.slow  # trains in job processes
def test_a_failed_job_says_so_until_dismissed_and_the_detail_shows_each_runs_own_error(runner, tiny_sentences):
    dataset = upload_needing_repair(tiny_sentences)
    label = f"Upload: x.train ({dataset.sha256[:8]})"
    app = launch_tiny(page_app("training_runs.py").run(), label, repair=False)  # turned off on purpose
    [failing] = runner.jobs()
    assert failing.config.repair_iob is False
    assert runner.wait(failing.job_id, JOB_TIMEOUT_S).status == RunStatus.FAILED
    app.run()
    assert not app.exception
    [toast] = [t.value for t in app.toast]
    assert toast.startswith("Training baseline on Upload: x.train") and "failed" in toast
    assert 'turn on the "Repair IOB2" toggle' in toast and "--repair-iob" not in toast
    card = [e.value for e in app.error if e.value.startswith("Training failed")]
    assert card and 'turn on the "Repair IOB2" toggle' in card[0]
    # The run detail shows the run just launched, with its own error, in the app's words.
    assert app.selectbox(key="training_runs_detail").value == failing.run_id
    assert history(app).set_index("run").loc[failing.run_id, "status"] == "failed"
    assert "--repair-iob" not in history(app).set_index("run").loc[failing.run_id, "error"]
    app.run()
    assert not app.toast  # announced once; the card stays
    assert any(e.value.startswith("Training failed") for e in app.error)
    app.button(key=f"training_runs_dismiss_{failing.job_id}").click().run()
    assert runner.get(failing.job_id).dismissed
    assert not any(e.value.startswith("Training failed") for e in app.error)

    # Repair turned back on, as the error said, the same file trains, and the detail moves to that run.
    app = launch_tiny(app, label, repair=True)
    repaired = next(job for job in runner.jobs() if job.job_id != failing.job_id)
    assert repaired.config.repair_iob is True
    assert runner.wait(repaired.job_id, JOB_TIMEOUT_S).status == RunStatus.COMPLETED, runner.get(repaired.job_id).error
    app.run()
    assert any(t.value.startswith("Training baseline on Upload: x.train") and "is ready" in t.value for t in app.toast)
    assert app.selectbox(key="training_runs_detail").value == repaired.run_id
    assert not any("x.train" in e.value for e in app.error)  # not the older run's error


@pytest.mark.slow  # queues a job in a job process
def test_a_failed_run_is_trained_again_with_its_settings_in_one_click(runner):
    store = Store(Settings.from_env().database_url)
    settings = config.TrainConfig(model="baseline", dataset=str(SAMPLE_DATA_PATH), seed=11, **TINY).resolved()
    store.create_run("baseline-failed", "baseline", config=settings.to_dict(), status=RunStatus.FAILED)
    app = page_app("training_runs.py").run()
    app.selectbox(key="training_runs_detail").set_value("baseline-failed").run()
    app.button(key="training_runs_requeue_baseline-failed").click().run()
    assert not app.exception
    [job] = runner.jobs()
    assert job.config == settings and "again, after baseline-failed" in job.label
    assert app.selectbox(key="training_runs_detail").value == job.run_id
    assert runner.wait(job.job_id, JOB_TIMEOUT_S).status == RunStatus.COMPLETED, runner.get(job.job_id).error


def test_a_run_whose_dataset_is_gone_is_not_queued_again(runner):
    store = Store(Settings.from_env().database_url)
    store.create_run("baseline-gone", "baseline", config={"model": "baseline", "dataset": "/gone/x.train"}, status="cancelled")
    app = page_app("training_runs.py").run()
    app.button(key="training_runs_requeue_baseline-gone").click().run()
    assert not app.exception
    assert any("/gone/x.train, which no longer exists" in e.value for e in app.error)
    assert runner.jobs() == []
    assert [run.id for run in store.list_runs()] == ["baseline-gone"]


def test_a_completed_run_offers_no_train_again(trained_run):
    app = page_app("training_runs.py").run()
    detail = app.selectbox(key="training_runs_detail")
    detail.set_value(trained_run.run_id).run()
    assert not any(b.key and b.key.startswith("training_runs_requeue_") for b in app.button)
