"""Bulk tagging and the review page in a real browser: what AppTest cannot see.

The polling fragment must bring a finished job's result onto the page by itself (no click), the JSONL
download is generated on click (a deferred callable), and a document holding HTML shows as text.
Debian's chromium through Playwright over ``streamlit run app.py``, as tests/test_browser.py does.
"""

from __future__ import annotations

import json
import os

import pytest

from scripts import browser_harness
from scripts.browser_harness import wait_until_idle
from tests.helpers import ROOT
from tests.test_browser import chromium_path

SCREENSHOTS = ROOT / "test-output" / "screenshots"
DOCUMENTS = [
    "President Anna Berg met Kenyan officials in Nairobi on Tuesday.",
    "<img src=x onerror=alert(1)> Peter visited Oslo in March 2009.",
    "Rain fell in Lima .",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(trained_run, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("bulk_server") / "streamlit.log"
    with browser_harness.StreamlitServer(env=os.environ.copy(), log_path=log_path) as running:
        yield running.url


@pytest.fixture(scope="module")
def browser_page(server):
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = browser_harness.launch_chromium(playwright, executable)
        page = browser.new_page(viewport=browser_harness.VIEWPORT, accept_downloads=True)
        yield page
        browser.close()


def test_a_bulk_job_shows_its_result_by_itself_and_downloads_jsonl(server, browser_page, tmp_path):
    dialogs = []
    browser_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    browser_page.goto(f"{server}/bulk_tagging")
    wait_until_idle(browser_page)
    source = tmp_path / "news.txt"
    source.write_text("\n".join(DOCUMENTS), encoding="utf-8")
    browser_page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(source))
    wait_until_idle(browser_page)
    browser_page.get_by_role("button", name="Tag the document set").click()
    # No further click: the fragment polls the job and reruns the page when it ends.
    browser_page.get_by_text("document 3 · confidence").wait_for(timeout=120_000)
    wait_until_idle(browser_page)
    assert browser_page.locator('[data-testid="stException"]').count() == 0
    assert browser_page.locator(".ner-highlight").count() == 3
    assert browser_page.locator("img").count() == 0 and dialogs == []
    shown = browser_page.locator(".ner-highlight").nth(1).inner_text()
    assert shown.startswith("<") and "onerror=alert(1)>" in shown  # the markup shows as text (a tiny model may tag "<")
    assert "result=bulk-" in browser_page.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser_page.screenshot(path=str(SCREENSHOTS / "bulk_tagging_result.png"), full_page=True)

    with browser_page.expect_download(timeout=60_000) as download:
        browser_page.get_by_role("button", name="Download JSONL").click()
    lines = [json.loads(line) for line in open(download.value.path(), encoding="utf-8")]
    assert [line["text"] for line in lines] == DOCUMENTS
    assert all(line["text"][t["start"] : t["end"]] == t["text"] for line in lines for t in line["tokens"])


def test_the_review_page_renders_its_tabs(server, browser_page):
    browser_page.goto(f"{server}/review")
    wait_until_idle(browser_page)
    assert browser_page.locator('[data-testid="stException"]').count() == 0
    for tab in ("Saved annotations", "Agreement", "Disagreements", "Guidelines"):
        browser_page.get_by_role("tab", name=tab, exact=True).click()
        wait_until_idle(browser_page)
    assert "review_tab=Guidelines" in browser_page.url  # the chosen tab is in the URL
    assert browser_page.locator('[data-testid="stException"]').count() == 0
    browser_page.screenshot(path=str(SCREENSHOTS / "review.png"), full_page=True)
