"""The annotation loop walked as analysts would on the real corpus, in a real browser, over a trained run.

Issue 13's acceptance, as one scripted sitting in Debian's chromium (Playwright, never
``playwright install``). Training a GMB model2 takes ten minutes and more here, so the
walk starts from an existing run: ``--database`` is a SQLite file holding the completed
run ``--run`` (for example ``bench/work/bench.db`` after ``bench/retrain_warm_start.py``);
both are copied into ``<out>/workspace`` (wiped first), the app is started over that copy
with ``NER_CORPUS_PATH=--corpus``, and:

  a. Rita, who leads the team, writes the dataset's annotation guidelines (Review and
     agreement, Guidelines tab).
  b. Alice opens Annotate, reads the guidelines beside the queue and the keyboard help
     (``?``), sets the queue to two analysts per sentence, and works through the validation
     split of the run's dataset, least confident first. For each sentence she makes the
     editor show the corpus' gold entities with mouse and keys only: a click and Backspace
     removes a wrong entity, a drag (or a click on one token) and a number key labels or
     retypes a span; Enter accepts. Once she presses a wrong key and undoes it with Ctrl+Z.
     A sentence the model already tags as the corpus does is skipped with S. She stops
     after ``--entities`` corrected entities, flags the next sentence with F, then opts into
     the test split (the page warns) and corrects one test sentence, which the comparison
     must leave out.
  c. Bob, in a second browser session, gets the same queue and annotates three of Alice's
     sentences differently (one entity typed otherwise in each); he skips the others.
  d. Gina, in that session, corrects two of Alice's other sentences in the token grid to
     the same tags: the two views compared on the same sentences and corrections.
  e. Rita opens Review and agreement: the Agreement tab (pairwise entity F1, kappa, per
     type), then the Disagreements tab, where she makes Alice's version final for each,
     and downloads the span JSONL export of the annotations retraining will use.
  f. Retrain and compare: a warm start from the run with the saved annotations (one version
     per sentence: the adjudicated ones for the three), then the parent-versus-child view:
     how many test sentences were left out, the gain with its paired bootstrap interval,
     the 23 metrics, per type, the corrected sentences, the child's lineage.
  g. Bulk tagging: about ``--megabytes`` MB of text (corpus test-split sentences, four to a
     line, one document per line) uploaded as a .txt file, tagged with the parent run as a
     background job, browsed, downloaded as JSONL; its least confident sentences are sent to
     the review queue, which the page's link opens on Annotate.

Screenshots go to ``<out>/NN-step.png``; ``<out>/report.md`` has the steps, their times, what
each analyst did (actions, seconds, Enter to the next sentence), and the checks made against the
database and the downloaded files.

    .venv/bin/python scripts/annotation_walk.py --database bench/work/bench.db \\
        [--run model2-20261206-141907-b2b8] [--corpus ../shared/datasets/gmb/ner_dataset.csv.zip]

``bench/work/bench.db`` and its GMB model2 run come from ``bench/bulk_tagging.py`` or
``bench/retrain_warm_start.py`` (either trains the run once, about ten minutes here, and reuses it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ner_core.corpus.tags import Span, extract_spans, spans_to_tags  # noqa: E402 - needs the path above
from ner_core.settings import Settings  # noqa: E402
from ner_core.store.database import Store  # noqa: E402
from ner_core.store.tables import RunStatus  # noqa: E402
from ner_core.training import lineage  # noqa: E402
from ner_core.workbench import run_labels, saved_annotations  # noqa: E402
from scripts import browser_harness  # noqa: E402
from scripts.walkthrough import (  # noqa: E402
    Check,
    StepRecord,
    Ui,
    WalkFailure,
    WorkspaceLayout,
    _duration,
    run_step,
    select_tokens,
    span_editor_entities,
    token_centre,
)

ALICE, BOB, GINA, RITA = "Alice", "Bob", "Gina", "Rita"
GRID_SENTENCES = 2  # Gina redoes this many of Alice's sentences in the token grid, to compare the two views
SECOND_ANALYST_SENTENCES = 3
# Bob's different reading of an entity: the type he gives what the corpus calls the key.
OTHER_TYPE = {"geo": "gpe", "gpe": "geo", "org": "geo", "per": "org", "tim": "eve", "art": "eve", "eve": "art", "nat": "eve"}


@dataclass(frozen=True)
class Options(WorkspaceLayout):
    database: Path
    run: str
    corpus: Path
    entities: int
    megabytes: float
    out: Path
    page_timeout: float
    train_timeout: float

    @property
    def settings(self) -> Settings:
        return Settings(self.corpus, self.workspace / "models", self.database_url, self.workspace / "uploads")


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", type=Path, required=True, help="SQLite file holding the completed run")
    parser.add_argument(
        "--run",
        default=None,
        help="id of a completed run in --database, its folder is copied (default: its newest model2 run trained from scratch)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(os.environ.get("NER_CORPUS_PATH") or ROOT.parent / "shared/datasets/gmb/ner_dataset.csv.zip"),
        help="the run's corpus (default: $NER_CORPUS_PATH, else ../shared/datasets/gmb/ner_dataset.csv.zip)",
    )
    parser.add_argument("--entities", type=int, default=10, help="entities Alice corrects (default 10)")
    parser.add_argument("--megabytes", type=float, default=1.0, help="size of the bulk-tagged text (default 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "test-output" / "annotation_walk")
    parser.add_argument("--page-timeout", type=float, default=300.0)
    parser.add_argument("--train-timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)
    for path in (args.database, args.corpus):
        if not path.is_file():
            parser.error(f"{path} is not a file")
    if not 1 <= args.entities <= 200:
        parser.error("--entities must be from 1 to 200")
    try:
        run = args.run or newest_model2_run(args.database)
    except sqlite3.DatabaseError as exc:  # not SQLite, or no runs table
        parser.error(f"{args.database} is not a workbench database: {exc}")
    if run is None:
        parser.error(f"{args.database} holds no completed model2 run; name one with --run")
    return Options(
        database=args.database.resolve(),
        run=run,
        corpus=args.corpus.resolve(),
        entities=args.entities,
        megabytes=args.megabytes,
        out=args.out.resolve(),
        page_timeout=args.page_timeout,
        train_timeout=args.train_timeout,
    )


def newest_model2_run(database: Path) -> str | None:
    """The newest completed model2 run trained from scratch, read without writing to the file."""
    with contextlib.closing(sqlite3.connect(f"file:{database.resolve()}?mode=ro", uri=True)) as connection:
        row = connection.execute(
            "SELECT id FROM runs WHERE model_name = 'model2' AND status = ? AND parent_run_id IS NULL "
            "ORDER BY created_at DESC LIMIT 1",
            (RunStatus.COMPLETED.value,),
        ).fetchone()
    return row[0] if row else None


@dataclass
class Annotated:
    """One accepted sentence: who, which annotation row, what was done with how many user actions."""

    analyst: str
    annotation_id: int
    text: str
    tags: list[str]
    corrected_entities: int
    actions: int  # select + key per entity, Enter; a slip and its undo are counted in ``slip_actions`` only
    seconds: float
    summary: str
    slip_actions: int = 0
    enter_to_next_ms: float | None = None  # in the page: Enter's keydown to the next sentence's first paint
    enter_to_stored_ms: float | None = None  # Enter to the row found in the database


@dataclass
class Evidence:
    alice: list[Annotated] = field(default_factory=list)
    alice_test: list[Annotated] = field(default_factory=list)
    flagged_text: str = ""
    export: dict = field(default_factory=dict)
    review_queue: str = ""
    bob: list[Annotated] = field(default_factory=list)
    grid: list[Annotated] = field(default_factory=list)
    grid_retries: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    agreement_rows: list[dict] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    retrain_button: str = ""
    child_run_id: str = ""
    retrain_seconds: float = 0.0
    comparison: dict = field(default_factory=dict)
    bulk: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- workspace and server


def prepare_workspace(options: Options) -> None:
    """A fresh copy of the database and the run's folder; nothing else of an earlier walk is kept."""
    options.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(options.workspace, ignore_errors=True)
    (options.workspace / "models").mkdir(parents=True)
    for old in [*options.out.glob("[0-9][0-9]-*.png"), options.out / "report.md", options.out / "bulk.jsonl"]:
        old.unlink(missing_ok=True)
    shutil.copyfile(options.database, options.workspace / "workbench.db")
    store = Store(options.database_url)
    run = store.get_run(options.run)
    if run is None or run.status != RunStatus.COMPLETED or not run.run_dir:
        raise WalkFailure(f"{options.run} is not a completed run of {options.database}")
    if store.list_annotations():
        raise WalkFailure(f"{options.database} already holds annotations; the walk starts from none")
    target = options.workspace / "models" / options.run
    shutil.copytree(run.run_dir, target)
    store.update_run(options.run, run_dir=str(target), dataset_path=str(options.corpus))
    store.engine.dispose()


