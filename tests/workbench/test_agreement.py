"""Agreement between analysts on hand-made annotations, with every figure worked out by hand below."""

from __future__ import annotations

import pytest

from ner_core.store.database import Store
from ner_core.workbench import agreement

S1 = "Anna Berg visited Oslo ."
S2 = "Acme hired Peter in 2004 ."
S3 = "Rain fell in Lima ."
S4 = "Oslo is cold ."
VERSIONS = {
    ("ann", S1): "B-per I-per O B-geo O",
    ("bob", S1): "B-per I-per O B-geo O",  # identical to ann
    ("cy", S1): "B-per O O B-geo O",  # "Berg" left out of the person
    ("ann", S2): "B-org O B-per O B-tim O",
    ("bob", S2): "B-org O B-per O O O",  # misses the time
    ("ann", S3): "O O O B-geo O",
    ("bob", S3): "O O O B-gpe O",  # another type
    ("ann", S4): "B-geo O O O",  # ann alone: never compared
}


@pytest.fixture
def db(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'agreement.db'}")
    for (analyst, text), tags in VERSIONS.items():
        store.add_annotation(
            analyst=analyst,
            text=text,
            tokens=text.split(),
            tags=tags.split(),
            original_tags=["O"] * len(text.split()),
            model_run_id=None,
        )
    return store


def pairs_by_name(store):
    return {
        (p.analyst_a, p.analyst_b): p for p in agreement.pairwise_agreement(agreement.latest_versions(store.list_annotations()))
    }


def test_pairwise_entity_f1_per_type_and_kappa_match_the_hand_arithmetic(db):
    pairs = pairs_by_name(db)
    assert set(pairs) == {("ann", "bob"), ("ann", "cy"), ("bob", "cy")}

    ann_bob = pairs[("ann", "bob")]
    # Sentences S1-S3 (16 tokens). Entities: ann per,geo | org,per,tim | geo = 6; bob per,geo | org,per | gpe = 5;
    # same span and type: per,geo (S1), org,per (S2) = 4. F1 = 2*4 / (6+5) = 8/11.
    assert (ann_bob.sentences, ann_bob.identical_sentences, ann_bob.tokens) == (3, 1, 16)
    assert (ann_bob.entities_a, ann_bob.entities_b) == (6, 5)
    assert ann_bob.entity_f1 == pytest.approx(8 / 11)
    # Per type: per 2/2 matched -> 1; geo ann 2, bob 1, 1 matched -> 2*1/(2+1) = 2/3; org 1; tim and gpe 0.
    assert ann_bob.per_type == pytest.approx({"per": 1.0, "geo": 2 / 3, "org": 1.0, "tim": 0.0, "gpe": 0.0})
    # Kappa: 14 of 16 tokens agree (2004 and Lima differ): po = 14/16.
    # Tag counts ann: B-per 2, I-per 1, B-geo 2, B-org 1, B-tim 1, O 9; bob: B-per 2, I-per 1, B-geo 1, B-org 1, B-gpe 1, O 10.
    # pe = (2*2 + 1*1 + 2*1 + 1*1 + 1*0 + 0*1 + 9*10) / 16^2 = 98/256; kappa = (224-98)/(256-98) = 126/158 = 63/79.
    assert ann_bob.kappa == pytest.approx(63 / 79)

    ann_cy = pairs[("ann", "cy")]
    # S1 only (5 tokens). ann: per(Anna Berg), geo; cy: per(Anna), geo -> 1 of 2 and 2 match: F1 = 2*1/(2+2) = 0.5.
    assert (ann_cy.sentences, ann_cy.tokens, ann_cy.entity_f1) == (1, 5, pytest.approx(0.5))
    # po = 4/5 (Berg differs). ann: B-per 1, I-per 1, O 2, B-geo 1; cy: B-per 1, O 3, B-geo 1.
    # pe = (1*1 + 1*0 + 2*3 + 1*1)/25 = 8/25; kappa = (20/25 - 8/25)/(17/25) = 12/17.
    assert ann_cy.kappa == pytest.approx(12 / 17)
    assert ann_cy.per_type == pytest.approx({"per": 0.0, "geo": 1.0})
    # bob's S1 equals ann's, so bob-cy is the same comparison.
    assert pairs[("bob", "cy")].entity_f1 == pytest.approx(0.5) and pairs[("bob", "cy")].kappa == pytest.approx(12 / 17)


