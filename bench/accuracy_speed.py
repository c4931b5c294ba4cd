"""Accuracy and speed on the GMB corpus: old and new ways measured side by side in one run.

    NER_CORPUS_PATH=../shared/datasets/gmb/ner_dataset.csv.zip .venv/bin/python bench/accuracy_speed.py
    # --reuse: take completed runs of the same model/config/corpus from bench/work instead of retraining
    # --peer spacy: also train and time spaCy's NER (pip install -r bench/requirements-peer.txt)

Measures, on the fixed-seed 60/20/20 split:
1. every model's 23 metrics with argmax and with IOB2-constrained decoding;
2. model2 seconds per epoch padded to 75 vs bucketed (epochs alternated between two fresh models,
   medians), and the entity F1 each reaches when trained to early stopping;
3. single-sentence latency p50/p95, ``model.predict`` vs our predictor, same 500 test sentences,
   alternating per sentence;
4. batched throughput in real tokens/s, naive (pad to 75 + ``model.predict``) vs ours, alternating
   repetitions, medians.
Writes ``bench/results/accuracy_speed.{json,md}``. The machine is shared: quote ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bench.workspace import open_workspace
from ner_core.evaluation import metric_registry, run_scoring
from ner_core.modeling import encoding
from ner_core.serving.predictor import Predictor
from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.training import loop, run_folder
from ner_core.training.config import TrainConfig

MODELS = ("baseline", "advanced", "model2", "char_bilstm_crf")


def log(message: str) -> None:
    print(f"[{dt.datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def find_or_train(store: Store, workdir: Path, corpus, config: TrainConfig, reuse: bool, *, match_monitor: bool = False):
    """The newest completed run with the same model, bucketing, seed, min_freq, embedding size, epoch limit,
    training-set cap and corpus (and, when asked, the same early-stopping monitor), or a new one. The report
    lists each run's monitor."""
    if reuse:
        resolved = config.resolved()  # a changed model default must not reuse old runs
        for run in store.list_runs(status=RunStatus.COMPLETED, model_name=config.model):
            saved = run.config
            same_monitor = not match_monitor or saved.get("monitor", "val_loss") == config.monitor
            if (
                run.dataset_sha256 == corpus.sha256
                and bool(saved.get("bucketed")) == config.bucketed
                and same_monitor
                and saved.get("seed") == config.seed
                and saved.get("min_freq", 1) == config.min_freq
                and saved.get("embedding_dim") == resolved.embedding_dim
                and saved.get("epochs") == resolved.epochs
                and saved.get("max_train_sentences") == config.max_train_sentences
                and run.run_dir
                and Path(run.run_dir).is_dir()
            ):
                log(f"reusing {run.id}")
                return Path(run.run_dir)

    def progress(event):
        if event.kind == "epoch_end":
            log(f"{config.model} epoch {event.epoch}: " + " ".join(f"{k}={v:.4f}" for k, v in event.logs.items()))

    log(f"training {config.model} (bucketed={config.bucketed})")
    result = loop.train(config, models_dir=workdir / "models", store=store, corpus=corpus, progress=progress)
    return result.run_dir


def quality_by_decoding(run_dir: Path, test) -> dict:
    predictor = Predictor.load(run_dir)
    folder = run_folder.RunFolder(run_dir)
    out = {}
    for method in ("argmax", "constrained"):
        result = run_scoring.evaluate_predictor(predictor, test, decoding=method, run_folder=folder)
        out[method] = {
            "metrics": result.metrics,
            "per_type": result.evaluation.to_dict()["per_type"],
            "errors": result.evaluation.to_dict()["errors"],
        }
        log(f"{run_dir.name} {method}: entity_f1={result.metrics['entity_f1']:.4f} p50={result.metrics['latency_p50_ms']:.2f}ms")
    return out