class Server(browser_harness.StreamlitServer):
    def __init__(self, options: Options):
        settings = options.settings
        env = os.environ.copy()
        env.update(
            NER_CORPUS_PATH=str(settings.corpus_path),
            NER_MODELS_DIR=str(settings.models_dir),
            NER_DATABASE_URL=settings.database_url,
            NER_UPLOADS_DIR=str(settings.uploads_dir),
        )
        super().__init__(env=env, log_path=options.out / "streamlit.log", start_timeout_s=options.page_timeout)


def run_label(options: Options, run_id: str) -> str:
    """What the app's run pickers show for ``run_id``, from the function the pages use."""
    store = Store(options.database_url)
    try:
        return run_labels.run_label(store.get_run(run_id), run_labels.dataset_names(store, options.settings))
    finally:
        store.engine.dispose()


# --------------------------------------------------------------------------- annotating


def start_annotating(ui: Ui, options: Options, analyst: str) -> None:
    ui.start_at("annotate")
    ui.fill("Your name", analyst, commit="Tab")
    ui.click("Start annotating")
    ui.wait_idle()
    ui.choose("Model", run_label(options, options.run))
    if "Validation split" not in ui.page.get_by_role("combobox", name="Pool", exact=True).input_value():
        raise WalkFailure("the Annotate page did not offer the validation split as its pool")
    ui.wait_for("the span editor", lambda: ui.page.locator(".se-root").get_attribute("data-item-id"))


def legend_keys(ui: Ui) -> dict[str, str]:
    """Entity type -> its number key, from the editor's legend."""
    return {
        button.get_attribute("data-type"): button.locator("kbd").inner_text()
        for button in ui.page.locator(".se-legend button").all()
        if button.locator("kbd").count()
    }


def correct_to(ui: Ui, target: list[Span], keys: dict[str, str], *, slip: bool = False) -> tuple[int, int, int, list[str]]:
    """Make the editor show exactly ``target`` with mouse and keys.

    Returns (entities corrected, user actions, slip actions, what was done). ``slip``: the first span
    is first labelled with a wrong key, which Ctrl+Z must undo, before it is labelled right.
    """
    predicted = span_editor_entities(ui)
    tokens = ui.page.locator(".se-sentence .se-token").all_inner_texts()
    deletions = [p for p in predicted if all(p.end <= g.start or g.end <= p.start for g in target)]
    labels = [g for g in target if g not in predicted]
    done, slip_actions = [], 0
    for span in deletions:
        ui.page.mouse.click(*token_centre(ui, span.start))
        ui.page.keyboard.press("Backspace")
        done.append(f"removed {' '.join(tokens[span.start : span.end])}/{span.type}")
    for number, span in enumerate(labels):
        words = " ".join(tokens[span.start : span.end])
        if slip and number == 0:
            before = span_editor_entities(ui)
            select_tokens(ui, span, before)
            wrong = next(kind for kind in keys if kind != span.type)
            ui.page.keyboard.press(keys[wrong])
            if Span(span.start, span.end, wrong) not in span_editor_entities(ui):
                raise WalkFailure(f"the wrong key {keys[wrong]} did not label {words!r} {wrong}")
            ui.page.keyboard.press("Control+z")
            if span_editor_entities(ui) != before:
                raise WalkFailure(f"Ctrl+Z did not undo the {wrong} label on {words!r}")
            slip_actions += 3
            done.append(f"pressed {keys[wrong]} ({wrong}) on {words} by mistake, undid it with Ctrl+Z")
        select_tokens(ui, span, span_editor_entities(ui))
        ui.page.keyboard.press(keys[span.type])
        done.append(f"labelled {words}/{span.type}")
    shown = span_editor_entities(ui)
    if shown != sorted(target):
        raise WalkFailure(f"the editor shows {shown} after the edits, not {sorted(target)}")
    corrected = len(deletions) + len(labels)
    return corrected, 2 * corrected, slip_actions, done


