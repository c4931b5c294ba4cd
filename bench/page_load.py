"""Time until every page is interactive, opened by its address, with and without a training job running.

    .venv/bin/python bench/page_load.py [--rounds 3] [--app-root PATH] [--out bench/results]

Starts ``streamlit run app.py`` over a scratch workspace holding two tiny completed runs (so
every page has runs to show), drives Debian's chromium, and for each round measures every page
twice: with no job (the baseline of the same run) and while one baseline job from the Training
runs form trains until cancelled. The order of the two conditions alternates between rounds and
the medians are reported. A page counts as interactive when its script has finished
(``scripts/browser_harness.time_page_load``): HTML, websocket, script run and rendering included.

``--app-root`` points the same measurement at another checkout of the app (an older commit
exported with ``git archive``, named with ``--commit``) to compare a change; the workspace and
the browser are the same.
Results go to ``<out>/page_load.{md,json}``; absolute times on the shared 2-core machine are
indicative, the comparison with the idle baseline and with the other checkout is what matters.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ner_core.store.database import Store
from ner_core.store.tables import ACTIVE_STATUSES, RunStatus
from scripts import browser_harness

RESULTS = ROOT / "bench" / "results"
CONDITIONS = ("idle", "one job training")
# After the job's run turns "running", the runner starts the next job's spare process, which imports
# TensorFlow for a few seconds: a steady state of "one job training" begins after that.
SETTLE_S = 12


def workspace_env(workspace: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NER_CORPUS_PATH"}
    env.update(
        NER_MODELS_DIR=str(workspace / "models"),
        NER_DATABASE_URL=f"sqlite:///{workspace / 'models' / 'workbench.db'}",
        NER_UPLOADS_DIR=str(workspace / "uploads"),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    return env


def train_two_runs(env: dict) -> None:
    """Two tiny completed runs through the CLI, so the comparison, highlighter and annotate pages have work to show."""
    for model in ("baseline", "model2"):
        command = [sys.executable, "-m", "ner_core", "train", "--model", model, "--epochs", "2", "--batch-size", "16"]
        command += ["--embedding-dim", "16", "--max-len", "40", "--bucketed"]
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def wait_for_status(store: Store, run_id: str, wanted: set[str], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while store.get_run(run_id).status not in wanted:
        if time.monotonic() > deadline:
            raise browser_harness.HarnessError(f"run {run_id} never reached {sorted(wanted)}")
        time.sleep(0.5)


def measure(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="page-load-") as scratch:
        workspace = Path(scratch)
        env = workspace_env(workspace)
        train_two_runs(env)
        store = Store(env["NER_DATABASE_URL"])
        pages = args.pages
        times: dict[str, dict[str, list[float]]] = {c: {p: [] for p in pages} for c in CONDITIONS}
        from playwright.sync_api import sync_playwright

        server = browser_harness.StreamlitServer(env=env, log_path=workspace / "streamlit.log", app_root=args.app_root)
        with server, sync_playwright() as playwright:
            browser = browser_harness.launch_chromium(playwright, browser_harness.chromium_executable())
            page = browser.new_page(viewport=browser_harness.VIEWPORT)
            for path in pages:  # first visits import modules and fill caches: not what a reload costs
                browser_harness.time_page_load(page, f"{server.url}/{path}")
            for round_number in range(args.rounds):
                order = CONDITIONS if round_number % 2 == 0 else tuple(reversed(CONDITIONS))
                for condition in order:
                    run_id = None
                    if condition != "idle":
                        browser_harness.start_long_training_job(page, server.url)
                        run_id = store.list_runs(status=ACTIVE_STATUSES)[0].id
                        if store.get_run(run_id).config.get("early_stopping") is not False:
                            raise browser_harness.HarnessError(f"run {run_id} was started with early stopping on")
                        wait_for_status(store, run_id, {RunStatus.RUNNING})
                        time.sleep(SETTLE_S)
                    for path in pages:
                        times[condition][path].append(browser_harness.time_page_load(page, f"{server.url}/{path}"))
                    if run_id is not None:
                        if store.get_run(run_id).status != RunStatus.RUNNING:
                            raise browser_harness.HarnessError(f"the job {run_id} stopped while the pages were measured")
                        browser_harness.cancel_every_job(page, server.url)
                        wait_for_status(store, run_id, {RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.COMPLETED})
                    print(condition, {p or "home": round(times[condition][p][-1], 2) for p in pages}, flush=True)
            browser.close()
    return times


def report(times: dict, args) -> dict:
    medians = {c: {p or "home": round(statistics.median(v), 2) for p, v in pages.items()} for c, pages in times.items()}
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "app_root": str(args.app_root),
        "commit": args.commit or _commit(args.app_root),
        "rounds": args.rounds,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "median_s": medians,
        "worst_s": {c: max(pages.values()) for c, pages in medians.items()},
        "all_s": {c: {p or "home": [round(x, 2) for x in v] for p, v in pages.items()} for c, pages in times.items()},
    }


def _commit(root: Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def write(result: dict, out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Page load: seconds until each page is interactive, opened by its address",
        "",
        f"{result['when']}, app at `{result['app_root']}` (commit {result['commit'] or 'unknown'}), "
        f"{result['rounds']} rounds alternating the two conditions, medians; {result['cpus']} CPUs shared with other work "
        f"(load average {', '.join(map(str, result['load_average_at_end']))} at the end).",
        "",
        "| page | " + " | ".join(CONDITIONS) + " |",
        "|---|" + "---|" * len(CONDITIONS),
    ]
    for name_ in result["median_s"][CONDITIONS[0]]:
        lines.append(f"| {name_} | " + " | ".join(f"{result['median_s'][c][name_]:.2f}" for c in CONDITIONS) + " |")
    lines += ["", "Worst page median: " + ", ".join(f"{c} {result['worst_s'][c]:.2f} s" for c in CONDITIONS) + "."]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both conditions (default 3)")
    parser.add_argument("--app-root", type=Path, default=ROOT, help="checkout of the app to serve (default: this one)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for page_load.{md,json}")
    parser.add_argument("--name", default="page_load", help="file name of the results (default page_load)")
    parser.add_argument("--commit", default="", help="the commit an --app-root that is no git checkout was exported from")
    parser.add_argument(
        "--pages", nargs="+", default=None, help="URL paths of the pages to time (default: every page of the app; home is '')"
    )
    args = parser.parse_args(argv)
    if browser_harness.chromium_executable() is None:
        parser.error("Debian's chromium is not installed (scripts/ensure_chromium.sh installs it)")
    args.app_root = args.app_root.resolve()
    args.pages = ["" if path == "home" else path for path in (args.pages or browser_harness.app_page_paths(args.app_root))]
    result = report(measure(args), args)
    write(result, args.out, args.name)
    print(json.dumps(result["median_s"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
