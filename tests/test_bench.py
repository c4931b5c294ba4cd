"""The benchmark commands run end to end from a clean checkout.

They are meant for the GMB corpus and take an hour there; here they run on the bundled sample with one
to three epochs per model, through their real command lines, so a change that breaks a section fails CI instead of
the next person's benchmark run. The numbers they produce on 250 training sentences mean nothing; the
structure and the counts they report are checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ner_core.corpus import reading, splitting, statistics
from ner_core.evaluation import metric_registry
from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # every test here runs a benchmark command or a job process

TIMEOUT_S = 600


def run_bench(script: str, sample_path, *args: str) -> None:
    env = {**os.environ, "NER_CORPUS_PATH": str(sample_path)}
    completed = subprocess.run(
        [sys.executable, f"bench/{script}", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_accuracy_speed_measures_every_section_on_the_sample(tmp_path, sample_path):
    out = tmp_path / "accuracy_speed"
    run_bench(
        "accuracy_speed.py",
        sample_path,
        "--models",
        "model2",
        "--epochs",
        "1",
        "--timing-rounds",
        "2",
        "--latency-sentences",
        "10",
        "--throughput-repetitions",
        "1",
        "--out",
        str(out),
        "--workdir",
        str(tmp_path / "work"),
    )
    report = json.loads(out.with_suffix(".json").read_text())
    corpus = reading.load_corpus(sample_path)
    test = splitting.split_corpus(corpus.sentences, seed=42).test
    assert report["corpus"] == {"file": sample_path.name, "sha256": corpus.sha256, "sentences": len(corpus.sentences)}
    assert report["run_details"]["model2"]["epochs"] == 1
    for method in ("argmax", "constrained"):
        assert set(report["quality"]["model2"][method]["metrics"]) == set(metric_registry.METRIC_KEYS)
    assert report["latency"]["sentences"] == 10
    assert report["latency"]["p50_ratio"] == pytest.approx(
        report["latency"]["model_predict"]["p50"] / report["latency"]["predictor_tag_sentences"]["p50"]
    )
    assert report["throughput"]["real_tokens"] == sum(len(s) for s in test)
    timing = report["epoch_timing"]
    assert len(timing["seconds"]["padded"]) == len(timing["seconds"]["bucketed"]) == 2
    assert timing["positions_per_epoch"]["bucketed"] < timing["positions_per_epoch"]["padded"]
    assert report["bucketing_f1"]["padded"]["epochs"] == 1
    assert report["targets"]["model2_entity_f1 >= 0.82"]["value"] == max(
        report["quality"]["model2"][m]["metrics"]["entity_f1"] for m in ("argmax", "constrained")
    )
    markdown = out.with_suffix(".md").read_text()
    assert markdown.startswith(f"# Accuracy and speed on {sample_path.name}")
    assert "## Targets" in markdown and "| Entity F1 | higher |" in markdown


def test_f1_gap_reports_consistency_curve_and_errors_on_the_sample(tmp_path, sample_path):
    out = tmp_path / "f1_gap"
    run_bench(
        "f1_gap.py",
        sample_path,
        "--epochs",
        "3",
        "--fractions",
        "0.5",
        "1",
        "--out",
        str(out),
        "--workdir",
        str(tmp_path / "work"),
    )
    report = json.loads(out.with_suffix(".json").read_text())
    splits = splitting.split_corpus(reading.load_corpus(sample_path).sentences, seed=42)
    assert report["annotation_consistency"]["pairs"] == 0  # the sample has no repeated sentence
    curve = report["learning_curve"]
    assert [point["training_sentences"] for point in curve] == [round(len(splits.train) / 2), len(splits.train)]
    assert all(point["epochs"] <= 3 for point in curve)
    assert curve[-1]["run"] == report["full_model"]["run"]  # the full point is the full model, not a retrain
    gold_entities = statistics.entity_counts(splits.test)
    assert {row["type"]: row["support"] for row in report["full_model"]["per_type"]} == gold_entities
    full = report["full_model"]
    assert full["entity_f1"] > 0  # small-data settings: the check below compares real predictions
    # Combining one run with itself through the ensemble code reproduces that run's own decoding.
    assert report["ensemble"]["single_run_check"] == pytest.approx(full["entity_f1"], abs=1e-12)
    assert report["ensemble"]["runs"] == [full["run"], report["variants"]["char_bilstm_crf_2layer"]["run"]]
    markdown = out.with_suffix(".md").read_text()
    assert "## 2. Learning curve" in markdown and "potentials and transitions averaged" in markdown


def test_learning_curve_extrapolation_fits_f1_against_log_sentences(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.f1_gap import learning_curve_extrapolation

    fit = learning_curve_extrapolation([(1000, 0.80), (2000, 0.82), (4000, 0.84)], target=0.86)
    assert fit["f1_gain_per_doubling"] == pytest.approx(0.02)
    assert fit["training_sentences_for_target"] == pytest.approx(8000)
    assert learning_curve_extrapolation([(1000, 0.8)], 0.86) is None
    assert learning_curve_extrapolation([(1000, 0.8), (2000, 0.79)], 0.86)["training_sentences_for_target"] is None


@pytest.mark.browser
def test_page_load_times_every_page_idle_and_with_a_job_training(tmp_path, sample_path):
    from scripts import browser_harness

    if browser_harness.chromium_executable() is None:
        pytest.skip("Debian's chromium is not installed (scripts/ensure_chromium.sh installs it)")
    # Two pages are enough to check the script end to end (bench/results has every page).
    run_bench("page_load.py", sample_path, "--rounds", "1", "--pages", "home", "training_runs", "--out", str(tmp_path))
    result = json.loads((tmp_path / "page_load.json").read_text())
    pages = {"home", "training_runs"}
    for condition in ("idle", "one job training"):
        assert set(result["median_s"][condition]) == pages
        assert all(0 < seconds < 120 for seconds in result["median_s"][condition].values())
    assert "| training_runs |" in (tmp_path / "page_load.md").read_text()


def test_bulk_tagging_runs_the_whole_job_against_the_naive_loop_on_the_sample(tmp_path, sample_path):
    out = tmp_path / "bulk_tagging"
    run_bench(
        "bulk_tagging.py",
        sample_path,
        "--megabytes",
        "0.03",
        "--repetitions",
        "2",
        "--baseline-lines",
        "10",
        "--poll-s",
        "0.2",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--workdir",
        str(tmp_path / "work"),
    )
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["corpus"]["file"] == sample_path.name and report["backend"] == "onnxruntime"
    assert set(report["runs"]) == {"ours", "naive", "model", "ours_polled"}
    assert all(len(runs) == 2 for runs in report["runs"].values())
    assert report["data"]["bytes"] >= 30_000 and report["data"]["documents"] == report["runs"]["ours"][0]["documents"]
    assert all(run["tokens"] == report["data"]["tokens"] for run in report["runs"]["ours"])  # every run tags the same set
    assert report["runs"]["naive"][0]["lines"] == 10
    assert report["runs"]["model"][0]["tokens"] == report["data"]["tokens"]  # the same text, tokenized beforehand
    assert report["share_of_model_alone"] == pytest.approx(
        report["medians"]["ours"]["tokens_per_s"] / report["medians"]["model"]["tokens_per_s"]
    )
    ours = report["medians"]["ours"]["tokens_per_s"]
    assert report["ratio_vs_naive"] == pytest.approx(ours / report["medians"]["naive"]["tokens_per_s"])
    assert report["target"] == {"value": ours, "met": ours >= 100_000}
    assert report["stages"]["tokens"] == report["data"]["tokens"]
    assert all(run["tokens_per_cpu_s"] == pytest.approx(run["tokens"] / run["cpu_seconds"]) for run in report["runs"]["ours"])
    markdown = out.with_suffix(".md").read_text()
    assert markdown.startswith("# Bulk tagging end to end (model2)") and "| end to end >= 100,000 tokens/s |" in markdown
    assert not (tmp_path / "work" / "bulk_tagging" / "documents.txt").exists()  # the built text is never left behind
