"""Which runs a comparison starts from, which of them share a test split, and which runs a link names.

A comparison is only fair between runs scored on the same test split (same dataset bytes, seed
and IOB repair: :class:`ner_core.evaluation.held_out.SplitIdentity`). So the comparison starts
from the newest run and the newest others on its split, says so when the chosen runs span
several splits, and ranks runs only within one (:mod:`ner_core.workbench.metric_table`).

Pages keep their chosen runs in the URL (``?run=<id>&run=<id>``) so a comparison can be shared;
:func:`requested_runs` reads such a list against the runs that exist, keeping the unknown ids
apart so the page can say which ones it ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ner_core.evaluation import held_out
from ner_core.workbench import run_labels

DEFAULT_COMPARED = 3
MAX_NAMED_IDS = 3  # unknown ids a notice names before "and N more"
MAX_ID_CHARS = 64  # a run id is at most 64 characters (the runs table's key); longer is not an id


def test_split(run) -> held_out.SplitIdentity:
    """The test split a stored run was scored on."""
    config = run.config or {}
    return held_out.split_identity(run.dataset_sha256 or "", run.dataset_path or config.get("dataset") or "", config)


test_split.__test__ = False  # a name pytest would otherwise collect where it is imported


def default_comparison(runs: Sequence, limit: int = DEFAULT_COMPARED) -> list[str]:
    """Ids of the newest run and the newest others on its test split, at most ``limit`` (``runs`` newest first)."""
    if not runs:
        return []
    newest = test_split(runs[0])
    return [run.id for run in runs if test_split(run) == newest][:limit]


def split_groups(runs: Iterable) -> dict[held_out.SplitIdentity, list]:
    """The runs grouped by test split, groups in the order their first run comes."""
    groups: dict[held_out.SplitIdentity, list] = {}
    for run in runs:
        groups.setdefault(test_split(run), []).append(run)
    return groups


def describe_split(run, names: Mapping[str, str] | None = None) -> str:
    """``bundled sample (sha256 1a2b3c4d), seed 42`` and whether stray I- tags were repaired."""
    split = test_split(run)
    checksum = f" (sha256 {run.dataset_sha256[:8]})" if run.dataset_sha256 else ""
    repaired = ", stray I- tags repaired" if split.repair_iob else ""
    return f"{run_labels.dataset_name(run, names)}{checksum}, seed {split.seed}{repaired}"


def mixed_splits_warning(runs: Sequence, names: Mapping[str, str] | None = None) -> str | None:
    """None when every run shares one test split; otherwise what each split holds and what that means."""
    groups = split_groups(runs)
    if len(groups) < 2:
        return None
    parts = [
        f"{len(members)} run{'s' if len(members) > 1 else ''} on {describe_split(members[0], names)}"
        for members in groups.values()
    ]
    return (
        f"These runs were scored on {len(groups)} different test splits ({'; '.join(parts)}). "
        "Scores from different splits are different exams and are not comparable; "
        "a star marks the best run within one split only."
    )


@dataclass(frozen=True)
class RequestedRuns:
    """Run ids a link asked for: those that exist (in the link's order) and those that do not."""

    known: list[str]
    unknown: list[str]


def requested_runs(values: Iterable[str], available: Collection[str]) -> RequestedRuns:
    """Read the ``run`` values of a URL: repeated (``run=a&run=b``) or comma-separated, duplicates once."""
    known: list[str] = []
    unknown: list[str] = []
    for value in values:
        for piece in str(value).split(","):
            run_id = piece.strip()
            if not run_id or run_id in known or run_id in unknown:
                continue
            (known if run_id in available else unknown).append(run_id)
    return RequestedRuns(known, unknown)


def unknown_runs_notice(unknown: Sequence[str], *, fallback: str) -> str:
    """One line for ids a link named that are not (or no longer) here; ``fallback`` says what is shown instead.

    Ids are cut to :data:`MAX_ID_CHARS` and at most :data:`MAX_NAMED_IDS` are named; the caller
    escapes the line for Markdown (a link can carry any text).
    """
    shown = [run_id if len(run_id) <= MAX_ID_CHARS else run_id[:MAX_ID_CHARS] + "..." for run_id in unknown[:MAX_NAMED_IDS]]
    more = f" and {len(unknown) - MAX_NAMED_IDS} more" if len(unknown) > MAX_NAMED_IDS else ""
    noun = "a run" if len(unknown) == 1 else "runs"
    return f"The link names {noun} this app does not have (deleted, or never here): {', '.join(shown)}{more}. {fallback}"
