"""Load test of the REST API: requests/s and p50/p95/p99 latency for model2 at several concurrencies,
dynamic batching on and off, against a naive endpoint (Keras ``model.predict`` per request) in the same run.

    .venv/bin/python bench/serve_load.py                        # model2 from bench/work when present, else a tiny one
    NER_CORPUS_PATH=../shared/datasets/gmb/ner_dataset.csv.zip .venv/bin/python bench/serve_load.py --duration 20 --rounds 3

Two servers run side by side (``python -m ner_core serve`` subprocesses on localhost, one with
dynamic batching, one without; the first also serves the naive endpoint) and the load alternates
between them, level by level, for ``--rounds`` rounds; the results are medians over the rounds.
Request bodies are the test split's sentences (GMB's when ``bench/work/bench.db`` from
``bench/train_gmb.py`` holds a completed model2 run and NER_CORPUS_PATH is set, else the bundled
sample's, with a model2 trained for ``--epochs`` on it).

The load generator is ``wrk`` (Debian package ``wrk``; one thread, a Lua script cycling the bodies)
when installed, else a small asyncio client on raw sockets (``--loader asyncio``); the CPU time the
generator and the servers used is measured and reported. After each server has stopped (SIGTERM:
its pending log rows are committed), its prediction-log rows are counted and compared with the
requests it answered (its /metrics) and with the responses the load generator received.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ner_core.corpus import reading, splitting
from ner_core.serving import api_keys, registry
from ner_core.settings import SAMPLE_DATA_PATH, Settings
from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.training import loop, run_folder
from ner_core.training.config import sample_config
from scripts.browser_harness import free_port

TARGETS = {"c1_p50_ms": 3.0, "c32_requests_per_s": 2500.0, "c32_p99_ms": 50.0, "speedup_vs_naive": 50.0}
WRK_SCRIPT = """
local bodies = {%s}
local index = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  index = index %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests": %%d, "duration_us": %%d, "non_2xx": %%d, "socket_errors": %%d, ',
    summary.requests, summary.duration, summary.errors.status, errors))
  io.write(string.format('"p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "mean_us": %%f}\\n',
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""


# --------------------------------------------------------------------------- the model and the traffic


def pick_model2(workdir: Path, epochs: int, scratch: Path):
    """(run row, its store's dataset path): bench/work's GMB model2 when there is one, else a fresh sample model."""
    bench_db = workdir / "bench.db"
    corpus_path = Settings.from_env().corpus_path
    if bench_db.exists() and corpus_path is not None and corpus_path.exists():
        runs = Store(f"sqlite:///{bench_db}").list_runs(status=RunStatus.COMPLETED, model_name="model2")
        runs = [r for r in runs if r.run_dir and Path(r.run_dir).is_dir()]
        if runs:
            return runs[0], runs[0].dataset_path
    store = Store(f"sqlite:///{scratch / 'train.db'}")
    result = loop.train(sample_config("model2", epochs=epochs), models_dir=scratch / "trained", store=store)
    return store.get_run(result.run_id), str(SAMPLE_DATA_PATH)


def request_bodies(dataset: str, seed: int, limit: int) -> list[str]:
    test = splitting.split_corpus(reading.load_corpus(dataset).sentences, seed=seed).test
    return [json.dumps({"text": " ".join(sentence.words), "model": "primary"}) for sentence in test[:limit] if sentence.words]


def serving_store(path: Path, run) -> tuple[Store, str]:
    """A store of its own for the servers: the run registered as model2 v1, primary; one API key."""
    store = Store(f"sqlite:///{path}")
    store.create_run(run.id, run.model_name, config=run.config, dataset_path=run.dataset_path, dataset_sha256=run.dataset_sha256)
    store.update_run(run.id, status=RunStatus.COMPLETED, run_dir=run.run_dir, metrics=run.metrics)
    info = registry.register(store, run.id, by="bench")
    registry.promote(store, info.model_name, info.version, "primary", by="bench")
    return store, api_keys.create(store, "bench")


# --------------------------------------------------------------------------- servers


class Server:
    def __init__(self, name: str, database: Path, extra: list[str], log_dir: Path):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "NER_DATABASE_URL": f"sqlite:///{database}"}
        command = [sys.executable, "-m", "ner_core", "serve", "--port", str(self.port), "--rate-limit-per-s", "0", *extra]
        self.log = open(log_dir / f"server-{name}.log", "w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 300) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"error: server {self.name} exited during start-up; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"error: server {self.name} was not ready in {timeout_s:.0f} s")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _metrics(self) -> str:
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            return response.read().decode()

    def in_flight(self) -> int:
        line = next(line for line in self._metrics().splitlines() if line.startswith("ner_requests_in_flight "))
        return int(float(line.split()[1]))

    def answered(self) -> dict[str, int]:
        """Requests answered per endpoint and status, from the server's own /metrics."""
        text = self._metrics()
        counts: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith("ner_requests_total{"):
                labels, value = line[len("ner_requests_total{") :].split("} ")
                parts = dict(part.split("=") for part in labels.split(","))
                key = f"{parts['endpoint'].strip(chr(34))}:{parts['status'].strip(chr(34))}"
                counts[key] = counts.get(key, 0) + int(float(value))
        return counts

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=120)
        self.log.close()
        return code


