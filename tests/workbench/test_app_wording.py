"""CLI remedies in error text become the app's controls in the app, and stay as they are for the CLI."""

from __future__ import annotations

import pytest

from ner_core.configuration import settings_of
from ner_core.corpus import reading
from ner_core.errors import RunNotFoundError, TagSchemeError
from ner_core.store.database import Store
from ner_core.training.config import TrainConfig
from ner_core.workbench import app_wording, explore

STRAY = "EU NNP B-ORG\nrejects VBZ O\n\nPeter NNP I-PER\nspoke VBD O\n\nin IN O\nBerlin NNP I-LOC\n"


def tag_scheme_error(tmp_path) -> TagSchemeError:
    path = tmp_path / "x.train"
    path.write_text(STRAY, encoding="utf-8")
    with pytest.raises(TagSchemeError) as caught:
        reading.load_corpus(path)
    return caught.value


def test_a_tag_scheme_error_names_the_cli_flag_for_the_cli_and_the_toggle_in_the_app(tmp_path):
    error = tag_scheme_error(tmp_path)
    assert "--repair-iob" in str(error) and "python -m ner_core data inspect" in str(error)  # the CLI's wording
    shown = app_wording.for_app(str(error))
    assert "--" not in shown and "python -m" not in shown
    assert shown == (
        "[E002] x.train: sentence 2, line 4: token 1 'Peter' is I-PER after sentence start; IOB2 needs B- first "
        '(turn on the "Repair IOB2" toggle) (and 1 more; the Data explorer\'s validation report lists them)'
    )


def test_the_toggle_named_is_the_training_forms_label():
    assert app_wording.REPAIR_TOGGLE == settings_of(TrainConfig)["repair_iob"].label == "Repair IOB2"


def test_other_cli_remedies_and_plain_text_are_reworded_or_kept(tmp_path):
    with pytest.raises(RunNotFoundError) as caught:
        Store(f"sqlite:///{tmp_path / 'db.sqlite'}").get_run("nope")
    assert app_wording.for_app(str(caught.value)) == "[E008] no run 'nope'; the Training runs page lists the runs."
    assert app_wording.for_app("nothing to change -- here") == "nothing to change -- here"
    assert app_wording.for_app(None) == ""


def test_the_validation_report_in_the_app_speaks_of_the_toggle(tmp_path):
    path = tmp_path / "x.train"
    path.write_text(STRAY, encoding="utf-8")
    findings = explore.findings_frame(reading.inspect_corpus(path).report)
    assert findings["message"].str.contains('turn on the "Repair IOB2" toggle').all()
    assert not findings["message"].str.contains("--repair-iob").any()
    summary, has_errors = explore.findings_summary(findings)
    assert has_errors and 'turn on "Repair IOB2"' in summary
