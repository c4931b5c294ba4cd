"""The annotation queue: the three orders with real models, each analyst's queue, and recording decisions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa

from ner_core.errors import ConfigError, QueueDecisionError, QueueSettingError
from ner_core.serving.predictor import Predictor
from ner_core.store.database import Store
from ner_core.store.tables import QueueDecision
from ner_core.training import loop
from ner_core.workbench import annotation, annotation_pools, annotation_queue, review_requests
from ner_core.workbench.annotation_queue import Decision
from tests.helpers import tiny_config

POOL_TEXTS = [
    "Anna Berg visited Oslo on Monday .",
    "The Acme Group opened an office in Lima .",
    "Peter spoke to Norwegian reporters in Geneva .",
    "Rain fell .",
    "Officials in Nairobi said the talks with Kenya would resume in March .",
    "Mr. Smith met U.S. envoy Holbrooke .",
]
TAG_SET = annotation.model_tag_set(["B-per", "I-per", "B-geo", "I-geo", "B-org", "I-org", "B-tim", "I-tim", "B-gpe", "I-gpe"])


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'queue.db'}")


@pytest.fixture(scope="module")
def predictor(trained_run):
    return Predictor.load(trained_run.run_dir)


def pool_items():
    return [annotation_pools.PoolItem(text, tuple(text.split())) for text in POOL_TEXTS]


def test_least_confidence_puts_the_lowest_token_probability_first(predictor):
    ranked = annotation_queue.rank(predictor, pool_items(), order="confidence", pool="uploaded")
    tagged = predictor.tag_sentences([text.split() for text in POOL_TEXTS], runner_up=True)
    expected = {text: min(confidences) for text, (_, confidences, _) in zip(POOL_TEXTS, tagged)}
    assert [item.score for item in ranked] == pytest.approx(sorted(expected.values()))
    assert {item.text: item.score for item in ranked} == pytest.approx(expected)
    first = ranked[0]
    position = POOL_TEXTS.index(first.text)
    assert first.tags == tuple(tagged[position][0]) and first.pool == "uploaded" and first.position == position
    assert first.item_id == annotation_pools.item_id(first.text)


def test_margin_puts_the_smallest_gap_between_the_best_two_tags_first(predictor):
    ranked = annotation_queue.rank(predictor, pool_items(), order="margin", pool="uploaded")
    probabilities = predictor.probabilities([text.split() for text in POOL_TEXTS])
    expected = {}
    for text, scores, item in zip(POOL_TEXTS, probabilities, sorted(ranked, key=lambda i: i.position)):
        chosen = [predictor.tag_names.index(tag) for tag in item.tags]
        gaps = []
        for row, index in zip(scores, chosen):
            others = [p for k, p in enumerate(row) if k not in (0, index)]
            gaps.append(row[index] - max(others))
        expected[text] = min(gaps)
    assert {item.text: item.score for item in ranked} == pytest.approx(expected, abs=1e-5)
    assert [item.score for item in ranked] == sorted(item.score for item in ranked)
    assert ranked[0].margins == pytest.approx(tuple(np.subtract(ranked[0].confidences, ranked[0].runner_up)))


def test_disagreement_puts_the_sentences_two_models_tag_most_differently_first(predictor, trained_run, tiny_csv, tmp_path, db):
    other_run = loop.train(tiny_config(tiny_csv, epochs=1), models_dir=tmp_path / "models", store=db)
    other = Predictor.load(other_run.run_dir)
    ranked = annotation_queue.rank(predictor, pool_items(), order="disagreement", pool="log", other=other)
    mine = predictor.tag_sentences([text.split() for text in POOL_TEXTS])
    theirs = other.tag_sentences([text.split() for text in POOL_TEXTS])
    expected = {
        text: np.mean([a != b for a, b in zip(tags_a, tags_b)])
        for text, (tags_a, _), (tags_b, _) in zip(POOL_TEXTS, mine, theirs)
    }
    assert {item.text: item.score for item in ranked} == pytest.approx(expected)
    assert [item.score for item in ranked] == sorted((item.score for item in ranked), reverse=True)
    assert all(item.other_tags == tuple(theirs[item.position][0]) for item in ranked)
    with pytest.raises(QueueSettingError, match="second model"):
        annotation_queue.rank(predictor, pool_items(), order="disagreement", pool="log")
    with pytest.raises(QueueSettingError, match="unknown order"):
        annotation_queue.rank(predictor, pool_items(), order="random", pool="log")
    assert annotation_queue.rank(predictor, [], order="confidence", pool="log") == []


def ranked_items(pool="validation"):
    items = []
    for position, text in enumerate(POOL_TEXTS):
        tokens = tuple(text.split())
        items.append(
            annotation_queue.QueueItem(
                annotation_pools.item_id(text), text, tokens, ("O",) * len(tokens), (0.9,) * len(tokens), (0.05,) * len(tokens),
                0.9, "confidence", pool, position,
            )
        )  # fmt: skip
    return items


def decide(db, item, action, analyst, client_id, tags=None):
    tags = tags if tags is not None or action == "skip" else item.tags
    return annotation_queue.record_decisions(
        db,
        [Decision(client_id, item.item_id, action, tags)],
        {item.item_id: item},
        analyst=analyst,
        model_run_id="run-1",
        tag_set=TAG_SET,
    )


def remaining_texts(db, analyst, items, pool="validation"):
    view = annotation_queue.analyst_view(db, analyst, needed=annotation_queue.analysts_per_sentence(db))
    return [item.text for item in annotation_queue.remaining(items, view, pool=pool)]


def test_a_sentence_leaves_my_queue_once_i_decide_and_everyones_once_enough_analysts_annotated(db):
    items = ranked_items()
    accepted, skipped, flagged = items[0], items[1], items[2]
    decide(db, accepted, "accept", "Ada", "c1")
    decide(db, skipped, "skip", "Ada", "c2")
    decide(db, flagged, "flag", "Ada", "c3")
    assert remaining_texts(db, "Ada", items) == POOL_TEXTS[3:]
    assert remaining_texts(db, "Bo", items) == POOL_TEXTS[1:]  # one analyst per sentence by default

    annotation_queue.set_analysts_per_sentence(db, 2, analyst="Lead")
    assert annotation_queue.analysts_per_sentence(db) == 2
    assert remaining_texts(db, "Bo", items) == POOL_TEXTS  # the accepted sentence needs a second analyst now
    decide(db, accepted, "accept", "Bo", "c4")
    assert remaining_texts(db, "Bo", items) == POOL_TEXTS[1:]
    assert remaining_texts(db, "Cy", items) == POOL_TEXTS[1:]  # two distinct analysts: out of everyone's queue
    decide(db, items[3], "accept", "Ada", "c5")
    decide(db, items[3], "accept", "Ada", "c6")  # the same analyst twice still counts once
    assert POOL_TEXTS[3] in remaining_texts(db, "Cy", items)

    # Each sentence out of a queue is counted once, with its reason, so "3 of 5" never reads as lost sentences.
    def gone(analyst):
        view = annotation_queue.analyst_view(db, analyst, needed=annotation_queue.analysts_per_sentence(db))
        return annotation_queue.gone_counts(items, view, pool="validation")

    assert gone("Ada") == {"you annotated": 2, "you skipped or flagged": 2}
    assert gone("Bo") == {"you annotated": 1}
    assert gone("Cy") == {"enough analysts annotated": 1}
    assert gone("Dee") == {"enough analysts annotated": 1}


def test_the_flagged_pool_keeps_a_sentence_until_someone_accepts_it_there(db):
    items = ranked_items()
    decide(db, items[0], "flag", "Ada", "f1", tags=("B-per", "I-per", "O", "B-geo", "O", "B-tim", "O"))
    [flag] = annotation_queue.flagged_decisions(db)
    assert (flag.analyst, flag.text, flag.tags) == ("Ada", POOL_TEXTS[0], ["B-per", "I-per", "O", "B-geo", "O", "B-tim", "O"])
    assert annotation_queue.flagged_tags(db) == {items[0].item_id: flag.tags}
    assert flag.tokens == POOL_TEXTS[0].split()
    flagged_items = ranked_items(pool="flagged")[:1]
    assert remaining_texts(db, "Ada", flagged_items, pool="flagged") == [POOL_TEXTS[0]]  # the flagger may resolve it too
    decide(db, flagged_items[0], "skip", "Bo", "s1")
    assert remaining_texts(db, "Bo", flagged_items, pool="flagged") == []
    assert remaining_texts(db, "Cy", flagged_items, pool="flagged") == [POOL_TEXTS[0]]
    decide(db, flagged_items[0], "accept", "Cy", "a1")
    assert annotation_queue.flagged_decisions(db) == []
    [saved] = [a for a in db.list_annotations() if a.analyst == "Cy"]
    assert saved.source == "flagged"


def test_an_accept_stores_the_annotation_and_the_decision_together_once(db):
    item = ranked_items()[0]
    tags = ("B-per", "I-per", "O", "B-geo", "O", "B-tim", "O")
    first = decide(db, item, "accept", " Ada  Lovelace ", "c1", tags=tags)
    again = decide(db, item, "accept", "Ada Lovelace", "c1", tags=tags)  # the browser resent it
    assert first.acknowledged == again.acknowledged == ["c1"] and first.rejected == again.rejected == []
    assert len(first.annotation_ids) == 1 and again.annotation_ids == []
    [saved] = db.list_annotations()
    assert (saved.id, saved.analyst, saved.text, saved.tokens) == (
        first.annotation_ids[0],
        "Ada Lovelace",
        item.text,
        list(item.tokens),
    )
    assert saved.tags == list(tags) and saved.original_tags == list(item.tags)
    assert (saved.model_run_id, saved.source) == ("run-1", "validation split")
    [decision] = annotation_queue.decisions_of(db, "Ada Lovelace")
    assert (decision.decision, decision.annotation_id, decision.pool, decision.client_id) == (
        "accepted",
        saved.id,
        "validation",
        "c1",
    )
    assert json.loads(decision.tags_json) == list(tags)


def test_refused_decisions_write_nothing_and_say_why(db):
    item = ranked_items()[0]
    bad_iob = ("I-per",) + ("O",) * 6
    outside_tag_set = ("B-xyz",) + ("O",) * 6
    outcome = annotation_queue.record_decisions(
        db,
        [
            Decision("c1", item.item_id, "accept", bad_iob),
            Decision("c2", item.item_id, "accept", outside_tag_set),
            Decision("c3", item.item_id, "accept", ("O",) * 3),
            Decision("c4", "never-sent", "accept", None),
            Decision("c5", item.item_id, "skip", None),
        ],
        {item.item_id: item},
        analyst="Ada",
        model_run_id="run-1",
        tag_set=TAG_SET,
    )
    assert outcome.acknowledged == ["c5"]
    messages = {entry["clientId"]: entry["message"] for entry in outcome.rejected}
    assert "does not continue a per entity" in messages["c1"] and messages["c1"].startswith("[E021]")
    assert "not in the model's tag set" in messages["c2"]
    assert "7 tokens but 3 tags" in messages["c3"]
    assert "not sent to this session" in messages["c4"]
    assert db.list_annotations() == []
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(QueueDecision)) == 1  # only the skip
    with pytest.raises(ConfigError, match="analyst"):
        annotation_queue.record_decision(
            db, Decision("c9", item.item_id, "skip", None), item, analyst=" ", model_run_id=None, tag_set=TAG_SET
        )
    with pytest.raises(QueueDecisionError, match="another sentence"):
        annotation_queue.record_decision(
            db, Decision("c9", "x", "skip", None), item, analyst="Ada", model_run_id=None, tag_set=TAG_SET
        )


def test_an_accepted_review_request_is_closed_once_it_has_enough_analysts(db):
    item = ranked_items(pool="requests")[0]
    review_requests.add_review_requests(db, [item.text], source="bulk:job-1")
    annotation_queue.set_analysts_per_sentence(db, 2, analyst="Lead")
    decide(db, item, "accept", "Ada", "c1")
    assert [r.text for r in review_requests.pending_review_requests(db)] == [item.text]
    decide(db, item, "accept", "Bo", "c2")
    assert review_requests.pending_review_requests(db) == []


def test_analysts_per_sentence_is_a_bounded_team_setting(db):
    assert annotation_queue.analysts_per_sentence(db) == 1
    for bad in (0, 11, 2.5, True, "2"):
        with pytest.raises(QueueSettingError, match="from 1 to 10"):
            annotation_queue.set_analysts_per_sentence(db, bad, analyst="Lead")
    annotation_queue.set_analysts_per_sentence(db, 3, analyst="Lead")
    annotation_queue.set_analysts_per_sentence(db, 4, analyst="Lead")
    assert annotation_queue.analysts_per_sentence(db) == 4


def test_a_deep_link_moves_its_sentence_to_the_front():
    items = ranked_items()
    moved = annotation_queue.first_at(items, items[3].item_id)
    assert [item.text for item in moved] == [POOL_TEXTS[3], *POOL_TEXTS[:3], *POOL_TEXTS[4:]]
    assert annotation_queue.first_at(items, "gone") == items
    assert annotation_queue.first_at(items, None) == items


def test_a_reviewers_final_version_settles_a_sentence_for_every_queue(db):
    from ner_core.workbench import adjudication

    items = ranked_items()
    annotation_queue.set_analysts_per_sentence(db, 4, analyst="Lead")
    decide(db, items[0], "accept", "Ada", "c1", tags=["B-geo", *items[0].tags[1:]])
    decide(db, items[0], "accept", "Bo", "c2")
    decide(db, items[1], "accept", "Ada", "c3")
    assert POOL_TEXTS[0] in remaining_texts(db, "Cy", items)  # two of four analysts so far
    # A reviewer settles the first sentence: it leaves every queue though only two analysts annotated it.
    adjudication.pick_version(db, annotation_id=db.list_annotations()[0].id, reviewer="Rev")
    assert POOL_TEXTS[0] not in remaining_texts(db, "Cy", items)
    assert POOL_TEXTS[1] in remaining_texts(db, "Cy", items)
