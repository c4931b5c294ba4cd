import io
import json
import os
import signal

import pytest

from ner_core.corpus import annotated, writing
from ner_core.errors import JobNotFoundError, NerError
from ner_core.settings import Settings
from ner_core.store.database import Store
from ner_core.store.tables import ACTIVE_STATUSES, RunStatus
from ner_core.training import job_process, jobs, run_folder
from tests.helpers import JOB_TIMEOUT_S, tiny_config, wait_until

pytestmark = pytest.mark.slow  # every test here runs a benchmark command or a job process

PEOPLE = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Roberts"]
PLACES = ["London", "Paris", "Berlin", "Madrid", "Rome", "Vienna", "Oslo", "Lisbon"]


def tiny_sentences(count=40):
    """Short sentences with one person and one place, enough for a split and a two-second fit."""
    sentences = []
    for index in range(count):
        person, place = PEOPLE[index % len(PEOPLE)], PLACES[(index * 3) % len(PLACES)]
        if index % 2:
            words = ["Mr.", person, "visited", place, "today", "."]
            tags = ["B-per", "I-per", "O", "B-geo", "O", "O"]
        else:
            words = ["They", "met", person, "in", place, "."]
            tags = ["O", "O", "B-per", "O", "B-geo", "O"]
        sentences.append(annotated.Sentence(words, tags))
    return sentences


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text(writing.corpus_to_gmb_csv(tiny_sentences()), encoding="utf-8")
    return path


@pytest.fixture
def store(empty_workspace):
    """The database of the ``runner`` fixture's workspace."""
    return Store(Settings.from_env().database_url)


@pytest.fixture
def models_dir(empty_workspace):
    return Settings.from_env().models_dir


def long_config(dataset):
    """Far more epochs than a test waits for: only cancelling ends it early."""
    return tiny_config(dataset, epochs=500, early_stopping=False)


def folders_of(models_dir, run_id):
    return [p.name for p in models_dir.iterdir() if run_id in p.name] if models_dir.exists() else []


def test_submit_records_a_queued_run_and_trains_it_to_completion(runner, store, models_dir, dataset):
    submitted = runner.submit(tiny_config(dataset, epochs=2, early_stopping=False), label="first try")
    assert submitted.status in ACTIVE_STATUSES
    assert store.get_run(submitted.run_id).model_name == "baseline"

    job = runner.wait(submitted.job_id, JOB_TIMEOUT_S)

    assert job.status == RunStatus.COMPLETED, job.error
    assert job.error is None and job.label == "first try"
    assert job.started_at >= job.submitted_at and job.finished_at >= job.started_at
    assert store.get_run(job.run_id).status == RunStatus.COMPLETED
    assert (models_dir / job.run_id).is_dir()
    assert folders_of(models_dir, job.run_id) == [job.run_id]  # no .tmp- left behind
    assert [log["epoch"] for log in job.epoch_logs] == [1, 2]
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "lr"} <= set(job.epoch_logs[-1])
    assert job.batch_losses and all(len(point) == 3 for point in job.batch_losses)
    assert job.last_event.kind == "finished" and job.last_event.fraction == 1.0
    assert job.metrics
    assert runner.active() is None


def test_snapshot_is_independent_of_the_runner_state(runner, dataset):
    job = runner.wait(runner.submit(tiny_config(dataset)).job_id, JOB_TIMEOUT_S)
    job.epoch_logs.clear()
    job.batch_losses.clear()
    job.last_event.logs.clear()

    again = runner.get(job.job_id)

    assert again.epoch_logs and again.batch_losses and again.last_event is not None


