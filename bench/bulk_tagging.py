"""Bulk tagging end to end: about 1 MB of text through the app's whole job, against a naive per-line loop.

    NER_CORPUS_PATH=../shared/datasets/gmb/ner_dataset.csv.zip .venv/bin/python bench/bulk_tagging.py --reuse
    # --reuse: take a completed model2 run of the same config/corpus from bench/work instead of training one

The text is built at run time from the corpus's sentences (words joined by spaces, a few sentences per
line, one document per line) and written to bench/work, never committed. Measured, alternating the two
ways every repetition and taking medians (the machine is shared):

1. ours: the app's job, :class:`ner_core.workbench.bulk_jobs.BulkTagger` on its worker thread: read the
   file, split it into documents, tokenize, tag in chunks through ``Predictor.tag_sentences`` and write the
   results JSONL, its index and summary; tokens/s = tokens / wall time from reading to the summary on disk;
2. naive: ``Predictor.predict`` once per line over the first ``--baseline-lines`` lines, each result
   written as a JSON line (tokens/s over that slice);
3. the model alone: ``tag_sentences`` on the same text tokenized beforehand, the ceiling of the job;
4. ours again while a page polls the job: ``gc.collect(2)`` + ``keras.backend.clear_session()`` every
   ``--poll-s`` seconds on another thread, as every Streamlit rerun of the polling fragment does.

Plus one indicative pass per stage (read and split, tokenize, tag, write). Writes
``bench/results/bulk_tagging.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.accuracy_speed import find_or_train, log
from bench.workspace import open_workspace
from ner_core.corpus import documents as document_sets
from ner_core.corpus.tokenizer import tokenize_sentences_as_tuples
from ner_core.serving import bulk
from ner_core.serving.predictor import Predictor
from ner_core.training import run_folder
from ner_core.training.config import TrainConfig
from ner_core.workbench import bulk_jobs

TARGET_TOKENS_PER_S = 100_000


def build_text(sentences, megabytes: float, per_document: int) -> str:
    """Lines of ``per_document`` corpus sentences each, until the text holds ``megabytes`` MB of UTF-8."""
    limit, lines, size, position = int(megabytes * 1_000_000), [], 0, 0
    while size < limit:
        group = sentences[position % len(sentences) : position % len(sentences) + per_document]
        position += per_document
        line = " ".join(" ".join(sentence.words) for sentence in group)
        lines.append(line)
        size += len(line.encode("utf-8")) + 1
    return "\n".join(lines) + "\n"


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"load average {os.getloadavg()}"


def ours(tagger: bulk_jobs.BulkTagger, path: Path, run_id: str) -> dict:
    """The app's whole job from the file on disk to the result's summary on disk."""
    started, cpu_started = time.perf_counter(), time.process_time()
    documents = document_sets.read_documents(path.read_bytes(), path.name)
    job_id = tagger.submit(run_id=run_id, run_dir="", model="model2", documents=documents, source_name=path.name)
    job = tagger.wait(job_id, timeout=3600)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if job.status != "completed":
        raise RuntimeError(f"bulk job {job.status}: {job.error}")
    result = bulk_jobs.load_result(tagger.folder.parent, job_id)
    bulk_jobs.delete_result(result)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "tokens": result.tokens,
        "documents": result.documents,
        "tokens_per_s": result.tokens / seconds,
        "tokens_per_cpu_s": result.tokens / cpu_seconds,
    }


def naive(predictor: Predictor, path: Path, lines: int, scratch: Path) -> dict:
    """``predict`` once per line, each result written as a JSON line."""
    started, cpu_started = time.perf_counter(), time.process_time()
    tokens = 0
    with path.open(encoding="utf-8") as source, (scratch / "naive.jsonl").open("w", encoding="utf-8") as out:
        for number, line in enumerate(source):
            if number >= lines:
                break
            prediction = predictor.predict(line.strip())
            tokens += len(prediction.tokens)
            out.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "tokens": tokens,
        "lines": lines,
        "tokens_per_s": tokens / seconds,
        "tokens_per_cpu_s": tokens / cpu_seconds,
    }


def model_alone(predictor: Predictor, words: list[list[str]]) -> dict:
    """Only ``tag_sentences`` on the same text tokenized beforehand: the ceiling the job's other stages eat into."""
    started, cpu_started = time.perf_counter(), time.process_time()
    predictor.tag_sentences(words)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    tokens = sum(len(sentence) for sentence in words)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "tokens_per_cpu_s": tokens / cpu_seconds,
    }


