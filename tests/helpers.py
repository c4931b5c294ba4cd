"""Helpers the test modules share: paths, timeouts, page and config builders, polling.

Fixtures live in ``conftest.py``; plain functions and constants live here so a test
module imports them by name instead of reaching into ``conftest``.
"""

from __future__ import annotations

import time
from pathlib import Path

from ner_core.corpus import annotated
from ner_core.training import config

ROOT = Path(__file__).resolve().parents[1]
# One page run (a script rerun under AppTest) loads models and may train nothing; 90 s is
# generous on this 2-core machine even with the other tests' TensorFlow in memory.
PAGE_TIMEOUT_S = 90
# A background training job of a tiny model, including the child process's TensorFlow import.
JOB_TIMEOUT_S = 240


def page_app(name: str, timeout: float = PAGE_TIMEOUT_S):
    """An AppTest for one page file under pages/."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=timeout)


def make_sentence(spec: str, number: int = 0) -> annotated.Sentence:
    """``"John/B-per lives/O in/O Paris/B-geo"`` -> Sentence."""
    words, tags = zip(*(item.rsplit("/", 1) for item in spec.split()))
    return annotated.Sentence(list(words), list(tags), None, number=number)


def tiny_config(dataset, **overrides) -> config.TrainConfig:
    """A baseline config that trains in seconds (one epoch unless overridden)."""
    values = dict(model="baseline", epochs=1, batch_size=8, dataset=str(dataset), max_len=16, embedding_dim=8)
    values.update(overrides)
    return config.TrainConfig(**values)


def wait_until(predicate, timeout: float = JOB_TIMEOUT_S, interval: float = 0.01) -> None:
    """Poll ``predicate`` until it is true; fail the test (never return silently) on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"condition not reached in {timeout} s"
        time.sleep(interval)


def register_run_copy(trained_run, run_id: str, *, dataset_sha256: str = "", created_at=None, settings=None, **fields):
    """A completed copy of ``trained_run`` (folder and store row) in a workspace, for pages that list runs.

    The workspace is ``settings`` (a :class:`ner_core.settings.Settings`), by default the current one.
    ``dataset_sha256`` makes it a run of another dataset as far as the store knows; ``created_at`` orders it
    among the others (newest first); other ``fields`` go to ``Store.update_run`` (``metrics``, ``name``...).
    """
    import shutil

    from ner_core.settings import Settings
    from ner_core.store.database import Store

    settings = settings or Settings.from_env()
    store = Store(settings.database_url)
    shutil.copytree(trained_run.run_dir, settings.models_dir / run_id)
    config = trained_run.config.to_dict()
    store.create_run(run_id, config["model"], config=config, dataset_path=config["dataset"], dataset_sha256=dataset_sha256)
    update = {"status": "completed", "run_dir": str(settings.models_dir / run_id), "metrics": trained_run.metrics, **fields}
    if created_at is not None:
        update["created_at"] = created_at
    store.update_run(run_id, **update)
    return store.get_run(run_id)
