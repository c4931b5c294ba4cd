"""Why the best GMB entity F1 stops near 0.84: measurements behind the one missed target of issue 4.

    NER_CORPUS_PATH=../shared/datasets/gmb/ner_dataset.csv.zip .venv/bin/python bench/f1_gap.py --reuse

On the fixed-seed 60/20/20 split, for char_bilstm_crf (the best model):
1. annotation consistency: sentences that occur more than once with the same words, and how often their
   copies carry different tags (entity F1 of the later copies against the first);
2. a learning curve: the model trained on 25%, 50% and all of the training split, test entity F1 of each,
   to see what more data of this kind would buy;
3. capacity: the same model with a second BiLSTM layer (registered here only, not in the app's zoo), and
   the two combined as a product of experts (potentials and transitions averaged, one constrained Viterbi);
4. where the errors are: per-type F1 and the error kinds of the full model on the test split.
Writes ``bench/results/f1_gap.{json,md}``; trained runs go to ``--workdir`` (reused with ``--reuse``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bench.accuracy_speed import find_or_train, log
from bench.workspace import open_workspace
from ner_core.evaluation import run_scoring, scoring
from ner_core.modeling import architectures, decoding
from ner_core.serving.predictor import Predictor
from ner_core.training import run_folder
from ner_core.training.config import suggested_config
from ner_core.workbench import explore

MODEL = "char_bilstm_crf"
TWO_LAYER = "char_bilstm_crf_2layer"
FRACTIONS = (0.25, 0.5, 1.0)


def _build_two_layer(dims: architectures.ModelDimensions):
    return architectures.build_char_bilstm_crf(dims, bilstm_layers=2, name=TWO_LAYER)


def register_two_layer() -> None:
    if TWO_LAYER in architectures.REGISTRY:
        return
    base = architectures.get_definition(MODEL)
    architectures.register(
        architectures.ModelDefinition(
            name=TWO_LAYER,
            description="char_bilstm_crf with two stacked BiLSTM(128) (bench experiment)",
            build=_build_two_layer,
            target_encoding=base.target_encoding,
            default_max_len=base.default_max_len,
            default_embedding_dim=base.default_embedding_dim,
            train_defaults=dict(base.train_defaults),
            output=base.output,
            uses_chars=base.uses_chars,
            normalise_words=base.normalise_words,
        )
    )


def score(run_dir: Path, test) -> dict:
    result = run_scoring.evaluate_folder(run_dir, test, write=False, measure_speed=False)
    history = run_folder.RunFolder(run_dir).read_json(run_folder.HISTORY_FILE)
    validation = history.get("history", {}).get("val_entity_f1") or []
    return {
        "run": run_dir.name,
        "entity_f1": result.metrics["entity_f1"],
        "epochs": history["epochs_trained"],
        "training_time_s": history["training_time_s"],
        "best_val_entity_f1": max(validation, default=None),
        "val_entity_f1_by_epoch": validation,
        "per_type": result.evaluation.to_dict()["per_type"],
        "errors": result.evaluation.to_dict()["errors"],
    }


def ensemble_entity_f1(run_dirs: list[Path], test) -> float:
    """Test entity F1 of CRF runs combined: their potentials and transition scores averaged, then one
    IOB2-constrained Viterbi. With a single run it must give that run's own F1 (the report checks it)."""
    predictors = [Predictor.load(run_dir) for run_dir in run_dirs]
    names = predictors[0].tag_names
    if any(predictor.tag_names != names for predictor in predictors):
        raise ValueError("the runs tag with different tag sets")
    layers = [predictor.model.get_layer("crf") for predictor in predictors]
    transitions, start, end = (
        np.mean([np.asarray(getattr(layer, weight)) for layer in layers], axis=0)
        for weight in ("transitions", "start_transitions", "end_transitions")
    )
    batch = [sentence.words for sentence in test]
    potentials = [np.mean(per_run, axis=0) for per_run in zip(*(p.probabilities(batch) for p in predictors))]
    allowed, start_allowed = decoding.iob2_transition_mask(names), decoding.iob2_start_mask(names)
    predicted: list[list[str]] = []
    for offset in range(0, len(batch), 256):
        rows = potentials[offset : offset + 256]
        lengths = [len(row) for row in rows]
        padded = np.zeros((len(rows), max(lengths), len(names)), dtype="float32")
        for index, row in enumerate(rows):
            padded[index, : len(row)] = row
        paths = decoding.crf_viterbi_batch(padded, lengths, transitions, start, end, allowed, start_allowed)
        predicted += [[names[tag] for tag in path] for path in paths]
    return scoring.entity_f1([sentence.tags for sentence in test], predicted)