def test_second_submission_stays_queued_until_the_first_completes(runner, store, dataset):
    first = runner.submit(tiny_config(dataset))
    second = runner.submit(tiny_config(dataset, seed=7))

    wait_until(lambda: runner.get(first.job_id).status == RunStatus.RUNNING)  # a fit takes seconds; polling sees it
    assert runner.active().job_id == first.job_id
    assert runner.get(second.job_id).status == RunStatus.QUEUED
    assert store.get_run(second.run_id).status == RunStatus.QUEUED
    assert [job.job_id for job in runner.jobs()] == [second.job_id, first.job_id]

    first_done = runner.wait(first.job_id, JOB_TIMEOUT_S)
    second_done = runner.wait(second.job_id, JOB_TIMEOUT_S)

    assert first_done.status == second_done.status == RunStatus.COMPLETED
    assert second_done.started_at >= first_done.finished_at


def test_cancel_running_job_stops_it_and_leaves_no_run_folder(runner, store, models_dir, dataset):
    job = runner.submit(long_config(dataset))
    wait_until(lambda: (event := runner.get(job.job_id).last_event) is not None and event.kind == "batch")

    assert runner.cancel(job.job_id) is True
    done = runner.wait(job.job_id, JOB_TIMEOUT_S)

    assert done.status == RunStatus.CANCELLED
    assert len(done.epoch_logs) <= 2  # stopped within the epoch it was cancelled in, not after 500
    assert "cancelled" in done.error
    assert store.get_run(job.run_id).status == RunStatus.CANCELLED
    assert folders_of(models_dir, job.run_id) == []
    assert runner.cancel(job.job_id) is False  # already finished
    assert run_folder.read_log(models_dir, job.run_id) is not None  # kept whatever the outcome


def test_cancel_queued_job_means_it_never_runs(runner, store, models_dir, dataset):
    blocker = runner.submit(long_config(dataset))
    queued = runner.submit(tiny_config(dataset))

    assert runner.cancel(queued.job_id) is True
    assert runner.get(queued.job_id).status == RunStatus.CANCELLED
    assert store.get_run(queued.run_id).status == RunStatus.CANCELLED
    runner.cancel(blocker.job_id)
    runner.wait(blocker.job_id, JOB_TIMEOUT_S)

    never_ran = runner.wait(queued.job_id, JOB_TIMEOUT_S)
    assert never_ran.started_at is None and never_ran.last_event is None
    assert store.get_run(queued.run_id).status == RunStatus.CANCELLED
    assert folders_of(models_dir, queued.run_id) == []


def test_failing_job_is_recorded_and_the_runner_keeps_working(runner, store, dataset, tmp_path):
    broken = runner.submit(tiny_config(tmp_path / "missing.csv"))
    good = runner.submit(tiny_config(dataset))

    failed = runner.wait(broken.job_id, JOB_TIMEOUT_S)
    assert failed.status == RunStatus.FAILED
    assert "no such file" in failed.error and "\n" not in failed.error
    assert failed.error.startswith("[E001] ") and failed.error.count("[E") == 1  # the child's own code, once
    row = store.get_run(broken.run_id)
    assert row.status == RunStatus.FAILED and "no such file" in row.error_message

    assert runner.wait(good.job_id, JOB_TIMEOUT_S).status == RunStatus.COMPLETED


def test_get_runner_shares_one_runner_per_database_and_models_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = Store(url)
    store.create_run("left-running", "baseline", config={}, status=RunStatus.RUNNING)

    runner = jobs.get_runner(store, tmp_path / "models")
    try:
        assert jobs.get_runner(Store(url), tmp_path / "models") is runner
        assert store.get_run("left-running").status == RunStatus.FAILED

        # A second runner on the same database must not fail the first runner's queued rows.
        store.create_run("waiting", "baseline", config={}, status=RunStatus.QUEUED)
        other = jobs.get_runner(store, tmp_path / "other-models")
        assert other is not runner
        assert store.get_run("waiting").status == RunStatus.QUEUED
        other.shutdown(wait=True)
    finally:
        runner.shutdown(wait=True)
    assert jobs.get_runner(store, tmp_path / "models") is not runner  # a shut-down runner is replaced
    jobs.get_runner(store, tmp_path / "models").shutdown(wait=True)


