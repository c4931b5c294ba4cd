"""bench/retrain_warm_start.py runs end to end through its command line, on the bundled sample with tiny settings.

On 250 training sentences the numbers mean nothing; the structure is checked: the corrections, the test
sentences left out because they match one, both retrains timed and compared, the targets evaluated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # trains three model2 runs on the sample

TIMEOUT_S = 600


def test_warm_start_and_full_retrain_are_timed_and_compared_on_the_sample(tmp_path, sample_path):
    out = tmp_path / "retrain_warm_start"
    command = [
        sys.executable,
        "bench/retrain_warm_start.py",
        *("--epochs", "2", "--warm-epochs", "1", "--corrections", "4", "--test-corrections", "2", "--resamples", "200"),
        *("--out", str(out), "--workdir", str(tmp_path / "work")),
    ]
    env = {**os.environ, "NER_CORPUS_PATH": str(sample_path)}
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr[-3000:]

    report = json.loads(out.with_suffix(".json").read_text())
    assert report["corpus"]["file"] == sample_path.name and report["command"].startswith("python bench/retrain_warm_start.py")
    assert (report["corrections"]["validation"], report["corrections"]["test"]) == (4, 2)
    [round_one] = report["rounds"]
    assert round_one["order"] == ["warm", "full"]
    warm, full = round_one["warm"], round_one["full"]
    assert warm["epochs"] == 1 and full["epochs"] <= 2 and warm["wall_s"] > 0 and full["wall_s"] > 0
    assert warm["settings"]["annotation_weight"] == 10 and full["settings"]["annotation_weight"] == 1
    for side in (warm, full):
        comparison = side["comparison"]
        assert comparison["left_out"] == 2  # the two corrected test sentences
        assert comparison["test_sentences"] == report["splits"]["test"]
        assert comparison["corrected_as_annotated"]["of"] == 6
        assert comparison["corrected_as_annotated"]["parent"] == 0  # only sentences the parent got wrong
        assert comparison["gain"]["sentences"] == report["splits"]["test"] - 2
    difference = round_one["warm_minus_full"]
    assert difference["gain"] == pytest.approx(warm["comparison"]["child_entity_f1"] - full["comparison"]["child_entity_f1"])
    summary = report["summary"]
    assert summary["warm_wall_s"] == warm["wall_s"] and isinstance(summary["f1_within_tolerance"], bool)
    text = out.with_suffix(".md").read_text()
    assert "| corrected sentences tagged as annotated |" in text and "## Targets" in text
