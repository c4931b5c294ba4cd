"""The span editor in a real browser (Debian's chromium through Playwright) over a real server.

One scripted correction is made twice on the same sentence: with the span editor (mouse and keyboard
only, three entities corrected, Enter to accept) and, by a second analyst, with the token table
(``st.data_editor``). Both saved rows are checked in the database; the user actions each took are
counted, and the time from Enter to the next sentence on screen is measured in the page.

With ``NER_ANNOTATION_ACTIONS_JSON=<path>`` the measurements are written there;
``bench/annotation_actions.py`` runs this test that way and writes ``bench/results/annotation_actions.*``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from dataclasses import dataclass, field

import pytest

from ner_core.corpus import tokenizer
from ner_core.corpus.tags import Span, extract_spans, spans_to_tags
from ner_core.serving.predictor import LOW_CONFIDENCE, Predictor
from ner_core.workbench import annotation_pools, annotation_queue
from scripts import browser_harness
from scripts.browser_harness import enter_latency_ms, set_grid_tag, wait_for_annotation, wait_until_idle, watch_enter
from tests.test_browser import chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SENTENCE = "Hurricane Katrina hit New Orleans before Anna Berg flew to Oslo on Monday ."
# What the analyst means the sentence to hold; the scripted correction fixes the first three the model missed.
TARGET = [Span(0, 2, "nat"), Span(3, 5, "geo"), Span(6, 8, "per"), Span(10, 11, "geo"), Span(12, 13, "tim")]
FILLERS = [
    "Peter Olsen works in Lima for the Acme Group .",
    "Rain fell in Nairobi on Friday .",
    "The talks in Geneva ended in March .",
    "Officials in Kenya said the border would reopen .",
    "Anna Berg met Peter in Oslo .",
    "The United Nations sent aid to Haiti last week .",
    "Acme hired Bo Lind in 2004 .",
    "Norwegian reporters flew to Lima on Monday .",
]
HOSTILE = "Anna wrote <img src=x onerror=alert(1)> in Oslo on Monday ."
ENTER_TARGET_MS = 300


@dataclass
class Measured:
    span_actions: int = 0
    span_entities: int = 0
    span_seconds: float = 0.0
    enter_to_next_ms: list[float] = field(default_factory=list)
    enter_to_saved_ms: list[float] = field(default_factory=list)
    grid_actions: int = 0
    grid_cells: int = 0
    grid_seconds: float = 0.0
    grid_retries: int = 0  # clicks the test repeated because a rerun redrew the grid (not counted as actions)
    grid_retry_causes: list[str] = field(default_factory=list)  # where each repeated attempt stopped


def tokens_of(text: str) -> list[str]:
    return [token.text for token in tokenizer.tokenize(text)]


def correction_plan(predicted: list[Span]) -> list[Span]:
    """The first three target entities the model did not predict exactly (labelling replaces what they overlap)."""
    plan = [span for span in TARGET if span not in predicted][:3]
    assert len(plan) == 3, f"the model already predicts {predicted}; the scripted correction needs three misses"
    return plan


def apply_plan(predicted: list[Span], plan: list[Span]) -> list[Span]:
    """The editor's rule, in Python: a labelled selection removes every entity it overlaps."""
    spans = list(predicted)
    for span in plan:
        spans = [kept for kept in spans if kept.end <= span.start or span.end <= kept.start] + [span]
    return sorted(spans)


