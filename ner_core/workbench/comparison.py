"""What the model-comparison and entity-highlighter pages compute, without any UI.

The pages only lay out widgets and charts; every table, chart input, export
and log row they show is built here, so it can be tested without Streamlit:

- per-type scores, error breakdowns, aligned confusion matrices and their
  difference, learning curves, all as long-format DataFrames for charts;
- a run's test split rebuilt from its ``config.json`` (same file, same seed),
  its predictions, and the test sentences behind one confusion-matrix cell;
- for free text: where several runs disagree, a token table with
  low-confidence flags, and the prediction-log row of each prediction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy
import pandas

from ner_core.corpus import annotated
from ner_core.corpus import tags as tagging
from ner_core.errors import CorruptRunFileError, NerError
from ner_core.evaluation import run_scoring, scoring
from ner_core.evaluation.held_out import test_split_for_run
from ner_core.training import run_folder

PER_TYPE_MEASURES = ("precision", "recall", "f1")
ERROR_COLUMNS = ("correct", "missed", "spurious", "wrong_type", "wrong_boundary", "total_errors")
CURVE_SERIES = ("loss", "val_loss")
SCORE_SERIES = ("val_entity_f1",)  # recorded by runs trained since the trainer scores every epoch


# --------------------------------------------------------------------------
# Per-type scores, error breakdown, learning curves
# --------------------------------------------------------------------------


def per_type_frame(evaluations: Mapping[str, scoring.Evaluation]) -> pandas.DataFrame:
    """Long format for grouped bars: run, type, measure (precision/recall/f1), value, support."""
    rows = [
        {
            "run": run,
            "type": str(entity_type),
            "measure": measure,
            "value": float(scores[measure]),
            "support": int(scores["support"]),
        }
        for run, evaluation in evaluations.items()
        for entity_type, scores in evaluation.per_type.iterrows()
        for measure in PER_TYPE_MEASURES
    ]
    return pandas.DataFrame(rows, columns=["run", "type", "measure", "value", "support"])


def error_breakdown_frame(evaluations: Mapping[str, scoring.Evaluation]) -> pandas.DataFrame:
    """One row per run: correct, missed, spurious, wrong type, wrong boundary and their total."""
    rows = []
    for run, evaluation in evaluations.items():
        breakdown = evaluation.errors
        rows.append({"run": run, **asdict(breakdown), "total_errors": breakdown.total_errors})
    return pandas.DataFrame(rows, columns=["run", *ERROR_COLUMNS])


def load_history(run_dir: str | Path) -> dict[str, list[float]]:
    """Per-epoch training logs of a run (``{}`` when it has no history file).

    A file that is not JSON raises ModelLoadError; JSON without per-epoch number lists raises CorruptRunFileError.
    """
    folder = run_folder.RunFolder(Path(run_dir))
    if not folder.file(run_folder.HISTORY_FILE).exists():
        return {}
    payload = folder.read_json(run_folder.HISTORY_FILE)
    try:
        history = payload.get("history", {})
        return {str(name): [float(v) for v in values] for name, values in history.items()}
    except (AttributeError, TypeError, ValueError) as exc:
        raise CorruptRunFileError(
            f"run {folder.run_id}: {run_folder.HISTORY_FILE} holds no per-epoch numbers ({exc.__class__.__name__}: {exc})."
        ) from None


@dataclass(frozen=True)
class StoredEvaluations:
    """The stored evaluations of some runs: found (by run id), never evaluated, and unreadable (with the error)."""

    found: dict[str, scoring.Evaluation]
    missing: list[str]
    broken: dict[str, NerError]


def load_evaluations(runs: Sequence) -> StoredEvaluations:
    """Each run's ``evaluation.json`` (runs have ``id`` and ``run_dir``); one unreadable file never hides the others."""
    found, missing, broken = {}, [], {}
    for run in runs:
        try:
            _, stored = run_scoring.load_evaluation(run_folder.RunFolder(Path(run.run_dir)))
        except NerError as exc:
            broken[run.id] = exc
            continue
        if stored is None:
            missing.append(run.id)
        else:
            found[run.id] = stored
    return StoredEvaluations(found, missing, broken)


def learning_curve_frame(
    histories: Mapping[str, Mapping[str, Sequence[float]]], series: Sequence[str] = CURVE_SERIES
) -> pandas.DataFrame:
    """Long format for one multi-run line chart: run, epoch (1-based), series, value."""
    rows = [
        {"run": run, "epoch": epoch, "series": name, "value": float(value)}
        for run, history in histories.items()
        for name in series
        for epoch, value in enumerate(history.get(name, ()), start=1)
    ]
    return pandas.DataFrame(rows, columns=["run", "epoch", "series", "value"])