def test_f1_is_symmetric_so_the_reference_analyst_does_not_matter(db):
    versions = agreement.latest_versions(db.list_annotations())
    forward, backward = agreement.pair_agreement("ann", "bob", versions), agreement.pair_agreement("bob", "ann", versions)
    assert forward.entity_f1 == pytest.approx(backward.entity_f1)
    assert forward.kappa == pytest.approx(backward.kappa)
    assert forward.per_type == pytest.approx(backward.per_type)


def test_disagreements_list_the_sentences_and_the_tokens_that_differ(db):
    versions = agreement.latest_versions(db.list_annotations())
    assert [s.text for s in agreement.shared_sentences(versions)] == sorted([S1, S2, S3])
    found = {s.text: s for s in agreement.disagreements(versions)}
    assert set(found) == {S1, S2, S3}
    assert found[S1].analysts == ("ann", "bob", "cy")
    assert agreement.differing_positions(found[S1]) == [1]  # "Berg"
    assert agreement.differing_positions(found[S2]) == [4]  # "2004"
    assert agreement.differing_positions(found[S3]) == [3]  # "Lima"
    assert versions[S4].agree and len(versions[S4].versions) == 1


def test_an_analysts_latest_version_counts_and_adjudicated_rows_are_no_vote(db):
    [bob_s3] = [a for a in db.list_annotations() if a.analyst == "bob" and a.text == S3]
    db.update_annotation(bob_s3.id, tags="O O O B-geo O".split())  # bob changes his mind: now agrees with ann
    db.add_annotation(
        analyst="rev",
        text=S2,
        tokens=S2.split(),
        tags=["O"] * 6,
        original_tags=["O"] * 6,
        model_run_id=None,
        source="adjudicated",
    )
    versions = agreement.latest_versions(db.list_annotations())
    assert versions[S3].agree
    assert versions[S2].analysts == ("ann", "bob")  # the reviewer's final row is not an analyst's version
    assert {s.text for s in agreement.disagreements(versions)} == {S1, S2}


def test_undefined_figures_are_none_not_a_number_nobody_measured(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    for analyst in ("ann", "bob"):
        store.add_annotation(
            analyst=analyst,
            text="it rained",
            tokens=["it", "rained"],
            tags=["O", "O"],
            original_tags=["O", "O"],
            model_run_id=None,
        )
    [pair] = agreement.pairwise_agreement(agreement.latest_versions(store.list_annotations()))
    # No entity on either side: F1 is 0/0; one tag throughout: chance agreement is 1, kappa is 0/0.
    assert (pair.sentences, pair.identical_sentences, pair.entity_f1, pair.kappa, pair.per_type) == (1, 1, None, None, {})


def test_versions_with_different_tokens_are_a_disagreement_but_not_compared_token_by_token(db):
    db.add_annotation(
        analyst="dan",
        text=S3,
        tokens=["Rain", "fell", "in", "Lima."],
        tags=["O", "O", "O", "B-geo"],
        original_tags=["O"] * 4,
        model_run_id=None,
    )
    versions = agreement.latest_versions(db.list_annotations())
    assert not versions[S3].same_tokens and agreement.differing_positions(versions[S3]) == []
    pair = agreement.pair_agreement("ann", "dan", versions)
    assert (pair.sentences, pair.token_mismatches, pair.entity_f1, pair.kappa) == (0, 1, None, None)


def test_records_hold_one_row_per_pair_and_per_type(db):
    pairs = agreement.pairwise_agreement(agreement.latest_versions(db.list_annotations()))
    rows = agreement.agreement_records(pairs)
    assert [(r["analyst A"], r["analyst B"], r["sentences"]) for r in rows] == [
        ("ann", "bob", 3),
        ("ann", "cy", 1),
        ("bob", "cy", 1),
    ]
    types = [(r["analyst A"], r["analyst B"], r["type"]) for r in agreement.per_type_records(pairs)]
    assert types[:5] == [("ann", "bob", t) for t in ("geo", "gpe", "org", "per", "tim")]


def test_the_adjudication_table_lines_up_every_analysts_tags_beside_the_final_version(db):
    sentence = agreement.latest_versions(db.list_annotations())[S1]
    base = sentence.versions[2]  # cy's
    frame = agreement.adjudication_frame(sentence, base, list(base.tags))
    assert list(frame.columns) == ["#", "token", "by ann", "by bob", "by cy", "tag"]
    assert list(frame["token"]) == S1.split() and list(frame["tag"]) == "B-per O O B-geo O".split()
    assert list(frame["by ann"]) == "B-per I-per O B-geo O".split()