# --------------------------------------------------------------------------- load generators


def run_wrk(url: str, path: str, script: Path, connections: int, duration_s: float) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s:g}s", "--timeout", "10s", "-s", str(script), url + path]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    out = process.stdout.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    summary = json.loads(next(line for line in out.splitlines() if line.startswith('{"requests"')))
    seconds = summary["duration_us"] / 1e6
    return {
        "requests": summary["requests"],
        "requests_per_s": summary["requests"] / seconds,
        "p50_ms": summary["p50_us"] / 1000,
        "p95_ms": summary["p95_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "mean_ms": summary["mean_us"] / 1000,
        "non_2xx": summary["non_2xx"],
        "socket_errors": summary["socket_errors"],
        "loader_cpu_s": usage.ru_utime + usage.ru_stime,
        "seconds": seconds,
    }


async def _asyncio_load(host: str, port: int, path: str, bodies: list[bytes], key: str, connections: int, duration_s: float):
    latencies, statuses, position = [], {}, 0
    deadline = time.perf_counter() + duration_s

    async def connection():
        nonlocal position
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                body = bodies[position % len(bodies)]
                position += 1
                head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
                started = time.perf_counter()
                writer.write(head + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                status = int(status_line.split()[1])
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, statuses, time.perf_counter() - started


def run_asyncio(url: str, path: str, bodies: list[str], key: str, connections: int, duration_s: float) -> dict:
    import numpy as np

    host, port = url.removeprefix("http://").split(":")
    cpu_before = time.process_time()
    latencies, statuses, seconds = asyncio.run(
        _asyncio_load(host, int(port), path, [b.encode() for b in bodies], key, connections, duration_s)
    )
    values = np.asarray(latencies) * 1000
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / seconds,
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_ms": float(values.mean()),
        "non_2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "socket_errors": 0,
        "loader_cpu_s": time.process_time() - cpu_before,
        "seconds": seconds,
    }


# --------------------------------------------------------------------------- the run


def wait_idle(server: Server, timeout_s: float = 300.0) -> float:
    """Wait until the server has no request in flight; returns how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s and server.in_flight() > 0:
        time.sleep(0.1)
    return time.monotonic() - started


def settled_answers(server: Server) -> dict[str, int]:
    """The server's answer counts once the requests the generator cut off have finished (none in flight)."""
    wait_idle(server)
    return server.answered()


def median_of(samples: list[dict]) -> dict:
    keys = ("requests_per_s", "p50_ms", "p95_ms", "p99_ms", "mean_ms")
    merged = {key: statistics.median(s[key] for s in samples) for key in keys}
    merged.update(
        requests=sum(s["requests"] for s in samples),
        non_2xx=sum(s["non_2xx"] for s in samples),
        socket_errors=sum(s["socket_errors"] for s in samples),
        loader_cpu_s=sum(s["loader_cpu_s"] for s in samples),
        seconds=sum(s["seconds"] for s in samples),
        rounds=[{k: round(s[k], 3) for k in keys} for s in samples],
    )
    return merged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; results are their medians")
    parser.add_argument(
        "--naive-concurrency", type=int, nargs="+", default=None, help="levels for the naive endpoint (default: all)"
    )
    parser.add_argument("--loader", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the sample model2 when no GMB run exists")
    parser.add_argument("--bodies", type=int, default=2000, help="distinct test sentences cycled as request bodies")
    parser.add_argument("--batch-wait-ms", type=float, default=2.0)
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "work"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "serve_load"))
    parser.add_argument("--note", default="", help="a sentence for the report (e.g. what else ran on the machine)")
    args = parser.parse_args(argv)
    load_average_start = os.getloadavg()[0]  # before the servers start: what else the machine was doing
    loader = args.loader if args.loader != "auto" else ("wrk" if shutil.which("wrk") else "asyncio")
    if loader == "wrk" and not shutil.which("wrk"):
        print("error: wrk is not installed (apt-get install wrk), or use --loader asyncio", file=sys.stderr)
        return 2

    scratch = Path(tempfile.mkdtemp(prefix="serve-load-"))
    run, dataset = pick_model2(Path(args.workdir), args.epochs, scratch)
    bodies = request_bodies(dataset, int(run.config.get("seed", splitting.DEFAULT_SEED)), args.bodies)
    databases = {"batching": scratch / "batching.db", "no_batching": scratch / "no_batching.db"}
    keys = {name: serving_store(path, run)[1] for name, path in databases.items()}
    common = ["--batch-wait-ms", str(args.batch_wait_ms), "--log-flush-interval-s", "0.5"]
    servers = {
        "batching": Server("batching", databases["batching"], [*common, "--naive-endpoint"], scratch),
        "no_batching": Server("no_batching", databases["no_batching"], [*common, "--no-batching"], scratch),
    }
    for server in servers.values():
        server.wait_ready()
    scripts = {}
    for name in servers:
        script = scratch / f"{name}.lua"
        # Lua long brackets: the JSON bodies go in as they are (Lua would choke on JSON's \\u escapes).
        script.write_text(WRK_SCRIPT % (", ".join(f"[==[{b}]==]" for b in bodies), keys[name]))
        scripts[name] = script

    def measure(name: str, path: str, connections: int, duration: float) -> dict:
        server = servers[name]
        if loader == "wrk":
            result = run_wrk(server.url, path, scripts[name], connections, duration)
        else:
            result = run_asyncio(server.url, path, bodies, keys[name], connections, duration)
        # Requests the generator cut off are still being answered (the naive endpoint's can take
        # seconds each); the next measurement starts only when the server is idle again.
        result["drain_s"] = wait_idle(server)
        return result

    targets = [("batching", "/api/v1/predict"), ("no_batching", "/api/v1/predict"), ("naive", "/api/v1/predict/naive")]
    naive_levels = set(args.naive_concurrency or args.concurrency)
    for name, path in targets:  # warm-up: graph shapes, connection pools, the naive Keras path
        measure("batching" if name == "naive" else name, path, 8, min(2.0, args.duration))
    cpu_start = {name: server.cpu_s() for name, server in servers.items()}
    answered_start = {name: server.answered() for name, server in servers.items()}  # after the warm-up
    samples: dict[tuple[str, int], list[dict]] = {}
    started = time.perf_counter()
    for round_index in range(args.rounds):
        for connections in args.concurrency:
            for name, path in targets:
                if name == "naive" and connections not in naive_levels:
                    continue
                result = measure("batching" if name == "naive" else name, path, connections, args.duration)
                samples.setdefault((name, connections), []).append(result)
                print(
                    f"round {round_index + 1} {name:12} c={connections:<4} {result['requests_per_s']:9.1f} req/s  "
                    f"p50 {result['p50_ms']:7.2f}  p99 {result['p99_ms']:8.2f} ms  non-2xx {result['non_2xx']}",
                    flush=True,
                )
    wall_s = time.perf_counter() - started
    cpu_used = {name: server.cpu_s() - cpu_start[name] for name, server in servers.items()}
    answered = {name: settled_answers(server) for name, server in servers.items()}
    exit_codes = {name: server.stop() for name, server in servers.items()}
    rows = {name: Store(f"sqlite:///{databases[name]}").count_predictions(source="api") for name in servers}

    results = {f"{name}/c{connections}": median_of(found) for (name, connections), found in samples.items()}
    loader_cpu = sum(r["loader_cpu_s"] for r in results.values())
    loaded_s = sum(r["seconds"] for r in results.values())
    answered_ok = {name: sum(n for k, n in counts.items() if k.endswith(":200") and k.split(":")[0] in ("predict", "naive"))
                   for name, counts in answered.items()}  # fmt: skip
    five_xx = {name: sum(n for k, n in counts.items() if k.split(":")[1].startswith("5")) for name, counts in answered.items()}
    c1 = results.get("batching/c1")
    c32 = results.get("batching/c32")
    naive32 = results.get("naive/c32")
    checks = {
        "c1_p50_ms": c1["p50_ms"] if c1 else None,
        "c32_requests_per_s": c32["requests_per_s"] if c32 else None,
        "c32_p99_ms": c32["p99_ms"] if c32 else None,
        "speedup_vs_naive": c32["requests_per_s"] / naive32["requests_per_s"]
        if c32 and naive32 and naive32["requests"]
        else None,
    }
    met = {
        name: value is not None and (value <= TARGETS[name] if name.endswith("_ms") else value >= TARGETS[name])
        for name, value in checks.items()
    }
    report = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "bench/serve_load.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": run_folder.machine_description(),
        "load_average_start": load_average_start,
        "model": {"run_id": run.id, "dataset": Path(dataset).name, "entity_f1": run.metrics.get("entity_f1")},
        "request_bodies": len(bodies),
        "loader": loader,
        "http_stack": http_stack(),
        "loader_cpu_s_per_loaded_s": loader_cpu / loaded_s if loaded_s else None,
        "server_cpu_s": cpu_used,
        "wall_s": wall_s,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "batch_wait_ms": args.batch_wait_ms,
        "results": results,
        "log_rows": rows,
        "answered_200": answered_ok,
        "responses_5xx": five_xx,
        "generator_completed": {
            "batching": sum(s["requests"] for (n, _), f in samples.items() for s in f if n in ("batching", "naive")),
            "no_batching": sum(s["requests"] for (n, _), f in samples.items() for s in f if n == "no_batching"),
        },
        "rows_equal_answered": all(rows[name] == answered_ok[name] for name in servers),
        # The unbatched server answers only /predict: its CPU per answer is the request path's cost.
        "no_batching_cpu_ms_per_request": 1000
        * cpu_used["no_batching"]
        / max(1, answered_ok["no_batching"] - answered_start["no_batching"].get("predict:200", 0)),
        "zero_5xx": not any(five_xx.values()) and all(r["non_2xx"] == 0 for r in results.values()),
        "server_exit_codes": exit_codes,
        "targets": {name: {"target": TARGETS[name], "value": checks[name], "met": met[name]} for name in TARGETS},
        "load_average_end": os.getloadavg()[0],
        "note": args.note,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text(render_markdown(report, args.concurrency))
    print(out.with_suffix(".md").read_text())
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _load(value: float | None) -> str:
    return "not recorded" if value is None else f"{value:.1f}"


