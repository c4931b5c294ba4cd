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


# --------------------------------------------------------------------------
# Serving (issue 14): the model registry, the REST API, API keys, the prediction log. E040-E059.
# The API answers each with a JSON body {"error": {"code", "message"}} and the HTTP status that
# ner_core.serving.api.errors gives its class.
# --------------------------------------------------------------------------


class RegistryError(NerError):
    """A registry change is refused: the run is not completed or already registered, no such version, nothing to roll back."""

    code = "E040"


class UnknownModelError(NerError):
    """A request names a model, role or version that this server does not serve."""

    code = "E041"


class AuthenticationError(NerError):
    """No API key, or one that is wrong or revoked (the message never says which, nor which keys exist)."""

    code = "E042"


class RateLimitError(NerError):
    """A key sent more requests than its token bucket allows; ``retry_after_s`` says when the next one fits."""

    code = "E043"

    def __init__(self, message: str, retry_after_s: float = 1.0):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RequestTooLargeError(NerError):
    """A request body is over the server's byte limit."""

    code = "E044"


class RequestFormatError(NerError):
    """A request body is not valid JSON, or a field has the wrong type or is out of range."""

    code = "E045"


class SlaNotMetError(NerError):
    """No served model meets the request's latency and accuracy constraints and fallback was not allowed."""

    code = "E046"


class ModelUnavailableError(NerError):
    """Every model that could serve a request failed or has its circuit breaker open."""

    code = "E047"


class InternalServerError(NerError):
    """A bug on our side; the client gets this with a request id, the server log gets the traceback."""

    code = "E048"


class ApiKeyError(NerError):
    """An API-key command is refused: a name already in use, no key of that name, a bad name."""

    code = "E049"


class LogRetentionError(NerError):
    """A log purge or forget command is unusable (an age that is not like 30d, an empty text)."""

    code = "E050"


class EndpointNotFoundError(NerError):
    """A path or method the API does not have (or a feature that is switched off, like the fault endpoint)."""

    code = "E051"


class ServerStartError(NerError):
    """The API server cannot start: the port is taken, no model can be served, the database cannot be opened."""

    code = "E052"


# The Registry page and the A/B page's live mode (issue 14, registry-ui): talking to a running API
# from the workbench, and registry actions the workbench refuses. E060-E064.
# --------------------------------------------------------------------------


class ApiUnreachableError(NerError):
    """No API answers at the given address (refused, timed out, not an HTTP server); the message says how to start one."""

    code = "E060"


class ApiKeyRefusedError(NerError):
    """The API refused the key the workbench sent (none, wrong or revoked); the message says how to get one."""

    code = "E061"


class LiveTrafficError(NerError):
    """A live run cannot start or be read: not our API at that address, one already running, its rows unreadable."""

    code = "E062"


class FaultControlError(NerError):
    """The running API does not let its faults be changed (started without --fault-api), or refused the change."""

    code = "E063"


class UnservableVersionError(RegistryError):
    """A registry version cannot take a serving role: its run was deleted, did not complete, or its folder is gone."""

    code = "E064"


class RunLabelError(NerError):
    """A run's name or tags cannot be stored (too long, too many tags)."""

    code = "E015"


# --------------------------------------------------------------------------- annotation queue and span editor (E020-E024)


class AnnotationPoolError(NerError):
    """Text or a file given to the annotation queue cannot be used (not .txt/.jsonl, no ``text`` field, empty, too big)."""

    code = "E020"


class QueueDecisionError(NerError):
    """A decision from the span editor cannot be recorded (a sentence the queue never sent, tags that do not fit it)."""

    code = "E021"


class QueueSettingError(NerError):
    """A setting of the annotation queue is out of range (analysts per sentence, order, pool)."""

    code = "E022"


# --------------------------------------------------------------------------- several analysts, formats, bulk tagging (E030-E034)


class AnnotationImportError(NerError):
    """An annotation file to import is unusable: bad JSON, a missing field, offsets that do not match the
    text, overlapping spans (the message names the line). Nothing of the file is stored."""

    code = "E030"


class DocumentSetError(NerError):
    """A document set for bulk tagging is unusable: too large, not text, bad encoding or bad JSONL."""

    code = "E031"


class BulkJobNotFoundError(NerError, KeyError):
    """No bulk-tagging job or result has the given id (never started here, or its files were removed)."""

    code = "E032"


class AdjudicationError(NerError):
    """A disagreement cannot be resolved as asked (no such sentence, tokens that do not match, no reviewer)."""

    code = "E033"


class GuidelinesError(NerError):
    """Annotation guidelines cannot be saved (no dataset, no editor name, too long)."""

    code = "E034"


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
