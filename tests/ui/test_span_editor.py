"""The span editor component: its JavaScript logic under Node's test runner, and the assembled component."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.helpers import ROOT

NODE_TESTS = ROOT / "tests" / "ui" / "span_editor"


def test_the_editor_logic_passes_its_node_tests():
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed, so the span editor's JavaScript tests (node --test) cannot run"
        if os.environ.get("NER_REQUIRE_NODE") == "1":
            pytest.fail(reason + "; NER_REQUIRE_NODE=1 requires it")
        pytest.skip(reason)
    completed = subprocess.run(
        [node, "--test", *sorted(str(path) for path in NODE_TESTS.glob("*.test.mjs"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert "# fail 0" in completed.stdout and "# pass " in completed.stdout


def test_the_component_script_is_one_module_with_the_logic_inlined():
    from ui import span_editor

    script = span_editor.component_script()
    assert "./editor_logic.js" not in script
    assert script.count("export function spansFromTags(") == 1
    assert script.count("export default function spanEditor(") == 1
    logic = (span_editor.COMPONENT_DIR / "editor_logic.js").read_text(encoding="utf-8")
    assert logic in script


def test_the_component_never_parses_text_as_html_and_loads_nothing_from_elsewhere():
    from ui import span_editor

    for name in ("span_editor.js", "editor_logic.js"):
        source = re.sub(r"//.*", "", (span_editor.COMPONENT_DIR / name).read_text(encoding="utf-8"))  # code, not comments
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{name} uses {sink}"
    for name in ("span_editor.html", "span_editor.css", "span_editor.js"):
        source = (span_editor.COMPONENT_DIR / name).read_text(encoding="utf-8")
        assert "http://" not in source and "https://" not in source and "<script" not in source, name


def test_a_changed_import_of_the_logic_fails_loudly(tmp_path, monkeypatch):
    from ui import span_editor

    for name in ("span_editor.js", "editor_logic.js"):
        (tmp_path / name).write_text((span_editor.COMPONENT_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    script = tmp_path / "span_editor.js"
    script.write_text(script.read_text(encoding="utf-8").replace("./editor_logic.js", "./logic.js"), encoding="utf-8")
    monkeypatch.setattr(span_editor, "COMPONENT_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="no longer imports ./editor_logic.js"):
        span_editor.component_script()