def annotate(
    ui: Ui, options: Options, evidence: Evidence, analyst: str, want, enough, *, shots: str = "", slip: bool = False
) -> list[Annotated]:
    """Work the queue: ``want(text)`` gives the spans to leave on the sentence, or None to skip it (S);
    Enter accepts, and the row must reach the database. Stops when ``enough(saved)`` is true."""
    root = ui.page.locator(".se-root")
    keys = legend_keys(ui)
    store = Store(options.database_url)
    saved: list[Annotated] = []
    skipped = 0
    while not enough(saved):
        item = root.get_attribute("data-item-id")
        tokens = ui.page.locator(".se-sentence .se-token").all_inner_texts()
        text = " ".join(tokens)
        target = want(text)
        if target is None or sorted(target) == span_editor_entities(ui):
            ui.page.keyboard.press("s")
            skipped += 1
            if skipped > 400:
                raise WalkFailure(f"{analyst} skipped 400 sentences without finding enough to annotate")
        else:
            started = time.perf_counter()
            slip_here = slip and not any(a.slip_actions for a in saved) and any(g not in span_editor_entities(ui) for g in target)
            corrected, actions, slip_actions, done = correct_to(ui, target, keys, slip=slip_here)
            if len(saved) < 2:  # the first two sentences as edited, before Enter (the screenshot's time not counted)
                paused = time.perf_counter()
                ui.shot(f"{shots or analyst.lower()}-edited-{len(saved) + 1}")
                started += time.perf_counter() - paused
            browser_harness.watch_enter(ui.page)
            pressed = time.perf_counter()
            ui.page.keyboard.press("Enter")
            row = browser_harness.wait_for_annotation(store, analyst, text)
            stored_ms = (time.perf_counter() - pressed) * 1000
            seconds = time.perf_counter() - started
            saved.append(
                Annotated(
                    analyst,
                    row.id,
                    text,
                    list(row.tags),
                    corrected,
                    actions + 1,
                    seconds,
                    "; ".join(done),
                    slip_actions,
                    enter_to_next_ms=browser_harness.enter_latency_ms(ui.page),
                    enter_to_stored_ms=stored_ms,
                )
            )
            ui.note(
                f"{analyst} #{row.id}: {text[:90]!r}: {'; '.join(done)} ({actions + 1} actions"
                + (f", plus {slip_actions} for the slip" if slip_actions else "")
                + ")"
            )
        ui.wait_for("the next sentence", lambda item=item: root.get_attribute("data-item-id") != item, interval=0.1)
    evidence.skipped[analyst] = evidence.skipped.get(analyst, 0) + skipped
    store.engine.dispose()
    ui.wait_idle()
    return saved


GUIDELINES = """# GMB entity types

- **geo**: places: countries, cities, regions, rivers (*Iraq*, *Baghdad*, *Cape of Good Hope*)
- **gpe**: adjectives and peoples of places (*Iraqi*, *British*, *Dutch*)
- **org**: organisations, parties, companies, events' organisers (*U.N.*, *Nickelodeon*)
- **per**: persons, titles included when capitalised (*President Bush*)
- **tim**: dates, days, years, times (*Thursday*, *1949*)
- **eve**, **art**, **nat**: named events, works and products, natural phenomena

Follow the corpus where it is consistent; flag a sentence (F) you cannot decide.
"""


def step_guidelines(ui: Ui, options: Options, evidence: Evidence) -> None:
    """Rita writes the dataset's annotation guidelines before anyone annotates."""
    ui.start_at("review")
    ui.fill("Your name (analyst or reviewer)", RITA)
    ui.tab("Guidelines")
    box = ui.page.get_by_label("Guidelines (Markdown)", exact=True)
    box.fill(GUIDELINES)
    box.press("Tab")
    ui.wait_idle()
    ui.click("Save guidelines")
    ui.wait_idle()
    notice = ui.wait_for("the saved guidelines", lambda: ui.alert_match(r"Saved the guidelines of .+"))
    ui.note(notice.group(0))
    ui.shot("guidelines-written")


