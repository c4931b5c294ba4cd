"""A real browser over a real server: `streamlit run app.py` headless, Debian's chromium via Playwright.

Visits every page, checks that no exception box appears and that highlighted
entities are visible, and saves a screenshot of each page under
``test-output/screenshots/``. Playwright drives the system chromium; it never
downloads a browser of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
PAGES = ["", "data_explorer", "training_runs", "model_comparison", "entity_highlighter", "annotate", "ab_traffic"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def chromium_path() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not found:
        reason = "Debian's chromium is not installed (scripts/ensure_chromium.sh installs it)"
        if os.environ.get("NER_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; NER_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(trained_run, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail("streamlit did not start:\n" + log_path.read_text()[-2000:])
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def browser_page(server):
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


def wait_until_idle(page, timeout_s: float = 120) -> None:
    """Streamlit shows a running indicator while the script runs; wait for the page to settle."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    # Every page starts with st.title; before the script has run there is nothing to settle.
    page.wait_for_selector("h1", timeout=timeout_s * 1000)
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 2.0:
            return
        time.sleep(0.25)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_without_exception(server, browser_page, path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser_page.goto(f"{server}/{path}")
    wait_until_idle(browser_page)
    browser_page.screenshot(path=str(SCREENSHOTS / f"{path or 'home'}.png"), full_page=True)
    exceptions = browser_page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert browser_page.locator("h1").count() >= 1


def test_highlighted_entities_are_visible(server, browser_page):
    browser_page.goto(f"{server}/data_explorer")
    wait_until_idle(browser_page)
    browser_page.get_by_role("tab", name="Sentences").click()
    wait_until_idle(browser_page)
    marks = browser_page.locator("mark.entity:visible")
    assert marks.count() > 0
    box = marks.first.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    browser_page.screenshot(path=str(SCREENSHOTS / "data_explorer_sentences.png"))


def test_highlighter_escapes_html_in_a_real_browser(server, browser_page):
    dialogs = []
    browser_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    browser_page.goto(f"{server}/entity_highlighter")
    wait_until_idle(browser_page)
    text = "Anna Berg flew to Oslo on Monday. <script>alert(1)</script> <img src=x onerror=alert(2)>"
    area = browser_page.locator("textarea").first
    area.fill(text)
    area.press("Control+Enter")
    browser_page.get_by_role("button", name="Find entities").click()
    wait_until_idle(browser_page)
    browser_page.screenshot(path=str(SCREENSHOTS / "entity_highlighter_result.png"))
    assert dialogs == []
    highlight = browser_page.locator("div.ner-highlight:visible").first
    shown = highlight.inner_text()
    assert "<img" in shown and "script>" in shown  # the markup is shown as text...
    assert browser_page.locator("div.ner-highlight img, div.ner-highlight script").count() == 0  # ...not parsed
    assert highlight.locator("mark.entity").count() > 0
    assert browser_page.locator('[data-testid="stException"]').count() == 0
