"""The API's log writer on a real SQLite store: rows committed in batches off the caller's thread, by
size or by interval, and every pending row committed by close()."""

from __future__ import annotations

import time

from ner_core.serving.request_log import RequestLogWriter
from tests.helpers import wait_until


def row(i: int) -> dict:
    return {"source": "api", "text": f"text {i}", "entities": [], "api_key_name": "k", "request_id": f"r{i}"}


def test_rows_wait_for_the_interval_then_land_in_one_commit(fresh_store):
    writer = RequestLogWriter(fresh_store, flush_interval_s=0.3, batch_rows=1000)
    try:
        for i in range(5):
            writer.add(row(i))
        assert writer.pending == 5 and fresh_store.count_predictions() == 0  # add() never touches the database
        wait_until(lambda: fresh_store.count_predictions() == 5, timeout=10)
        assert writer.pending == 0 and writer.rows_written == 5
    finally:
        writer.close()


def test_a_full_batch_is_committed_without_waiting_for_the_interval(fresh_store):
    writer = RequestLogWriter(fresh_store, flush_interval_s=3600, batch_rows=10)
    try:
        started = time.monotonic()
        for i in range(25):
            writer.add(row(i))
        wait_until(lambda: fresh_store.count_predictions() == 20, timeout=10)
        assert time.monotonic() - started < 10 and writer.pending == 5  # the last partial batch waits
    finally:
        writer.close()
    assert fresh_store.count_predictions() == 25


def test_close_commits_every_pending_row_in_order(fresh_store):
    writer = RequestLogWriter(fresh_store, flush_interval_s=3600, batch_rows=100_000)
    for i in range(1234):
        writer.add(row(i))
    writer.close()
    rows = fresh_store.prediction_rows()
    assert [r["request_id"] for r in rows] == [f"r{i}" for i in range(1234)]
    assert writer.pending == 0 and writer.rows_written == 1234