def step_alice(ui: Ui, options: Options, evidence: Evidence, gold: dict[str, list[str]]) -> None:
    start_annotating(ui, options, ALICE)
    ui.page.get_by_text("Annotation guidelines", exact=True).click()
    ui.wait_for("the guidelines beside the queue", lambda: ui.page.get_by_text("GMB entity types", exact=True).count())
    ui.note("the guidelines show beside the queue")
    ui.page.get_by_text(re.compile(r"^Queue settings")).click()
    ui.fill("Analysts per sentence", "2", commit="Tab")
    ui.click("Save setting")
    ui.wait_for("the saved queue setting", lambda: ui.page.get_by_text("Queue settings: 2 analysts per sentence").count())
    ui.wait_idle()
    ui.shot("alice-queue")
    # The keyboard help: ? opens it over the editor, Escape closes it.
    help_overlay = ui.page.locator(".se-help")
    ui.page.locator(".se-position").click()  # the page, not a widget, has the keyboard
    ui.page.keyboard.press("?")
    ui.wait_for("the keyboard help", help_overlay.is_visible, interval=0.1)
    ui.shot("alice-keys-help")
    ui.page.keyboard.press("Escape")
    ui.wait_for("the keyboard help to close", lambda: not help_overlay.is_visible(), interval=0.1)
    ui.note("? shows the keyboard help, Escape closes it")
    evidence.alice = annotate(
        ui,
        options,
        evidence,
        ALICE,
        want=lambda text: extract_spans(gold[text]) if text in gold else None,
        enough=lambda saved: sum(a.corrected_entities for a in saved) >= options.entities,
        slip=True,
    )
    # A sentence she cannot decide: F flags it for review and the queue moves on.
    root = ui.page.locator(".se-root")
    item = root.get_attribute("data-item-id")
    evidence.flagged_text = " ".join(ui.page.locator(".se-sentence .se-token").all_inner_texts())
    ui.page.keyboard.press("f")
    ui.wait_for("the next sentence", lambda: root.get_attribute("data-item-id") != item, interval=0.1)
    ui.note(f"flagged with F: {evidence.flagged_text[:90]!r}")
    ui.wait_idle()
    ui.shot("alice-next")
    # One sentence of the test split, opted into with its warning: the comparison must leave it out.
    ui.page.get_by_text("Offer the test split", exact=True).click()
    ui.wait_idle()
    ui.choose("Pool", "Test split")
    warning = ui.wait_for("the test-split warning", lambda: next(iter(ui.alerts("Warning")), None))
    ui.note(f"test split offered; the page warns: {warning}")
    ui.wait_for("the span editor", lambda: ui.page.locator(".se-root").get_attribute("data-item-id"))
    evidence.alice_test = annotate(
        ui,
        options,
        evidence,
        ALICE,
        want=lambda text: extract_spans(gold[text]) if text in gold else None,
        enough=lambda saved: len(saved) >= 1,
        shots="alice-test-split",
    )


def bob_reading(gold_spans: list[Span]) -> list[Span] | None:
    """Bob agrees with the corpus except that he types its first entity otherwise."""
    if not gold_spans:
        return None
    first = gold_spans[0]
    return [Span(first.start, first.end, OTHER_TYPE.get(first.type, "org")), *gold_spans[1:]]


def step_bob(ui: Ui, options: Options, evidence: Evidence, gold: dict[str, list[str]]) -> None:
    start_annotating(ui, options, BOB)
    alice_texts = {a.text for a in evidence.alice if extract_spans(gold[a.text])}
    if len(alice_texts) < SECOND_ANALYST_SENTENCES:
        raise WalkFailure(f"Alice annotated only {len(alice_texts)} sentences holding entities")
    evidence.bob = annotate(
        ui,
        options,
        evidence,
        BOB,
        want=lambda text: bob_reading(extract_spans(gold[text])) if text in alice_texts else None,
        enough=lambda saved: len(saved) >= SECOND_ANALYST_SENTENCES,
    )


def step_grid(ui: Ui, options: Options, evidence: Evidence, gold: dict[str, list[str]]) -> None:
    """Gina corrects two of Alice's sentences (ones Bob did not do) in the token grid, to the same gold tags:
    the two views compared on the same real sentences. Opening the grid (T) and going back are not counted."""
    start_annotating(ui, options, GINA)
    bob_texts = {b.text for b in evidence.bob}
    wanted = [a for a in evidence.alice if a.text not in bob_texts][:GRID_SENTENCES]
    root = ui.page.locator(".se-root")
    store = Store(options.database_url)
    skipped = 0
    while len(evidence.grid) < len(wanted):
        item = root.get_attribute("data-item-id")
        text = " ".join(ui.page.locator(".se-sentence .se-token").all_inner_texts())
        if text not in {a.text for a in wanted}:
            ui.page.keyboard.press("s")
            skipped += 1
            if skipped > 50:
                raise WalkFailure("Gina did not meet Alice's sentences in her queue")
            ui.wait_for("the next sentence", lambda item=item: root.get_attribute("data-item-id") != item, interval=0.1)
            continue
        shown = spans_to_tags(span_editor_entities(ui), len(gold[text]))  # what the grid opens with
        ui.page.keyboard.press("t")
        grid = ui.page.locator('[data-testid="stDataFrame"]').filter(has=ui.page.locator("th", has_text="corrected tag")).first
        ui.wait_for("the token grid", grid.count)
        ui.wait_idle(quiet_s=0.5)
        grid.evaluate("e => e.scrollIntoView({block: 'start'})")
        changes = [(position, tag) for position, (tag, old) in enumerate(zip(gold[text], shown, strict=True)) if tag != old]
        started = time.perf_counter()
        for position, tag in changes:
            try:
                evidence.grid_retries += len(browser_harness.set_grid_tag(ui.page, grid, position, tag))
            except browser_harness.HarnessError as exc:
                raise WalkFailure(str(exc)) from exc
        if len(evidence.grid) == 0:
            paused = time.perf_counter()
            ui.shot("gina-grid-edited")
            started += time.perf_counter() - paused
        ui.click("Save and next")
        rows = ui.wait_for(
            "the saved sentence in the database",
            lambda text=text: [a for a in store.list_annotations() if a.analyst == GINA and a.text == text],
            interval=0.1,
        )
        seconds = time.perf_counter() - started
        row = rows[-1]
        span_version = next(a for a in wanted if a.text == text)
        summary = ", ".join(f"{position + 1}:{tag}" for position, tag in changes)
        evidence.grid.append(
            Annotated(GINA, row.id, text, list(row.tags), span_version.corrected_entities, 3 * len(changes) + 1, seconds, summary)
        )
        ui.note(f"Gina #{row.id}: {text[:90]!r}: {len(changes)} tags changed in the grid ({3 * len(changes) + 1} actions)")
        ui.wait_idle(quiet_s=0.5)
        ui.click("Back to the span editor")
        ui.wait_for("the span editor", lambda: root.count() and root.get_attribute("data-item-id"))
        ui.wait_idle(quiet_s=0.5)
    evidence.skipped[GINA] = skipped
    store.engine.dispose()


# --------------------------------------------------------------------------- review, retrain, bulk


