"""Wall time of a 10,000-request A/B simulation with real models, logging every request to SQLite.

    .venv/bin/python bench/simulate_ab.py                 # runs from bench/work when present, else tiny ones
    NER_CORPUS_PATH=... .venv/bin/python bench/simulate_ab.py --requests 10000

Uses the completed model2/baseline/advanced runs of ``bench/work/bench.db`` (from
``bench/train_gmb.py``) when they exist, with their test split as traffic;
otherwise trains one-epoch models on the bundled sample so the script runs from
a clean clone. The target is under a minute on this 2-core machine; the result
is written to ``bench/results/ab_simulation.{json,md}`` with the time of a
1,000-request run as the in-run baseline (the ratio shows how it scales).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ner_core.corpus import reading, splitting
from ner_core.serving.predictor import Predictor
from ner_core.settings import SAMPLE_DATA_PATH
from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.traffic import ab_statistics, experiment, simulator
from ner_core.training import loop, run_folder
from ner_core.training.config import TrainConfig

WEIGHTS = {"model2": 0.90, "baseline": 0.08, "advanced": 0.02}


def pick_runs(workdir: Path) -> tuple[dict, str]:
    bench_db = workdir / "bench.db"
    if bench_db.exists():
        store = Store(f"sqlite:///{bench_db}")
        chosen = {}
        for name in WEIGHTS:
            completed = [
                r for r in store.list_runs(status=RunStatus.COMPLETED, model_name=name) if r.run_dir and Path(r.run_dir).is_dir()
            ]
            if completed:
                chosen[name] = completed[0]
        if len(chosen) == len(WEIGHTS):
            return chosen, chosen["model2"].dataset_path
    scratch = Path(tempfile.mkdtemp(prefix="ab-bench-"))
    store = Store(f"sqlite:///{scratch / 'runs.db'}")
    chosen = {}
    for name in WEIGHTS:
        config = TrainConfig(model=name, epochs=1, embedding_dim=16, dataset=str(SAMPLE_DATA_PATH), bucketed=True)
        result = loop.train(config, models_dir=scratch / "models", store=store)
        chosen[name] = store.get_run(result.run_id)
    return chosen, str(SAMPLE_DATA_PATH)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--baseline-requests", type=int, default=1_000)
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "work"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "ab_simulation"))
    args = parser.parse_args()

    chosen, dataset = pick_runs(Path(args.workdir))
    corpus = reading.load_corpus(dataset)
    seed = int(chosen["model2"].config.get("seed", 42))
    test = splitting.split_corpus(corpus.sentences, seed=seed).test
    predictors = {name: Predictor.load(run.run_dir) for name, run in chosen.items()}
    arms = [experiment.arm_from_run(run, weight=WEIGHTS[name], name=name) for name, run in chosen.items()]
    log_store = Store(f"sqlite:///{Path(tempfile.mkdtemp(prefix='ab-log-')) / 'log.db'}")

    timings = {}
    for label, count in (("baseline", args.baseline_requests), ("target", args.requests)):
        config = experiment.SimulationConfig(arms=arms, requests=count, arrival_rate_per_s=50.0, seed=1)
        started = time.perf_counter()
        result = simulator.simulate(config, predictors, test, store=log_store)
        wall = time.perf_counter() - started
        logged = log_store.count_predictions(simulation_id=result.simulation_id)
        timings[label] = {
            "requests": count,
            "wall_s": wall,
            "rows_logged": logged,
            "observed_split": result.observed_counts("chosen_arm"),
            "srm_p_value": ab_statistics.sample_ratio_mismatch(result.observed_counts("chosen_arm"), result.planned_weights),
        }
        print(f"{count:,} requests: {wall:.1f}s wall, {logged:,} rows logged", flush=True)
    report = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/simulate_ab.py " + " ".join(sys.argv[1:]),
        "machine": run_folder.machine_description(),
        "load_average_start": os.getloadavg()[0],
        "dataset": Path(dataset).name,
        "test_sentences": len(test),
        "arms": {arm.name: {"run": arm.run_id, "weight": arm.weight} for arm in arms},
        "timings": timings,
        "per_request_ms": {k: 1000 * v["wall_s"] / v["requests"] for k, v in timings.items()},
        "scaling_ratio": (timings["target"]["wall_s"] / timings["baseline"]["wall_s"]) / (args.requests / args.baseline_requests),
        "target_met": timings["target"]["wall_s"] < 60,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text(
        "# A/B simulation speed\n\n"
        f"Generated {report['generated']} by `{report['command']}` on {report['machine']['cpu']} "
        f"({report['machine']['cores']} cores, load average {report['load_average_start']:.1f} at start).\n\n"
        f"Traffic: {report['test_sentences']:,} test sentences of `{report['dataset']}`; arms "
        + ", ".join(f"{k} {v['weight']:.0%} ({v['run']})" for k, v in report["arms"].items())
        + ".\n\n"
        "| requests | wall s | ms per request | rows logged | SRM p-value |\n|---|---|---|---|---|\n"
        + "".join(
            f"| {v['requests']:,} | {v['wall_s']:.1f} | {1000 * v['wall_s'] / v['requests']:.2f} "
            f"| {v['rows_logged']:,} | {v['srm_p_value']:.3f} |\n"
            for v in timings.values()
        )
        + f"\nScaling ratio (time per request at {args.requests:,} vs {args.baseline_requests:,}): "
        f"{report['scaling_ratio']:.2f}. "
        f"Under a minute for {args.requests:,}: {'yes' if report['target_met'] else 'no'}.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
