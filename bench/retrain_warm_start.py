"""Warm start against full retraining of model2 after an analyst's corrections, on the real corpus.

    NER_CORPUS_PATH=../shared/datasets/gmb/ner_dataset.csv.zip .venv/bin/python bench/retrain_warm_start.py --reuse

On the fixed-seed 60/20/20 split:
1. the parent: model2 with the app's settings for the corpus (bucketed batches), trained or, with
   ``--reuse``, taken from ``--workdir`` (a completed model2 run of the same settings and corpus that is
   not itself a retrain);
2. the analyst's corrections: ``--corrections`` validation sentences and ``--test-corrections`` test
   sentences that the parent tags wrongly, with their gold tags, saved as annotations in the bench's store
   and read back through ``training_annotations`` as the app does. Validation sentences are what the
   review queue offers; sentences the parent gets wrong are the ones an analyst would correct (a correct
   sentence teaches nothing). The few test sentences stand for an analyst who opted into the test pool:
   the comparison must leave them out. Chosen by a seeded shuffle, so every run corrects the same ones;
3. the two retrains through the app's own settings (``ner_core.workbench.retraining.retrain_config``):
   the full retrain and the warm start, in alternating order over ``--repeats`` rounds, each timed from
   the call to ``train`` to the evaluated, published run (what an analyst waits for);
4. each child against the parent, and the warm start against the full retrain, on the test split minus
   every sentence an annotation copies (``ner_core.workbench.retrain_comparison``), with paired bootstrap
   intervals, and how many corrected sentences each model now tags exactly as annotated.
Writes ``bench/results/retrain_warm_start.{json,md}`` with the machine, its load and the command.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sqlalchemy as sa

from bench.workspace import open_workspace
from ner_core.evaluation import bootstrap
from ner_core.serving.predictor import Predictor
from ner_core.store.tables import Annotation, RunStatus
from ner_core.training import loop, run_folder
from ner_core.training.config import TrainConfig, suggested_config
from ner_core.workbench import retrain_comparison, retraining

MODEL = "model2"
WARM_TARGET_S = 120.0
F1_TOLERANCE = 0.005


def log(message: str) -> None:
    print(f"[{dt.datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def parent_config(corpus_path: Path, sentences: int, args) -> TrainConfig:
    suggested = suggested_config(MODEL, str(corpus_path), sentences)
    return dataclasses.replace(suggested, seed=args.seed, bucketed=True, epochs=args.epochs or suggested.epochs)


def find_or_train_parent(workspace, config: TrainConfig, reuse: bool):
    """A completed run of ``config`` on this corpus that is no retrain (with ``--reuse``), else a new one."""
    if reuse:
        resolved = config.resolved()
        for run in workspace.store.list_runs(status=RunStatus.COMPLETED, model_name=MODEL):
            saved = run.config
            if (
                run.parent_run_id is None
                and not saved.get("warm_start_from")
                and run.dataset_sha256 == workspace.corpus.sha256
                and all(saved.get(name) == getattr(resolved, name) for name in ("seed", "bucketed", "epochs", "embedding_dim"))
                and saved.get("max_train_sentences") is None
                and run.run_dir
                and Path(run.run_dir).is_dir()
            ):
                log(f"reusing parent {run.id}")
                return run
    log(f"training the parent {MODEL}")
    result = loop.train(config, models_dir=workspace.workdir / "models", store=workspace.store, corpus=workspace.corpus)
    return workspace.store.get_run(result.run_id)


def wrongly_tagged(predictor, sentences, count: int, seed: int) -> list:
    """``count`` of ``sentences`` the predictor tags differently from gold, by a seeded shuffle."""
    if count <= 0:
        return []
    tagged = predictor.tag_sentences([s.words for s in sentences])
    wrong = [s for s, (tags, _) in zip(sentences, tagged) if list(tags) != list(s.tags)]
    random.Random(seed).shuffle(wrong)
    return wrong[:count]


def save_corrections(store, parent, corrections: dict[str, list]) -> None:
    """Save the corrections by the pool they came from; the bench store holds only these (earlier ones are removed)."""
    store.write(lambda session: session.execute(sa.delete(Annotation)))
    for source, sentences in corrections.items():
        for sentence in sentences:
            store.add_annotation(
                analyst="bench",
                text=sentence.text,
                tokens=list(sentence.words),
                tags=list(sentence.tags),
                original_tags=["O"] * len(sentence),
                model_run_id=parent.id,
                source=source,
            )


def retrain(workspace, parent, mode: str, annotations, args) -> dict:
    overrides = {}
    if mode == retraining.WARM_START:
        overrides = {"epochs": args.warm_epochs, "annotation_weight": args.annotation_weight}
    elif args.epochs:
        overrides = {"epochs": args.epochs}
    config = retraining.retrain_config(parent, mode, **overrides)
    log(f"{mode}: training (load {load()})")
    load_before = load()
    started = time.perf_counter()
    result = loop.train(
        config,
        models_dir=workspace.workdir / "models",
        store=workspace.store,
        corpus=workspace.corpus,
        annotations=annotations,
        parent_run_id=parent.id,
    )
    wall = time.perf_counter() - started
    log(f"{mode}: {result.epochs_trained} epochs, {wall:.0f} s wall, test entity F1 {result.metrics['entity_f1']:.4f}")
    return {
        "mode": mode,
        "run": result.run_id,
        "wall_s": wall,
        "training_time_s": result.training_time_s,
        "epochs": result.epochs_trained,
        "settings": {key: config.to_dict()[key] for key in ("epochs", "patience", "annotation_weight", "learning_rate")},
        "load_before": load_before,
        "load_after": load(),
    }


def compare(workspace, parent, child_id: str, args) -> dict:
    child = workspace.store.get_run(child_id)
    started = time.perf_counter()
    result = retrain_comparison.compare_retrain(
        parent,
        child,
        parent_predictor=Predictor.load(parent.run_dir),
        child_predictor=Predictor.load(child.run_dir),
        resamples=args.resamples,
        seed=args.seed,
    )
    return {
        "seconds": time.perf_counter() - started,
        "test_sentences": result.test_set.total,
        "left_out": result.test_set.left_out_count,
        "gain": result.gain.to_dict(),
        "child_entity_f1": result.child.metrics["entity_f1"],
        "parent_entity_f1": result.parent.metrics["entity_f1"],
        "corrected_as_annotated": {
            "parent": sum(item.parent_agrees for item in result.corrected),
            "child": sum(item.child_agrees for item in result.corrected),
            "of": len(result.corrected),
        },
        "predictions": result.child.predictions,
        "kept_gold": [list(s.tags) for s in result.test_set.kept],
    }


def warm_against_full(warm: dict, full: dict, args) -> dict:
    """The warm start's F1 minus the full retrain's, paired over the same leak-free sentences."""
    if warm["kept_gold"] != full["kept_gold"]:
        raise RuntimeError("the two children were compared on different sentences")
    counts = {
        key: bootstrap.sentence_entity_counts(side["kept_gold"], side["predictions"])
        for key, side in (("warm", warm), ("full", full))
    }
    difference = bootstrap.paired_f1_difference(counts["full"], counts["warm"], resamples=args.resamples, seed=args.seed)
    return difference.to_dict()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true", help="reuse a completed parent from --workdir")
    parser.add_argument("--corrections", type=int, default=20, help="validation sentences corrected (default 20)")
    parser.add_argument("--test-corrections", type=int, default=5, help="test sentences corrected (default 5)")
    parser.add_argument("--warm-epochs", type=int, default=retraining.WARM_START_EPOCHS)
    parser.add_argument("--annotation-weight", type=int, default=retraining.WARM_START_ANNOTATION_WEIGHT)
    parser.add_argument("--epochs", type=int, default=None, help="cap the parent and the full retrain (smoke runs)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of both retrains, order alternating (default 1)")
    parser.add_argument("--resamples", type=int, default=bootstrap.DEFAULT_RESAMPLES)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "retrain_warm_start"))
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "work" / "retrain_warm_start"))
    args = parser.parse_args()

    workspace = open_workspace(args.workdir, args.seed)
    if workspace is None:
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    corpus, splits = workspace.corpus, workspace.splits
    report = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/retrain_warm_start.py " + " ".join(sys.argv[1:]),
        "machine": run_folder.machine_description(),
        "load_average_start": load(),
        "corpus": {"file": workspace.corpus_path.name, "sha256": corpus.sha256, "sentences": len(corpus.sentences)},
        "seed": args.seed,
        "splits": {name: len(part) for name, part in splits.items()},
        "targets": {"warm_start_wall_s": WARM_TARGET_S, "entity_f1_within": F1_TOLERANCE},
    }
    parent = find_or_train_parent(workspace, parent_config(workspace.corpus_path, len(corpus.sentences), args), args.reuse)
    report["parent"] = {"run": parent.id, "entity_f1": parent.metrics.get("entity_f1"), "settings": parent.config}
    parent_predictor = Predictor.load(parent.run_dir)
    corrections = {
        "validation split": wrongly_tagged(parent_predictor, splits.validation, args.corrections, args.seed),
        "test split": wrongly_tagged(parent_predictor, splits.test, args.test_corrections, args.seed),
    }
    save_corrections(workspace.store, parent, corrections)
    annotations = retraining.current_annotations(workspace.store)
    report["corrections"] = {
        "validation": len(corrections["validation split"]),
        "test": len(corrections["test split"]),
        "tokens": sum(len(s) for part in corrections.values() for s in part),
        "checksum": annotations.checksum,
        "sentences": {source: [s.text for s in part] for source, part in corrections.items()},
    }
    rounds = []
    for round_index in range(args.repeats):
        order = [retraining.WARM_START, retraining.FULL_RETRAIN]
        if round_index % 2:
            order.reverse()
        trained = {mode: retrain(workspace, parent, mode, annotations, args) for mode in order}
        compared = {mode: compare(workspace, parent, trained[mode]["run"], args) for mode in order}
        rounds.append(
            {
                "order": order,
                **{mode: {**trained[mode], "comparison": strip(compared[mode])} for mode in order},
                "warm_minus_full": warm_against_full(compared[retraining.WARM_START], compared[retraining.FULL_RETRAIN], args),
            }
        )
        report["rounds"] = rounds
        report["summary"] = summary(rounds)
        report["load_average_end"] = load()
        out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=float))
        out.with_suffix(".md").write_text(markdown(report))
    log(f"wrote {out.with_suffix('.md')}")
    return 0


def strip(comparison: dict) -> dict:
    return {key: value for key, value in comparison.items() if key not in ("predictions", "kept_gold")}


def summary(rounds: list[dict]) -> dict:
    """Medians over the rounds, and whether the targets are met."""

    def median(mode: str, *path: str) -> float:
        values = []
        for item in rounds:
            value = item[mode]
            for key in path:
                value = value[key]
            values.append(float(value))
        return statistics.median(values)

    warm, full = retraining.WARM_START, retraining.FULL_RETRAIN
    f1_difference = statistics.median(item["warm_minus_full"]["gain"] for item in rounds)
    result = {
        "warm_wall_s": median(warm, "wall_s"),
        "full_wall_s": median(full, "wall_s"),
        "warm_entity_f1": median(warm, "comparison", "child_entity_f1"),
        "full_entity_f1": median(full, "comparison", "child_entity_f1"),
        "parent_entity_f1": median(warm, "comparison", "parent_entity_f1"),
        "warm_minus_full_f1": f1_difference,
    }
    result["speed_up"] = result["full_wall_s"] / result["warm_wall_s"]
    result["warm_under_target"] = result["warm_wall_s"] < WARM_TARGET_S
    result["f1_within_tolerance"] = abs(f1_difference) <= F1_TOLERANCE
    result["f1_not_below_tolerance"] = f1_difference >= -F1_TOLERANCE  # the warm start is not worse by more
    return result


def markdown(report: dict) -> str:
    machine = report["machine"]
    lines = [
        "# Warm start vs full retrain (model2)",
        "",
        f"Generated {report['generated']} with `{report['command']}` on {machine['cpu']} ({machine['cores']} cores), "
        f"TensorFlow {machine['tensorflow']}; load average {report['load_average_start']} at the start, "
        f"{report.get('load_average_end', 'n/a')} at the end (a shared machine: times are indicative).",
        "",
        f"Corpus {report['corpus']['file']} ({report['corpus']['sentences']:,} sentences, sha256 "
        f"{report['corpus']['sha256'][:12]}...), split seed {report['seed']}: "
        + ", ".join(f"{name} {size:,}" for name, size in report["splits"].items())
        + ".",
        "",
        f"Parent: `{report['parent']['run']}`. Corrections: {report['corrections']['validation']} validation and "
        f"{report['corrections']['test']} test sentences the parent tags wrongly, with their gold tags "
        f"({report['corrections']['tokens']} tokens, annotation checksum {report['corrections']['checksum'][:12]}...).",
        "",
    ]
    for index, item in enumerate(report.get("rounds", []), start=1):
        warm, full = item[retraining.WARM_START], item[retraining.FULL_RETRAIN]
        comparison = warm["comparison"]
        lines += [
            f"## Round {index} (order: {', '.join(item['order'])})",
            "",
            f"Scored on {comparison['test_sentences'] - comparison['left_out']:,} of {comparison['test_sentences']:,} test "
            f"sentences ({comparison['left_out']} left out: they match a correction).",
            "",
            "| | parent | full retrain | warm start |",
            "|---|---|---|---|",
            f"| wall time (train + evaluate) | | {full['wall_s']:.0f} s | {warm['wall_s']:.0f} s |",
            f"| of which fitting (incl. validation) | | {full['training_time_s']:.0f} s | {warm['training_time_s']:.0f} s |",
            f"| epochs | | {full['epochs']} | {warm['epochs']} |",
            f"| load average before / after | | {full['load_before']} / {full['load_after']} "
            f"| {warm['load_before']} / {warm['load_after']} |",
            f"| entity F1 (leak-free) | {comparison['parent_entity_f1']:.4f} | {full['comparison']['child_entity_f1']:.4f} "
            f"| {comparison['child_entity_f1']:.4f} |",
            f"| gain over parent [95% interval] | | {interval(full['comparison']['gain'])} | {interval(comparison['gain'])} |",
            f"| corrected sentences tagged as annotated | {counted(comparison, 'parent')} "
            f"| {counted(full['comparison'], 'child')} | {counted(comparison, 'child')} |",
            "",
            f"Warm start minus full retrain: {interval(item['warm_minus_full'])} (paired bootstrap, "
            f"{item['warm_minus_full']['resamples']:,} resamples over {item['warm_minus_full']['sentences']:,} sentences).",
            "",
        ]
    if "summary" in report:
        result = report["summary"]
        lines += [
            "## Targets",
            "",
            f"- warm start under {WARM_TARGET_S:.0f} s: **{'met' if result['warm_under_target'] else 'missed'}** "
            f"(median {result['warm_wall_s']:.0f} s; full retrain {result['full_wall_s']:.0f} s, "
            f"{result['speed_up']:.1f}x as long)",
            f"- entity F1 within {F1_TOLERANCE} of the full retrain: "
            f"**{'met' if result['f1_within_tolerance'] else 'missed'}** "
            f"(warm {result['warm_entity_f1']:.4f}, full {result['full_entity_f1']:.4f}, "
            f"difference {result['warm_minus_full_f1']:+.4f}); not more than {F1_TOLERANCE} below it: "
            f"**{'met' if result['f1_not_below_tolerance'] else 'missed'}**",
            "",
        ]
    return "\n".join(lines)


def interval(gain: dict) -> str:
    return f"{gain['gain']:+.4f} [{gain['low']:+.4f}, {gain['high']:+.4f}]"


def counted(comparison: dict, who: str) -> str:
    agreed = comparison["corrected_as_annotated"]
    return f"{agreed[who]} of {agreed['of']}"


if __name__ == "__main__":
    sys.exit(main())