def step_review(ui: Ui, options: Options, evidence: Evidence) -> None:
    ui.start_at("review")
    ui.fill("Your name (analyst or reviewer)", RITA)
    ui.tab("Agreement")
    evidence.agreement_rows = ui.grid("analyst A", "analyst B")
    for row in evidence.agreement_rows:
        ui.note("agreement: " + ", ".join(f"{k} {_rounded(v)}" for k, v in row.items()))
    ui.shot("review-agreement")
    ui.tab("Disagreements")
    alice_ids = {a.text: a.annotation_id for a in evidence.alice}
    first = True
    while not ui.page.get_by_text("Every disagreement is resolved.").count():
        picker = ui.page.get_by_role("combobox", name=re.compile(r"^Sentence \(\d+\)$"))
        ui.wait_for("a disagreement", picker.count)
        shown = next((i for i in alice_ids.values() if ui.page.locator(f".st-key-review_pick_{i} button").count()), None)
        if shown is None:
            raise WalkFailure("a disagreement without Alice's version")
        if first:
            ui.shot("review-disagreement")
            first = False
        ui.page.locator(f".st-key-review_pick_{shown} button").click()
        ui.wait_idle()
        notice = ui.wait_for("the decision", lambda: ui.alert_match(r"The version of Alice is now final\."))
        evidence.decisions.append(f"annotation #{shown}: {notice.group(0)}")
        ui.note(evidence.decisions[-1])
        if len(evidence.decisions) > SECOND_ANALYST_SENTENCES:
            raise WalkFailure("more disagreements than Bob made")
    ui.page.get_by_role("radiogroup").get_by_text("Resolved", exact=True).click()
    ui.wait_idle()
    ui.shot("review-resolved")
    # The annotations retraining will use, exported as span JSONL (what spaCy and Prodigy read).
    ui.tab("Saved annotations")
    ui.page.get_by_role("radiogroup", name="Export format").get_by_text("JSONL", exact=True).click()
    ui.wait_idle()
    download = ui.page.get_by_role("button", name=re.compile(r"^Download \d+ annotations \(JSONL\)$"))
    with ui.page.expect_download() as info:
        download.click()
    target = options.out / "annotations.jsonl"
    info.value.save_as(target)
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line.strip()]
    evidence.export = {"button": download.inner_text().strip(), "lines": lines, "file": target.name}
    ui.note(f"{evidence.export['button']}: {len(lines)} lines, {sum(len(line['spans']) for line in lines)} spans")
    ui.shot("review-export")


def _rounded(value: str) -> str:
    """A grid cell as the page formats it: the accessible table holds the raw float."""
    return f"{float(value):.3f}" if re.fullmatch(r"-?\d+\.\d{4,}", value) else value


def step_retrain(ui: Ui, options: Options, evidence: Evidence) -> None:
    ui.start_at("retrain")
    ui.choose("Parent model", run_label(options, options.run))
    if ui.alerts("Warning"):
        raise WalkFailure("the Retrain page still warns: " + " | ".join(ui.alerts("Warning")))
    button = ui.page.get_by_role("button", name=re.compile(r"^Warm start \(fast\): retrain with \d+ annotation"))
    evidence.retrain_button = button.inner_text().strip()
    ui.note(f"button: {evidence.retrain_button}")
    ui.shot("retrain-setup")
    button.click()
    started = time.time()
    ui.live = True
    progress = ui.page.get_by_text(re.compile(r"Retraining run \S+: (queued|running)"))
    ready = ui.wait_for(
        "the retrained run",
        lambda: ui.alert_match(r"Retrained run (\S+) is ready"),
        timeout=options.train_timeout,
        interval=5,
    )
    evidence.retrain_seconds = time.time() - started
    if progress.count():
        ui.note("progress: " + progress.first.inner_text())
    evidence.child_run_id = ready.group(1)
    ui.note(f"child run {evidence.child_run_id} ready {evidence.retrain_seconds:.0f} s after the click")
    ui.live = False
    ui.tab("Parent vs child")
    ui.choose("Retrained run", run_label(options, evidence.child_run_id))
    left_out = ui.wait_for("the left-out count", lambda: next((t for t in ui.alerts("Info") if "left out" in t), None))
    gain = ui.page.get_by_text(re.compile(r"Entity F1 gain")).first.inner_text()
    metrics = ui.grid("metric")
    evidence.comparison = {"left_out": left_out, "gain": gain, "metric_rows": len(metrics), "metrics": metrics}
    ui.note(left_out)
    ui.note(gain)
    for row in metrics:
        if row["metric"].lower().startswith(("entity f1", "entity precision", "entity recall", "latency", "throughput")):
            ui.note("parent vs child: " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "definition"))
    ui.shot("retrain-parent-vs-child")
    ui.tab("Per type")
    ui.shot("retrain-per-type")
    ui.tab("Corrected sentences")
    ui.shot("retrain-corrected-sentences")
    ui.tab("Lineage")
    ui.choose("Run", run_label(options, evidence.child_run_id))
    ui.shot("retrain-lineage")


def bulk_text(options: Options) -> str:
    """About ``--megabytes`` MB of the corpus' test-split sentences, four to a line (the bench's document shape)."""
    from bench.bulk_tagging import build_text
    from ner_core.evaluation import held_out

    return build_text(held_out.test_split_for_run(options.workspace / "models" / options.run), options.megabytes, 4)


