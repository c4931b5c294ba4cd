"""What AppTest cannot see, in a real browser: the Registry page's confirmation dialog, and the A/B
page's live mode whose progress a fragment refreshes every second while the run goes on in the
background, with no click from the user.

`streamlit run app.py` headless and Debian's chromium through Playwright (scripts/browser_harness),
a real API (BackgroundServer) and both writing one SQLite file of this module's own workspace.
Screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from ner_core.serving import registry
from ner_core.serving.config import ServeConfig
from ner_core.serving.server import BackgroundServer
from ner_core.settings import SAMPLE_DATA_PATH
from ner_core.store.database import Store
from ner_core.traffic import live_results
from ner_core.training import loop
from scripts import browser_harness
from scripts.browser_harness import wait_until_idle
from tests.helpers import ROOT, tiny_config
from tests.test_browser import chromium_path

SCREENSHOTS = ROOT / "test-output" / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A database with the tiny model registered as baseline v1 and v2 (no role yet)."""
    root = tmp_path_factory.mktemp("browser_live")
    store = Store(f"sqlite:///{root / 'workbench.db'}")
    run = store.get_run(loop.train(tiny_config(SAMPLE_DATA_PATH), models_dir=root / "models", store=store).run_id)
    store.create_run("base-copy", "baseline", config=run.config, dataset_path=run.dataset_path,
                     dataset_sha256=run.dataset_sha256, status="completed")  # fmt: skip
    store.update_run("base-copy", metrics=run.metrics, run_dir=run.run_dir)
    registry.register(store, run.id, by="setup")
    registry.register(store, "base-copy", by="setup")
    return root, store


@pytest.fixture(scope="module")
def servers(workspace):
    root, store = workspace
    env = {**os.environ, "NER_DATABASE_URL": store.url, "NER_MODELS_DIR": str(root / "models")}
    settings = ServeConfig(port=0, open_access=True, fault_api=True, registry_poll_s=0.2, log_flush_interval_s=0.1)
    with BackgroundServer(settings, store=store) as api:
        with browser_harness.StreamlitServer(env=env, log_path=root / "streamlit.log") as app:
            yield app.url, api


@pytest.fixture(scope="module")
def page(servers):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = browser_harness.launch_chromium(playwright, chromium_path())
        yield browser.new_page(viewport=browser_harness.VIEWPORT)
        browser.close()


def no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def test_a_promotion_is_confirmed_in_a_dialog_that_names_the_change(servers, page, workspace):
    url, api = servers
    store = workspace[1]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(url)  # app.py first: its st.navigation then serves every page (a first visit elsewhere runs the page alone)
    wait_until_idle(page)
    page.goto(f"{url}/registry")
    wait_until_idle(page)
    page.get_by_label("Your name (recorded with every change)").fill("ana")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    page.get_by_role("tab", name="Change roles").click()
    page.get_by_role("button", name="Promote").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=60_000)
    assert "baseline v2 becomes primary; primary had no holder." in dialog.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "registry_confirm_dialog.png"))
    dialog.get_by_role("button", name="Confirm").click()
    page.get_by_text("Done: baseline v2 becomes primary").wait_for(timeout=60_000)
    wait_until_idle(page)
    no_exception(page)
    assert registry.role_holders(store)["primary"].label == "baseline v2"
    assert page.get_by_role("dialog").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "registry.png"), full_page=True)


def test_live_progress_refreshes_by_itself_and_the_results_follow(servers, page, workspace):
    url, api = servers
    store = workspace[1]
    holder = registry.role_holders(store).get("primary")
    if holder is None or holder.label != "baseline v2":  # this test may run alone, or on another worker than the dialog's
        registry.promote(store, "baseline", 2, "primary", by="setup")
    page.goto(f"{url}/ab_traffic")
    wait_until_idle(page)
    page.get_by_text("Live API").click()
    wait_until_idle(page)
    address = page.get_by_label("API address")
    address.fill(api.url)
    address.press("Enter")
    wait_until_idle(page)
    page.get_by_role("button", name="Check").click()
    page.locator("[role=gridcell]", has_text="baseline v2").first.wait_for(state="attached", timeout=60_000)
    page.get_by_label("Requests", exact=True).fill("60")
    page.get_by_label("Rate (requests/s)").fill("4")
    page.get_by_label("Rate (requests/s)").press("Enter")
    wait_until_idle(page)
    page.get_by_role("button", name="Send live traffic").click()

    progress = page.get_by_text(re.compile(r"live-[0-9a-f]{12}: \d+ / 60 answered"))
    progress.wait_for(timeout=60_000)
    seen = {progress.inner_text()}
    deadline = time.monotonic() + 60
    while len(seen) < 3 and time.monotonic() < deadline and progress.count():  # the fragment redraws it; nobody clicks
        time.sleep(0.3)
        seen.add(progress.inner_text())
    assert len(seen) >= 3, seen
    page.screenshot(path=str(SCREENSHOTS / "ab_traffic_live_progress.png"), full_page=True)
    page.get_by_text(re.compile(r"Completed: 60 of 60 requests")).wait_for(timeout=120_000)
    wait_until_idle(page)
    no_exception(page)
    page.get_by_role("tab", name="HTTP and round trips").click()
    tables = page.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]')
    tables.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "ab_traffic_live_results.png"))
    assert tables.count() == 2  # HTTP outcomes, round trips per version
    (summary,) = live_results.live_runs(store)
    assert (summary.status, summary.requests) == ("completed", 60)