def epoch_timing(corpus, splits, rounds: int) -> dict:
    """Alternate one epoch padded-to-75 and one bucketed on two fresh model2 networks."""
    import keras

    from ner_core.modeling.architectures import ModelDimensions, get_definition
    from ner_core.modeling.batching import BatchSequence

    definition = get_definition("model2")
    words = encoding.build_word_vocabulary(splits.train)
    tags = encoding.build_tag_vocabulary(corpus.tag_names)
    features = encoding.FeatureEncoder(words, tags)
    timings = {"padded": [], "bucketed": []}
    positions = {}
    networks = {}
    for way in timings:
        keras.utils.set_random_seed(42)
        network = definition.build(ModelDimensions(len(words), len(tags)))
        network.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", weighted_metrics=["accuracy"])
        batches = BatchSequence(
            splits.train, features, batch_size=64, max_len=75, bucketed=way == "bucketed", categorical=True, shuffle=True, seed=42
        )
        positions[way] = batches.padded_positions()
        networks[way] = (network, batches)
    for round_index in range(rounds):
        for way in ("padded", "bucketed") if round_index % 2 == 0 else ("bucketed", "padded"):
            network, batches = networks[way]
            started = time.perf_counter()
            network.fit(batches, epochs=1, verbose=0)
            timings[way].append(time.perf_counter() - started)
            log(f"epoch timing {way}: {timings[way][-1]:.1f}s")
    padded, bucketed = statistics.median(timings["padded"]), statistics.median(timings["bucketed"])
    return {
        "seconds": timings,
        "median_padded_s": padded,
        "median_bucketed_s": bucketed,
        "speedup": padded / bucketed,
        "positions_per_epoch": positions,
        "note": "first epoch of each network includes graph tracing; rounds alternate the order",
    }


def naive_inputs(predictor: Predictor, batch, max_len: int = 75) -> np.ndarray:
    return encoding.pad_sequences([encoding.encode_words(words, predictor.features.word_vocab) for words in batch], max_len)


def latency_comparison(predictor: Predictor, test, count: int, xla: Predictor | None = None) -> dict:
    """Per sentence, rotating the order: keras ``model.predict`` on one padded row vs our predictor (and,
    when ours runs on ONNX Runtime, the same predictor on its TensorFlow XLA path)."""
    if predictor.features.uses_chars:
        return {}
    sentences = test[:count]
    for sentence in sentences[:10]:  # warm-up of both paths
        predictor.model.predict(naive_inputs(predictor, [sentence.words]), verbose=0)
    for sentence in sentences:  # the XLA path compiles once per shape bucket: do that before timing
        predictor.predict(" ".join(sentence.words))
        if xla is not None:
            xla.tag_sentences([sentence.words])
    ways = ("keras", "ours", "xla") if xla is not None else ("keras", "ours")
    timings: dict[str, list[float]] = {way: [] for way in ways}
    ours_text_ms = []
    for index, sentence in enumerate(sentences):
        shift = index % len(ways)
        for way in ways[shift:] + ways[:shift]:
            started = time.perf_counter()
            if way == "keras":
                probabilities = predictor.model.predict(naive_inputs(predictor, [sentence.words]), verbose=0)
                probabilities[0, : len(sentence.words)].argmax(-1)
            else:
                (predictor if way == "ours" else xla).tag_sentences([sentence.words])
            timings[way].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        predictor.predict(" ".join(sentence.words))
        ours_text_ms.append((time.perf_counter() - started) * 1000)

    def summary(values):
        return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95))}

    result = {
        "sentences": len(sentences),
        "backend": predictor.backend,
        "model_predict": summary(timings["keras"]),
        "predictor_tag_sentences": summary(timings["ours"]),
        "predictor_predict_text": summary(ours_text_ms),
    }
    result["p50_ratio"] = result["model_predict"]["p50"] / result["predictor_tag_sentences"]["p50"]
    result["p50_ratio_end_to_end"] = result["model_predict"]["p50"] / result["predictor_predict_text"]["p50"]
    if xla is not None:
        result["predictor_xla_tag_sentences"] = summary(timings["xla"])
        result["p50_ratio_onnx_vs_xla"] = result["predictor_xla_tag_sentences"]["p50"] / result["predictor_tag_sentences"]["p50"]
    return result