def step_bulk(ui: Ui, options: Options, evidence: Evidence) -> None:
    text = bulk_text(options)
    path = options.out / "documents.txt"
    path.write_text(text, encoding="utf-8")
    documents = text.count("\n")
    ui.start_at("bulk_tagging")
    ui.choose("Model", run_label(options, options.run))
    ui.page.locator('[data-testid="stFileUploaderDropzone"] input[type=file]').set_input_files(str(path))
    ui.wait_idle()
    ui.click("Tag the document set")
    started = time.time()
    ui.live = True
    download = ui.page.get_by_role("button", name="Download JSONL")
    ui.wait_for("the finished result", lambda: download.count(), timeout=options.train_timeout, interval=1)
    seconds = time.time() - started
    ui.live = False
    ui.wait_idle()
    ui.shot("bulk-result")
    with ui.page.expect_download() as info:
        download.click()
    target = options.out / "bulk.jsonl"
    info.value.save_as(target)
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line.strip()]
    evidence.bulk = {
        "bytes": len(text.encode("utf-8")),
        "documents": documents,
        "seconds_to_result": seconds,
        "downloaded": len(lines),
        "tokens": sum(len(line.get("tokens", [])) for line in lines),
        "spans": sum(len(line.get("spans", [])) for line in lines),
        "first": lines[0] if lines else None,
        "file": target.name,
    }
    ui.note(
        f"{evidence.bulk['bytes']:,} bytes, {documents:,} documents: result shown {seconds:.0f} s after the click; "
        f"JSONL {len(lines):,} lines, {evidence.bulk['tokens']:,} tokens, {evidence.bulk['spans']:,} spans"
    )
    # The least confident sentences go to the review queue, and the link there opens Annotate on them.
    ui.click("Send to the review queue")
    ui.wait_idle()
    sent = ui.wait_for("the sentences sent", lambda: ui.alert_match(r"Sent (\d+) sentences to the review queue"))
    evidence.bulk["sent"] = int(sent.group(1))
    ui.note(sent.group(0))
    ui.shot("bulk-sent-to-review")
    ui.page.get_by_role("link", name=re.compile("Open the review queue")).click()
    ui.wait_for("the Annotate page", lambda: ui.page.get_by_role("heading", name="Annotate").count())
    ui.wait_idle()
    if ui.page.get_by_label("Your name", exact=True).count():
        ui.fill("Your name", ALICE, commit="Tab")
        ui.click("Start annotating")
        ui.wait_idle()
    ui.choose("Pool", "Texts sent for review")
    caption = ui.wait_for(
        "the review queue's size", lambda: ui.page.get_by_text(re.compile(r"sentences of this pool are left")).first.inner_text()
    )
    evidence.review_queue = caption
    ui.note(f"Annotate, pool 'Texts sent for review': {caption}")
    ui.shot("review-queue-from-bulk")


# --------------------------------------------------------------------------- checks and report


def offsets_agree(line: dict) -> bool:
    """A span-JSONL line whose tokens sit on its text and whose spans run from their first token's start to their
    last token's end (spaCy and Prodigy read the characters, the workbench the tokens: both must say the same)."""
    text, tokens = line["text"], line["tokens"]
    return all(text[t["start"] : t["end"]] == t["text"] for t in tokens) and all(
        span["start"] == tokens[span["token_start"]]["start"] and span["end"] == tokens[span["token_end"]]["end"]
        for span in line["spans"]
    )


