"""Wall time of a training job while the server does what Streamlit does after every script run.

    .venv/bin/python bench/job_isolation.py [--repetitions 2] [--poll-s 1.0]

Streamlit ends every script run, fragment polls included, with ``gc.collect(2)``
and ``keras.backend.clear_session()``. The Training page polls a running job, so
those calls repeat every second or two in the server process for as long as a
job trains. This script trains the same sample ``model2`` job through
``ner_core.training.jobs.JobRunner`` four ways, alternating, and reports medians:

* ``thread``/``process`` isolation with nothing else happening in the parent;
* ``thread``/``process`` isolation with a "poller" thread in the parent running
  ``gc.collect(2)`` + ``keras.backend.clear_session()`` every ``--poll-s`` seconds
  (the page's polling, reproduced without a browser).

Results go to ``bench/results/job_isolation.{md,json}``; the ratio that matters
is thread-with-polling over process-with-polling.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.training import jobs, run_folder
from ner_core.training.config import TrainConfig, sample_config

RESULTS = ROOT / "bench" / "results"
WAYS = [("thread", False), ("process", False), ("thread", True), ("process", True)]


def poll_like_streamlit(stop: threading.Event, every_s: float, counter: list[int]) -> None:
    while not stop.wait(every_s):
        gc.collect(2)
        keras.backend.clear_session()
        counter[0] += 1


def one_job(isolation: str, polling: bool, poll_s: float, config: TrainConfig, scratch: Path) -> dict:
    store = Store(f"sqlite:///{scratch / f'{isolation}-{time.monotonic_ns()}.db'}")
    runner = jobs.JobRunner(store, scratch / "models", isolation=isolation)
    stop, polls = threading.Event(), [0]
    poller = threading.Thread(target=poll_like_streamlit, args=(stop, poll_s, polls), daemon=True)
    try:
        started = time.perf_counter()
        if polling:
            poller.start()
        job = runner.wait(runner.submit(config).job_id, timeout=3600)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        runner.shutdown(wait=True)
    if job.status != RunStatus.COMPLETED:
        raise RuntimeError(f"{isolation} job ended {job.status}: {job.error}")
    return {
        "isolation": isolation,
        "polling": polling,
        "seconds": round(seconds, 2),
        "polls": polls[0],
        "epochs": len(job.epoch_logs),
        "entity_f1": job.metrics.get("entity_f1"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--poll-s", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    # A fixed number of epochs (no early stopping) so every way does the same work.
    config = sample_config("model2", epochs=args.epochs, early_stopping=False)
    scratch = Path(tempfile.mkdtemp(prefix="job-isolation-"))
    measured = []
    for repetition in range(args.repetitions):
        for isolation, polling in WAYS:
            result = one_job(isolation, polling, args.poll_s, config, scratch)
            measured.append(dict(result, repetition=repetition + 1))
            print(json.dumps(measured[-1]), flush=True)

    def median(isolation: str, polling: bool) -> float:
        return statistics.median(m["seconds"] for m in measured if m["isolation"] == isolation and m["polling"] == polling)

    table = {f"{isolation}{' + polling' if polling else ''}": median(isolation, polling) for isolation, polling in WAYS}
    ratio = median("thread", True) / median("process", True)
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": run_folder.machine_description(),
        "command": f".venv/bin/python bench/job_isolation.py --repetitions {args.repetitions} --poll-s {args.poll_s} "
        f"--epochs {args.epochs}",
        "job": f"model2 on the bundled sample, {args.epochs} epochs, batch {config.batch_size}",
        "poll_every_s": args.poll_s,
        "median_seconds": table,
        "thread_over_process_with_polling": round(ratio, 2),
        "runs": measured,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "job_isolation.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Training job isolation: thread vs process, with and without Streamlit-like polling",
        "",
        f"- When: {report['when']}; command: `{report['command']}`",
        f"- Job: {report['job']}; the poller runs `gc.collect(2)` + `keras.backend.clear_session()` "
        f"every {args.poll_s:g} s in the parent, as Streamlit does after each script run",
        f"- Machine: {report['machine'].get('cores', '?')} cores; medians of {args.repetitions} alternated repetitions",
        "",
        "| way | median wall time (s) |",
        "|---|---|",
    ]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in table.items()]
    lines += ["", f"**Thread over process, both polled: {ratio:.2f}x.**", ""]
    (RESULTS / "job_isolation.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