def poll_like_streamlit(stop: threading.Event, every_s: float, counter: list[int]) -> None:
    import keras

    while not stop.wait(every_s):
        gc.collect(2)
        keras.backend.clear_session()
        counter[0] += 1


def ours_polled(tagger, path: Path, run_id: str, poll_s: float) -> dict:
    stop, counter = threading.Event(), [0]
    poller = threading.Thread(target=poll_like_streamlit, args=(stop, poll_s, counter), daemon=True)
    poller.start()
    try:
        measured = ours(tagger, path, run_id)
    finally:
        stop.set()
        poller.join()
    return {**measured, "polls": counter[0]}


def stages(predictor: Predictor, path: Path, scratch: Path) -> dict:
    """One pass per stage of the job, each timed alone (indicative: no overlap between stages here)."""
    timings = {}
    started = time.perf_counter()
    documents = document_sets.read_documents(path.read_bytes(), path.name)
    timings["read_and_split_s"] = time.perf_counter() - started
    started = time.perf_counter()
    sentences = [sentence for document in documents for sentence in tokenize_sentences_as_tuples(document.text)]
    timings["tokenize_s"] = time.perf_counter() - started
    words = [[token[0] for token in sentence] for sentence in sentences]
    tokens = sum(len(sentence) for sentence in words)
    started = time.perf_counter()
    predictor.tag_sentences(words)
    timings["tag_sentences_s"] = time.perf_counter() - started
    started = time.perf_counter()
    bulk.tag_to_file(predictor, documents, scratch / "stages.jsonl")
    timings["tag_to_file_s"] = time.perf_counter() - started
    (scratch / "stages.jsonl").unlink(missing_ok=True)
    timings["tokens"] = tokens
    timings["sentences"] = len(sentences)
    timings["tag_sentences_tokens_per_s"] = tokens / timings["tag_sentences_s"]
    timings["tokenize_tokens_per_s"] = tokens / timings["tokenize_s"]
    return timings