def throughput_comparison(predictor: Predictor, test, repetitions: int, xla: Predictor | None = None) -> dict:
    """Real tokens per second over the whole test split: naive vs ours with each decoding (and ours on the
    XLA path with the default decoding, when ours runs on ONNX Runtime), rotating the order every
    repetition, medians. ``ours_tokens_per_s`` is the run's own (default) decoding."""
    if predictor.features.uses_chars:
        return {}
    batch = [s.words for s in test]
    real_tokens = sum(len(words) for words in batch)
    ways = ("naive", "argmax", "constrained") + (("xla",) if xla is not None else ())
    speeds: dict[str, list[float]] = {way: [] for way in ways}
    for method in ("argmax", "constrained"):
        predictor.tag_sentences(batch, method)  # warm-up
    if xla is not None:
        xla.tag_sentences(batch)  # compiles the shape buckets this split needs
    predictor.model.predict(naive_inputs(predictor, batch[:256]), batch_size=256, verbose=0)
    for repetition in range(repetitions):
        shift = repetition % len(ways)
        for way in ways[shift:] + ways[:shift]:
            started = time.perf_counter()
            if way == "naive":
                probabilities = predictor.model.predict(naive_inputs(predictor, batch), batch_size=256, verbose=0)
                [probabilities[i, : len(words)].argmax(-1) for i, words in enumerate(batch)]
            elif way == "xla":
                xla.tag_sentences(batch)
            else:
                predictor.tag_sentences(batch, way)
            speeds[way].append(real_tokens / (time.perf_counter() - started))
    medians = {way: statistics.median(values) for way, values in speeds.items()}
    result = {
        "real_tokens": real_tokens,
        "repetitions": repetitions,
        "backend": predictor.backend,
        "default_decoding": predictor.default_decoding,
        "naive_tokens_per_s": medians["naive"],
        "ours_argmax_tokens_per_s": medians["argmax"],
        "ours_constrained_tokens_per_s": medians["constrained"],
        "ours_tokens_per_s": medians[predictor.default_decoding],
        "all_tokens_per_s": speeds,
    }
    result["ratio"] = result["ours_tokens_per_s"] / result["naive_tokens_per_s"]
    if xla is not None:
        result["ours_xla_tokens_per_s"] = medians["xla"]
        result["ratio_onnx_vs_xla"] = result["ours_tokens_per_s"] / medians["xla"]
    return result


