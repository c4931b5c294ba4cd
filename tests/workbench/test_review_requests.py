"""Texts sent to the annotation queue: added once, listed oldest first, closed when done."""

from __future__ import annotations

import pytest

from ner_core.errors import ConfigError
from ner_core.store.database import Store
from ner_core.workbench import review_requests


@pytest.fixture
def fresh_store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'review.db'}")


def test_review_requests_added_once_listed_in_order_and_closed(fresh_store):
    added = review_requests.add_review_requests(
        fresh_store, ["Anna flew to Oslo.", "  ", "Acme hired Peter.", "Anna flew to Oslo."], source="bulk:job-1"
    )
    assert added == 2  # the blank text and the repeat are left out
    pending = review_requests.pending_review_requests(fresh_store)
    assert [(r.text, r.source) for r in pending] == [("Anna flew to Oslo.", "bulk:job-1"), ("Acme hired Peter.", "bulk:job-1")]

    assert review_requests.mark_review_requests_done(fresh_store, ["Anna flew to Oslo.", "never sent"]) == 1
    assert [r.text for r in review_requests.pending_review_requests(fresh_store)] == ["Acme hired Peter."]
    # Once done, the same text can be sent again.
    assert review_requests.add_review_requests(fresh_store, ["Anna flew to Oslo."], source="log", notes=["low confidence"]) == 1
    assert [r.note for r in review_requests.pending_review_requests(fresh_store)] == ["", "low confidence"]


@pytest.mark.parametrize("source", ["", "   ", "x" * 65])
def test_review_requests_refuse_a_missing_or_overlong_source(fresh_store, source):
    with pytest.raises(ConfigError, match="source name"):
        review_requests.add_review_requests(fresh_store, ["text"], source=source)
    assert review_requests.pending_review_requests(fresh_store) == []


def test_review_requests_refuse_notes_that_do_not_pair_with_texts(fresh_store):
    with pytest.raises(ConfigError, match="2 notes for 1 texts"):
        review_requests.add_review_requests(fresh_store, ["text"], source="log", notes=["a", "b"])
    assert review_requests.pending_review_requests(fresh_store) == []