def test_a_job_trains_in_its_own_process_and_forgets_it_when_done(runner, store, dataset):
    assert runner.isolation == "process"
    job = runner.submit(long_config(dataset))
    wait_until(lambda: (event := runner.get(job.job_id).last_event) is not None and event.kind == "batch")
    pid = runner.get(job.job_id).process_id
    assert pid is not None and pid != os.getpid()
    os.kill(pid, 0)  # alive
    runner.cancel(job.job_id)
    assert runner.wait(job.job_id, JOB_TIMEOUT_S).process_id is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped


def test_a_killed_training_process_fails_its_job_cleanly_and_the_runner_goes_on(runner, store, models_dir, dataset):
    doomed = runner.submit(long_config(dataset))
    after = runner.submit(tiny_config(dataset))
    wait_until(lambda: (event := runner.get(doomed.job_id).last_event) is not None and event.kind == "batch")
    assert any(p.name.startswith(".tmp-") for p in models_dir.iterdir())

    os.kill(runner.get(doomed.job_id).process_id, signal.SIGKILL)
    failed = runner.wait(doomed.job_id, JOB_TIMEOUT_S)

    assert failed.status == RunStatus.FAILED
    assert "killed by signal 9" in failed.error
    row = store.get_run(doomed.run_id)
    assert row.status == RunStatus.FAILED and "killed by signal 9" in row.error_message
    assert folders_of(models_dir, doomed.run_id) == []  # the half-written .tmp- folder is gone
    assert runner.wait(after.job_id, JOB_TIMEOUT_S).status == RunStatus.COMPLETED
    log = run_folder.log_path(models_dir.resolve(), doomed.run_id)
    assert f"before it reported a result; its log is {log}." in failed.error and str(log) in row.error_message
    assert log.is_file() and run_folder.read_log(models_dir, doomed.run_id) == log.read_text(encoding="utf-8")


def test_the_whole_stderr_of_a_training_process_is_kept_as_its_run_log(runner, models_dir, dataset, tmp_path, monkeypatch):
    # Every child imports sitecustomize first: twelve known lines, well before the last five of its stderr.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nfor number in range(1, 13):\n    print(f'early line {number} of 12', file=sys.stderr)\n", encoding="utf-8"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH", "")])))
    assert run_folder.read_log(models_dir, "no-such-run") is None

    job = runner.wait(runner.submit(tiny_config(dataset)).job_id, JOB_TIMEOUT_S)

    assert job.status == RunStatus.COMPLETED, job.error
    log = run_folder.read_log(models_dir, job.run_id)
    assert log is not None and len(log.splitlines()) > 5  # jobs used to keep only their last five lines
    early = [line for line in log.splitlines() if line.startswith("early line")]
    assert early == [f"early line {number} of 12" for number in range(1, 13)]
    assert run_folder.log_path(models_dir, job.run_id) == models_dir / "logs" / f"{job.run_id}.log"
    assert [p.name for p in (models_dir / "logs").iterdir()] == [f"{job.run_id}.log"]  # no temporary file left


def test_thread_isolation_trains_in_this_process(store, models_dir, dataset):
    runner = jobs.JobRunner(store, models_dir, isolation="thread")
    try:
        job = runner.wait(runner.submit(tiny_config(dataset)).job_id, JOB_TIMEOUT_S)
    finally:
        runner.shutdown(wait=True)
    assert job.status == RunStatus.COMPLETED and job.process_id is None
    assert store.get_run(job.run_id).status == RunStatus.COMPLETED
    with pytest.raises(ValueError, match="isolation"):
        jobs.JobRunner(store, models_dir, isolation="fork")


