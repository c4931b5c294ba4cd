"""The API's prediction-log writer: rows are queued in memory and committed in batches by a
background thread, so a slow disk never stalls a response; :meth:`RequestLogWriter.close`
(called when the server shuts down, SIGTERM included) commits every pending row before returning.

A failed commit (the database locked for longer than its busy timeout, a full disk) keeps the rows
queued and tries again at the next interval; rows are only dropped from memory once committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping

from ner_core.errors import StoreError
from ner_core.store.database import Store

logger = logging.getLogger(__name__)
LOG_SOURCE = "api"
RETRY_PAUSE_S = 1.0


class RequestLogWriter:
    """Queue of prediction-log rows committed every ``flush_interval_s`` or every ``batch_rows`` rows."""

    def __init__(self, store: Store, *, flush_interval_s: float = 0.5, batch_rows: int = 500):
        self._store = store
        self.flush_interval_s = flush_interval_s
        self.batch_rows = batch_rows
        self._rows: deque[Mapping] = deque()
        self._condition = threading.Condition()
        self._commit_lock = threading.Lock()  # the thread and flush() never commit the same rows twice
        self._closing = False
        self.rows_written = 0
        self.failed_commits = 0
        self._thread = threading.Thread(target=self._work, name="ner-request-log", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._rows)

    def add(self, row: Mapping) -> None:
        """Queue one row (a dict of prediction_log columns; ``entities`` as a list); never blocks on the database."""
        self._rows.append(row)
        if len(self._rows) >= self.batch_rows:
            with self._condition:
                self._condition.notify()

    def flush(self) -> int:
        """Commit every queued row now, in the caller's thread; returns how many were written."""
        written = 0
        while self._rows:
            count = self._commit_some()
            if count == 0:
                break
            written += count
        return written

    def close(self, timeout_s: float = 60.0) -> None:
        """Stop the background thread after it has committed every pending row."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join(timeout_s)
        self.flush()  # anything added after the thread's last pass
        if self._rows:
            logger.error("%d prediction-log rows could not be written before shutdown", len(self._rows))

    def _commit_some(self) -> int:
        with self._commit_lock:
            batch = [self._rows[i] for i in range(min(self.batch_rows, len(self._rows)))]
            if not batch:
                return 0
            try:
                self._store.log_predictions(batch)
            except StoreError as exc:
                self.failed_commits += 1
                logger.warning("prediction log commit failed, %d rows kept for the next try: %s", len(self._rows), exc)
                return 0
            for _ in batch:
                self._rows.popleft()
            self.rows_written += len(batch)
            return len(batch)

    def _work(self) -> None:
        while True:
            with self._condition:
                if not self._closing and len(self._rows) < self.batch_rows:
                    self._condition.wait(self.flush_interval_s)
                closing = self._closing
            while self._rows:
                if self._commit_some() == 0:
                    if closing:
                        return  # close() tries once more and reports what is left
                    time.sleep(RETRY_PAUSE_S)
                    break
                if not closing and len(self._rows) < self.batch_rows:
                    break
            if closing and not self._rows:
                return