def verify(options: Options, evidence: Evidence, gold: dict[str, list[str]]) -> list[Check]:
    """What the database and the downloaded file hold after the walk."""
    from ner_core.workbench import adjudication, annotation_queue, review_requests

    store = Store(options.database_url)
    checks: list[Check] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append(Check(name, bool(ok), detail))

    rows = {a.id: a for a in store.list_annotations()}
    alice = [rows.get(a.annotation_id) for a in evidence.alice]
    corrected = sum(a.corrected_entities for a in evidence.alice)
    check(
        f"Alice corrected at least {options.entities} entities; each saved sentence carries the corpus' tags",
        corrected >= options.entities
        and all(
            row is not None
            and row.analyst == ALICE
            and row.tags == gold[row.text]
            and row.original_tags != row.tags
            and row.model_run_id == options.run
            for row in alice
        ),
        f"{corrected} entities in {len(alice)} sentences (ids {[a.annotation_id for a in evidence.alice]}), "
        f"{evidence.skipped.get(ALICE, 0)} sentences skipped as already right",
    )
    alice_tags = {a.text: a.tags for a in evidence.alice}
    bob = [rows.get(b.annotation_id) for b in evidence.bob]
    check(
        f"Bob annotated {SECOND_ANALYST_SENTENCES} of Alice's sentences differently",
        len(bob) == SECOND_ANALYST_SENTENCES
        and all(row is not None and row.analyst == BOB and row.tags != alice_tags.get(row.text) for row in bob),
        "; ".join(f"#{row.id} {row.text[:50]!r}" for row in bob if row is not None),
    )
    check(
        "queue setting: two analysts per sentence",
        annotation_queue.analysts_per_sentence(store) == 2,
        f"{annotation_queue.analysts_per_sentence(store)}",
    )
    finals = adjudication.final_versions(store)
    bob_texts = {b.text for b in evidence.bob}
    check(
        "each disagreement has a final version, Alice's",
        set(finals) == bob_texts and all(finals[text].tags == alice_tags[text] for text in bob_texts),
        f"{len(finals)} final versions: " + "; ".join(f"{text[:40]!r} -> #{finals[text].id}" for text in finals),
    )
    used = saved_annotations.training_annotations(store)
    runs = {run.id: run for run in store.list_runs()}
    child = runs.get(evidence.child_run_id)
    recorded = lineage.read_lineage(child.run_dir) if child is not None and child.run_dir else None
    check(
        "the child is a completed warm start of the run and recorded exactly the annotations retraining uses",
        child is not None
        and child.status == RunStatus.COMPLETED
        and child.parent_run_id == options.run
        and child.config.get("warm_start_from")
        and recorded is not None
        and list(recorded.ids) == [a.id for a in used]
        and {a.text for a in used} == set(alice_tags) | {a.text for a in evidence.alice_test}
        and f"with {len(used)} annotation" in evidence.retrain_button,
        f"{evidence.child_run_id}: {child.status if child else '-'}, warm start from "
        f"{child.config.get('warm_start_from') if child else '-'}; annotations.json ids "
        f"{list(recorded.ids) if recorded else None}, checksum {recorded.checksum[:16] if recorded else None}; "
        f"retraining uses {[a.id for a in used]}",
    )
    left_out = re.search(r"([\d,]+) match an annotation", evidence.comparison.get("left_out", ""))
    copies = None
    if recorded is not None:  # counted here without the app's matcher: test sentences with an annotation's exact tokens
        from ner_core.evaluation import held_out

        used_tokens = {item.tokens for item in recorded.annotations}
        copies = sum(tuple(s.words) in used_tokens for s in held_out.test_split_for_run(child.run_dir))
    check(
        "the test sentence Alice annotated (and every copy of it) is left out of the comparison",
        evidence.alice_test
        and left_out is not None
        and copies is not None
        and int(left_out.group(1).replace(",", "")) >= copies >= len(evidence.alice_test),
        f"page: {left_out.group(0) if left_out else 'no count'}; test sentences with the exact tokens of an "
        f"annotation the child used: {copies}",
    )
    check(
        "parent vs child: left-out count, interval, 23 metrics",
        "left out" in evidence.comparison.get("left_out", "")
        and re.search(r"interval \[[-+]\d\.\d{4}, [-+]\d\.\d{4}\]", evidence.comparison.get("gain", ""))
        and evidence.comparison.get("metric_rows") == 23,
        f"{evidence.comparison.get('metric_rows')} metric rows; {evidence.comparison.get('left_out')}",
    )
    grid_rows = [rows.get(g.annotation_id) for g in evidence.grid]
    check(
        f"Gina saved {GRID_SENTENCES} of Alice's sentences from the token grid with the same tags",
        len(grid_rows) == GRID_SENTENCES
        and all(row is not None and row.analyst == GINA and row.tags == alice_tags.get(row.text) for row in grid_rows),
        "; ".join(f"#{row.id} {row.text[:50]!r}" for row in grid_rows if row is not None),
    )
    flagged = [d for d in annotation_queue.flagged_decisions(store) if d.analyst == ALICE]
    check(
        "the sentence Alice flagged waits in the flagged pool",
        evidence.flagged_text and any(d.text == evidence.flagged_text for d in flagged),
        f"{len(flagged)} flag(s) by Alice: {evidence.flagged_text[:60]!r}",
    )
    slips = [a for a in evidence.alice if a.slip_actions]
    check(
        "a wrong label was undone with Ctrl+Z and the sentence still saved as the corpus tags it",
        len(slips) == 1
        and rows.get(slips[0].annotation_id) is not None
        and rows[slips[0].annotation_id].tags == gold[slips[0].text],
        slips[0].summary if slips else "no slip made",
    )
    exported = evidence.export.get("lines", [])
    check(
        "the span JSONL export holds one line per annotation retraining uses, with character offsets on the text",
        len(exported) == len(used)
        and [line["text"] for line in exported] == [a.text for a in used]
        and all(map(offsets_agree, exported)),
        f"{evidence.export.get('button', 'no export')}; {len(exported)} lines, retraining uses {len(used)}",
    )
    pending = review_requests.pending_review_requests(store)
    queue_size = re.match(r"([\d,]+) of ([\d,]+) sentences", evidence.review_queue or "")
    check(
        "the bulk result's least confident sentences wait in the review queue, and Annotate offers them",
        evidence.bulk.get("sent")
        and len(pending) == evidence.bulk["sent"]
        and queue_size is not None
        and int(queue_size.group(2).replace(",", "")) == evidence.bulk["sent"],
        f"sent {evidence.bulk.get('sent')}; pending review requests {len(pending)}; Annotate: {evidence.review_queue!r}",
    )
    bulk = evidence.bulk
    lines = []
    target = options.out / "bulk.jsonl"
    if target.exists():
        lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line.strip()]
    offsets_ok = all(map(offsets_agree, lines))
    check(
        "bulk tagging: one JSONL line per document, spans on the text",
        bulk
        and bulk["bytes"] >= options.megabytes * 1_000_000
        and len(lines) == bulk["documents"]
        and all({"text", "tokens", "spans"} <= set(line) for line in lines)
        and offsets_ok,
        f"{bulk.get('bytes', 0):,} bytes, {bulk.get('documents', 0):,} documents, {len(lines):,} lines downloaded",
    )
    store.engine.dispose()
    return checks


def cell(text: str) -> str:
    return text.replace("|", "/")


def summary_tables(evidence: Evidence) -> list[str]:
    """Each analyst's sentences; the span editor against the token grid on the same sentences; Enter's timings."""
    lines: list[str] = []
    for who, done in ((ALICE, evidence.alice + evidence.alice_test), (BOB, evidence.bob), (GINA, evidence.grid)):
        if not done:
            continue
        entities = sum(a.corrected_entities for a in done)
        actions = sum(a.actions for a in done)
        slips = sum(a.slip_actions for a in done)
        lines += [
            "",
            f"## {who} ({'token grid' if who == GINA else 'span editor'}): {len(done)} sentences, {entities} entities "
            f"corrected, {actions} user actions ({(actions - len(done)) / max(entities, 1):.2f} per entity plus one "
            f"accept per sentence; {actions / max(entities, 1):.2f} with the accepts"
            + (f"; {slips} more for a slip undone" if slips else "")
            + f"); {evidence.skipped.get(who, 0)} skipped",
            "",
            "| annotation | sentence | what was done | actions | seconds (first action to row stored) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| #{a.annotation_id} | {cell(a.text[:70])} | {cell(a.summary)} | {a.actions} | {a.seconds:.2f} |" for a in done
        ]
    by_text = {a.text: a for a in evidence.alice}
    pairs = [(by_text[g.text], g) for g in evidence.grid if g.text in by_text]
    if pairs:
        span_actions = sum(a.actions for a, _ in pairs)
        grid_actions = sum(g.actions for _, g in pairs)
        entities = sum(a.corrected_entities for a, _ in pairs)
        lines += [
            "",
            "## Span editor against token grid, same sentences, same corrections",
            "",
            "| sentence | entities | span editor actions | span editor s | token grid actions | token grid s |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {cell(a.text[:60])} | {a.corrected_entities} | {a.actions} | {a.seconds:.2f} | {g.actions} | {g.seconds:.2f} |"
            for a, g in pairs
        ]
        lines += [
            f"| **all** | {entities} | {span_actions} ({(span_actions - len(pairs)) / entities:.2f}/entity) | "
            f"{sum(a.seconds for a, _ in pairs) / len(pairs):.2f}/sentence | "
            f"{grid_actions} ({(grid_actions - len(pairs)) / entities:.2f}/entity) | "
            f"{sum(g.seconds for _, g in pairs) / len(pairs):.2f}/sentence |",
            "",
            "Actions include the accept or save (one per sentence); the per-entity figures leave it out. Grid cells "
            f"the script had to set again after a rerun redrew the grid (not counted): {evidence.grid_retries}. "
            "Seconds are a script's: a person adds thinking and pointing time to every action, so the action "
            "counts are the figure to compare.",
        ]
    accepted = [a for a in evidence.alice + evidence.alice_test + evidence.bob if a.enter_to_next_ms is not None]
    if accepted:
        nexts = sorted(a.enter_to_next_ms for a in accepted)
        stored = sorted(a.enter_to_stored_ms for a in accepted)
        lines += [
            "",
            f"Enter to the next sentence painted, over {len(accepted)} accepted sentences: median "
            f"{statistics.median(nexts):.1f} ms, max {nexts[-1]:.1f} ms (target 300 ms). Enter to the row in the "
            f"database: median {statistics.median(stored):.0f} ms, max {stored[-1]:.0f} ms.",
        ]
    return lines


