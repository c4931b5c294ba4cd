"""A reviewer's decision settles a disagreement, and it is the version retraining uses."""

from __future__ import annotations

import pytest

from ner_core.errors import AdjudicationError, TagSchemeError
from ner_core.store.database import Store
from ner_core.workbench import adjudication, agreement, annotation
from ner_core.workbench.saved_annotations import training_annotations, unresolved_disagreements

TEXT = "Acme hired Peter in 2004 ."
TOKENS = TEXT.split()
TAG_SET = annotation.model_tag_set(["B-org", "I-org", "B-per", "I-per", "B-tim", "I-tim"])


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'adjudication.db'}")


def annotate(store, analyst, tags, text=TEXT):
    return store.add_annotation(
        analyst=analyst,
        text=text,
        tokens=text.split(),
        tags=tags.split(),
        original_tags=["O"] * len(text.split()),
        model_run_id="run-1",
    )


def test_picking_an_analysts_version_makes_it_what_retraining_uses(db):
    ann = annotate(db, "ann", "B-org O B-per O B-tim O")
    bob = annotate(db, "bob", "B-org O B-per O O O")
    other = annotate(db, "ann", "B-per O", text="Peter left")
    assert [a.id for a in training_annotations(db)] == [other]  # disagreement: left out until decided
    assert [s.text for s in unresolved_disagreements(db)] == [TEXT]

    final_id = adjudication.pick_version(db, annotation_id=ann, reviewer="Rita", note="2004 is a time")
    trained = {a.text: a for a in training_annotations(db)}
    final = trained[TEXT]
    assert final.id == final_id and final.id not in (ann, bob)
    assert (final.tags, final.tokens, final.analyst, final.source) == (
        "B-org O B-per O B-tim O".split(),
        TOKENS,
        "Rita",
        "adjudicated",
    )
    assert final.model_run_id == "run-1" and final.original_tags == ["O"] * 6  # the model's tags travel with it
    assert unresolved_disagreements(db) == []
    [decision] = adjudication.decisions(db).values()
    assert (decision.reviewer, decision.picked_annotation_id, decision.note) == ("Rita", ann, "2004 is a time")

    # An analyst editing their own version afterwards does not change the decision.
    db.update_annotation(ann, tags=["O"] * 6)
    assert {a.text: a.tags for a in training_annotations(db)}[TEXT] == "B-org O B-per O B-tim O".split()
    # Nor is the final row a third analyst's vote.
    assert agreement.latest_versions(db.list_annotations())[TEXT].analysts == ("ann", "bob")


def test_an_edited_final_version_is_validated_replaces_the_earlier_decision_and_can_be_reopened(db):
    annotate(db, "ann", "B-org O B-per O B-tim O")
    annotate(db, "bob", "B-org O B-per O O O")
    adjudication.pick_version(db, annotation_id=db.list_annotations()[1].id, reviewer="Rita")
    edited = "B-org O B-per I-per B-tim O".split()
    final_id = adjudication.adjudicate(db, text=TEXT, tokens=TOKENS, tags=edited, reviewer="Sam", tag_set=TAG_SET)
    [final] = [a for a in training_annotations(db) if a.text == TEXT]
    assert (final.id, final.tags, final.analyst) == (final_id, edited, "Sam")
    # One decision and one final row per sentence: the first decision's row is gone.
    assert [a.analyst for a in db.list_annotations() if a.source == "adjudicated"] == ["Sam"]
    assert adjudication.decisions(db)[TEXT].picked_annotation_id is None

    assert adjudication.reopen(db, TEXT) is True
    assert [a for a in db.list_annotations() if a.source == "adjudicated"] == []
    assert [s.text for s in unresolved_disagreements(db)] == [TEXT] and training_annotations(db) == []
    assert adjudication.reopen(db, TEXT) is False


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (dict(tags="I-org O B-per O O O".split()), TagSchemeError, "does not continue a org entity"),
        (dict(tags="B-org O B-xyz O O O".split()), TagSchemeError, "not in the model's tag set"),
        (dict(tags=["O"] * 5), TagSchemeError, "6 tokens but 5 tags"),
        (dict(reviewer="  "), AdjudicationError, "name as reviewer"),
        (dict(tokens=["Acme", "hired", "Peter", "in", "2004."], tags=["O"] * 5), AdjudicationError, "keep the tokens"),
        (dict(text="never annotated", tokens=["never", "annotated"], tags=["O", "O"]), AdjudicationError, "no analyst annotated"),
    ],
)
def test_a_bad_decision_is_refused_with_one_line_and_nothing_is_stored(db, change, error, message):
    annotate(db, "ann", "B-org O B-per O B-tim O")
    annotate(db, "bob", "B-org O B-per O O O")
    arguments = dict(text=TEXT, tokens=TOKENS, tags="B-org O O O O O".split(), reviewer="Rita", tag_set=TAG_SET) | change
    with pytest.raises(error, match=message):
        adjudication.adjudicate(db, **arguments)
    assert adjudication.decisions(db) == {} and len(db.list_annotations()) == 2


def test_picking_a_missing_or_final_row_is_refused(db):
    annotate(db, "ann", "B-org O B-per O B-tim O")
    annotate(db, "bob", "B-org O B-per O O O")
    with pytest.raises(AdjudicationError, match="no analyst annotation #999"):
        adjudication.pick_version(db, annotation_id=999, reviewer="Rita")
    final_id = adjudication.pick_version(db, annotation_id=db.list_annotations()[0].id, reviewer="Rita")
    with pytest.raises(AdjudicationError, match=f"no analyst annotation #{final_id}"):
        adjudication.pick_version(db, annotation_id=final_id, reviewer="Rita")


def test_a_deleted_final_row_withdraws_the_decision(db):
    annotate(db, "ann", "B-org O B-per O B-tim O")
    annotate(db, "bob", "B-org O B-per O O O")
    final_id = adjudication.pick_version(db, annotation_id=db.list_annotations()[0].id, reviewer="Rita")
    db.delete_annotation(final_id)
    assert adjudication.decisions(db) == {}
    assert [s.text for s in unresolved_disagreements(db)] == [TEXT]
    # And the sentence can be decided again (the stale decision row does not block it).
    adjudication.pick_version(db, annotation_id=db.list_annotations()[1].id, reviewer="Rita")
    assert [a.analyst for a in training_annotations(db)] == ["Rita"]
