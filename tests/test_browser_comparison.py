"""The model comparison in a real browser (Debian's chromium via Playwright, 1400 x 1000 px), for what
AppTest cannot see: that the metric table shows three runs without cutting one off, that the confusion
matrix fills the width with a colour scale over the errors only, and that a shared link opens the same
comparison in a new tab.

The server has its own workspace with three copies of the session's trained run (one of another
dataset), so nothing here depends on what other tests left in the session's database.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy
import pytest

from ner_core.evaluation import run_scoring
from ner_core.settings import Settings
from ner_core.training import run_folder
from ner_core.workbench import comparison
from scripts import browser_harness
from scripts.browser_harness import wait_until_idle
from tests.helpers import ROOT, register_run_copy
from tests.test_browser import chromium_path

SCREENSHOTS = ROOT / "test-output" / "screenshots"
RUN_IDS = ("model2-newest", "model2-middle", "model2-other-data")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def workspace(trained_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("comparison_browser")
    env = {
        **os.environ,
        "NER_MODELS_DIR": str(root / "models"),
        "NER_DATABASE_URL": f"sqlite:///{root / 'models' / 'workbench.db'}",
        "NER_UPLOADS_DIR": str(root / "uploads"),
    }
    settings = Settings(corpus_path=None, models_dir=root / "models", database_url=env["NER_DATABASE_URL"], uploads_dir=root)
    settings.models_dir.mkdir(parents=True)
    for minute, run_id in enumerate(reversed(RUN_IDS)):
        sha256 = "0" * 64 if run_id == "model2-other-data" else "5" * 64
        created = dt.datetime(2025, 1, 1, 12, minute)
        register_run_copy(trained_run, run_id, dataset_sha256=sha256, created_at=created, settings=settings)
    return env


@pytest.fixture(scope="module")
def server(workspace, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("comparison_server") / "streamlit.log"
    with browser_harness.StreamlitServer(env=workspace, log_path=log_path) as running:
        yield running.url


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = browser_harness.launch_chromium(playwright, executable)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    """A new tab at 1400 x 1000 px; the app's home first, so the first page a test opens runs under st.navigation."""
    tab = browser.new_page(viewport=browser_harness.VIEWPORT)
    tab.goto(server)
    wait_until_idle(tab)
    yield tab
    tab.close()


def open_comparison(page, server, query: str):
    page.goto(f"{server}/model_comparison?{query}")
    wait_until_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0


def visible_metric_headers(page) -> list[str]:
    """The metric table's column headers the grid draws in view (glide's accessibility table holds only those)."""
    return page.evaluate(
        """() => [...document.querySelector('[data-testid="stDataFrame"]').querySelectorAll('th')]
                  .map(th => th.textContent)"""
    )