@pytest.fixture(scope="module")
def server(trained_run, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("annotate_server") / "streamlit.log"
    with browser_harness.StreamlitServer(env=os.environ.copy(), log_path=log_path) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = browser_harness.launch_chromium(playwright, executable)
        yield launched
        launched.close()


def open_queue(browser, server, *, analyst: str, params: dict) -> object:
    """A new session (as a reload is) on the annotate page's deep link; the analyst's name is asked once."""
    page = browser.new_page(viewport=browser_harness.VIEWPORT)
    page.goto(f"{server.url}/")  # the first visit runs app.py, so the page gets the app's navigation
    wait_until_idle(page)
    query = "&".join(f"{name}={value}" for name, value in params.items())
    page.goto(f"{server.url}/annotate?{query}")
    wait_until_idle(page)
    page.get_by_label("Your name").fill(analyst)
    page.get_by_role("button", name="Start annotating").click()
    wait_until_idle(page)
    return page


def shown_item(page) -> str:
    return page.locator(".se-root").get_attribute("data-item-id") or ""


def predicted_spans(page) -> list[Span]:
    marks = page.locator(".se-root").evaluate(
        """root => [...root.querySelectorAll('.se-entity')].map(mark => ({
               type: mark.dataset.type,
               tokens: [...mark.querySelectorAll('.se-token')].map(token => Number(token.dataset.index))}))"""
    )
    return sorted(Span(min(m["tokens"]), max(m["tokens"]) + 1, m["type"]) for m in marks)


def label_keys(page) -> dict[str, str]:
    buttons = page.locator(".se-legend button")
    return {buttons.nth(i).get_attribute("data-type"): buttons.nth(i).locator("kbd").inner_text() for i in range(buttons.count())}


def centre(page, index: int) -> tuple[float, float]:
    token = page.locator(f'.se-token[data-index="{index}"]')
    token.scroll_into_view_if_needed()  # scrolling, as a user would; never needed for the measured correction
    box = token.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def select(page, span: Span, predicted: list[Span]) -> None:
    """One gesture: a drag over the span's tokens, or a click on a single token outside any entity."""
    inside = any(p.start <= span.start < p.end and p.end - p.start > 1 for p in predicted)
    start, last = centre(page, span.start), centre(page, span.end - 1)
    if span.end - span.start == 1 and not inside:
        page.mouse.click(*start)
        return
    page.mouse.move(*start)
    page.mouse.down()
    if span.end - span.start == 1:  # a click would select the whole entity around it: out to a neighbour and back
        page.mouse.move(*centre(page, span.start + 1 if span.start + 1 < len(tokens_of(SENTENCE)) else span.start - 1), steps=3)
    page.mouse.move(*last, steps=4)
    page.mouse.up()


@pytest.fixture(scope="module")
def queued(store, server):
    """The sentences of the test: one batch to correct (twice: two analysts per sentence) and one hostile."""
    batch = annotation_pools.add_text_batch(store, [SENTENCE, *FILLERS], name="browser test")
    hostile_batch = annotation_pools.add_text_batch(store, [HOSTILE, FILLERS[0]], name="hostile")
    annotation_queue.set_analysts_per_sentence(store, 2, analyst="browser test")
    yield batch, hostile_batch
    annotation_queue.set_analysts_per_sentence(store, 1, analyst="browser test")


def test_three_entities_corrected_with_mouse_and_keys_then_the_same_in_the_token_table(
    browser, server, store, trained_run, queued, tmp_path
):
    batch, _ = queued
    measured = Measured()
    assert tokens_of(SENTENCE) == SENTENCE.split()
    params = {"run": trained_run.run_id, "pool": "uploaded", "order": "confidence", "batch": batch}
    item = annotation_pools.item_id(SENTENCE)

    # ---------------------------------------------------------------- the span editor
    page = open_queue(browser, server, analyst="Span Analyst", params={**params, "item": item})
    page.wait_for_selector(f'.se-root[data-item-id="{item}"]', timeout=60_000)
    predicted = predicted_spans(page)
    plan = correction_plan(predicted)
    keys = label_keys(page)
    expected = apply_plan(predicted, plan)
    started = time.perf_counter()
    for span in plan:
        select(page, span, predicted)
        page.keyboard.press(keys[span.type])
        measured.span_actions += 2
    assert predicted_spans(page) == expected  # the correction is on screen before it is accepted
    watch_enter(page)
    page.keyboard.press("Enter")
    measured.span_actions += 1
    measured.enter_to_next_ms.append(enter_latency_ms(page))
    measured.span_seconds = time.perf_counter() - started
    saved = wait_for_annotation(store, "Span Analyst", SENTENCE)
    measured.span_entities = len(set(expected) - set(predicted)) + len(
        [p for p in predicted if all(p.end <= s.start or s.end <= p.start for s in expected)]
    )
    assert saved.tokens == tokens_of(SENTENCE)
    assert saved.tags == spans_to_tags(expected, len(saved.tokens))
    assert extract_spans(saved.original_tags) == predicted
    assert (saved.source, saved.model_run_id) == ("upload", trained_run.run_id)
    assert shown_item(page) not in ("", item)
    assert page.locator('[data-testid="stException"]').count() == 0

    # More sentences accepted at an analyst's pace: Enter to the next sentence each time.
    for _ in range(4):
        wait_until_idle(page, quiet_s=0.5)
        before = len(store.list_annotations())
        text = page.locator(".se-sentence").inner_text()
        watch_enter(page)
        pressed = time.perf_counter()
        page.keyboard.press("Enter")
        measured.enter_to_next_ms.append(enter_latency_ms(page))
        deadline = time.monotonic() + 30
        while len(store.list_annotations()) == before:
            assert time.monotonic() < deadline, f"the accepted sentence {text!r} was not saved"
            time.sleep(0.005)
        measured.enter_to_saved_ms.append((time.perf_counter() - pressed) * 1000)
    page.close()

    # ---------------------------------------------------------------- the token table, same sentence, second analyst
    page = open_queue(browser, server, analyst="Grid Analyst", params={**params, "item": item})
    page.wait_for_selector(f'.se-root[data-item-id="{item}"]', timeout=60_000)
    assert predicted_spans(page) == predicted  # the same prediction, not the first analyst's correction
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Token table", exact=True).click()  # the grid's view, not counted
    wait_until_idle(page)
    final_tags = spans_to_tags(expected, len(saved.tokens))
    original = spans_to_tags(predicted, len(saved.tokens))
    changes = [(position, tag) for position, (tag, old) in enumerate(zip(final_tags, original)) if tag != old]
    grid = page.locator('[data-testid="stDataFrame"]').filter(has=page.locator("th", has_text="corrected tag")).first
    grid.evaluate("e => e.scrollIntoView({block: 'start'})")
    started = time.perf_counter()
    for position, tag in changes:  # a repeat a rerun forces is the test's, not the user's: counted apart
        measured.grid_retry_causes += set_grid_tag(page, grid, position, tag, screenshot=tmp_path / f"grid-{position}.png")
        measured.grid_actions += 3  # click the cell, Enter, click the tag
    measured.grid_retries = len(measured.grid_retry_causes)
    page.get_by_role("button", name="Save and next").click()
    measured.grid_actions += 1
    wait_until_idle(page, quiet_s=0.5)
    page.get_by_text(re.compile(r"Saved annotation #\d+")).wait_for(timeout=30_000)
    measured.grid_seconds = time.perf_counter() - started
    measured.grid_cells = len(changes)
    grid_saved = wait_for_annotation(store, "Grid Analyst", SENTENCE)
    assert grid_saved.tags == final_tags == saved.tags
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()

    # ---------------------------------------------------------------- targets
    per_entity = (measured.span_actions - 1) / measured.span_entities
    assert measured.span_entities == 3 and per_entity <= 2
    assert statistics.median(measured.enter_to_next_ms) <= ENTER_TARGET_MS, measured.enter_to_next_ms
    assert measured.grid_actions > measured.span_actions
    out = os.environ.get("NER_ANNOTATION_ACTIONS_JSON")
    if out:
        record = {
            **measured.__dict__,
            "span_actions_per_entity": per_entity,
            "grid_actions_per_entity": (measured.grid_actions - 1) / measured.span_entities,
        }
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def test_markup_in_a_sentence_shows_as_text_and_the_keys_work(browser, server, store, trained_run, queued):
    _, hostile_batch = queued
    item = annotation_pools.item_id(HOSTILE)
    params = {"run": trained_run.run_id, "pool": "uploaded", "order": "confidence", "batch": hostile_batch, "item": item}
    page = open_queue(browser, server, analyst="Hostile Checker", params=params)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.wait_for_selector(f'.se-root[data-item-id="{item}"]', timeout=60_000)
    shown = page.locator(".se-sentence").inner_text()
    assert "<" in shown and "img" in shown and "onerror" in shown  # the markup is text...
    assert page.locator(".se-root img").count() == 0 and page.locator("img[src=x]").count() == 0  # ...never an element
    assert dialogs == []

    tokens = tokens_of(HOSTILE)
    # Confidence is visible: every token has it in its tooltip, the ones under LOW_CONFIDENCE are marked.
    [(_, confidences)] = Predictor.load(trained_run.run_dir).tag_sentences([tokens])
    low = [index for index, value in enumerate(confidences) if value < LOW_CONFIDENCE]
    marked = page.locator(".se-token.se-low").evaluate_all("nodes => nodes.map(node => Number(node.dataset.index))")
    assert sorted(marked) == low
    title = page.locator('.se-token[data-index="0"]').get_attribute("title")
    assert title.startswith(f"confidence {confidences[0]:.2f}, margin ")
    predicted = predicted_spans(page)
    keys = label_keys(page)
    oslo, monday = tokens.index("Oslo"), tokens.index("Monday")
    page.get_by_text("Add text to annotate").click()  # the analyst was typing in a text box...
    area = page.get_by_label("Paste text (one sentence or paragraph per line)")
    area.click()
    area.type("notes")
    page.mouse.click(*centre(page, oslo))  # ...then clicks a token: the keys now go to the editor. Shift-click: Oslo on Monday
    page.keyboard.down("Shift")
    page.mouse.click(*centre(page, monday))
    page.keyboard.up("Shift")
    page.keyboard.press(keys["geo"])
    assert Span(oslo, monday + 1, "geo") in predicted_spans(page)
    assert area.input_value() == "notes"
    page.keyboard.press(keys["per"])  # another number key retypes the selected entity
    assert Span(oslo, monday + 1, "per") in predicted_spans(page)
    page.keyboard.press("Control+z")
    assert Span(oslo, monday + 1, "geo") in predicted_spans(page)
    page.keyboard.press("Control+z")
    assert predicted_spans(page) == predicted
    in_ = tokens.index("in")
    around = next((span for span in predicted if span.start <= in_ < span.end), Span(in_, in_ + 1, ""))
    page.mouse.click(*centre(page, in_))  # the token, or the entity around it; a click on the legend labels it
    page.locator('.se-legend button[data-type="org"]').click()
    assert Span(around.start, around.end, "org") in predicted_spans(page)
    page.keyboard.press("Control+z")
    assert predicted_spans(page) == predicted
    page.keyboard.press("?")
    assert page.locator(".se-help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator(".se-help").is_visible()
    page.mouse.click(*centre(page, 0))  # select "Anna" (or the entity holding it) and remove it
    page.keyboard.press("Backspace")
    remaining = [span for span in predicted if not span.start <= 0 < span.end]
    assert predicted_spans(page) == remaining
    page.keyboard.press("f")  # flag for review, with the edit as it stands
    deadline = time.monotonic() + 30
    while not [f for f in annotation_queue.flagged_decisions(store) if f.text == HOSTILE]:
        assert time.monotonic() < deadline, "the flag was not stored"
        time.sleep(0.02)
    [flag] = [f for f in annotation_queue.flagged_decisions(store) if f.text == HOSTILE]
    assert (flag.analyst, flag.tokens, flag.tags) == ("Hostile Checker", tokens, spans_to_tags(remaining, len(tokens)))
    assert shown_item(page) != item
    page.keyboard.press("s")  # skip the next one
    deadline = time.monotonic() + 30
    while not [d for d in annotation_queue.decisions_of(store, "Hostile Checker") if d.decision == "skipped"]:
        assert time.monotonic() < deadline, "the skip was not stored"
        time.sleep(0.02)
    assert dialogs == [] and page.locator('[data-testid="stException"]').count() == 0
    page.close()
