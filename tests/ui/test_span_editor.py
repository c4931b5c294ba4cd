"""The span editor component: its JavaScript logic under Node's test runner, and the assembled component."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.helpers import ROOT

NODE_TESTS = ROOT / "tests" / "ui" / "span_editor"


def test_the_editor_logic_passes_its_node_tests():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed, so the span editor's JavaScript tests (node --test) cannot run")
    completed = subprocess.run(
        [node, "--test", *sorted(str(path) for path in NODE_TESTS.glob("*.test.mjs"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert "# fail 0" in completed.stdout and "# pass " in completed.stdout