def test_three_runs_fit_in_the_metric_table_at_1400_px(page, server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    open_comparison(page, server, "&".join(f"run={run_id}" for run_id in RUN_IDS))
    page.screenshot(path=str(SCREENSHOTS / "model_comparison_three_runs.png"))
    headers = visible_metric_headers(page)
    # Headers are the runs' short labels (model and time); the column after the third run is drawn too,
    # so the third run's column ends inside the table, not under its right edge.
    assert headers[:5] == ["metric", "model2 01-01 12:02", "model2 01-01 12:01", "model2 01-01 12:00", "direction"]
    warning = page.locator('[data-testid="stAlert"]').filter(has_text="different test splits")
    assert warning.count() == 1


def test_a_shared_link_opens_the_same_comparison_in_a_new_tab(page, browser, server):
    open_comparison(page, server, "")
    page.locator('[data-testid="stMultiSelect"]').get_by_role("button", name="Remove", exact=False).nth(1).click()
    wait_until_idle(page)
    shared = page.url
    assert "run=model2-newest" in shared and "run=model2-middle" not in shared

    other = browser.new_page(viewport=browser_harness.VIEWPORT)
    try:
        other.goto(shared)
        wait_until_idle(other)
        chosen = other.locator('[data-testid="stMultiSelect"] span[data-tag]').all_inner_texts()
        assert len(chosen) == 1 and chosen[0].startswith("model2 · ") and "12:02" in chosen[0]
        assert other.url == shared
    finally:
        other.close()


def test_the_confusion_matrix_is_full_width_and_coloured_by_its_errors(page, server, trained_run):
    open_comparison(page, server, "run=model2-newest")
    page.get_by_role("tab", name="Confusion").click()
    wait_until_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "model_comparison_confusion.png"), full_page=True)
    stored = run_scoring.load_evaluation(run_folder.RunFolder(trained_run.run_dir))[1].confusion
    off_diagonal = stored[~numpy.eye(len(stored), dtype=bool)]
    assert stored.diagonal().max() > off_diagonal.max() > 0  # O-to-O would take the whole scale
    drawn = page.evaluate(
        """() => {
          const chart = [...document.querySelectorAll('.js-plotly-plot')].find(
            plot => plot._fullData.some(trace => trace.type === 'heatmap' && trace.name === 'errors'));
          const errors = chart._fullData.find(trace => trace.name === 'errors');
          const main = document.querySelector('[data-testid="stMainBlockContainer"]').getBoundingClientRect();
          return {zmax: errors.zmax, zmin: errors.zmin, colorbarTicks: [...chart.querySelectorAll('.colorbar .cbaxis text')]
                  .map(text => text.textContent), width: chart.getBoundingClientRect().width, main: main.width};
        }"""
    )
    assert (drawn["zmin"], drawn["zmax"]) == (0, int(off_diagonal.max()))
    assert drawn["width"] > 0.85 * drawn["main"]  # full width, not half
    assert max(float(tick.replace(",", "")) for tick in drawn["colorbarTicks"]) <= off_diagonal.max()

    # Hovering the largest error cell says its tokens and its share of the gold row.
    errors_only = numpy.where(numpy.eye(len(stored), dtype=bool), -1, stored)
    row, column = numpy.unravel_index(errors_only.argmax(), stored.shape)
    x, y = cell_centre(page, row, column, len(stored))
    page.mouse.move(x - 4, y - 4)
    page.mouse.move(x, y, steps=4)
    page.wait_for_timeout(800)
    share = stored[row, column] / stored[row].sum()
    hover = confusion_chart(page).locator(".hoverlayer").text_content()
    assert f"{int(stored[row, column]):,} tokens, {share:.1%} of gold" in hover

    # Clicking another error cell lists its sentences: the gold and predicted pickers follow the click.
    errors_only[row, column] = -1
    row, column = numpy.unravel_index(errors_only.argmax(), stored.shape)
    page.mouse.click(*cell_centre(page, row, column, len(stored)))
    wait_until_idle(page)
    labels = run_scoring.load_evaluation(run_folder.RunFolder(trained_run.run_dir))[1].confusion_labels
    assert (labels[row], labels[column]) != tuple(comparison_cells_default(trained_run))  # the click changed them
    for picker, label in (("Gold tag", labels[row]), ("Predicted tag", labels[column])):
        assert page.get_by_role("combobox", name=picker).input_value() == label


def comparison_cells_default(trained_run) -> tuple[str, str]:
    """The cell the gold and predicted pickers start on: the largest confusion."""
    gold, predicted, _ = comparison.confusion_cells(run_scoring.load_evaluation(run_folder.RunFolder(trained_run.run_dir))[1])[0]
    return gold, predicted


def confusion_chart(page):
    return page.locator(".js-plotly-plot:visible").filter(has=page.locator(".colorbar")).first


def cell_centre(page, row: int, column: int, count: int) -> tuple[float, float]:
    """Page coordinates of a confusion cell's centre, from the drawn chart's axes."""
    box = confusion_chart(page).bounding_box()
    axes = page.evaluate(
        """() => { const layout = [...document.querySelectorAll('.js-plotly-plot')]
                     .find(plot => plot._fullData.some(trace => trace.name === 'errors'))._fullLayout;
                   return [layout.xaxis._offset, layout.yaxis._offset, layout.xaxis._length, layout.yaxis._length]; }"""
    )
    return box["x"] + axes[0] + (column + 0.5) * axes[2] / count, box["y"] + axes[1] + (row + 0.5) * axes[3] / count