# --------------------------------------------------------------------------
# Confusion matrices
# --------------------------------------------------------------------------


def _label_order(tag: str) -> tuple[int, str, int, str]:
    """O first, then by entity type with B before I; anything else (e.g. padding) last."""
    if tag == tagging.OUTSIDE:
        return (0, "", 0, tag)
    if tag == tagging.PAD_TAG:
        return (2, "", 0, tag)
    prefix, kind = tagging.split_tag(tag)
    return (1, kind, "BIES".find(prefix), tag)


def aligned_confusions(
    first: scoring.Evaluation, second: scoring.Evaluation, *, normalize: bool = False
) -> tuple[pandas.DataFrame, pandas.DataFrame]:
    """Both confusion frames on the union of their labels (a tag one run never saw is a zero row)."""
    labels = sorted(set(first.confusion_labels) | set(second.confusion_labels), key=_label_order)

    def aligned(evaluation: scoring.Evaluation) -> pandas.DataFrame:
        frame = evaluation.confusion_frame(normalize).astype(float)
        frame = frame.reindex(index=labels, columns=labels, fill_value=0.0)
        frame.index.name, frame.columns.name = "gold", "predicted"
        return frame

    return aligned(first), aligned(second)


def confusion_difference(first: scoring.Evaluation, second: scoring.Evaluation, *, normalize: bool = False) -> pandas.DataFrame:
    """``second - first`` cell by cell: positive where the second run puts more tokens."""
    frame_first, frame_second = aligned_confusions(first, second, normalize=normalize)
    return frame_second - frame_first


def confusion_cells(evaluation: scoring.Evaluation) -> list[tuple[str, str, int]]:
    """Off-diagonal (gold, predicted, tokens) cells with any tokens, largest first."""
    labels = evaluation.confusion_labels
    cells = [
        (labels[row], labels[column], int(evaluation.confusion[row, column]))
        for row, column in zip(*numpy.nonzero(evaluation.confusion))
        if row != column
    ]
    return sorted(cells, key=lambda cell: (-cell[2], cell[0], cell[1]))


def clicked_cell(event, labels: Sequence[str]) -> tuple[str, str] | None:
    """(gold, predicted) of the confusion cell a chart selection event points at; None for no or a foreign point.

    ``event`` is what ``st.plotly_chart(..., on_select="rerun")`` returns: its first selected point's
    ``y`` is the gold tag and ``x`` the predicted one (see :func:`ner_core.workbench.charts.make_cells_clickable`).
    """
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    if not points:
        return None
    cell = (str(points[0].get("y")), str(points[0].get("x")))
    return cell if cell[0] in labels and cell[1] in labels else None


def predict_tags(predictor, sentences: Sequence[annotated.Sentence], decoding: str | None = None) -> list[list[str]]:
    """The predictor's tags for pre-tokenised sentences (its configured decoding unless given)."""
    return [tags for tags, _ in predictor.tag_sentences([s.words for s in sentences], decoding)]


@dataclass(frozen=True)
class ConfusionExample:
    """One test sentence with a token tagged ``gold_tag`` in gold and ``predicted_tag`` by the model."""

    index: int  # position in the test split
    number: int  # sentence number in the source file
    words: tuple[str, ...]
    gold_tags: tuple[str, ...]
    predicted_tags: tuple[str, ...]
    positions: tuple[int, ...]  # the confused tokens


def confusion_examples(
    sentences: Sequence[annotated.Sentence],
    predicted: Sequence[Sequence[str]],
    gold_tag: str,
    predicted_tag: str,
    *,
    limit: int | None = None,
) -> list[ConfusionExample]:
    """The test sentences behind one confusion-matrix cell, with the confused tokens."""
    gold = [list(s.tags) for s in sentences]
    indices = scoring.confusion_sentences(gold, predicted, gold_tag, predicted_tag)
    examples = []
    for index in indices[:limit] if limit is not None else indices:
        sentence, tags = sentences[index], list(predicted[index])
        positions = tuple(p for p, (g, t) in enumerate(zip(sentence.tags, tags)) if g == gold_tag and t == predicted_tag)
        examples.append(
            ConfusionExample(index, sentence.number, tuple(sentence.words), tuple(sentence.tags), tuple(tags), positions)
        )
    return examples