def markdown(report: dict) -> str:
    corpus = report.get("corpus", {})
    lines = [
        f"# Accuracy and speed on {corpus.get('file', 'GMB')}",
        "",
        f"Generated {report['generated']} by `{report['command']}`.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
        f"(load average at start {report['load_average_start']}; the machine is shared, so compare ratios).",
        "",
        f"Split: seed {report['seed']}, " + ", ".join(f"{k} {v:,}" for k, v in report["splits"].items()),
        "",
    ]
    if report.get("sections_measured_in_this_run"):
        lines += [
            f"Sections measured in this run: {', '.join(report['sections_measured_in_this_run'])}; the others are "
            f"kept from the results file of {report.get('earlier_sections_from')}.",
            "",
        ]
    if report.get("run_details"):
        lines += ["## Runs measured", "", "| model | run | monitor | epochs | training time |", "|---|---|---|---|---|"]
        for name, detail in report["run_details"].items():
            lines.append(
                f"| {name} | `{detail['run']}` | {detail['monitor']} | {detail['epochs']} | {detail['training_time_s']:.0f} s |"
            )
        lines.append("")
    quality = report["quality"]
    if quality:
        columns = [(name, method) for name in quality for method in ("argmax", "constrained")]
        lines += [
            "## The 23 metrics, argmax vs IOB2-constrained decoding",
            "",
            "| metric | better | " + " | ".join(f"{n} ({m})" for n, m in columns) + " |",
            "|---|---|" + "---|" * len(columns),
        ]
        for spec in metric_registry.METRICS:
            cells = [metric_registry.format_metric(spec.key, quality[n][m]["metrics"].get(spec.key)) for n, m in columns]
            lines.append(f"| {spec.name} | {'higher' if spec.higher_is_better else 'lower'} | " + " | ".join(cells) + " |")
        lines.append("")
    for title, key in (
        ("model2 epoch time, padded to 75 vs bucketed", "epoch_timing"),
        ("Single-sentence latency (model2)", "latency"),
        ("Batched throughput (model2)", "throughput"),
        ("model2 trained padded vs bucketed", "bucketing_f1"),
        ("Peer", "peer"),
    ):
        if report.get(key):
            lines += [f"## {title}", "", "```json", json.dumps(report[key], indent=2), "```", ""]
    targets = {name: value for name, value in report.get("targets", {}).items() if value}
    if targets:
        lines += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
        for name, value in targets.items():
            where = f" ({value['model']}, {value['decoding']})" if "model" in value else ""
            shown = f"{value['value']:,.0f}" if abs(value["value"]) >= 1000 else f"{value['value']:.4g}"
            lines.append(f"| {name} | {shown}{where} | {'yes' if value['met'] else '**no**'} |")
        lines.append("")
        if not all(value["met"] for value in targets.values()):
            lines += ["Why the best entity F1 stays below 0.86 is measured in `bench/results/f1_gap.md` (`bench/f1_gap.py`).", ""]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="cap every training run at this many epochs (smoke runs; default: each model's own)",
    )
    parser.add_argument("--timing-rounds", type=int, default=3)
    parser.add_argument("--latency-sentences", type=int, default=500)
    parser.add_argument("--throughput-repetitions", type=int, default=3)
    parser.add_argument("--skip-padded-training", action="store_true", help="do not train model2 padded to 75 for its F1")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("quality", "latency", "throughput", "epoch_timing", "bucketing_f1", "peer"),
        help="re-measure only these sections and keep the others from the existing results file",
    )
    parser.add_argument("--peer", choices=("spacy",), default=None)
    parser.add_argument("--peer-steps", type=int, default=6000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "accuracy_speed"))
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "work"))
    args = parser.parse_args()

    workspace = open_workspace(args.workdir, args.seed)
    if workspace is None:
        return 2
    corpus_path, workdir, store = workspace.corpus_path, workspace.workdir, workspace.store
    corpus, splits = workspace.corpus, workspace.splits
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/accuracy_speed.py " + " ".join(sys.argv[1:]),
        "machine": run_folder.machine_description(),
        "load_average_start": os.getloadavg()[0],
        "corpus": {"file": corpus_path.name, "sha256": corpus.sha256, "sentences": len(corpus.sentences)},
        "seed": args.seed,
        "splits": {k: len(v) for k, v in splits.items()},
        "quality": {},
        "runs": {},
    }

    previous = json.loads(out.with_suffix(".json").read_text()) if args.only and out.with_suffix(".json").exists() else {}
    wanted = set(args.only or ("quality", "latency", "throughput", "epoch_timing", "bucketing_f1", "peer"))
    for section in ("quality", "runs", "latency", "throughput", "epoch_timing", "bucketing_f1", "peer"):
        if section in previous and (section not in wanted or section == "runs"):
            report[section] = previous[section]
    if previous:
        report["sections_measured_in_this_run"] = sorted(wanted)
        report["earlier_sections_from"] = previous.get("generated")

    def save() -> None:
        out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=float))
        out.with_suffix(".md").write_text(markdown(report))

    run_dirs = {}
    for name in args.models:
        config = TrainConfig(model=name, seed=args.seed, dataset=str(corpus_path), bucketed=True, epochs=args.epochs)
        run_dirs[name] = find_or_train(store, workdir, corpus, config, args.reuse)
        report["runs"][name] = run_dirs[name].name
        folder = run_folder.RunFolder(run_dirs[name])
        history = folder.read_json(run_folder.HISTORY_FILE)
        report.setdefault("run_details", {})[name] = {
            "run": run_dirs[name].name,
            "epochs": history["epochs_trained"],
            "training_time_s": history["training_time_s"],
            # runs trained before the trainer scored validation F1 stopped on val_loss
            "monitor": folder.read_json(run_folder.CONFIG_FILE)["train_config"].get("monitor", "val_loss"),
        }
        if "quality" in wanted:
            report["quality"][name] = quality_by_decoding(run_dirs[name], splits.test)
            save()

    if "model2" in run_dirs:
        predictor = Predictor.load(run_dirs["model2"])
        # The app's predictor serves model2 through ONNX Runtime; its XLA path is measured beside it.
        xla = Predictor.load(run_dirs["model2"], onnx=False) if predictor.backend == "onnxruntime" else None
        if "latency" in wanted:
            report["latency"] = latency_comparison(predictor, splits.test, args.latency_sentences, xla)
            save()
        if "throughput" in wanted:
            report["throughput"] = throughput_comparison(predictor, splits.test, args.throughput_repetitions, xla)
            save()
        if "epoch_timing" in wanted:
            report["epoch_timing"] = epoch_timing(corpus, splits, args.timing_rounds)
            save()
        if "bucketing_f1" in wanted and not args.skip_padded_training:
            # Like with like: the padded run stops on the same monitor as the bucketed run it is compared with.
            padded_config = TrainConfig(
                model="model2",
                seed=args.seed,
                dataset=str(corpus_path),
                bucketed=False,
                monitor=report["run_details"]["model2"]["monitor"],
                epochs=args.epochs,
            )
            padded_dir = find_or_train(store, workdir, corpus, padded_config, args.reuse, match_monitor=True)
            padded_eval = run_scoring.evaluate_folder(padded_dir, splits.test, write=False, measure_speed=False)
            bucketed_history = run_folder.RunFolder(run_dirs["model2"]).read_json(run_folder.HISTORY_FILE)
            padded_history = run_folder.RunFolder(padded_dir).read_json(run_folder.HISTORY_FILE)
            report["bucketing_f1"] = {
                "padded": {
                    "run": padded_dir.name,
                    "entity_f1": padded_eval.metrics["entity_f1"],
                    "epochs": padded_history["epochs_trained"],
                    "training_time_s": padded_history["training_time_s"],
                    "median_epoch_s": statistics.median(padded_history.get("epoch_seconds") or [float("nan")]),
                },
                "bucketed": {
                    "run": run_dirs["model2"].name,
                    "entity_f1": report["quality"]["model2"]["argmax"]["metrics"]["entity_f1"],
                    "epochs": bucketed_history["epochs_trained"],
                    "training_time_s": bucketed_history["training_time_s"],
                    "median_epoch_s": statistics.median(bucketed_history.get("epoch_seconds") or [float("nan")]),
                },
            }
            save()

    if args.peer == "spacy" and "peer" in wanted:
        from bench import spacy_peer

        report["peer"] = spacy_peer.run(
            splits, steps=args.peer_steps, workdir=workdir / "spacy", latency_sentences=args.latency_sentences, reuse=args.reuse
        )
        save()

    best = max(
        (
            (name, method, values["metrics"]["entity_f1"])
            for name, by_method in report["quality"].items()
            for method, values in by_method.items()
        ),
        key=lambda item: item[2],
        default=None,
    )
    model2 = report["quality"].get("model2", {})
    report["targets"] = {
        "best_entity_f1 >= 0.86": best and {"model": best[0], "decoding": best[1], "value": best[2], "met": best[2] >= 0.86},
        "model2_entity_f1 >= 0.82": model2
        and {
            "value": max(v["metrics"]["entity_f1"] for v in model2.values()),
            "met": max(v["metrics"]["entity_f1"] for v in model2.values()) >= 0.82,
        },
        "bucketed epoch speedup >= 2.5": report.get("epoch_timing")
        and {"value": report["epoch_timing"]["speedup"], "met": report["epoch_timing"]["speedup"] >= 2.5},
        "latency_p50_ms <= 4 (app predictor, predict(text))": report.get("latency")
        and {
            "value": report["latency"]["predictor_predict_text"]["p50"],
            "met": report["latency"]["predictor_predict_text"]["p50"] <= 4,
        },
        "latency ratio vs model.predict >= 10": report.get("latency")
        and {"value": report["latency"]["p50_ratio"], "met": report["latency"]["p50_ratio"] >= 10},
        "throughput >= 150000 tokens/s": report.get("throughput")
        and {"value": report["throughput"]["ours_tokens_per_s"], "met": report["throughput"]["ours_tokens_per_s"] >= 150000},
    }
    save()
    log(f"wrote {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
