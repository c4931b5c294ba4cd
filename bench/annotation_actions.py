"""User actions per corrected entity and seconds per sentence: the span editor against the token grid.

    .venv/bin/python bench/annotation_actions.py [--repetitions 3]

Runs the browser test ``test_three_entities_corrected_with_mouse_and_keys_then_the_same_in_the_token_table``
of ``tests/test_browser_annotate.py`` ``--repetitions`` times, each in its own pytest process (its own
workspace, database and small model2 trained on the bundled sample; no corpus needed), with Debian's
chromium through Playwright. In each
run one scripted correction of three entities is made twice on the same sentence, by two analysts:
with the span editor (mouse and keyboard, Enter to accept) and with the token grid (``st.data_editor``:
click the cell, Enter to open its list, click the tag; then "Save and next"). The test counts the
actions it performs, times the whole correction from the first action to the next sentence, and times
Enter to the next sentence's first paint in the page (``performance.now``) over five accepted sentences.

Results: ``bench/results/annotation_actions.{md,json}`` (medians over the repetitions). The times are
a script's, at machine speed: a person adds thinking and pointing time per action, so the action
counts are the figure to compare; the seconds show what the interface itself costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ner_core.training import run_folder

RESULTS = ROOT / "bench" / "results"
TEST = "tests/test_browser_annotate.py::test_three_entities_corrected_with_mouse_and_keys_then_the_same_in_the_token_table"
TIMEOUT_S = 1200


def one_run(scratch: Path, number: int) -> dict:
    out = scratch / f"run-{number}.jsonl"
    env = {**os.environ, "NER_ANNOTATION_ACTIONS_JSON": str(out)}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    if completed.returncode != 0 or not out.exists():
        raise SystemExit(f"the browser test failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-2000:]}")
    [record] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(json.dumps(record), flush=True)
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annotation-actions-") as scratch:
        runs = [one_run(Path(scratch), number) for number in range(args.repetitions)]

    def median(name: str) -> float:
        return statistics.median(run[name] for run in runs)

    enter_ms = [value for run in runs for value in run["enter_to_next_ms"]]
    saved_ms = [value for run in runs for value in run["enter_to_saved_ms"]]
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": run_folder.machine_description(),
        "command": f".venv/bin/python bench/annotation_actions.py --repetitions {args.repetitions}",
        "correction": "three entities of one sentence (fixed target spans; the first three the model missed)",
        "span_editor": {
            "actions_per_sentence": median("span_actions"),
            "corrected_entities": median("span_entities"),
            "actions_per_entity": median("span_actions_per_entity"),
            "seconds_per_sentence": round(median("span_seconds"), 3),
            "enter_to_next_sentence_ms": {"median": round(statistics.median(enter_ms), 1), "max": round(max(enter_ms), 1)},
            "enter_to_saved_in_database_ms": {"median": round(statistics.median(saved_ms), 1), "max": round(max(saved_ms), 1)},
        },
        "token_grid": {
            "actions_per_sentence": median("grid_actions"),
            "cells_changed": median("grid_cells"),
            "actions_per_entity": median("grid_actions_per_entity"),
            "seconds_per_sentence": round(median("grid_seconds"), 3),
            "test_retries": sum(run.get("grid_retries", 0) for run in runs),
        },
        "targets": {"span_actions_per_entity_at_most": 2, "enter_to_next_sentence_ms_at_most": 300},
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "annotation_actions.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    span, grid = report["span_editor"], report["token_grid"]
    lines = [
        "# Correcting entities: span editor vs token grid (browser, scripted)",
        "",
        f"- When: {report['when']}; command: `{report['command']}`",
        f"- Correction: {report['correction']}, made by two analysts on the same sentence, once with each view",
        f"- Machine: {report['machine'].get('cores', '?')} cores; medians of {args.repetitions} runs, each a fresh "
        "server and Debian chromium (headless) driven by Playwright",
        "",
        "| | span editor | token grid |",
        "|---|---|---|",
        f"| user actions for the sentence (incl. accept/save) | {span['actions_per_sentence']:g} "
        f"| {grid['actions_per_sentence']:g} |",
        f"| actions per corrected entity (excl. accept/save) | {span['actions_per_entity']:.2f} "
        f"| {grid['actions_per_entity']:.2f} |",
        f"| seconds per sentence (scripted, first action to next sentence) | {span['seconds_per_sentence']:.2f} | "
        f"{grid['seconds_per_sentence']:.2f} |",
        "",
        f"Enter to the next sentence painted: median {span['enter_to_next_sentence_ms']['median']:.1f} ms, "
        f"max {span['enter_to_next_sentence_ms']['max']:.1f} ms over {len(enter_ms)} accepts (target 300 ms). "
        f"Enter to the annotation stored in the database: median {span['enter_to_saved_in_database_ms']['median']:.0f} ms, "
        f"max {span['enter_to_saved_in_database_ms']['max']:.0f} ms.",
        "",
        "The span editor takes one gesture to select (a drag, or a click on a single token) and one key to label; the "
        f"grid takes three actions per token whose tag changes ({grid['cells_changed']:g} tokens here: click the cell, Enter, "
        "click the tag), and every change reruns the page. Seconds are machine speed: a person adds thinking and pointing "
        "time to every action.",
        "",
        f"Grid clicks the script had to repeat because a rerun redrew the grid under them (not counted above): "
        f"{grid['test_retries']} over {args.repetitions} runs.",
        "",
    ]
    (RESULTS / "annotation_actions.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
