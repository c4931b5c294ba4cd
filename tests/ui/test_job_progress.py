"""Live job cards: a job that changes status while the page draws does not throw away what the run showed."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def a_job_that_starts_while_the_page_draws():
    """The first read of the jobs sees the job queued, every later read sees it running: the job started between
    the full run's read and the fragment's first call, as it does when a process picks it up at that moment."""
    import tempfile

    import streamlit as st

    from ner_core.settings import SAMPLE_DATA_PATH
    from ner_core.store.database import Store
    from ner_core.store.tables import RunStatus
    from ner_core.training import config, jobs
    from ui import job_progress

    queued = jobs.JobState("job-1", "run-1", config.TrainConfig(model="baseline", dataset=str(SAMPLE_DATA_PATH)))

    def select():
        reads = st.session_state["reads"] = st.session_state.get("reads", 0) + 1
        status = RunStatus.QUEUED if reads == 1 else RunStatus.RUNNING
        return [queued.__class__(**{**vars(queued), "status": status})]

    if st.session_state.pop("announce", True):  # shown by the first run only, as "Queued run ..." after a click
        st.success("shown once")
    runner = jobs.JobRunner(Store("sqlite://"), tempfile.mkdtemp())
    job_progress.visualize_live_jobs(select, key="live", runner=runner, title="Training jobs")
    st.write(f"reads: {st.session_state['reads']}")


def test_a_job_starting_between_the_page_read_and_the_fragment_does_not_rerun_the_page_at_once():
    app = AppTest.from_function(a_job_that_starts_while_the_page_draws, default_timeout=30).run()
    assert not app.exception
    assert [s.value for s in app.success] == ["shown once"]  # a rerun of the page would have dropped it
    assert app.session_state["reads"] == 2  # one full run: the page's read and the fragment's, no second run
    header = next(m.value for m in app.markdown if "`run-1`" in m.value)
    assert header.endswith("running")  # the card shows what the fragment read; its next timed rerun reruns the page
