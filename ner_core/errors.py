"""Every user-facing error type lives here, each with a stable code.

A user sees ``str(error)``: one line that says what is wrong and what to do.
The CLI prints exactly that line and exits non-zero; pages show it in st.error.
"""

from __future__ import annotations


class NerError(Exception):
    """Base for errors a user can act on (as opposed to bugs)."""

    code = "E000"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class DataFormatError(NerError):
    """A data file cannot be read as a corpus (columns, encoding, binary, empty...)."""

    code = "E001"


class TagSchemeError(NerError):
    """Tags break IOB2 and were not asked to be repaired."""

    code = "E002"


class ConfigError(NerError):
    """A configuration value is out of range or unknown (model name, epochs, ...)."""

    code = "E003"


class ModelLoadError(NerError):
    """A saved run is missing, incomplete or corrupt."""

    code = "E004"


class InputTextError(NerError):
    """Text given for tagging is unusable (too long, not text)."""

    code = "E005"


class TrainingCancelled(NerError):
    """Training stopped because the user asked for it."""

    code = "E006"


class StoreError(NerError):
    """The database cannot be opened or written."""

    code = "E007"


class RunNotFoundError(NerError):
    """No run has the given id."""

    code = "E008"


class CorruptRunFileError(NerError, ValueError):
    """A file of a run folder is readable JSON but not what the run should hold (hand-edited, truncated, an old layout).

    Also a ValueError, as the checks that raise it raised ValueError before.
    """

    code = "E009"


class JobNotFoundError(NerError, KeyError):
    """No training job has the given id in this runner (it belongs to another server process, or never existed).

    Also a KeyError, as ``JobRunner.get`` raised KeyError before.
    """

    code = "E010"


# --------------------------------------------------------------------------- retrain and lineage (E025-E029)


class WarmStartError(NerError):
    """A warm start cannot continue from the run it names (missing, another model, a tag it never learned)."""

    code = "E025"


class LineageError(NerError):
    """A run's record of the annotations it trained on is missing, unreadable or does not add up."""

    code = "E026"


class RetrainComparisonError(NerError):
    """A parent and its retrained child cannot be scored on one leak-free test set (different splits, nothing left)."""

    code = "E027"
