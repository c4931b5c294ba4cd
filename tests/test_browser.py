"""A real browser over a real server: `streamlit run app.py` headless, Debian's chromium via Playwright.

Visits every page, checks that no exception box appears and that highlighted
entities are visible, and saves a screenshot of each page under
``test-output/screenshots/``. Playwright drives the system chromium; it never
downloads a browser of its own.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest

from ner_core.corpus import annotated, writing
from scripts import browser_harness
from scripts.browser_harness import wait_until_idle
from tests.helpers import ROOT

SCREENSHOTS = ROOT / "test-output" / "screenshots"
PAGES = browser_harness.app_page_paths()

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def chromium_path() -> str:
    found = browser_harness.chromium_executable()
    if not found:
        reason = "Debian's chromium is not installed (scripts/ensure_chromium.sh installs it)"
        if os.environ.get("NER_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; NER_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def server(trained_run, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    with browser_harness.StreamlitServer(env=os.environ.copy(), log_path=log_path) as running:
        yield running.url


@pytest.fixture(scope="module")
def browser_page(server):
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = browser_harness.launch_chromium(playwright, executable)
        page = browser.new_page(viewport=browser_harness.VIEWPORT)
        yield page
        browser.close()


LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def outside_requests(urls: list[str]) -> list[str]:
    """The requests that would leave this machine (offline or air-gapped, each would fail)."""
    return [
        url
        for url in urls
        if urlparse(url).scheme in ("http", "https", "ws", "wss") and urlparse(url).hostname not in LOCAL_HOSTS
    ]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_and_tab_renders_without_exception_and_asks_no_other_host(server, browser_page, path):
    """Every page and each of its tabs (only the open tab is built): no exception, and icons, fonts and
    charts come from the app's own server."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    record = lambda request: requests.append(request.url)  # noqa: E731
    browser_page.on("request", record)
    try:
        browser_page.goto(f"{server}/{path}")
        wait_until_idle(browser_page)
        browser_page.screenshot(path=str(SCREENSHOTS / f"{path or 'home'}.png"), full_page=True)
        exceptions = browser_page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()
        assert browser_page.locator("h1").count() >= 1
        for tab in browser_page.get_by_role("tab").all():
            tab.click()
            wait_until_idle(browser_page)
            assert exceptions.count() == 0, f"tab {tab.inner_text()!r}: {exceptions.first.inner_text()}"
    finally:
        browser_page.remove_listener("request", record)
    assert requests  # the check saw the page's traffic
    assert outside_requests(requests) == []


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


def test_highlighter_escapes_html_in_a_real_browser(server, browser_page, trained_run):
    dialogs = []
    browser_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # The session's model2 run by its link: the newest run in the shared database is whatever another test left.
    browser_page.goto(f"{server}/entity_highlighter?run={trained_run.run_id}")
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


def test_wait_until_idle_waits_for_the_script_state_and_fails_on_timeout(browser_page):
    browser_page.set_content('<div data-testid="stApp" data-test-script-state="running"></div>')
    with pytest.raises(browser_harness.HarnessError, match="did not finish in 1 s .*'running'"):
        wait_until_idle(browser_page, timeout_s=1, quiet_s=0.2)
    browser_page.set_content('<div data-testid="stApp" data-test-script-state="notRunning"></div>')
    wait_until_idle(browser_page, timeout_s=5, quiet_s=0.2)  # returns once idle for quiet_s


BEACON = "http://127.0.0.1:9/beacon.png"  # port 9 (discard): nothing answers, the request is what counts


@pytest.fixture(scope="module")
def hostile_corpus_server(tmp_path_factory):
    """A server whose configured corpus has a word holding a blank line and a Markdown image link."""
    folder = tmp_path_factory.mktemp("hostile_corpus")
    # Unindented, old Markdown rendering loaded the image; indented, it turned the rest into a code block.
    tags = ["B-per", "O", "O", "B-geo", "O"]
    hostile = [
        annotated.Sentence(["Anna", f"said\n\n![beacon]({BEACON})", "in", "Oslo", "."], tags),
        annotated.Sentence(["Anna", f"wrote\n\n    ![beacon]({BEACON})", "in", "Oslo", "."], tags),
    ]
    plain = [annotated.Sentence(["Peter", "met", "Ada", f"x{i}", "."], ["B-per", "O", "B-per", "O", "O"]) for i in range(12)]
    path = folder / "hostile.csv"
    path.write_text(writing.corpus_to_gmb_csv([*hostile, *plain]), encoding="utf-8")
    env = {**os.environ, "NER_CORPUS_PATH": str(path)}
    with browser_harness.StreamlitServer(env=env, log_path=folder / "streamlit.log") as running:
        yield running.url


def test_a_word_with_a_blank_line_and_an_image_link_loads_nothing_and_shows_as_text(hostile_corpus_server, browser_page):
    requests = []
    browser_page.on("request", lambda request: requests.append(request.url))
    browser_page.goto(f"{hostile_corpus_server}/data_explorer")
    wait_until_idle(browser_page)
    browser_page.get_by_role("tab", name="Sentences").click()
    wait_until_idle(browser_page)
    browser_page.screenshot(path=str(SCREENSHOTS / "data_explorer_hostile_word.png"))
    assert [url for url in requests if "beacon" in url] == []
    sentences = browser_page.locator("div.ner-highlight:visible")
    shown = "\n".join(sentences.all_inner_texts())
    assert shown.count(f"![beacon]({BEACON})") == 2  # the links are text...
    assert browser_page.locator("div.ner-highlight img, div.ner-highlight pre, div.ner-highlight code").count() == 0
    assert browser_page.locator('img[src*="beacon"]').count() == 0  # ...not an image anywhere on the page
    assert browser_page.locator('[data-testid="stException"]').count() == 0