def reevaluate(run_dir: str | Path, decoding: str) -> dict[str, float]:
    """A run's metrics under another decoding, on its rebuilt test split, written nowhere.

    Speed is not re-measured (latency and throughput are NaN): a timing taken
    while the page is busy would not be comparable with the stored one.
    """

    test = test_split_for_run(run_dir)
    return run_scoring.evaluate_folder(Path(run_dir), test, decoding=decoding, write=False, measure_speed=False).metrics


# --------------------------------------------------------------------------
# Free text: disagreements, token table, log rows
# --------------------------------------------------------------------------

EntityKey = tuple[int, int, str]


def entity_key(entity) -> EntityKey:
    """Two runs agree on an entity only when start, end and type are identical."""
    return (int(entity.start), int(entity.end), str(entity.type))


@dataclass(frozen=True)
class Disagreement:
    start: int
    end: int
    type: str
    text: str
    found_by: tuple[str, ...]
    missing_from: tuple[str, ...]


def disagreements(entities_by_run: Mapping[str, Sequence]) -> list[Disagreement]:
    """Every entity that some runs output and others do not, in text order."""
    runs_with: dict[EntityKey, list[str]] = {}
    texts: dict[EntityKey, str] = {}
    for run, entities in entities_by_run.items():
        for entity in entities:
            key = entity_key(entity)
            if run not in runs_with.setdefault(key, []):
                runs_with[key].append(run)
            texts.setdefault(key, str(entity.text))
    names = list(entities_by_run)
    result = []
    for key in sorted(runs_with):
        found = runs_with[key]
        if len(found) < len(names):
            missing = tuple(name for name in names if name not in found)
            result.append(Disagreement(key[0], key[1], key[2], texts[key], tuple(found), missing))
    return result


def disagreeing_keys(entities_by_run: Mapping[str, Sequence]) -> dict[str, set[EntityKey]]:
    """Per run, the keys of its entities that another run does not share (to mark them)."""
    disputed = {(d.start, d.end, d.type) for d in disagreements(entities_by_run)}
    return {run: {entity_key(e) for e in entities} & disputed for run, entities in entities_by_run.items()}


def disagreement_frame(entities_by_run: Mapping[str, Sequence]) -> pandas.DataFrame:
    """The disagreements as a table: the entity, then one yes/no column per run."""
    names = list(entities_by_run)
    rows = [
        {"text": d.text, "type": d.type, "start": d.start, "end": d.end, **{name: name in d.found_by for name in names}}
        for d in disagreements(entities_by_run)
    ]
    return pandas.DataFrame(rows, columns=["text", "type", "start", "end", *names])


def token_table(prediction, *, threshold: float) -> pandas.DataFrame:
    """Each token with its tag and confidence; ``low_confidence`` below ``threshold``."""
    rows = [
        {
            "token": t.text,
            "start": t.start,
            "end": t.end,
            "tag": t.tag,
            "confidence": float(t.confidence),
            "low_confidence": float(t.confidence) < threshold,
        }
        for t in prediction.tokens
    ]
    return pandas.DataFrame(rows, columns=["token", "start", "end", "tag", "confidence", "low_confidence"])


def entity_frame(prediction) -> pandas.DataFrame:
    rows = [
        {"text": e.text, "type": e.type, "start": e.start, "end": e.end, "confidence": float(e.confidence)}
        for e in prediction.entities
    ]
    return pandas.DataFrame(rows, columns=["text", "type", "start", "end", "confidence"])


def entity_types(predictions: Sequence) -> list[str]:
    """Every entity type found by any of the predictions, for one shared legend."""
    return sorted({e.type for p in predictions for e in p.entities})


def prediction_log_row(prediction, *, source: str = "highlighter") -> dict:
    """The prediction-log row of one prediction (see :meth:`ner_core.store.database.Store.log_predictions`)."""
    return {
        "source": source,
        "run_id": prediction.run_id,
        "text": prediction.text,
        "entities": [asdict(e) for e in prediction.entities],
        "latency_ms": float(prediction.latency_ms),
        "predicted_tags": [t.tag for t in prediction.tokens],
    }


DOWNLOAD_TYPES = {
    "json": ("json", "application/json"),
    "entities_only": ("json", "application/json"),
    "iob": ("txt", "text/plain"),
}


def download_name(prediction, fmt: str) -> str:
    suffix = DOWNLOAD_TYPES[fmt][0]
    return f"entities-{prediction.run_id or 'model'}-{fmt}.{suffix}"


def download_mime(fmt: str) -> str:
    return DOWNLOAD_TYPES[fmt][1]
