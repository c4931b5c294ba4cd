"""Train the registered models on the real GMB corpus and record all 23 metrics.

    NER_CORPUS_PATH=../shared/datasets/gmb/ner_dataset.csv.zip .venv/bin/python bench/train_gmb.py
    # options: --models baseline advanced model2  --bucketed/--padded  --epochs N (cap)  --out bench/results/gmb_models

Fixed seed and the 60/20/20 split of ner_core.corpus.splitting. Writes ``<out>.json`` and
``<out>.md`` after every model, so a long run leaves results as it goes.
Timing numbers carry the machine they were measured on; the machine is shared,
so treat absolute seconds as indicative and compare models within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.workspace import open_workspace
from ner_core.errors import NerError
from ner_core.evaluation import metric_registry
from ner_core.training import callbacks, loop, run_folder
from ner_core.training.config import TrainConfig


def markdown(report: dict) -> str:
    lines = [
        f"# GMB benchmark: {', '.join(report['models'])}",
        "",
        f"Generated {report['generated']} by `{report['command']}`.",
        "",
        f"Corpus: `{report['corpus']['source']}` (sha256 {report['corpus']['sha256'][:16]}...), "
        f"{report['corpus']['sentences']:,} sentences; split seed {report['seed']}: "
        + ", ".join(f"{k} {v:,}" for k, v in report["corpus"]["splits"].items())
        + ".",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
        "",
    ]
    results = report["results"]
    if results:
        names = list(results)
        lines += [
            "## The 23 metrics (test split)",
            "",
            "| metric | better | " + " | ".join(names) + " |",
            "|---|---|" + "---|" * len(names),
        ]
        table = {name: results[name]["metrics"] for name in names}
        best = metric_registry.best_run_per_metric(table)
        for spec in metric_registry.METRICS:
            cells = []
            for name in names:
                value = metric_registry.format_metric(spec.key, table[name].get(spec.key))
                cells.append(f"**{value}**" if best.get(spec.key) == name and len(names) > 1 else value)
            lines.append(f"| {spec.name} | {'higher' if spec.higher_is_better else 'lower'} | " + " | ".join(cells) + " |")
        lines.append("")
        for name in names:
            lines += [
                f"## {name}: per entity type",
                "",
                f"Config: `{json.dumps(results[name]['config'])}`",
                "",
                "| type | precision | recall | f1 | support |",
                "|---|---|---|---|---|",
            ]
            for row in results[name]["per_type"]:
                lines.append(
                    f"| {row['type']} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} "
                    f"| {int(row['support']):,} |"
                )
            lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["baseline", "model2", "advanced"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=None, help="cap on epochs (default: each model's design default)")
    parser.add_argument(
        "--padded", action="store_true", help="pad every batch to max_len as the original design (default: bucketed)"
    )
    parser.add_argument("--decoding", default="argmax", choices=("argmax", "constrained"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "gmb_models"))
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
        "command": "python bench/train_gmb.py " + " ".join(sys.argv[1:]),
        "models": args.models,
        "seed": args.seed,
        "corpus": {
            "source": Path(corpus.source).name,
            "sha256": corpus.sha256,
            "sentences": len(corpus.sentences),
            "splits": {name: len(part) for name, part in splits.items()},
        },
        "machine": run_folder.machine_description(),
        "results": {},
    }
    for name in args.models:
        config = TrainConfig(
            model=name,
            seed=args.seed,
            epochs=args.epochs,
            dataset=str(corpus_path),
            bucketed=not args.padded,
            decoding=args.decoding,
        )
        started = time.perf_counter()

        def progress(event: callbacks.ProgressEvent, name=name) -> None:
            if event.kind == "epoch_end":
                logs = " ".join(f"{k}={v:.4f}" for k, v in event.logs.items())
                print(f"[{name}] epoch {event.epoch}/{event.epochs} {logs} ({event.elapsed_s:.0f}s)", flush=True)

        try:
            result = loop.train(config, models_dir=workdir / "models", store=store, corpus=corpus, progress=progress)
        except NerError as exc:
            print(f"[{name}] failed: {exc}", file=sys.stderr)
            continue
        evaluation_payload = json.loads((result.run_dir / run_folder.EVALUATION_FILE).read_text())
        per_type = evaluation_payload["evaluation"]["per_type"]
        report["results"][name] = {
            "run_id": result.run_id,
            "config": result.config.to_dict(),
            "metrics": result.metrics,
            "per_type": per_type,
            "errors": evaluation_payload["evaluation"].get("errors"),
            "wall_s": time.perf_counter() - started,
        }
        print(
            f"[{name}] entity_f1={result.metrics['entity_f1']:.4f} token_accuracy={result.metrics['token_accuracy']:.4f} "
            f"padded={result.metrics['token_accuracy_padded']:.4f} train={result.training_time_s:.0f}s "
            f"p50={result.metrics['latency_p50_ms']:.2f}ms",
            flush=True,
        )
        out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=float))
        out.with_suffix(".md").write_text(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
