"""Clean up after trainings that were killed: the start-up half of crash safety.

A training killed mid-fit (a closed terminal, ``kill -9``, a power cut) leaves its
store row ``running`` and its ``.tmp-`` folder (checkpoints of several MB) behind.
Each row and folder records the process that owns it, so the next start can fail
the rows and remove the folders of dead processes while a training that is still
running in another process keeps both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ner_core.store.database import Store
from ner_core.training import run_folder

logger = logging.getLogger(__name__)


@dataclass
class Recovery:
    interrupted_runs: int = 0
    removed_folders: list[Path] = field(default_factory=list)


def recover(store: Store, models_dir: Path) -> Recovery:
    """Fail the active rows and remove the temporary folders whose process is gone."""
    interrupted = store.mark_interrupted_runs(owner_alive=run_folder.process_alive)
    removed = run_folder.remove_abandoned_folders(models_dir)
    if interrupted or removed:
        logger.info(
            "recovered from interrupted trainings: %d run(s) marked interrupted, %d folder(s) removed", interrupted, len(removed)
        )
    return Recovery(interrupted, removed)