def learning_curve_extrapolation(points: list[tuple[int, float]], target: float) -> dict | None:
    """Least-squares fit of F1 = a + b * log2(sentences); the training size at which it would reach ``target``."""
    if len(points) < 2:
        return None
    xs = [math.log2(n) for n, _ in points]
    ys = [f1 for _, f1 in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    intercept = mean_y - slope * mean_x
    needed = 2 ** ((target - intercept) / slope) if slope > 0 else None
    return {"f1_gain_per_doubling": slope, "intercept": intercept, "target": target, "training_sentences_for_target": needed}


def _f4(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown(report: dict) -> str:
    agreement, curve = report["annotation_consistency"], report.get("learning_curve", [])
    lines = [
        f"# Why the best entity F1 stays below 0.86 on {report['corpus']['file']}",
        "",
        f"Generated {report['generated']} by `{report['command']}`.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
        "",
        f"Split: seed {report['seed']}, " + ", ".join(f"{k} {v:,}" for k, v in report["splits"].items()),
        "",
        "## 1. Annotation consistency: identical sentences, different tags",
        "",
        f"{agreement['pairs']:,} later copies of a sentence that occurs more than once with the same words; "
        f"{agreement['identical']:,} carry exactly the first copy's tags. "
        + (
            f"Over the {agreement['entity_pairs']:,} pairs with an entity, the later copies score entity F1 "
            f"**{agreement['entity_f1']:.4f}** against the first copies (seqeval strict IOB2)."
            if agreement["entity_f1"] is not None
            else "No such pair has an entity."
        ),
        "",
        "| word | first copy | other copy | times |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {_cell(row['word'])} | {row['first_tag']} | {row['other_tag']} | {row['count']} |"
        for row in agreement["disagreements"]
    ]
    lines.append("")
    if curve:
        lines += [
            "## 2. Learning curve (char_bilstm_crf, test entity F1)",
            "",
            "| training sentences | test entity F1 | best validation F1 | epochs | training time | run |",
            "|---|---|---|---|---|---|",
        ]
        for point in curve:
            lines.append(
                f"| {point['training_sentences']:,} | {point['entity_f1']:.4f} | {_f4(point['best_val_entity_f1'])} | "
                f"{point['epochs']} | {point['training_time_s']:.0f} s | `{point['run']}` |"
            )
        fit = report.get("learning_curve_fit")
        if fit:
            needed = fit["training_sentences_for_target"]
            lines += [
                "",
                f"Fitted: F1 = {fit['intercept']:.4f} + {fit['f1_gain_per_doubling']:.4f} × log2(sentences). "
                + (
                    f"At that rate F1 {fit['target']} needs about **{needed:,.0f} training sentences**, "
                    f"{needed / report['splits']['train']:.1f}x this split's training set."
                    if needed
                    else "F1 does not grow with data at this size."
                ),
            ]
        lines.append("")
    variants = report.get("variants", {})
    if variants:
        lines += [
            "## 3. Capacity",
            "",
            "| model | test entity F1 | best validation F1 | epochs | training time |",
            "|---|---|---|---|---|",
        ]
        for name, result in variants.items():
            lines.append(
                f"| {name} | {result['entity_f1']:.4f} | {_f4(result['best_val_entity_f1'])} | {result['epochs']} | "
                f"{result['training_time_s']:.0f} s |"
            )
        ensemble = report.get("ensemble")
        if ensemble:
            lines.append(f"| both, potentials and transitions averaged | {ensemble['entity_f1']:.4f} | | | |")
            lines += [
                "",
                f"(Check: the same combination code on the one-layer run alone gives "
                f"{ensemble['single_run_check']:.4f}, its own F1 {variants[MODEL]['entity_f1']:.4f}.)",
            ]
        lines.append("")
    full = report.get("full_model")
    if full:
        lines += [
            f"## 4. Where the errors are ({MODEL}, all training data)",
            "",
            "| type | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for row in full["per_type"]:
            lines.append(
                f"| {row['type']} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {row['support']:,} |"
            )
        lines += ["", "Error kinds (test split): `" + json.dumps(full["errors"]) + "`", ""]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS))
    parser.add_argument("--skip-variants", action="store_true", help="do not train the two-layer variant")
    parser.add_argument("--epochs", type=int, default=None, help="cap every training run (smoke runs)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "f1_gap"))
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "work"))
    args = parser.parse_args()

    workspace = open_workspace(args.workdir, args.seed)
    if workspace is None:
        return 2
    corpus_path, workdir, store = workspace.corpus_path, workspace.workdir, workspace.store
    corpus, splits = workspace.corpus, workspace.splits
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    agreement = explore.duplicate_agreement(corpus.sentences)
    report = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/f1_gap.py " + " ".join(sys.argv[1:]),
        "machine": run_folder.machine_description(),
        "corpus": {"file": corpus_path.name, "sha256": corpus.sha256, "sentences": len(corpus.sentences)},
        "seed": args.seed,
        "splits": {k: len(v) for k, v in splits.items()},
        "annotation_consistency": {
            "pairs": agreement.pairs,
            "identical": agreement.identical,
            "entity_pairs": agreement.entity_pairs,
            "entity_f1": agreement.entity_f1,
            "disagreements": agreement.disagreements.to_dict("records"),
        },
    }

    def save() -> None:
        out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=float))
        out.with_suffix(".md").write_text(markdown(report))

    save()

    run_dirs: dict[str, Path] = {}

    def train_and_score(model: str, max_sentences: int | None) -> dict:
        # The form's settings for this corpus: the model's own defaults on GMB, small batches on a small corpus.
        suggested = suggested_config(model, str(corpus_path), len(corpus.sentences))
        config = dataclasses.replace(
            suggested, seed=args.seed, bucketed=True, max_train_sentences=max_sentences, epochs=args.epochs or suggested.epochs
        )
        run_dir = find_or_train(store, workdir, corpus, config, args.reuse)
        run_dirs[f"{model}@{max_sentences}"] = run_dir
        return score(run_dir, splits.test)

    full = train_and_score(MODEL, None)
    report["full_model"] = full
    save()
    if not args.skip_variants:
        register_two_layer()
        report["variants"] = {MODEL: full, TWO_LAYER: train_and_score(TWO_LAYER, None)}
        save()
        pair = [run_dirs[f"{MODEL}@None"], run_dirs[f"{TWO_LAYER}@None"]]
        report["ensemble"] = {
            "runs": [d.name for d in pair],
            "entity_f1": ensemble_entity_f1(pair, splits.test),
            "single_run_check": ensemble_entity_f1(pair[:1], splits.test),
        }
        save()
    report["learning_curve"] = []
    for fraction in sorted(args.fractions):
        size = len(splits.train) if fraction >= 1 else max(1, round(fraction * len(splits.train)))
        point = full if size == len(splits.train) else train_and_score(MODEL, size)
        report["learning_curve"].append(
            {
                "fraction": fraction,
                "training_sentences": size,
                **{k: point[k] for k in ("run", "entity_f1", "best_val_entity_f1", "epochs", "training_time_s")},
            }
        )
        report["learning_curve_fit"] = learning_curve_extrapolation(
            [(p["training_sentences"], p["entity_f1"]) for p in report["learning_curve"]], 0.86
        )
        save()
    log(f"wrote {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
