"""Where things live: the dataset, the run folders and the database.

Read from environment variables so that the app, the CLI, the tests and CI
all agree without passing paths around; each has a default that works in a
fresh clone (the bundled sample, ``models/`` and a SQLite file in it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA_PATH = PROJECT_ROOT / "data" / "sample" / "sample_ner.csv"

CORPUS_ENV = "NER_CORPUS_PATH"
MODELS_DIR_ENV = "NER_MODELS_DIR"
DATABASE_URL_ENV = "NER_DATABASE_URL"
UPLOADS_DIR_ENV = "NER_UPLOADS_DIR"


@dataclass(frozen=True)
class Settings:
    """Resolved locations; ``corpus_path`` is None when no real corpus is configured."""

    corpus_path: Path | None
    models_dir: Path
    database_url: str
    uploads_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        corpus = os.environ.get(CORPUS_ENV, "").strip()
        models_dir = Path(os.environ.get(MODELS_DIR_ENV, "") or PROJECT_ROOT / "models")
        database_url = os.environ.get(DATABASE_URL_ENV, "") or f"sqlite:///{models_dir / 'workbench.db'}"
        uploads_dir = Path(os.environ.get(UPLOADS_DIR_ENV, "") or PROJECT_ROOT / "data" / "uploads")
        return cls(
            corpus_path=Path(corpus).expanduser() if corpus else None,
            models_dir=models_dir,
            database_url=database_url,
            uploads_dir=uploads_dir,
        )

    @property
    def default_dataset(self) -> Path:
        """The configured corpus when it exists, else the bundled sample."""
        if self.corpus_path is not None and self.corpus_path.exists():
            return self.corpus_path
        return SAMPLE_DATA_PATH
