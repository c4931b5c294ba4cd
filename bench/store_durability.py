"""What synchronous=FULL costs the prediction log, against NORMAL, on this machine's disk.

    .venv/bin/python bench/store_durability.py [--repetitions 9] [--rows 500] [--batches 40]

The store syncs SQLite's WAL at every commit (``synchronous=FULL``) so a power
cut cannot take back a saved annotation; NORMAL may lose the last commits. Two
shapes of write are timed, each in a fresh database file per repetition, with
FULL and NORMAL alternating so drift on this shared machine hits both alike:

* ``single``: one log row per transaction (the highlighter, one request each);
* ``batch``: ``--rows`` rows per transaction (the simulator's chunks).

Reports median rows per second of each and the FULL/NORMAL ratio, to
``bench/results/store_durability.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ner_core.store.database import SYNCHRONOUS_MODES, Store

RESULTS = ROOT / "bench" / "results"


def log_row(index: int) -> dict:
    return {
        "source": "bench",
        "run_id": "bench-run",
        "text": f"Anna Berg visited Oslo on Monday number {index} .",
        "entities": [{"type": "per", "text": "Anna Berg", "start": 0, "end": 9, "confidence": 0.9}],
        "latency_ms": 1.0,
        "predicted_tags": ["B-per", "I-per", "O", "B-geo", "O", "B-tim", "O", "O", "O"],
    }


def rows_per_second(mode: str, *, rows: int, batches: int, single: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="ner-durability-") as folder:
        store = Store(f"sqlite:///{Path(folder) / 'bench.db'}", synchronous=mode)
        store.log_predictions([log_row(0)])  # open the file and the WAL before timing
        started = time.perf_counter()
        if single:
            for index in range(rows):
                store.log_predictions([log_row(index)])
            written = rows
        else:
            for batch in range(batches):
                store.log_predictions([log_row(batch * rows + i) for i in range(rows)])
            written = rows * batches
        elapsed = time.perf_counter() - started
        store.engine.dispose()
    return written / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--rows", type=int, default=500, help="rows per batch, and single-row transactions per repetition")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--out", type=Path, default=RESULTS / "store_durability")
    args = parser.parse_args(argv)
    samples: dict[str, dict[str, list[float]]] = {shape: {m: [] for m in SYNCHRONOUS_MODES} for shape in ("single", "batch")}
    for repetition in range(args.repetitions):
        order = SYNCHRONOUS_MODES if repetition % 2 == 0 else tuple(reversed(SYNCHRONOUS_MODES))
        for shape in samples:
            for mode in order:
                samples[shape][mode].append(rows_per_second(mode, rows=args.rows, batches=args.batches, single=shape == "single"))
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg()[0],
        "repetitions": args.repetitions,
        "rows": args.rows,
        "batches": args.batches,
        "shapes": {
            shape: {
                **{f"{mode.lower()}_rows_per_s": statistics.median(values) for mode, values in by_mode.items()},
                "full_over_normal": statistics.median(by_mode["FULL"]) / statistics.median(by_mode["NORMAL"]),
            }
            for shape, by_mode in samples.items()
        },
        "samples": samples,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Prediction-log insert rate: synchronous=FULL against NORMAL",
        "",
        f"{report['date']}, load average {report['load_average']:.2f}, median of {args.repetitions} alternating "
        f"repetitions, each in a fresh SQLite file (WAL mode). Command: `.venv/bin/python bench/store_durability.py "
        f"--repetitions {args.repetitions} --rows {args.rows} --batches {args.batches}`.",
        "",
        "| write shape | FULL rows/s | NORMAL rows/s | FULL / NORMAL |",
        "|---|---|---|---|",
    ]
    names = {"single": "one row per transaction (highlighter)", "batch": f"{args.rows} rows per transaction (simulator)"}
    for shape, result in report["shapes"].items():
        lines.append(
            f"| {names[shape]} | {result['full_rows_per_s']:,.0f} | {result['normal_rows_per_s']:,.0f} "
            f"| {result['full_over_normal']:.2f} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
