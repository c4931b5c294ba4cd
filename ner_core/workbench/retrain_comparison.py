"""A retrained child against its parent, on test sentences neither of them trained on.

Analysts correct sentences wherever they come from, the test split included; a correction of a test
sentence that joins the training data hands the child that sentence's answer, and scoring the child
on the full test split would count the answer as skill. So both runs are scored on their common test
split minus every sentence that matches an annotation either run trained on:

- a match is the same token sequence, or the same characters once all whitespace is removed (an
  annotation typed as text is tokenised by the app's tokenizer, which may split "U.S." or a
  hyphenated word differently from the corpus); removing a few sentences too many is harmless,
  leaving one answer in is not;
- the annotations are the ones each run recorded (:mod:`ner_core.training.lineage`); a run that
  trained on extra sentences without such a record leaves out every annotation stored now.

Both runs are scored through the app's scoring path (:func:`ner_core.evaluation.run_scoring.evaluate_predictor`,
each with its own decoding), and the gain in entity F1 gets a paired bootstrap interval
(:mod:`ner_core.evaluation.bootstrap`) so a gain from three corrections reads as the noise it is.
"""

from __future__ import annotations

import html
import math
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas

from ner_core.corpus import annotated
from ner_core.errors import ModelLoadError, RetrainComparisonError
from ner_core.evaluation import bootstrap, held_out, latency, metric_registry, run_scoring
from ner_core.training import lineage, run_folder
from ner_core.workbench import comparison, metric_table, render

# Speed is measured again for both runs, side by side: the figures stored when each run was trained were
# taken on different days under different load (a warm start timed on a quiet machine against a parent
# timed under a benchmark read as a 10x speed-up). Rounds alternate the runs and take medians.
SPEED_KEYS = ("latency_p50_ms", "latency_p95_ms", "throughput_tokens_per_s")
SPEED_ROUNDS = 3
SPEED_SENTENCES = 1_000  # per throughput pass: long enough to time, short enough for a page
SPEED_LATENCY_COUNT = 60  # single-sentence calls per run and round


# --------------------------------------------------------------------------- the test sentences neither run saw


def _squashed(text: str) -> str:
    return "".join(text.split())


@dataclass(frozen=True)
class LeakFreeTestSet:
    """The test split minus the sentences an annotation copies."""

    kept: tuple[annotated.Sentence, ...]
    left_out: tuple[tuple[int, int], ...]  # (index in the test split, id of the annotation it matches)
    total: int

    @property
    def left_out_count(self) -> int:
        return len(self.left_out)


def leak_free_test_split(test: Sequence[annotated.Sentence], annotations: Iterable) -> LeakFreeTestSet:
    """``test`` without every sentence whose words match one of ``annotations`` (objects with ``id``, ``tokens``
    and optionally ``text``): the same tokens, or the same characters with all whitespace removed."""
    by_tokens: dict[tuple[str, ...], int] = {}
    by_characters: dict[str, int] = {}
    for annotation in annotations:
        tokens = tuple(annotation.tokens)
        by_tokens.setdefault(tokens, int(annotation.id))
        by_characters.setdefault(_squashed("".join(tokens)), int(annotation.id))
        text = getattr(annotation, "text", "")
        if text:
            by_characters.setdefault(_squashed(text), int(annotation.id))
    kept, left_out = [], []
    for index, sentence in enumerate(test):
        match = by_tokens.get(tuple(sentence.words))
        if match is None:
            match = by_characters.get(_squashed("".join(sentence.words)))
        if match is None:
            kept.append(sentence)
        else:
            left_out.append((index, match))
    return LeakFreeTestSet(tuple(kept), tuple(left_out), len(test))


def same_test_split(parent, child) -> bool:
    """True when both runs split the same dataset file (same sha256 when both recorded it) with the same seed."""
    parent_config, child_config = parent.config, child.config
    same_data = (
        (parent.dataset_sha256 == child.dataset_sha256)
        if parent.dataset_sha256 and child.dataset_sha256
        else parent_config.get("dataset") == child_config.get("dataset")
    )
    return same_data and parent_config.get("seed") == child_config.get("seed")


@dataclass(frozen=True)
class ExcludedAnnotations:
    """The annotations whose sentences leave the test set, and where that list came from."""

    annotations: tuple
    source: str
    used_by_child: tuple  # what the child trained on (its corrected sentences), as far as known


def annotations_to_exclude(parent, child, *, stored_now: Iterable = ()) -> ExcludedAnnotations:
    """What the two runs trained on: the union of their recorded lineages. A run that trained on extra
    sentences without a record falls back to ``stored_now`` (every annotation stored now)."""
    chosen, sources, child_used = {}, [], ()
    for role, run in (("child", child), ("parent", parent)):
        used = lineage.read_lineage(run.run_dir) if run.run_dir else None
        if used is not None:
            chosen.update({item.id: item for item in used.annotations})
            sources.append(f"the {len(used)} annotation(s) the {role} recorded")
            child_used = tuple(used.annotations) if role == "child" else child_used
        elif _extra_sentences(run):
            fallback = list(stored_now)
            chosen.update({int(item.id): item for item in fallback})
            sources.append(f"all {len(fallback)} annotation(s) stored now (the {role} kept no record of its own)")
            child_used = tuple(fallback) if role == "child" else child_used
    source = " and ".join(sources) if sources else "none (neither run trained on annotations)"
    return ExcludedAnnotations(tuple(chosen[key] for key in sorted(chosen)), source, child_used)


