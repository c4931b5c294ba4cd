"""Annotation guidelines per dataset: versions with editor and time, the newest current, bad input refused."""

from __future__ import annotations

import hashlib

import pytest

from ner_core.errors import GuidelinesError
from ner_core.store.database import Store
from ner_core.workbench import guidelines

GMB = hashlib.sha256(b"gmb").hexdigest()
SAMPLE = hashlib.sha256(b"sample").hexdigest()


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'guidelines.db'}")


def test_guidelines_are_kept_per_dataset_with_every_version(db):
    assert guidelines.current_guidelines(db, GMB) is None
    first = guidelines.save_guidelines(db, dataset_sha256=GMB, markdown="# geo\nCountries are **gpe**.", editor=" Ada ")
    guidelines.save_guidelines(db, dataset_sha256=SAMPLE, markdown="Sample rules", editor="Bo")
    second = guidelines.save_guidelines(db, dataset_sha256=GMB, markdown="# geo\nCountries are gpe; cities geo.", editor="Cy")
    current = guidelines.current_guidelines(db, GMB)
    assert (current.id, current.editor, current.markdown) == (second, "Cy", "# geo\nCountries are gpe; cities geo.")
    assert current.saved_at is not None
    assert [(v.id, v.editor) for v in guidelines.guideline_history(db, GMB)] == [(second, "Cy"), (first, "Ada")]
    assert guidelines.current_guidelines(db, SAMPLE).markdown == "Sample rules"
    # Saving the same text again adds no version.
    assert guidelines.save_guidelines(db, dataset_sha256=GMB, markdown=current.markdown, editor="Di") == second
    assert len(guidelines.guideline_history(db, GMB)) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(dataset_sha256="", markdown="x", editor="Ada"), "choose a dataset first"),
        (dict(dataset_sha256="not-a-checksum", markdown="x", editor="Ada"), "choose a dataset first"),
        (dict(dataset_sha256=GMB, markdown="x", editor="  "), "enter your name"),
        (dict(dataset_sha256=GMB, markdown="x", editor="e" * 129), "longer than 128"),
        (dict(dataset_sha256=GMB, markdown="x" * 50_001, editor="Ada"), "the limit is 50,000"),
    ],
)
def test_bad_guidelines_are_refused_and_nothing_is_saved(db, arguments, message):
    with pytest.raises(GuidelinesError, match=message):
        guidelines.save_guidelines(db, **arguments)
    assert guidelines.guideline_history(db, GMB) == []


def test_known_datasets_name_uploads_and_the_data_runs_were_trained_on(db):
    db.register_dataset(name="news.csv", sha256=SAMPLE, path="/data/uploads/news.csv", format="gmb_csv", sentences=3, tokens=9)
    db.create_run("r1", "model2", config={}, dataset_path="/corpora/ner_dataset.csv.zip", dataset_sha256=GMB)
    db.create_run("r2", "model2", config={}, dataset_path="/data/uploads/news.csv", dataset_sha256=SAMPLE)
    db.create_run("r3", "model2", config={}, dataset_path="", dataset_sha256="")  # no checksum: nothing to key guidelines by
    assert guidelines.known_datasets(db) == {SAMPLE: f"news.csv ({SAMPLE[:8]})", GMB: f"ner_dataset.csv.zip ({GMB[:8]})"}


def test_headings_are_demoted_for_the_narrow_panel_beside_the_queue_and_code_blocks_are_left_alone():
    text = (
        "# GMB entity types\n"
        "## geo\n"
        "Countries, #hashtags and C# stay.\n"
        "   ### indented up to three spaces\n"
        "    # four spaces is code\n"
        "#not a heading\n"
        "##### deep\n"
        "```markdown\n"
        "# inside a fence\n"
        "~~~\n"
        "# still inside (another fence kind does not close it)\n"
        "```\n"
        "#\n"
    )
    assert guidelines.demote_headings(text) == (
        "#### GMB entity types\n"
        "##### geo\n"
        "Countries, #hashtags and C# stay.\n"
        "   ###### indented up to three spaces\n"
        "    # four spaces is code\n"
        "#not a heading\n"
        "###### deep\n"
        "```markdown\n"
        "# inside a fence\n"
        "~~~\n"
        "# still inside (another fence kind does not close it)\n"
        "```\n"
        "####\n"
    )
    assert guidelines.demote_headings("") == ""
    assert guidelines.demote_headings("# a", levels=1) == "## a"