def test_an_unknown_job_id_raises_job_not_found_which_is_still_a_key_error(models_dir):
    runner = jobs.JobRunner(Store("sqlite://"), models_dir)
    try:
        with pytest.raises(JobNotFoundError, match="no job 'job-nope'") as raised:
            runner.get("job-nope")
        assert isinstance(raised.value, NerError) and isinstance(raised.value, KeyError)
        assert str(raised.value).startswith(f"[{JobNotFoundError.code}] ")
        with pytest.raises(JobNotFoundError):
            runner.wait("job-nope", timeout=0)
        assert runner.cancel("job-nope") is False  # unchanged: cancelling an unknown job is a no-op
    finally:
        runner.shutdown(wait=True)


def test_an_in_memory_database_falls_back_to_thread_isolation(models_dir):
    runner = jobs.JobRunner(Store("sqlite://"), models_dir)
    try:
        assert runner.isolation == "thread"  # a child process would open an empty database of its own
    finally:
        runner.shutdown(wait=True)


def test_job_process_reports_an_unreadable_job_and_cancels_when_its_parent_hangs_up(store, models_dir, dataset):
    out = io.StringIO()
    assert job_process.run(io.StringIO("not json\n"), out) == 0
    error = json.loads(out.getvalue())["error"]
    assert error["status"] == RunStatus.FAILED and error["message"].startswith("unreadable job description: Expecting value")

    # Only the job line and then end of input: the parent is gone, so the job stops instead of training.
    store.create_run("orphan", "baseline", config={}, status=RunStatus.QUEUED)
    payload = job_process.job_payload(
        config=long_config(dataset),
        run_id="orphan",
        parent_run_id=None,
        models_dir=models_dir,
        database_url=store.url,
        extra_train_sentences=[],
    )
    out = io.StringIO()
    job_process.run(io.StringIO(payload + "\n"), out)
    *events, last = [json.loads(line) for line in out.getvalue().splitlines()]
    assert last["error"]["status"] == RunStatus.CANCELLED
    assert all("event" in message for message in events)
    assert store.get_run("orphan").status == RunStatus.CANCELLED


def test_the_next_job_gets_a_process_that_has_already_imported_tensorflow(runner, dataset):
    first = runner.wait(runner.submit(tiny_config(dataset)).job_id, JOB_TIMEOUT_S)
    spare = runner._spare
    assert spare is not None and spare.process.poll() is None  # warmed up while the first job trained
    second = runner.submit(tiny_config(dataset, seed=3))
    wait_until(lambda: runner.get(second.job_id).process_id is not None or runner.get(second.job_id).finished)
    assert runner.wait(second.job_id, JOB_TIMEOUT_S).status == first.status == RunStatus.COMPLETED
    assert spare.process.returncode == 0  # it trained the second job, then exited
    runner.shutdown(wait=True)
    assert runner._spare is None


def test_job_process_exits_quietly_when_no_job_ever_comes():
    out = io.StringIO()
    assert job_process.run(io.StringIO(""), out) == 0
    assert out.getvalue() == ""


def test_a_finished_job_can_be_dismissed_and_an_unfinished_one_cannot(runner, dataset, tmp_path):
    broken = runner.submit(tiny_config(tmp_path / "missing.csv"))
    waiting = runner.submit(long_config(dataset))
    assert runner.dismiss(waiting.job_id) is False  # queued: nothing to read yet
    assert runner.wait(broken.job_id, JOB_TIMEOUT_S).status == RunStatus.FAILED
    assert runner.dismiss(broken.job_id) is True
    assert runner.get(broken.job_id).dismissed and not runner.get(waiting.job_id).dismissed
    with pytest.raises(JobNotFoundError):
        runner.dismiss("job-unknown")
    runner.cancel(waiting.job_id)


def test_the_training_process_yields_the_cpu_to_the_server():
    """A fit runs at a lower priority than the app, so page loads do not wait behind it."""
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + job_process.BACKGROUND_NICENESS)
    child = job_process.TrainingProcess.start()
    try:
        wait_until(lambda: os.getpriority(os.PRIO_PROCESS, child.process.pid) == expected, timeout=60)
        assert os.getpriority(os.PRIO_PROCESS, child.process.pid) == expected
    finally:
        child.process.kill()
        child.finish()