def _extra_sentences(run) -> int:
    """How many extra sentences (annotations) a run's config.json says it trained on; 0 when it cannot say."""
    if not run.run_dir:
        return 0
    try:
        config = run_folder.RunFolder(Path(run.run_dir)).read_json(run_folder.CONFIG_FILE)
        return int((config.get("dataset") or {}).get("extra_train") or 0)
    except (ModelLoadError, AttributeError, TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------- scoring both runs


@dataclass(frozen=True)
class CorrectedSentence:
    """One annotation the child trained on, as the analyst tagged it and as each model tags it now."""

    annotation_id: int
    words: tuple[str, ...]
    annotated: tuple[str, ...]
    parent: tuple[str, ...]
    child: tuple[str, ...]

    @property
    def parent_agrees(self) -> bool:
        return self.parent == self.annotated

    @property
    def child_agrees(self) -> bool:
        return self.child == self.annotated


@dataclass
class RetrainComparison:
    """Everything the parent-versus-child view shows."""

    parent_id: str
    child_id: str
    test_set: LeakFreeTestSet
    excluded: ExcludedAnnotations
    parent: run_scoring.RunEvaluation
    child: run_scoring.RunEvaluation
    gain: bootstrap.PairedF1Difference
    corrected: list[CorrectedSentence]

    @property
    def columns(self) -> dict[str, str]:
        """Metric-table column name of each role."""
        return {"parent": f"parent {self.parent_id}", "child": f"child {self.child_id}"}

    def left_out_note(self) -> str:
        kept = len(self.test_set.kept)
        return (
            f"Both runs are scored on {kept:,} of the {self.test_set.total:,} test sentences: "
            f"{self.test_set.left_out_count:,} match an annotation a run trained on and are left out "
            f"(annotations checked: {self.excluded.source})."
        )


def _scored(predictor, kept, run, decoding: str | None) -> run_scoring.RunEvaluation:
    folder = run_folder.RunFolder(Path(run.run_dir))
    return run_scoring.evaluate_predictor(predictor, kept, decoding=decoding, run_folder=folder, measure_speed=False)


def measure_speed_side_by_side(predictors: Sequence, sentences: Sequence, *, rounds: int = SPEED_ROUNDS) -> list[dict]:
    """Latency p50/p95 and throughput of each predictor, measured in alternating rounds over the same sentences.

    Each round times every predictor once (the order flips every round), so load that comes and goes
    hits each alike; the result per predictor is the median over rounds.
    """
    words = [sentence.words for sentence in sentences[:SPEED_SENTENCES] if sentence.words]
    tokens = sum(len(sentence) for sentence in words)
    rows: list[dict[str, list[float]]] = [{key: [] for key in SPEED_KEYS} for _ in predictors]
    if not words:
        return [dict.fromkeys(SPEED_KEYS, float("nan")) for _ in predictors]
    for predictor in predictors:  # shapes compiled before anything is timed
        predictor.tag_sentences(words, predictor.default_decoding)
    for round_index in range(rounds):
        order = list(range(len(predictors)))
        for index in order if round_index % 2 == 0 else order[::-1]:
            predictor = predictors[index]
            started = time.perf_counter()
            predictor.tag_sentences(words, predictor.default_decoding)
            rows[index]["throughput_tokens_per_s"].append(tokens / (time.perf_counter() - started))
            p50, p95 = latency.measure_latency(predictor, sentences, count=SPEED_LATENCY_COUNT)
            rows[index]["latency_p50_ms"].append(p50)
            rows[index]["latency_p95_ms"].append(p95)
    return [{key: float(statistics.median(values)) for key, values in row.items()} for row in rows]


def compare_retrain(
    parent,
    child,
    *,
    parent_predictor,
    child_predictor,
    stored_now: Iterable = (),
    resamples: int = bootstrap.DEFAULT_RESAMPLES,
    seed: int = 0,
) -> RetrainComparison:
    """Score ``parent`` and ``child`` (store runs) on their leak-free common test split with their own predictors.

    The split is rebuilt from the child's folder (the dataset must be byte-identical to the one trained on)
    and must be the parent's too; anything else is a RetrainComparisonError, as is a split with no sentence left.
    """
    if not same_test_split(parent, child):
        raise RetrainComparisonError(
            f"runs {parent.id} and {child.id} were not split from the same dataset with the same seed; "
            "their test sets differ, so no comparison of the two can be fair."
        )
    if not child.run_dir or not parent.run_dir:
        raise RetrainComparisonError("both runs need their run folder to be compared on their test sentences.")
    excluded = annotations_to_exclude(parent, child, stored_now=stored_now)
    test_set = leak_free_test_split(held_out.test_split_for_run(child.run_dir), excluded.annotations)
    if not test_set.kept:
        raise RetrainComparisonError(
            f"all {test_set.total} test sentences match an annotation the runs trained on; nothing is left to compare on."
        )
    parent_result = _scored(parent_predictor, test_set.kept, parent, None)
    child_result = _scored(child_predictor, test_set.kept, child, None)
    speeds = measure_speed_side_by_side([parent_predictor, child_predictor], test_set.kept)
    for result, speed in zip((parent_result, child_result), speeds, strict=True):
        result.metrics.update(speed)
    gold = [list(sentence.tags) for sentence in test_set.kept]
    gain = bootstrap.paired_f1_difference(
        bootstrap.sentence_entity_counts(gold, parent_result.predictions),
        bootstrap.sentence_entity_counts(gold, child_result.predictions),
        resamples=resamples,
        seed=seed,
    )
    corrected = corrected_sentences(excluded.used_by_child, parent_predictor, child_predictor)
    return RetrainComparison(parent.id, child.id, test_set, excluded, parent_result, child_result, gain, corrected)


def corrected_sentences(annotations: Sequence, parent_predictor, child_predictor) -> list[CorrectedSentence]:
    """Each annotation as tagged by the analyst, the parent and the child (their own decodings)."""
    if not annotations:
        return []
    batch = [list(annotation.tokens) for annotation in annotations]
    parent_tags = [tags for tags, _ in parent_predictor.tag_sentences(batch)]
    child_tags = [tags for tags, _ in child_predictor.tag_sentences(batch)]
    return [
        CorrectedSentence(int(a.id), tuple(a.tokens), tuple(a.tags), tuple(p), tuple(c))
        for a, p, c in zip(annotations, parent_tags, child_tags)
    ]


# --------------------------------------------------------------------------- what the view shows


def _signed_change(key: str, parent_value, child_value) -> str:
    try:
        change = float(child_value) - float(parent_value)
    except (TypeError, ValueError):
        return "n/a"
    if math.isnan(change):
        return "n/a"
    return ("+" if change >= 0 else "-") + metric_registry.format_metric(key, abs(change))


def metric_frame(result: RetrainComparison) -> pandas.DataFrame:
    """All 23 metrics of both runs on the leak-free test set, formatted, the better one starred, with the change."""
    names = result.columns
    values = {names["parent"]: result.parent.metrics, names["child"]: result.child.metrics}
    # Parent and child share one test split (the leak-free one), so "best" is starred between them.
    table = metric_table.formatted_metric_table(values)
    table.insert(
        table.columns.get_loc(names["child"]) + 1,
        "change",
        [_signed_change(key, result.parent.metrics.get(key), result.child.metrics.get(key)) for key in table["key"]],
    )
    return table.drop(columns=["key", "best"])


def per_type_table(result: RetrainComparison) -> pandas.DataFrame:
    """One row per entity type: support, then precision, recall and F1 of parent and child, and the F1 change."""
    frames = {role: getattr(result, role).evaluation.per_type for role in ("parent", "child")}
    types = sorted(set(frames["parent"].index) | set(frames["child"].index))
    rows = []
    for entity_type in types:
        row: dict = {"type": str(entity_type)}
        for role, frame in frames.items():
            known = entity_type in frame.index
            if "support" not in row and known:
                row["support"] = int(frame.loc[entity_type, "support"])
            for measure in comparison.PER_TYPE_MEASURES:
                row[f"{role} {measure}"] = float(frame.loc[entity_type, measure]) if known else 0.0
        row.setdefault("support", 0)
        row["F1 change"] = row["child f1"] - row["parent f1"]
        rows.append(row)
    measures = [f"{role} {m}" for m in comparison.PER_TYPE_MEASURES for role in ("parent", "child")]
    return pandas.DataFrame(rows, columns=["type", "support", *measures, "F1 change"])


def corrected_sentence_html(item: CorrectedSentence) -> str:
    """The analyst's tags above each model's, tokens a model tags differently from the analyst marked (all escaped)."""

    def tagged(label: str, tags: Sequence[str], agrees: bool | None) -> str:
        wrong = [p for p, (tag, gold) in enumerate(zip(tags, item.annotated)) if tag != gold]
        mark = "" if agrees is None else (" ✓ as annotated" if agrees else f" ✗ {len(wrong)} token(s) differ")
        return f"<span>{html.escape(label)}{mark}</span>" + render.highlight_tokens(item.words, tags, marked_tokens=wrong)

    return (
        '<div style="display:grid;grid-template-columns:13em 1fr;align-items:center;margin-bottom:0.8em">'
        f"<b>annotation #{int(item.annotation_id)}</b><span></span>"
        + tagged("analyst", item.annotated, None)
        + tagged("parent", item.parent, item.parent_agrees)
        + tagged("child", item.child, item.child_agrees)
        + "</div>"
    )