def write_report(options: Options, steps: list[StepRecord], checks: list[Check], evidence: Evidence, failure: str | None) -> Path:
    lines = [
        "# Annotation walk on the real corpus",
        "",
        f"Run `{options.run}` on `{options.corpus.name}`; command: `python scripts/annotation_walk.py {' '.join(sys.argv[1:])}`.",
        "",
        f"Result: **{'PASS' if failure is None and checks and all(c.ok for c in checks) else 'FAIL'}**"
        + (f" ({failure})" if failure else ""),
        "",
        "## Steps",
        "",
        "| step | wall time | result | screenshots |",
        "|---|---|---|---|",
    ]
    for step in steps:
        result = {True: "ok", False: "FAILED", None: "not run"}[step.ok]
        lines.append(f"| {step.key}. {step.title} | {_duration(step.seconds)} | {result} | {', '.join(step.screenshots)} |")
    lines += summary_tables(evidence)
    for step in steps:
        if step.notes:
            lines += ["", f"## {step.key}. {step.title}", ""] + [f"- {note.replace(chr(10), ' ')}" for note in step.notes]
    lines += ["", "## Checks", ""] + [f"- [{'PASS' if c.ok else 'FAIL'}] {c.name}: {c.detail}" for c in checks]
    path = options.out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- main


class WalkUi(Ui):
    """Both analysts' pages number their screenshots in one sequence."""

    taken = 0

    def start_at(self, path: str) -> None:
        """A page by its URL: each analyst comes in on their own."""
        self.page.goto(f"{self.server.url}/{path}")
        self.live = False
        self.wait_idle()

    def shot(self, name: str) -> Path:
        self.shots = WalkUi.taken
        path = super().shot(name)
        WalkUi.taken = self.shots
        return path


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    chromium = browser_harness.chromium_executable()
    if chromium is None:
        print("chromium is missing; scripts/ensure_chromium.sh installs Debian's chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from ner_core.corpus import reading

    prepare_workspace(options)
    gold = {" ".join(s.words): list(s.tags) for s in reading.inspect_corpus(options.corpus).sentences}
    evidence = Evidence()
    steps = [
        StepRecord("a", "Rita writes the dataset's annotation guidelines"),
        StepRecord("b", f"Alice corrects {options.entities} entities of validation sentences, then one test sentence"),
        StepRecord("c", f"Bob annotates {SECOND_ANALYST_SENTENCES} of them differently"),
        StepRecord("d", f"Gina corrects {GRID_SENTENCES} of Alice's sentences in the token grid"),
        StepRecord("e", "Rita resolves the disagreements"),
        StepRecord("f", "Warm-start retrain and the parent-versus-child comparison"),
        StepRecord("g", f"Bulk tagging {options.megabytes:g} MB and the JSONL download"),
    ]
    failure = None
    server = Server(options)
    print(f"workspace {options.workspace}; screenshots and report in {options.out}", flush=True)
    try:
        server.start()
        with sync_playwright() as playwright:
            browser = browser_harness.launch_chromium(playwright, chromium)
            try:
                alice_ui = WalkUi(browser.new_page(viewport=browser_harness.VIEWPORT), server, options)
                bob_ui = WalkUi(browser.new_page(viewport=browser_harness.VIEWPORT), server, options)
                actions = {
                    "a": lambda: step_guidelines(alice_ui, options, evidence),
                    "b": lambda: step_alice(alice_ui, options, evidence, gold),
                    "c": lambda: step_bob(bob_ui, options, evidence, gold),
                    "d": lambda: step_grid(bob_ui, options, evidence, gold),
                    "e": lambda: step_review(alice_ui, options, evidence),
                    "f": lambda: step_retrain(alice_ui, options, evidence),
                    "g": lambda: step_bulk(alice_ui, options, evidence),
                }
                for step in steps:
                    failure = run_step(step, bob_ui if step.key in "cd" else alice_ui, actions[step.key])
                    if failure:
                        break
            finally:
                browser.close()
    except Exception as exc:  # noqa: BLE001 - the server or the browser could not start
        failure = failure or f"{exc.__class__.__name__}: {exc}"
    finally:
        server.stop()
    try:
        checks = verify(options, evidence, gold)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        checks = [Check("database readable", False, f"{exc.__class__.__name__}: {exc}")]
    report = write_report(options, steps, checks, evidence, failure)
    for item in checks:
        print(f"  [{'PASS' if item.ok else 'FAIL'}] {item.name}: {item.detail}")
    if failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
    ok = failure is None and all(item.ok for item in checks)
    print(f"\n{'PASS' if ok else 'FAIL'}; report: {report}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
