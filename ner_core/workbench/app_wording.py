"""Messages written for the command line, reworded for the app: they name the app's controls, not CLI flags.

The reader and the trainer raise the same errors for the CLI and for the app (a training job's error is
the text its child process reported), so a message names the CLI's remedy: ``--repair-iob``, ``python -m
ner_core data inspect``. The CLI keeps that wording; every page shows such text through :func:`for_app`,
which swaps each CLI remedy, defined once next to the code that writes it, for what the analyst can do in
the app.
"""

from __future__ import annotations

import re

from ner_core.configuration import settings_of
from ner_core.corpus import reading, validation
from ner_core.training.config import TrainConfig

# The Data explorer's toggle and the Training runs form's switch carry this same label.
REPAIR_TOGGLE = settings_of(TrainConfig)["repair_iob"].label


def _template_pattern(template: str) -> re.Pattern:
    """A regex matching ``template`` with its ``{path}`` filled in by any text without a backtick."""
    before, _, after = template.partition("{path}")
    return re.compile(re.escape(before) + r"[^`]*" + re.escape(after))


REWORDINGS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(re.escape(validation.CLI_REPAIR_HINT)), f'turn on the "{REPAIR_TOGGLE}" toggle'),
    (_template_pattern(reading.CLI_INSPECT_HINT), "the Data explorer's validation report lists them"),
    (re.compile(re.escape("`python -m ner_core compare` lists the runs")), "the Training runs page lists the runs"),
)


def for_app(text: str | None) -> str:
    """``text`` with every CLI remedy replaced by the app's; anything else is left as it was."""
    text = text or ""
    for pattern, replacement in REWORDINGS:
        text = pattern.sub(replacement, text)
    return text
