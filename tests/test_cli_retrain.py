"""``python -m ner_core retrain`` and ``lineage``: a warm start from the command line, compared leak-free, reproduced
from a run's recorded annotations after they were edited; bad input ends in one line and exit status 2."""

from __future__ import annotations

import re

import pytest

from ner_core import cli
from ner_core.settings import Settings
from ner_core.store.database import Store
from ner_core.training import lineage, loop
from tests import helpers


@pytest.fixture
def parent(empty_workspace, tiny_csv):
    settings = Settings.from_env()
    store = Store(settings.database_url)
    result = loop.train(helpers.tiny_config(tiny_csv, epochs=2), models_dir=settings.models_dir, store=store, evaluate=True)
    return store, result


def annotate(store, run_id, spec):
    sentence = helpers.make_sentence(spec)
    return store.add_annotation(
        analyst="Ada",
        text=sentence.text,
        tokens=sentence.words,
        tags=sentence.tags,
        original_tags=["O"] * len(sentence),
        model_run_id=run_id,
    )


@pytest.mark.slow  # trains a warm-start child
def test_a_warm_start_from_the_command_line_records_its_lineage_and_can_be_reproduced(parent, capsys):
    store, result = parent
    first = annotate(store, result.run_id, "Zorblax/B-org hired/O Anna/B-per ./O")
    assert cli.main(["retrain", result.run_id, "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "Warm start (fast) of " + result.run_id + " with 1 annotation(s)" in out
    child_id = re.search(r"^run (\S+): 1 epochs", out, re.MULTILINE).group(1)
    assert "match an annotation a run trained on and are left out" in out
    assert re.search(r"entity F1 \d\.\d{4} -> \d\.\d{4}, gain [+-]\d\.\d{4} \[[+-]\d\.\d{4}, [+-]\d\.\d{4}\]", out)
    recorded = lineage.read_lineage(store.get_run(child_id).run_dir)
    assert recorded.ids == (first,) and store.get_run(child_id).parent_run_id == result.run_id

    store.update_annotation(first, tags=["O", "O", "B-per", "O"])
    assert cli.main(["lineage", child_id]) == 0
    out = capsys.readouterr().out
    assert f"parent run         {result.run_id}" in out and f"1 edited since (#{first})" in out
    assert "a retrain started now would use other annotations" in out

    # Reproduce the child: exactly the annotations it used, not the edited ones.
    assert cli.main(["retrain", result.run_id, "--epochs", "1", "--annotations-of", child_id]) == 0
    again = re.search(r"^run (\S+): 1 epochs", capsys.readouterr().out, re.MULTILINE).group(1)
    assert lineage.read_lineage(store.get_run(again).run_dir) == recorded


def test_retrain_without_annotations_or_a_record_to_reuse_fails_in_one_line(parent, capsys):
    store, result = parent
    assert cli.main(["retrain", result.run_id]) == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no saved annotations to retrain with" in err
    assert cli.main(["retrain", result.run_id, "--annotations-of", result.run_id]) == cli.EXIT_USER_ERROR
    assert "[E026]" in capsys.readouterr().err
    annotate(store, result.run_id, "Anna/B-per left/O")
    assert cli.main(["retrain", result.run_id, "--annotation-weight", "0"]) == cli.EXIT_USER_ERROR
    assert "annotation_weight must be an integer from 1 to 100" in capsys.readouterr().err
    assert cli.main(["retrain", "no-such-run"]) == cli.EXIT_USER_ERROR
    assert [run.id for run in store.list_runs()] == [result.run_id]  # nothing was recorded