def markdown(report: dict) -> str:
    data, med = report["data"], report["medians"]
    lines = [
        "# Bulk tagging end to end (model2)",
        "",
        f"Generated {report['generated']} by `{report['command']}`.",
        "",
        f"Data: {data['bytes']:,} bytes of text built from {report['corpus']['file']} ({data['documents']:,} documents of "
        f"{data['sentences_per_document']} corpus sentences, {data['tokens']:,} tokens after our tokenizer).",
        f"Model: `{report['run']}` served by {report['backend']} ({report['decoding']} decoding).",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
        f"Load: `{report['uptime_start']}` at start, `{report['uptime_end']}` at the end (the machine is shared).",
        "",
        f"## Tokens per second, medians of {report['repetitions']} alternated repetitions",
        "",
        "| way | tokens/s | wall time (s) | tokens per CPU-second | all runs (tokens/s) |",
        "|---|---|---|---|---|",
    ]
    for way, label in (
        ("ours", "the app's job: read, split, tokenize, tag, write (BulkTagger)"),
        ("ours_polled", f"the same while a page polls every {report['poll_s']} s (gc + clear_session)"),
        ("naive", f"naive `predict` per line, first {report['baseline_lines']:,} lines"),
        ("model", "the model alone: `tag_sentences` on the same text tokenized beforehand (no read, tokenize, write)"),
    ):
        if way in med:
            runs = ", ".join(f"{run['tokens_per_s']:,.0f}" for run in report["runs"][way])
            cpu = med[way]["tokens_per_cpu_s"]
            lines.append(f"| {label} | {med[way]['tokens_per_s']:,.0f} | {med[way]['seconds']:.2f} | {cpu:,.0f} | {runs} |")
    lines += [
        "",
        f"**Ours over naive: {report['ratio_vs_naive']:.1f}x.** The whole job runs at {report['share_of_model_alone']:.0%} "
        "of the model alone's speed measured in the same repetitions.",
        "",
        "Tokens per CPU-second count the CPU time of this process (all its threads, ONNX Runtime's included): "
        "less sensitive than wall time to the other processes on the machine, and what two free cores would "
        "divide between them.",
        "",
    ]
    stages_report = report.get("stages")
    if stages_report:
        lines += ["## Stages, one pass each (indicative)", "", "| stage | seconds |", "|---|---|"]
        for key in ("read_and_split_s", "tokenize_s", "tag_sentences_s", "tag_to_file_s"):
            lines.append(f"| {key[:-2].replace('_', ' ')} | {stages_report[key]:.2f} |")
        lines += [
            "",
            f"The model alone (`tag_sentences` on pre-tokenized sentences): "
            f"{stages_report['tag_sentences_tokens_per_s']:,.0f} tokens/s; the tokenizer alone: "
            f"{stages_report['tokenize_tokens_per_s']:,.0f} tokens/s.",
            "",
        ]
    target = report["target"]
    lines += [
        "## Target",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| end to end >= {TARGET_TOKENS_PER_S:,} tokens/s | {target['value']:,.0f} | {'yes' if target['met'] else '**no**'} |",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--sentences-per-document", type=int, default=4)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--baseline-lines", type=int, default=300)
    parser.add_argument("--poll-s", type=float, default=bulk_jobs.SLOW_POLL_S, help="how often a page polls a running job")
    parser.add_argument("--no-polling", action="store_true", help="skip the measurement under page polling")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--epochs", type=int, default=None, help="cap model2's training (smoke runs)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "bulk_tagging"))
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "work"))
    args = parser.parse_args()

    workspace = open_workspace(args.workdir, args.seed)
    if workspace is None:
        return 2
    report = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/bulk_tagging.py " + " ".join(sys.argv[1:]),
        "machine": run_folder.machine_description(),
        "uptime_start": uptime(),
        "corpus": {"file": workspace.corpus_path.name, "sha256": workspace.corpus.sha256},
        "repetitions": args.repetitions,
        "baseline_lines": args.baseline_lines,
        "poll_s": args.poll_s,
    }
    config = TrainConfig(model="model2", seed=args.seed, dataset=str(workspace.corpus_path), bucketed=True, epochs=args.epochs)
    run_dir = Path(find_or_train(workspace.store, workspace.workdir, workspace.corpus, config, args.reuse))
    predictor = Predictor.load(run_dir)
    report.update(run=run_dir.name, backend=predictor.backend, decoding=predictor.default_decoding)

    scratch = workspace.workdir / "bulk_tagging"
    scratch.mkdir(parents=True, exist_ok=True)
    text = build_text(workspace.corpus.sentences, args.megabytes, args.sentences_per_document)
    path = scratch / "documents.txt"
    path.write_text(text, encoding="utf-8")
    tagger = bulk_jobs.BulkTagger(scratch / "models", load_predictor=lambda _run_dir: predictor)
    log(f"{len(text.encode()):,} bytes, {text.count(chr(10)):,} documents; warming up")
    ours(tagger, path, run_dir.name)  # first shapes, caches
    naive(predictor, path, min(20, args.baseline_lines), scratch)

    words = [[token[0] for token in sentence] for line in text.splitlines() for sentence in tokenize_sentences_as_tuples(line)]
    ways = ["ours", "naive", "model"] + ([] if args.no_polling else ["ours_polled"])
    runs: dict[str, list[dict]] = {way: [] for way in ways}
    for repetition in range(args.repetitions):
        shift = repetition % len(ways)
        for way in ways[shift:] + ways[:shift]:
            if way == "ours":
                runs[way].append(ours(tagger, path, run_dir.name))
            elif way == "model":
                runs[way].append(model_alone(predictor, words))
            elif way == "ours_polled":
                runs[way].append(ours_polled(tagger, path, run_dir.name, args.poll_s))
            else:
                runs[way].append(naive(predictor, path, args.baseline_lines, scratch))
            log(f"{way}: {runs[way][-1]['tokens_per_s']:,.0f} tokens/s")
    tagger.shutdown()
    report["runs"] = runs
    report["medians"] = {
        way: {key: statistics.median(run[key] for run in values) for key in ("tokens_per_s", "seconds", "tokens_per_cpu_s")}
        for way, values in runs.items()
    }
    report["ratio_vs_naive"] = report["medians"]["ours"]["tokens_per_s"] / report["medians"]["naive"]["tokens_per_s"]
    report["share_of_model_alone"] = report["medians"]["ours"]["tokens_per_s"] / report["medians"]["model"]["tokens_per_s"]
    report["stages"] = stages(predictor, path, scratch)
    report["data"] = {
        "bytes": len(text.encode("utf-8")),
        "documents": runs["ours"][0]["documents"],
        "tokens": runs["ours"][0]["tokens"],
        "sentences_per_document": args.sentences_per_document,
    }
    value = report["medians"]["ours"]["tokens_per_s"]
    report["target"] = {"value": value, "met": value >= TARGET_TOKENS_PER_S}
    report["uptime_end"] = uptime()
    (scratch / "naive.jsonl").unlink(missing_ok=True)
    path.unlink()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=float))
    out.with_suffix(".md").write_text(markdown(report))
    log(f"ours {value:,.0f} tokens/s, naive {report['medians']['naive']['tokens_per_s']:,.0f}; wrote {out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
