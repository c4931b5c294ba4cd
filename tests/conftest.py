"""Shared fixtures. Every test session gets its own models folder and database,
so tests never touch the developer's ``models/``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests use the plain graph: XLA compiles once per input shape (~2 s each), which tiny models on many
# shapes would pay again and again. tests/test_inference.py checks the compiled path gives the same tags.
os.environ["NER_XLA"] = "0"

from ner_core.corpus import reading, writing
from ner_core.settings import CORPUS_ENV, SAMPLE_DATA_PATH
from ner_core.training import loop
from ner_core.training.config import sample_config
from tests.helpers import make_sentence


@pytest.fixture(scope="session", autouse=True)
def isolated_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("workspace")
    saved = {k: os.environ.get(k) for k in ("NER_MODELS_DIR", "NER_DATABASE_URL", "NER_UPLOADS_DIR")}
    os.environ["NER_MODELS_DIR"] = str(root / "models")
    os.environ["NER_DATABASE_URL"] = f"sqlite:///{root / 'models' / 'workbench.db'}"
    os.environ["NER_UPLOADS_DIR"] = str(root / "uploads")
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE_DATA_PATH


@pytest.fixture(scope="session")
def gmb_path() -> Path:
    """The real corpus; skipped with a reason when absent, failed when CI requires it."""
    configured = os.environ.get(CORPUS_ENV, "")
    path = Path(configured) if configured else None
    if path is None or not path.exists():
        reason = f"real GMB corpus not available (set {CORPUS_ENV} to ner_dataset.csv.zip)"
        if os.environ.get("NER_REQUIRE_CORPUS") == "1":
            pytest.fail(reason + "; NER_REQUIRE_CORPUS=1 requires it")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def gmb_corpus(gmb_path):
    return reading.load_corpus(gmb_path)


TINY_SENTENCES = [
    "Anna/B-per Berg/I-per visited/O Oslo/B-geo on/O Monday/B-tim ./O",
    "The/O Acme/B-org Group/I-org opened/O an/O office/O in/O Lima/B-geo ./O",
    "Peter/B-per spoke/O to/O Norwegian/B-gpe reporters/O ./O",
    "Rain/O fell/O in/O Oslo/B-geo and/O Lima/B-geo ./O",
    "Acme/B-org hired/O Anna/B-per in/O 2004/B-tim ./O",
]


@pytest.fixture
def tiny_sentences():
    """Forty small sentences covering per/geo/org/tim/gpe, enough to split and train in seconds."""
    sentences = []
    for repeat in range(8):
        for spec in TINY_SENTENCES:
            # A distinct filler word keeps the copies from being duplicate sentences.
            sentence = make_sentence(spec.replace("./O", f"x{repeat}/O ./O"), len(sentences) + 1)
            sentences.append(sentence)
    return sentences


@pytest.fixture
def tiny_csv(tmp_path, tiny_sentences) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(writing.corpus_to_gmb_csv(tiny_sentences), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def store(isolated_workspace):
    from ner_core.settings import Settings
    from ner_core.store.database import Store

    return Store(Settings.from_env().database_url)


@pytest.fixture(scope="session")
def trained_run(isolated_workspace, store, sample_path):
    """One small model2 run on the bundled sample, shared by inference, evaluation and CLI tests."""
    from ner_core.settings import Settings

    config = sample_config("model2", str(sample_path), epochs=6, embedding_dim=32)
    return loop.train(config, models_dir=Settings.from_env().models_dir, store=store)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny baseline run (tests.helpers.tiny_config) in a store of its own, for tests that record it
    in their own database as one or more completed runs and only read its folder."""
    from ner_core.store.database import Store
    from tests.helpers import tiny_config

    root = tmp_path_factory.mktemp("tiny_run")
    training_store = Store(f"sqlite:///{root / 'training.db'}")
    result = loop.train(tiny_config(SAMPLE_DATA_PATH), models_dir=root / "models", store=training_store)
    return training_store.get_run(result.run_id)


@pytest.fixture
def empty_workspace(monkeypatch, tmp_path):
    """A brand-new models folder and database and no configured corpus, as on a fresh clone's first start."""
    monkeypatch.delenv("NER_CORPUS_PATH", raising=False)
    monkeypatch.setenv("NER_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("NER_DATABASE_URL", f"sqlite:///{tmp_path / 'models' / 'workbench.db'}")
    monkeypatch.setenv("NER_UPLOADS_DIR", str(tmp_path / "uploads"))
    return tmp_path


@pytest.fixture
def runner(empty_workspace):
    """The job runner the pages use (one per database and models folder) on a fresh workspace,
    shut down after the test."""
    from ner_core.settings import Settings
    from ner_core.store.database import Store
    from ner_core.training import jobs

    settings = Settings.from_env()
    runner = jobs.get_runner(Store(settings.database_url), settings.models_dir)
    yield runner
    runner.shutdown(wait=True)
