"""Cached loaders and small helpers every page uses.

Models, the database engine and the job runner are created once per server
process with ``st.cache_resource``; pages never build them themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import streamlit as st

from ner_core.errors import NerError
from ner_core.settings import SAMPLE_DATA_PATH, Settings
from ner_core.workbench import app_wording
from ner_core.workbench import run_labels as labelling  # util.run_labels is a function of this module
from ner_core.workbench.render import markdown_escape

T = TypeVar("T")


def settings() -> Settings:
    return Settings.from_env()


@st.cache_resource(show_spinner=False)
def _store(url: str):
    from ner_core.store.database import Store

    return Store(url)


def get_store():
    return _store(settings().database_url)


@st.cache_resource(show_spinner=False)
def _runner(url: str, models_dir: str):
    from ner_core.training.jobs import get_runner

    return get_runner(_store(url), Path(models_dir))


def get_runner():
    current = settings()
    return _runner(current.database_url, str(current.models_dir))


@st.cache_resource(show_spinner="Loading model...", max_entries=12)
def get_predictor(run_dir: str, decoding: str | None = None):
    from ner_core.serving.predictor import Predictor

    return Predictor.load(run_dir, decoding=decoding)


def completed_runs() -> list:
    """Completed runs whose folder still exists, newest first."""
    from ner_core.store.tables import RunStatus

    return [r for r in get_store().list_runs(status=RunStatus.COMPLETED) if r.run_dir and Path(r.run_dir).is_dir()]


def or_stop(load: Callable[[], T]) -> T:
    """``load()``; when it fails, its error is shown and the page stops there (never a traceback)."""
    try:
        return load()
    except Exception as exc:  # noqa: BLE001 - the one place pages turn a loading failure into a message
        show_error(exc)
        st.stop()


def completed_runs_or_stop(then: str, *, on_empty: Callable[[], None] | None = None) -> list:
    """Completed runs; otherwise an error or a hint on how to get a model, and the page stops there.

    ``on_empty`` draws what the page still shows without a model (after the hint, before stopping).
    """
    available = or_stop(completed_runs)
    if not available:
        st.info(
            f"No trained models yet. Train one on the Training runs page (or start the three defaults from Home), then {then}."
        )
        if on_empty is not None:
            on_empty()
        st.stop()
    return available


def dataset_names() -> dict[str, str]:
    """What the app calls each dataset (see :func:`ner_core.workbench.run_labels.dataset_names`)."""
    return labelling.dataset_names(get_store(), settings())


def run_label(run) -> str:
    """Name, model, dataset, date, entity F1 and tags of one run (pickers of several runs use :func:`run_labels`)."""
    return labelling.run_label(run, dataset_names())


def run_labels(runs) -> dict[str, str]:
    """Run id -> label, distinct for every run, with the dataset names read once."""
    return labelling.run_labels(runs, dataset_names())


def dataset_choices() -> dict[str, str]:
    """Label -> path of every dataset a user can pick: sample, configured corpus, uploads."""
    choices = {"Bundled sample": str(SAMPLE_DATA_PATH)}
    current = settings()
    if current.corpus_path is not None and current.corpus_path.exists():
        choices[f"Configured corpus ({current.corpus_path.name})"] = str(current.corpus_path)
    for dataset in get_store().list_datasets():
        if Path(dataset.path).exists():
            choices[f"Upload: {dataset.name} ({dataset.sha256[:8]})"] = dataset.path
    return choices


def dataset_label(path: str) -> str | None:
    """The label :func:`dataset_choices` gives the dataset at ``path`` (None when it offers none)."""
    return next((label for label, choice in dataset_choices().items() if choice == path), None)


def known_sentence_count(path: str) -> int | None:
    """Sentences of an uploaded dataset as recorded at upload; None for anything else (not counted here)."""
    for dataset in get_store().list_datasets():
        if dataset.path == path:
            return dataset.sentences or None
    return None


def show_error(exc: Exception) -> None:
    """A user-facing error, never a traceback, for our own error types; CLI remedies reworded for the app."""
    if isinstance(exc, NerError):
        st.error(markdown_escape(app_wording.for_app(str(exc))))
    else:
        st.error(f"Unexpected problem: {exc.__class__.__name__}: {markdown_escape(exc)}")


def start_polling(key: str) -> None:
    """Call right before a polling fragment (``st.fragment(..., run_every=...)``) is first called in a full run."""
    st.session_state[f"{key}_poll_inline"] = True


def is_timed_rerun(key: str) -> bool:
    """In a polling fragment: whether this call is a timed rerun, not the first call inside the full run.

    A fragment that reruns the page when what it polls has changed must not do so on its first call: that call
    comes microseconds after the page read the same thing, and a job that started in between would rerun the
    page at once and drop what the run showed once (the form's "Queued run" message vanished that way under
    load). The next timed rerun sees the change and reruns the page then.
    """
    return not st.session_state.pop(f"{key}_poll_inline", False)


@st.cache_data(show_spinner=False, max_entries=8)
def simulation_log_rows(database_url: str, simulation_id: str, count: int) -> list[dict]:
    """A simulation's prediction-log rows; ``count`` (its logged rows) keys the cache with the database,
    so a simulation still being logged is read again and a finished one never is."""
    return _store(database_url).prediction_rows(simulation_id=simulation_id)