def http_stack() -> dict[str, bool]:
    """Whether uvicorn's C parts are installed: it uses httptools and uvloop when they are, else h11 and asyncio."""
    import importlib.util

    return {name: importlib.util.find_spec(name) is not None for name in ("httptools", "uvloop")}


def render_markdown(report: dict, levels: list[int]) -> str:
    machine = report["machine"]
    lines = [
        "# REST API under load",
        "",
        f"Generated {report['generated']} by `{report['command']}` on {machine['cpu']} ({machine['cores']} cores, "
        f"load average {_load(report['load_average_start'])} before the servers started, "
        f"{_load(report['load_average_end'])} at the end, the benchmark's own processes included; "
        "on a shared machine absolute numbers are indicative).",
        "",
        f"Model: `{report['model']['run_id']}` (model2 on `{report['model']['dataset']}`, stored entity F1 "
        f"{report['model']['entity_f1']:.4f}); request bodies: {report['request_bodies']:,} test sentences, cycled. "
        f"{report['rounds']} alternating rounds of {report['duration_s']:g} s per cell; medians over the rounds.",
        "",
        f"Load generator: `{report['loader']}`, one thread; it used {report['loader_cpu_s_per_loaded_s']:.2f} CPU-seconds per "
        f"second of load. Server CPU over the measurement: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report["server_cpu_s"].items())
        + f" in {report['wall_s']:.0f} s of wall time.",
        "",
        *([f"**Note**: {report['note']}", ""] if report.get("note") else []),
        "| endpoint | concurrency | requests/s | p50 ms | p95 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {"batching": "predict, dynamic batching", "no_batching": "predict, no batching", "naive": "naive (model.predict)"}
    for name in ("batching", "no_batching", "naive"):
        for connections in levels:
            result = report["results"].get(f"{name}/c{connections}")
            if result is None:
                continue
            cells = [f"{result['requests_per_s']:,.1f}"] + [f"{result[k]:.2f}" for k in ("p50_ms", "p95_ms", "p99_ms")]
            lines.append(f"| {names[name]} | {connections} | {' | '.join(cells)} | {result['non_2xx']} |")
    lines += ["", "## Targets", "", "| target | wanted | measured | met |", "|---|---|---|---|"]
    wanted = {"c1_p50_ms": "<= 3 ms", "c32_requests_per_s": ">= 2,500", "c32_p99_ms": "<= 50 ms", "speedup_vs_naive": ">= 50x"}
    for name, entry in report["targets"].items():
        value = "n/a" if entry["value"] is None else f"{entry['value']:,.2f}"
        lines.append(f"| {name} | {wanted[name]} | {value} | {'yes' if entry['met'] else 'no'} |")
    stack = report.get("http_stack", {})
    parsing = (
        "HTTP parsing in C (httptools) on uvloop"
        if stack.get("httptools") and stack.get("uvloop")
        else "HTTP parsing in pure Python (h11; httptools and uvloop are not installed)"
    )
    lines += [
        "",
        "## What limits it",
        "",
        f"CPU per answered request of the unbatched server (it serves only /predict): "
        f"{report.get('no_batching_cpu_ms_per_request', float('nan')):.2f} ms, model call included. One server process "
        f"runs one event loop: {parsing}, "
        "pydantic validation, routing, tokenising, the answer's JSON and the log row are Python on that one core, "
        "while the model runs in ONNX Runtime; the other core is shared with the load generator (and, here, with "
        "whatever else runs on the machine). `--workers 2` runs a second event loop (on these 2 cores it measured "
        "the same requests/s as one worker: the second loop takes the core the model threads used).",
        "",
        "## The log and the errors",
        "",
        f"Prediction-log rows after SIGTERM: {report['log_rows']}; requests the servers answered with 200 (their /metrics): "
        f"{report['answered_200']}; equal: {'yes' if report['rows_equal_answered'] else 'NO'}. Responses the generator "
        f"completed: {report['generator_completed']} (it drops the replies to requests in flight when a run's time is up, "
        "which the server still answers and logs). 5xx responses: "
        f"{report['responses_5xx']}; zero 5xx and zero non-2xx: {'yes' if report['zero_5xx'] else 'NO'}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
