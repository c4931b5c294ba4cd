"""What every GMB benchmark opens first: the configured corpus, its fixed-seed split and the bench's own store."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ner_core.corpus import annotated, reading, splitting
from ner_core.settings import Settings
from ner_core.store.database import Store


@dataclass
class BenchWorkspace:
    corpus_path: Path
    workdir: Path  # trained runs and bench.db; reused across benchmark runs with --reuse
    store: Store
    corpus: annotated.Corpus
    splits: annotated.DatasetSplits


def open_workspace(workdir: str | Path, seed: int) -> BenchWorkspace | None:
    """None (after saying why on stderr) when NER_CORPUS_PATH names no file."""
    corpus_path = Settings.from_env().corpus_path
    if corpus_path is None or not corpus_path.exists():
        print("error: set NER_CORPUS_PATH to ner_dataset.csv.zip", file=sys.stderr)
        return None
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = reading.load_corpus(corpus_path)
    return BenchWorkspace(
        corpus_path=corpus_path,
        workdir=workdir,
        store=Store(f"sqlite:///{workdir / 'bench.db'}"),
        corpus=corpus,
        splits=splitting.split_corpus(corpus.sentences, seed=seed),
    )
