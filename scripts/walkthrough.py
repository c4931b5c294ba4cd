"""End-to-end acceptance walk-through of NER Workbench, as a new user would do it, in a real browser.

It starts its own ``streamlit run app.py`` on a free port over an empty workspace
(models, SQLite database and uploads under ``<out>/workspace``, wiped first;
``NER_CORPUS_PATH`` unset so the corpus has to come in through the browser), then
drives Debian's chromium (``/usr/bin/chromium``) with Playwright's sync API:

  a. Home loads; it offers to train the three default models on the bundled
     sample, and we accept, so that there are runs to compare with later.
  b. Data explorer: upload ``--data`` through the file uploader, read the
     validation report, look at the chart tabs, search the sentence browser.
  c. Training runs: train ``model2`` on the upload and follow it until the run
     history shows it completed (screenshots of the live progress on the way).
  d. Model comparison: the new run next to another completed run; metric table
     and confusion matrix.
  e. Annotate: correct three sentences of the validation-split queue in the span
     editor with mouse and keys (using the corpus' gold tags, so the corrections
     are real ones); Enter saves each one.
  f. Retrain and compare: a warm start with those annotations; wait for the child
     run and read its leak-free comparison with the parent (left-out sentences,
     the interval of the gain, the 23 metrics).
  g. A/B traffic: a ``--requests`` simulation over the page's default arms.

After every step a full-page screenshot goes to ``<out>/NN-step.png``. Any
exception box or unexpected ``st.error`` fails the walk at once. At the end the
database is opened with ``ner_core.store.database.Store`` and the evidence of every step
is checked; ``<out>/report.md`` lists the steps, their wall times and the
evidence. The exit status is non-zero when a step or a check failed.

Run it from the repository root (Playwright must never download a browser; do
not run ``playwright install``):

    .venv/bin/python scripts/walkthrough.py                                   # bundled sample
    .venv/bin/python scripts/walkthrough.py --epochs 3 --requests 500         # quick check
    .venv/bin/python scripts/walkthrough.py --data ../shared/datasets/gmb/ner_dataset.csv.zip

On the bundled sample with the defaults it takes roughly 10-20 minutes on two
busy cores, most of it training. On the GMB corpus plan for hours
(``--train-timeout`` bounds each wait for a training run or the simulation).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ner_core.settings import SAMPLE_DATA_PATH  # noqa: E402 - needs the path above
from ner_core.store.tables import RunStatus  # noqa: E402 - needs the path above
from ner_core.training import lineage  # noqa: E402 - needs the path above
from scripts import browser_harness  # noqa: E402

MAX_SCREENSHOT_HEIGHT = 15_000
MODEL = "model2"
ANNOTATIONS = 3
SEARCH_WORD = "Iran"
CHECK_BACK_S = 10  # while a run trains, look at it this often (from Home in between; see wait_for_run)
# Sidebar label -> (URL path of its link, the page's st.title, which tells that the page has been switched).
PAGES = {
    "Home": ("", "NER Workbench"),
    "Data explorer": ("data_explorer", "Data explorer"),
    "Training runs": ("training_runs", "Training runs"),
    "Model comparison": ("model_comparison", "Model comparison"),
    "Annotate": ("annotate", "Annotate"),
    "Retrain and compare": ("retrain", "Retrain and compare"),
    "A/B traffic": ("ab_traffic", "A/B traffic"),
}


# --------------------------------------------------------------------------- options and records


class WorkspaceLayout:
    """Where a walk keeps the app's state: ``<out>/workspace``, its SQLite file inside (both walks use it)."""

    out: Path

    @property
    def workspace(self) -> Path:
        return self.out / "workspace"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{(self.workspace / 'workbench.db').resolve()}"


@dataclass(frozen=True)
class Options(WorkspaceLayout):
    data: Path
    epochs: int | None
    requests: int
    train_timeout: float
    page_timeout: float
    out: Path
    analyst: str


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data",
        type=Path,
        default=SAMPLE_DATA_PATH,
        help="corpus file to upload in the Data explorer (default: the bundled sample)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs for the model2 run (default: leave the form's model default)"
    )
    parser.add_argument("--requests", type=int, default=10_000, help="requests of the A/B simulation (default 10000)")
    parser.add_argument(
        "--train-timeout",
        type=float,
        default=3600.0,
        help="seconds to wait for each training run and for the simulation (default 3600)",
    )
    parser.add_argument(
        "--page-timeout", type=float, default=180.0, help="seconds to wait for a page or a widget to settle (default 180)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "test-output" / "walkthrough",
        help="screenshots, report.md, streamlit.log and the workspace go here",
    )
    parser.add_argument("--analyst", default="Walkthrough Analyst", help="analyst name on the annotations")
    args = parser.parse_args(argv)
    data = args.data.expanduser().resolve()
    if not data.is_file():
        parser.error(f"--data {data} is not a file")
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if not 1 <= args.requests <= 100_000:
        parser.error("--requests must be from 1 to 100000 (the A/B page's limit)")
    return Options(
        data=data,
        epochs=args.epochs,
        requests=args.requests,
        train_timeout=args.train_timeout,
        page_timeout=args.page_timeout,
        out=args.out.resolve(),
        analyst=args.analyst,
    )


class WalkFailure(Exception):
    """A step could not be completed or the app showed something it should not have."""


@dataclass
class StepRecord:
    key: str
    title: str
    seconds: float = 0.0
    ok: bool | None = None
    notes: list[str] = field(default_factory=list)
    screenshots: list[str] = field(default_factory=list)


@dataclass
class Evidence:
    """What the walk learned in the browser, checked against the database afterwards."""

    upload_label: str = ""
    upload_name: str = ""
    defaults_queued: bool = False
    model2_run_id: str = ""
    compared_run_ids: list[str] = field(default_factory=list)
    annotation_ids: list[int] = field(default_factory=list)
    annotated_texts: list[str] = field(default_factory=list)
    child_run_id: str = ""
    simulation_id: str = ""
    simulation_requests: int = 0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


# --------------------------------------------------------------------------- server


class Server(browser_harness.StreamlitServer):
    """The app over the walk's isolated workspace; the corpus has to arrive through the browser."""

    def __init__(self, options: Options):
        env = os.environ.copy()
        env.pop("NER_CORPUS_PATH", None)
        workspace = options.workspace.resolve()
        env.update(
            NER_MODELS_DIR=str(workspace / "models"),
            NER_DATABASE_URL=options.database_url,
            NER_UPLOADS_DIR=str(workspace / "uploads"),
        )
        super().__init__(env=env, log_path=options.out / "streamlit.log", start_timeout_s=options.page_timeout)
        self.options = options

    def start(self) -> Server:
        try:
            return super().start()
        except browser_harness.HarnessError as exc:
            raise WalkFailure(str(exc)) from None

    def ensure_alive(self) -> None:
        try:
            super().ensure_alive()
        except browser_harness.HarnessError as exc:
            raise WalkFailure(str(exc)) from None


# --------------------------------------------------------------------------- browser helpers


class Ui:
    """A Playwright page plus the few Streamlit-aware moves every step needs."""

    def __init__(self, page, server: Server, options: Options):
        self.page = page
        self.server = server
        self.options = options
        self.shots = 0
        self.current: StepRecord | None = None
        self.live = False  # the current page polls a training job (see ``open``)

    # ------------------------------------------------------------- navigation and waiting

    def start(self) -> None:
        """The first visit, by URL; every later move goes through the sidebar (see ``open``)."""
        self.page.goto(self.server.url)
        self.wait_idle()

    def open(self, label: str, *, live: bool = False) -> None:
        """Go to a page by its sidebar link, as a user would; unlike loading a URL this keeps the session.

        ``live``: the page follows a training job with a polling fragment, so it
        reruns every two seconds and, on two busy cores, is "running" most of the
        time. Until the next ``open``, waits for quiet then give up after 15 s
        instead of failing; the steps wait for the elements they need instead.

        A click can be lost: when a polling fragment sees its job end, it calls
        ``st.rerun()`` for its whole page, and that rerun can supersede a page
        switch requested at the same moment (the browser stays on the old page).
        So the link is clicked again, as a user would, when the title has not
        changed after a while (20 s, then 40 s, ...), until ``--page-timeout``.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        path, title = PAGES[label]
        link = self.page.locator(f'[data-testid="stSidebarNavLink"][href="{self.server.url}/{path}"]')
        deadline = time.time() + self.options.page_timeout
        window = 20.0
        while True:
            link.click()
            try:
                self.page.wait_for_function(
                    "t => [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === t)",
                    arg=title,
                    timeout=max(1.0, min(window, deadline - time.time())) * 1000,
                )
                break
            except PlaywrightTimeout:
                self.check()
                if time.time() >= deadline:
                    raise WalkFailure(
                        f"the sidebar link {label!r} did not open its page within {self.options.page_timeout:.0f} s"
                    ) from None
                print(f"    (the {label!r} page did not open after {window:.0f} s; clicking its link again)", flush=True)
                window *= 2
        self.live = live
        self.wait_idle()

    def wait_idle(self, timeout: float | None = None, quiet_s: float = 1.5, *, required: bool | None = None) -> bool:
        """Wait until the script is not running (and no spinner shows) for ``quiet_s``.

        The busy signal is :func:`scripts.browser_harness.script_busy`, the one the
        browser tests wait on. On a ``live`` page (one that polls a job) it waits at
        most 15 s and returns False instead of failing.
        """
        if required is None:
            required = not self.live
        timeout = min(timeout or 15, 15) if self.live else timeout or self.options.page_timeout
        self.page.wait_for_selector("h1", timeout=timeout * 1000)
        deadline = time.time() + timeout
        quiet_since = None
        while time.time() < deadline:
            if browser_harness.script_busy(self.page):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.time()
            elif time.time() - quiet_since >= quiet_s:
                self.check()
                return True
            time.sleep(0.2)
        self.check()
        if required:
            raise WalkFailure(f"the page did not settle within {timeout:.0f} s")
        return False

    def wait_for(self, what: str, condition: Callable[[], object], timeout: float | None = None, interval: float = 1.0):
        """Poll ``condition`` (checking the page for errors each time) until it returns something truthy."""
        timeout = timeout or self.options.page_timeout
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.check()
            try:
                result = condition()
            except WalkFailure:
                raise
            except Exception:  # noqa: BLE001 - elements come and go while Streamlit reruns
                result = None
            if result:
                return result
            time.sleep(interval)
        self.check()
        raise WalkFailure(f"timed out after {timeout:.0f} s waiting for {what}")

    def check(self, allowed_errors: tuple[str, ...] = ()) -> None:
        """Fail on a dead server, an exception box, or an ``st.error`` that is not expected."""
        self.server.ensure_alive()
        exceptions = self.page.locator('[data-testid="stException"]')
        if exceptions.count():
            raise WalkFailure("exception box on the page:\n" + exceptions.first.inner_text()[:3000])
        for text in self.page.locator('[data-testid="stAlertContentError"]').all_inner_texts():
            if not any(re.search(pattern, text) for pattern in allowed_errors):
                raise WalkFailure(f"unexpected st.error on the page: {text.strip()[:1000]}")

    # ------------------------------------------------------------- evidence

    def shot(self, name: str) -> Path:
        """A screenshot of the whole page: Streamlit scrolls inside ``stMain``, so the viewport is
        stretched to its height first (``full_page`` alone would only capture one screen)."""
        self.shots += 1
        path = self.options.out / f"{self.shots:02d}-{name}.png"
        height = self.page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); return m ? m.scrollHeight : 0; }"
        )
        height = max(browser_harness.VIEWPORT["height"], min(int(height or 0), MAX_SCREENSHOT_HEIGHT))
        try:
            if height > browser_harness.VIEWPORT["height"]:
                self.page.set_viewport_size({"width": browser_harness.VIEWPORT["width"], "height": height})
                time.sleep(0.8)  # charts re-lay out to the new size
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(browser_harness.VIEWPORT)
        if self.current is not None:
            self.current.screenshots.append(path.name)
        return path

    def note(self, text: str) -> None:
        print(f"    {text}", flush=True)
        if self.current is not None:
            self.current.notes.append(text)

    # ------------------------------------------------------------- widgets

    def choose(self, label: str, option: str, *, exact: bool = False, rerun: bool = True) -> str:
        """Pick an option of the selectbox ``label``; ``option`` is a substring unless ``exact``.

        ``rerun=False`` for a selectbox inside a form, whose change reruns nothing."""
        box = self.page.get_by_role("combobox", name=label, exact=True)
        current = box.input_value()
        if (current == option) if exact else (option in current):
            return current
        box.click()
        options = (
            self.page.get_by_role("option", name=option, exact=True)
            if exact
            else self.page.get_by_role("option").filter(has_text=option)
        )
        options.first.wait_for(timeout=self.options.page_timeout * 1000)
        options.first.click()
        if rerun:
            self.wait_idle()
        chosen = box.input_value()
        if (chosen != option) if exact else (option not in chosen):
            raise WalkFailure(f"selectbox {label!r} shows {chosen!r} after choosing {option!r}")
        return chosen

    def fill(self, label: str, value: str, *, commit: str = "Enter") -> None:
        """Type into a text or number input; Enter commits it outside a form, Tab inside one."""
        box = self.page.get_by_label(label, exact=True)
        box.fill(value)
        box.press(commit)
        if commit == "Enter":
            self.wait_idle()

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name, exact=True).click()
        self.wait_idle()

    def click(self, name: str, *, exact: bool = True) -> None:
        self.page.get_by_role("button", name=name, exact=exact).click()

    def alerts(self, kind: str = "Success") -> list[str]:
        """Texts of the visible st.success/st.info/st.warning/st.error boxes of one kind."""
        return [t.strip() for t in self.page.locator(f'[data-testid="stAlertContent{kind}"]:visible').all_inner_texts()]

    def alert_match(self, pattern: str, kind: str = "Success") -> re.Match | None:
        return next((m for m in (re.search(pattern, text) for text in self.alerts(kind)) if m), None)

    def grids(self) -> list[list[list[str]]]:
        """Rows of cells of every visible st.dataframe/st.data_editor.

        The grids are canvases, but glide-data-grid keeps an accessible ``<table>``
        of its rendered rows in the DOM; that is what a screen reader (and we) read.
        """
        return self.page.locator('[data-testid="stDataFrame"]').evaluate_all(
            """els => els.filter(e => e.getClientRects().length > 0).map(
                   e => [...e.querySelectorAll('table tr')].map(r => [...r.children].map(c => c.innerText)))"""
        )

    def grid(self, *headers: str) -> list[dict]:
        """The rows (as dicts) of the first visible grid whose header has all ``headers``."""
        for rows in self.grids():
            if rows and all(h in rows[0] for h in headers):
                return [dict(zip(rows[0], row)) for row in rows[1:]]
        raise WalkFailure(f"no table with columns {', '.join(headers)} on the page")

    def edit_select_cell(self, header: str, row: int, column: int, value: str) -> None:
        """Set a SelectboxColumn cell of the visible data editor with column ``header``.

        The grid is a canvas: a click on the row's first cell selects it, the arrow
        keys move the selection to the column, Enter opens the cell's dropdown. The
        accessible table tells which cell is selected; it is checked after every
        move, since keys typed into a grid that is still redrawing get lost.
        """
        editor = (
            self.page.locator('[data-testid="stDataFrame"]:visible').filter(has=self.page.locator("th", has_text=header)).first
        )
        editor.scroll_into_view_if_needed()
        box = editor.bounding_box()
        selected = lambda: editor.evaluate("e => (e.querySelector('td[aria-selected=true]') || {}).id || ''")  # noqa: E731

        def select(target: str, action: Callable[[], None]) -> None:
            for _ in range(3):  # a rerun may redraw the grid under the click or key
                action()
                try:
                    self.wait_for(f"cell {target} of the editor to be selected", lambda: selected() == target, 5, 0.1)
                    return
                except WalkFailure:
                    if selected() == target:
                        return
            raise WalkFailure(f"could not select {target} of the tag editor (selected {selected()!r})")

        y = box["y"] + browser_harness.GRID_ROW_PX * (row + 1.5)  # the header is one row high
        select(f"glide-cell-0-{row}", lambda: self.page.mouse.click(box["x"] + 20, y))
        for at in range(1, column + 1):
            select(f"glide-cell-{at}-{row}", lambda: self.page.keyboard.press("ArrowRight"))
        self.page.keyboard.press("Enter")
        choice = self.page.locator("#portal [role=option]").filter(has_text=re.compile(rf"^{re.escape(value)}$"))
        choice.first.wait_for(timeout=30_000)
        choice.first.click()
        self.wait_idle()


# --------------------------------------------------------------------------- steps


def step_home(ui: Ui, evidence: Evidence) -> None:
    """a. Home loads; on a fresh workspace it offers to train the defaults on the sample, which we start
    so that step d has other runs to compare with (they train while we explore the data)."""
    ui.start()
    if ui.page.locator("h1").first.inner_text().strip() != "NER Workbench":
        raise WalkFailure("the home page has no 'NER Workbench' title")
    ui.note("info: " + " | ".join(ui.alerts("Info")))
    ui.shot("home")
    button = ui.page.get_by_role("button", name="Train baseline, advanced and model2 on the sample")
    if button.count():
        button.click()
        ui.wait_idle()
        ui.wait_for("the 'Queued three training jobs' message", lambda: ui.alert_match(r"Queued three training jobs"))
        evidence.defaults_queued = True
        ui.note("started the three default models on the bundled sample from Home")
        ui.shot("home-defaults-queued")
    else:
        ui.note("Home did not offer to train the defaults (runs exist already)")


def step_data_explorer(ui: Ui, evidence: Evidence, options: Options) -> None:
    """b. Upload the corpus, read its validation report, look at the charts and search the sentences."""
    ui.open("Data explorer")
    ui.page.locator('[data-testid="stExpander"]').filter(has_text="Upload a corpus").locator("summary").click()
    uploader = ui.page.locator('[data-testid="stFileUploader"] input[type=file]')
    uploader.set_input_files(str(options.data))
    started = time.time()
    stored = ui.wait_for(
        "the upload to be validated and stored",
        lambda: ui.alert_match(r"Stored (\S+) \(([\d,]+) sentences\)"),
        timeout=max(options.page_timeout, 600),
    )
    ui.wait_idle(timeout=max(options.page_timeout, 600))
    evidence.upload_name = stored.group(1)
    ui.note(f"upload accepted in {time.time() - started:.0f} s: {stored.group(0)}")
    # The uploader selects the new dataset itself; choose it explicitly all the same, as a user would check.
    evidence.upload_label = ui.choose("Dataset", f"Upload: {evidence.upload_name}")
    ui.note(f"dataset selected: {evidence.upload_label}")
    ui.wait_for("the validation report", lambda: ui.page.get_by_text("Validation report").count())
    findings = ui.alerts("Success") + ui.alerts("Warning")
    ui.note("validation report: " + " | ".join(t for t in findings if not t.startswith("Stored ")))
    metrics = ui.page.locator('[data-testid="stMetric"]').all_inner_texts()
    ui.note("overview: " + "; ".join(m.replace("\n", " ") for m in metrics))
    ui.shot("data-upload-validated")

    for name in ("Tags and types", "Sentence lengths", "Top entities", "POS by tag", "OOV per split"):
        ui.tab(name)
        charts = ui.page.locator('[data-testid="stPlotlyChart"]:visible').count()
        info = ui.alerts("Info")
        if not charts and not info:
            raise WalkFailure(f"tab {name!r} shows neither a chart nor a note")
        ui.note(f"tab {name!r}: {charts} chart(s)" + (f", note: {info[0]}" if info else ""))
        if name in ("Tags and types", "Top entities"):
            ui.shot("data-" + name.lower().replace(" ", "-"))

    ui.tab("Sentences")
    ui.fill("Search for a word or phrase", SEARCH_WORD)
    marks = ui.page.locator("mark.entity:visible")
    ui.wait_for(f"highlighted entities for {SEARCH_WORD!r}", lambda: marks.count())
    box = marks.first.bounding_box()
    if not box or box["width"] <= 0:
        raise WalkFailure("the highlighted entities have no size")
    caption = ui.page.get_by_text(re.compile(r"matching sentence")).first.inner_text()
    ui.note(f"search {SEARCH_WORD!r}: {caption.split(';')[0]}; {marks.count()} highlighted entities")
    ui.shot("data-sentences-search")


def step_training(ui: Ui, evidence: Evidence, options: Options) -> None:
    """c. Train model2 on the upload from the form and follow it until the history says completed."""
    ui.open("Training runs", live=True)  # the defaults are training: the page polls them
    ui.page.get_by_role("button", name="Start training").wait_for(timeout=options.page_timeout * 1000)
    before = {row.get("run") for row in _history(ui)}
    ui.choose("Model", MODEL, exact=True)  # already the default, so normally no rerun
    ui.choose("Dataset", evidence.upload_label, exact=True)  # above the form: the defaults follow it
    epochs = ui.page.get_by_label("Epochs", exact=True)
    if options.epochs is not None:
        ui.fill("Epochs", str(options.epochs), commit="Tab")
    ui.note(f"form: model {MODEL}, dataset {evidence.upload_label}, epochs {epochs.input_value()}")
    ui.shot("training-form")
    ui.click("Start training")

    def new_run() -> str | None:
        queued = ui.alert_match(r"Queued run `?([\w.-]+)`?")
        if queued:
            return queued.group(1)
        fresh = [row["run"] for row in _history(ui) if row.get("run") not in before and row.get("model") == MODEL]
        return fresh[0] if fresh else None

    evidence.model2_run_id = ui.wait_for("the new run to be queued", new_run)
    ui.note(f"queued run {evidence.model2_run_id}")
    row = wait_for_run(ui, evidence.model2_run_id, options)
    ui.note("history row: " + ", ".join(f"{k}={v}" for k, v in row.items() if v))
    ui.live = False  # ours was the last job: the page is back to its slow idle poll
    ui.choose("Run details", evidence.model2_run_id)
    ui.tab("Metrics")
    ui.shot("training-completed")


def _history(ui: Ui) -> list[dict]:
    try:
        return ui.grid("run", "status", "model")
    except WalkFailure:
        return []  # no run yet, or the table is being redrawn


def wait_for_run(ui: Ui, run_id: str, options: Options) -> dict:
    """Follow ``run_id`` in the run history until it is completed, with screenshots of the live job.

    The walk waits on Home and checks back every CHECK_BACK_S seconds; it stays on
    the page only from the moment it sees the run training until the live
    progress and curves are captured. Why not stay all along: every rerun of the
    page's polling fragment ends with Streamlit's ``gc.collect`` and
    ``keras.backend.clear_session``, which stall the training thread in the same
    process (a sample run took 1.6x as long with the page open, 4.7x with the
    former one-second poll).
    """
    deadline = time.time() + options.train_timeout
    seen: set[str] = set()
    last_status = None
    while time.time() < deadline:
        ui.check()
        rows = _history(ui)
        row = next((r for r in rows if r.get("run") == run_id), None)
        status = row.get("status") if row else None
        if status and status != last_status:
            ui.note(f"{time.strftime('%H:%M:%S')} the run is {status}")
            last_status = status
        if status == RunStatus.COMPLETED:
            if "running" not in seen:
                ui.note("WARNING: the run finished before its live progress could be captured")
            return row
        if status in (RunStatus.FAILED, RunStatus.CANCELLED):
            raise WalkFailure(f"run {run_id} {status}: {row.get('error', '')}")
        # The job's bordered box: the innermost block with its run id and a progress bar.
        job = (
            ui.page.locator('[data-testid="stVerticalBlock"]')
            .filter(has_text=run_id)
            .filter(has=ui.page.locator('[data-testid="stProgress"]'))
        )
        job_text = job.last.inner_text() if job.count() else ""
        watch = False
        if status == RunStatus.QUEUED:
            if "queued" not in seen:
                seen.add("queued")
                ui.note("the run waits in the queue behind earlier jobs")
                ui.shot("training-queued")
        elif status == RunStatus.RUNNING:
            if "running" not in seen and "Epoch" in job_text:
                seen.add("running")
                ui.note(
                    "live progress: " + " / ".join(line for line in job_text.splitlines() if "Epoch" in line or "elapsed" in line)
                )
                ui.shot("training-live")
            if "curves" not in seen and "Loss per epoch" in job_text:
                seen.add("curves")
                ui.shot("training-live-curves")
            watch = not {"running", "curves"} <= seen
        else:
            watch = True  # the history is being redrawn
        if watch:
            time.sleep(1.0)
        else:
            ui.open("Home")
            time.sleep(CHECK_BACK_S)
            ui.open("Training runs", live=True)
    raise WalkFailure(f"run {run_id} did not complete within {options.train_timeout:.0f} s")


def _compared_run_ids(ui: Ui) -> list[str]:
    """The compared runs as the page keeps them in the address bar (``?run=<id>&run=<id>``); labels hold no ids."""
    return parse_qs(urlparse(ui.page.url).query).get("run", [])


def step_comparison(ui: Ui, evidence: Evidence) -> None:
    """d. The new model2 run next to at least one other completed run: metric table and confusion matrix."""
    ui.open("Model comparison")
    container = ui.page.locator('[data-testid="stMultiSelect"]').filter(has_text="Runs to compare")
    chips = lambda: container.locator("[data-tag] span[title]").all_inner_texts()  # noqa: E731
    if evidence.model2_run_id not in _compared_run_ids(ui):
        # The newest run starts the comparison; if another run came later, open the comparison by its link.
        ui.page.goto(f"{ui.server.url}/model_comparison?run={evidence.model2_run_id}")
        ui.wait_idle()
    if len(_compared_run_ids(ui)) < 2:
        ui.page.get_by_role("combobox", name="Runs to compare", exact=True).click()
        others = ui.page.get_by_role("option").filter(has_not_text="Select all")
        if not others.count():
            raise WalkFailure("no other completed run to compare with")
        others.first.click()
        ui.wait_idle()
    chosen = chips()
    evidence.compared_run_ids = _compared_run_ids(ui)
    if len(chosen) < 2 or evidence.model2_run_id not in evidence.compared_run_ids:
        raise WalkFailure(f"the comparison does not hold the model2 run and another one: {chosen}")
    ui.note("compared: " + "; ".join(chosen) + f" (link: {ui.page.url})")
    table = ui.grid("metric")
    f1_row = next((row for row in table if row.get("metric", "").lower().startswith("entity f1")), None)
    if f1_row:
        ui.note("metric table, entity F1 row: " + ", ".join(f"{k}={v}" for k, v in f1_row.items() if k != "definition"))
    ui.shot("comparison-metrics")
    ui.tab("Confusion")
    charts = ui.page.locator('[data-testid="stPlotlyChart"]:visible')
    ui.wait_for("the confusion matrix", lambda: charts.count())
    ui.note(f"confusion tab: {charts.count()} chart(s)")
    ui.shot("comparison-confusion")


def picker_label(options: Options, run_id: str) -> str:
    """What the app's run pickers show for ``run_id`` (name, model, dataset, date, F1; not the id), read from
    the walk's database with the function the pages use, over the server's datasets (no configured corpus)."""
    from ner_core.settings import Settings
    from ner_core.store.database import Store
    from ner_core.workbench import run_labels

    workspace = options.workspace.resolve()
    settings = Settings(None, workspace / "models", options.database_url, workspace / "uploads")
    store = Store(options.database_url)
    return run_labels.run_label(store.get_run(run_id), run_labels.dataset_names(store, settings))


def step_annotate(ui: Ui, evidence: Evidence, options: Options) -> None:
    """e. Correct three sentences of the validation-split queue in the span editor, with mouse and keys only.

    Gold tags come from the uploaded corpus, so the corrections are real ones: every gold entity the
    model missed is selected (a drag, or a click on a single token) and labelled with its number key;
    every predicted entity that overlaps no gold entity is clicked and removed with Backspace; Enter
    accepts and the next sentence shows. A sentence the model already tags as the corpus does is
    skipped with S (an accepted annotation should differ from the prediction).
    """
    from ner_core.corpus.tags import extract_spans
    from ner_core.store.database import Store

    gold = gold_tags_by_text(options.data)
    ui.open("Annotate")
    ui.fill("Your name", options.analyst, commit="Tab")
    ui.click("Start annotating")
    ui.wait_idle()
    ui.choose("Model", picker_label(options, evidence.model2_run_id))
    root = ui.page.locator(".se-root")
    ui.wait_for("the span editor", lambda: root.count() and root.get_attribute("data-item-id"))
    legend = ui.page.locator(".se-legend button").all()
    keys = {
        button.get_attribute("data-type"): button.locator("kbd").inner_text()
        for button in legend
        if button.locator("kbd").count()
    }
    store = Store(options.database_url)
    while len(evidence.annotation_ids) < ANNOTATIONS:
        item = root.get_attribute("data-item-id")
        tokens = ui.page.locator(".se-sentence .se-token").all_inner_texts()
        text = " ".join(tokens)
        predicted = span_editor_entities(ui)
        wanted = extract_spans(gold[text]) if text in gold else []
        deletions = [p for p in predicted if all(p.end <= g.start or g.end <= p.start for g in wanted)]
        labels = [g for g in wanted if g not in predicted and g.type in keys]
        if not deletions and not labels:
            ui.note(f"skipped (the model tags it as the corpus does): {text[:80]!r}")
            ui.page.keyboard.press("s")
        else:
            for span in deletions:
                ui.page.mouse.click(*token_centre(ui, span.start))
                ui.page.keyboard.press("Backspace")
            for span in labels:
                select_tokens(ui, span, predicted)
                ui.page.keyboard.press(keys[span.type])
            ui.note(
                f"sentence {len(evidence.annotation_ids) + 1}: {text[:80]!r}: removed "
                + (", ".join(f"{' '.join(tokens[p.start : p.end])}/{p.type}" for p in deletions) or "nothing")
                + "; labelled "
                + (", ".join(f"{' '.join(tokens[g.start : g.end])}/{g.type}" for g in labels) or "nothing")
            )
            ui.shot(f"annotate-edit-{len(evidence.annotation_ids) + 1}")
            ui.page.keyboard.press("Enter")
            saved = ui.wait_for(
                "the accepted sentence in the database",
                lambda text=text: [a for a in store.list_annotations() if a.analyst == options.analyst and a.text == text],
                interval=0.2,
            )
            evidence.annotation_ids.append(saved[-1].id)
            evidence.annotated_texts.append(text)
            ui.note(f"saved annotation #{saved[-1].id}")
        ui.wait_for("the next sentence", lambda item=item: root.get_attribute("data-item-id") != item, interval=0.1)
    ui.wait_idle()
    ui.shot("annotate-next")


def span_editor_entities(ui: Ui) -> list:
    """The entities the span editor shows, as token spans."""
    from ner_core.corpus.tags import Span

    marks = ui.page.locator(".se-root").evaluate(
        """root => [...root.querySelectorAll('.se-entity')].map(mark => ({
               type: mark.dataset.type,
               tokens: [...mark.querySelectorAll('.se-token')].map(token => Number(token.dataset.index))}))"""
    )
    return sorted(Span(min(m["tokens"]), max(m["tokens"]) + 1, m["type"]) for m in marks)


def token_centre(ui: Ui, index: int) -> tuple[float, float]:
    token = ui.page.locator(f'.se-token[data-index="{index}"]')
    token.scroll_into_view_if_needed()
    box = token.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def select_tokens(ui: Ui, span, predicted: list) -> None:
    """One gesture: a click on a single token outside any entity, else a drag over the span's tokens."""
    inside = any(p.start <= span.start < p.end and p.end - p.start > 1 for p in predicted)
    if span.end - span.start == 1 and not inside:
        ui.page.mouse.click(*token_centre(ui, span.start))
        return
    ui.page.mouse.move(*token_centre(ui, span.start))
    ui.page.mouse.down()
    if span.end - span.start == 1:  # a click would select the entity around it: out to a neighbour and back
        after = ui.page.locator(f'.se-token[data-index="{span.start + 1}"]').count()
        ui.page.mouse.move(*token_centre(ui, span.start + 1 if after else span.start - 1), steps=3)
    ui.page.mouse.move(*token_centre(ui, span.end - 1), steps=4)
    ui.page.mouse.up()


def gold_tags_by_text(path: Path) -> dict[str, list[str]]:
    """Space-joined words -> gold tags of every sentence of the corpus (the review queue's text)."""
    from ner_core.corpus import reading

    return {" ".join(s.words): list(s.tags) for s in reading.inspect_corpus(path).sentences}


def step_retrain(ui: Ui, evidence: Evidence, options: Options) -> None:
    """f. Warm-start the model2 run with the three annotations and wait for the child run, then read the
    comparison on the test sentences neither trained on.

    Like wait_for_run, the walk waits on Home and checks back rather than keeping
    the page's job poll running next to the training.
    """
    ui.open("Retrain and compare")
    ui.choose("Parent model", picker_label(options, evidence.model2_run_id))
    ui.click(f"Warm start (fast): retrain with {len(evidence.annotation_ids)} annotation(s)")
    ui.live = True
    started = time.time()
    progress = ui.page.get_by_text(re.compile(r"Retraining run \S+: (queued|running)"))
    ready_pattern = r"Retrained run (\S+) is ready"
    drawn = lambda: progress.count() or ui.alert_match(ready_pattern)  # noqa: E731
    ui.wait_for("the retraining job", drawn)
    if progress.count():
        ui.note("progress: " + progress.first.inner_text())
        ui.shot("retrain-progress")
    deadline = started + options.train_timeout
    while not (ready := ui.alert_match(ready_pattern)):
        if time.time() > deadline:
            raise WalkFailure(f"the retrained run did not complete within {options.train_timeout:.0f} s")
        ui.open("Home")
        time.sleep(CHECK_BACK_S)
        ui.open("Retrain and compare", live=True)
        ui.choose(
            "Parent model", picker_label(options, evidence.model2_run_id)
        )  # the selectbox forgets its value while on another page
        ui.wait_for("the retraining job", drawn)
    evidence.child_run_id = ready.group(1)
    ui.note(f"child run {evidence.child_run_id} ready after {time.time() - started:.0f} s")
    ui.live = False
    ui.tab("Parent vs child")
    ui.wait_for("the parent/child comparison", lambda: ui.page.get_by_role("combobox", name="Retrained run", exact=True).count())
    ui.wait_idle()
    ui.choose("Retrained run", picker_label(options, evidence.child_run_id))
    left_out = ui.wait_for("the left-out count", lambda: next((t for t in ui.alerts("Info") if "left out" in t), None))
    ui.note(left_out)
    gain = ui.page.get_by_text(re.compile(r"Entity F1 gain")).first.inner_text()
    ui.note(gain)
    for row in ui.grid("metric", "change"):
        if row["metric"].lower().startswith(("entity f1", "token accuracy")):
            ui.note("parent vs child: " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "definition"))
    ui.shot("retrain-parent-vs-child")


def step_ab_traffic(ui: Ui, evidence: Evidence, options: Options) -> None:
    """g. A simulation of ``--requests`` requests over the page's default arms."""
    ui.open("A/B traffic")
    plan = ui.grid("arm", "run", "planned share")
    ui.note("default arms: " + "; ".join(f"{r['arm']} = {r['run']} ({_num(r['planned share'])})" for r in plan))
    ui.fill("Requests", str(options.requests))
    ui.shot("ab-setup")
    ui.click("Run simulation")
    started = time.time()
    seen_progress = False

    def done():
        nonlocal seen_progress
        progress = ui.page.get_by_text(re.compile(r"[\d,]+ / [\d,]+ requests"))
        if not seen_progress and progress.count():
            seen_progress = True
            ui.shot("ab-running")
        return ui.alert_match(r"Simulation (\S+): ([\d,]+) requests in ([\d.]+) s, ([\d,]+) rows logged")

    result = ui.wait_for("the simulation", done, timeout=options.train_timeout, interval=2.0)
    ui.wait_idle(timeout=max(options.page_timeout, 600))  # the result tabs (bootstrap F1) render after the run
    evidence.simulation_id = result.group(1)
    evidence.simulation_requests = int(result.group(2).replace(",", ""))
    ui.note(f"{result.group(0)} (wall {time.time() - started:.0f} s)")
    ui.shot("ab-results-split")
    for name in ("Latency and errors", "Entity F1", "Circuit breakers", "Request log"):
        ui.tab(name)
        if name == "Entity F1":
            quality = ui.grid("arm", "requests", "f1", "ci_low")
            ui.note(
                "entity F1 by serving arm: "
                + "; ".join(
                    f"{r['arm']}: {r['requests']} requests, F1 {_num(r['f1'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
                    for r in quality
                )
            )
        ui.shot("ab-" + name.lower().replace(" ", "-"))


# --------------------------------------------------------------------------- database checks


def verify_database(options: Options, evidence: Evidence) -> tuple[list[Check], dict]:
    """Read the workspace database and check the trace every step should have left."""
    from ner_core.store.database import Store

    store = Store(options.database_url)
    checks: list[Check] = []
    facts: dict = {}

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append(Check(name, bool(ok), detail))

    datasets = store.list_datasets()
    upload = next((d for d in datasets if d.name == evidence.upload_name), None)
    prefix = re.search(r"\(([0-9a-f]{8})\)$", evidence.upload_label)
    check(
        "upload stored in datasets with its checksum",
        upload is not None
        and re.fullmatch(r"[0-9a-f]{64}", upload.sha256 or "")
        and Path(upload.path).is_file()
        and (prefix is None or upload.sha256.startswith(prefix.group(1))),
        f"{upload.name}: {upload.format}, {upload.sentences:,} sentences, {upload.tokens:,} tokens, "
        f"sha256 {upload.sha256}, file {upload.path}"
        if upload
        else f"no dataset named {evidence.upload_name!r}",
    )

    runs = {run.id: run for run in store.list_runs()}
    facts["runs"] = [
        (r.id, r.model_name, r.status, r.metrics.get("entity_f1"), r.parent_run_id, r.duration_s) for r in runs.values()
    ]
    parent = runs.get(evidence.model2_run_id)
    check(
        "model2 run completed with metrics on the upload",
        parent is not None
        and parent.status == RunStatus.COMPLETED
        and "entity_f1" in parent.metrics
        and upload is not None
        and parent.dataset_sha256 == upload.sha256,
        f"{parent.id}: {parent.status}, entity_f1 {parent.metrics.get('entity_f1')}, "
        f"token_accuracy {parent.metrics.get('token_accuracy')}, epochs {parent.config.get('epochs')}, "
        f"dataset {Path(parent.dataset_path).name}"
        if parent
        else f"no run {evidence.model2_run_id!r}",
    )

    if parent is not None and parent.metrics.get("entity_f1") == 0:
        facts.setdefault("warnings", []).append(
            f"{parent.id} has entity F1 0: it predicts only O. The form's model2 defaults (batch "
            f"{parent.config.get('batch_size')}, learning rate {parent.config.get('learning_rate')}) barely take a few "
            "steps per epoch on a corpus this small; the Home defaults for the sample use batch 8 and rate 5e-3."
        )

    annotations = [a for a in store.list_annotations() if a.id in evidence.annotation_ids]
    good = [
        a
        for a in annotations
        if a.analyst == options.analyst
        and a.original_tags
        and len(a.original_tags) == len(a.tags)
        and a.tags != a.original_tags
        and a.model_run_id == evidence.model2_run_id
    ]
    check(
        f"{ANNOTATIONS} annotations with analyst and original prediction",
        len(good) == ANNOTATIONS and len(store.list_annotations()) == ANNOTATIONS,
        "; ".join(
            f"#{a.id} by {a.analyst!r} on {a.model_run_id}: "
            f"{sum(t != o for t, o in zip(a.tags, a.original_tags))} tag(s) changed, source {a.source}"
            for a in annotations
        )
        or "none",
    )

    child = runs.get(evidence.child_run_id)
    check(
        "retrained child run completed, parent = model2 run",
        child is not None
        and child.status == RunStatus.COMPLETED
        and child.parent_run_id == evidence.model2_run_id
        and "entity_f1" in child.metrics,
        f"{child.id}: {child.status}, parent {child.parent_run_id}, entity_f1 {child.metrics.get('entity_f1')}"
        if child
        else f"no run {evidence.child_run_id!r}",
    )
    recorded = lineage.read_lineage(child.run_dir) if child is not None and child.run_dir else None
    check(
        "the child recorded the exact annotations it trained on",
        recorded is not None and set(recorded.ids) == set(evidence.annotation_ids),
        f"annotations.json: {list(recorded.ids) if recorded else 'none'}; saved: {sorted(evidence.annotation_ids)}",
    )

    logged = store.count_predictions(simulation_id=evidence.simulation_id) if evidence.simulation_id else 0
    check(
        f"prediction log has >= {options.requests:,} rows for the simulation",
        logged >= options.requests,
        f"{logged:,} rows for {evidence.simulation_id or '(no simulation)'}; {store.count_predictions():,} rows in total",
    )
    summaries = {s["simulation_id"]: s for s in store.simulation_summaries()}
    summary = summaries.get(evidence.simulation_id)
    check(
        "simulation summary exists",
        summary is not None and summary["requests"] >= options.requests,
        f"{summary['simulation_id']}: {summary['requests']:,} requests, logged {summary['first']} .. {summary['last']}"
        if summary
        else "none",
    )
    if summary is not None:
        rows = store.prediction_rows(simulation_id=evidence.simulation_id)
        arms: dict[str, int] = {}
        for row in rows:
            arms[row["arm"]] = arms.get(row["arm"], 0) + 1
        facts["arms"] = arms
        facts["errors"] = sum(1 for row in rows if row["error"])
    store.engine.dispose()
    return checks, facts


# --------------------------------------------------------------------------- report


def write_report(
    options: Options,
    steps: list[StepRecord],
    checks: list[Check],
    facts: dict,
    evidence: Evidence,
    total_s: float,
    failure: str | None,
    server_log: str,
) -> Path:
    lines = ["# NER Workbench walk-through", ""]
    python = Path(sys.executable)
    python = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    lines += [
        f"- Command: `{' '.join([str(python), *sys.argv])}`",
        f"- Data: `{options.data}`",
        f"- Epochs: {options.epochs if options.epochs is not None else 'model default'}; "
        f"requests: {options.requests:,}; analyst: {options.analyst}",
        f"- Finished: {time.strftime('%Y-%m-%d %H:%M:%S')}; total wall time {_duration(total_s)}",
        f"- Result: **{'PASS' if failure is None and all(c.ok for c in checks) else 'FAIL'}**",
        "",
    ]
    if failure:
        lines += ["## Failure", "", "```", failure.strip(), "```", ""]
    lines += ["## Steps", "", "| step | wall time | result | screenshots |", "|---|---|---|---|"]
    for step in steps:
        result = {True: "ok", False: "FAILED", None: "not run"}[step.ok]
        lines.append(f"| {step.key}. {step.title} | {_duration(step.seconds)} | {result} | {', '.join(step.screenshots)} |")
    lines.append("")
    for step in steps:
        if step.notes:
            lines += [f"### {step.key}. {step.title}", ""] + [f"- {note}" for note in step.notes] + [""]
    if facts.get("warnings"):
        lines += ["## Warnings", ""] + [f"- {warning}" for warning in facts["warnings"]] + [""]
    lines += [
        "## Database evidence",
        "",
        f"Database: `{options.database_url}`",
        "",
        "| check | result | evidence |",
        "|---|---|---|",
    ]
    for item in checks:
        lines.append(f"| {item.name} | {'PASS' if item.ok else 'FAIL'} | {item.detail.replace('|', '/')} |")
    lines.append("")
    if facts.get("runs"):
        lines += [
            "Runs in the workspace:",
            "",
            "| run | model | status | entity F1 | parent | duration |",
            "|---|---|---|---|---|---|",
        ]
        for run_id, model, status, f1, parent, duration in facts["runs"]:
            lines.append(
                f"| {run_id} | {model} | {status} | {f1:.4f} | {parent or ''} | {_duration(duration)} |"
                if isinstance(f1, float)
                else f"| {run_id} | {model} | {status} | | {parent or ''} | |"
            )
        lines.append("")
    if facts.get("arms"):
        lines.append(
            "Simulation rows per serving arm: "
            + ", ".join(f"{arm}: {n:,}" for arm, n in facts["arms"].items())
            + f"; errored requests: {facts['errors']:,}."
        )
        lines.append("")
    tracebacks = server_log.count("Traceback (most recent call last)")
    lines += ["## Server log", "", f"`streamlit.log`: {tracebacks} traceback(s)."]
    path = options.out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _num(text: str, digits: int = 3) -> str:
    """A grid cell's number, rounded for the report (grids expose raw values; anything else stays as is)."""
    try:
        return f"{float(text):.{digits}f}"
    except (TypeError, ValueError):
        return str(text)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


# --------------------------------------------------------------------------- main


def run_step(step: StepRecord, ui: Ui, action: Callable[[], None]) -> str | None:
    """Run one step on ``ui``, timing it; on an exception record it, screenshot the page and return what failed."""
    print(f"[{step.key}] {step.title}", flush=True)
    ui.current = step
    started = time.time()
    failure = None
    try:
        action()
        step.ok = True
    except Exception as exc:  # noqa: BLE001 - recorded, screenshotted and reported
        step.ok = False
        failure = f"step {step.key} ({step.title}): {exc.__class__.__name__}: {exc}"
        try:
            ui.shot(f"FAILED-{step.key}")
        except Exception:  # noqa: BLE001 - the page may be gone
            pass
    finally:
        step.seconds = time.time() - started
        print(f"    -> {'ok' if step.ok else 'FAILED'} in {_duration(step.seconds)}", flush=True)
    return failure


def prepare_output(options: Options) -> None:
    """Wipe the workspace and the previous walk's screenshots and report (nothing else in ``--out``)."""
    options.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(options.workspace, ignore_errors=True)
    options.workspace.mkdir(parents=True)
    for old in [*options.out.glob("[0-9][0-9]-*.png"), options.out / "report.md"]:
        old.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    chromium = browser_harness.chromium_executable()
    if chromium is None:
        print("chromium is missing; scripts/ensure_chromium.sh installs Debian's chromium", file=sys.stderr)
        return 2
    prepare_output(options)
    from playwright.sync_api import sync_playwright

    evidence = Evidence()
    steps = [
        StepRecord("a", "Home"),
        StepRecord("b", "Data explorer: upload, report, charts, sentences"),
        StepRecord("c", "Training runs: model2 on the upload"),
        StepRecord("d", "Model comparison"),
        StepRecord("e", "Annotate three sentences"),
        StepRecord("f", "Retrain with the annotations"),
        StepRecord("g", f"A/B traffic: {options.requests:,} requests"),
    ]
    actions = {
        "a": lambda ui: step_home(ui, evidence),
        "b": lambda ui: step_data_explorer(ui, evidence, options),
        "c": lambda ui: step_training(ui, evidence, options),
        "d": lambda ui: step_comparison(ui, evidence),
        "e": lambda ui: step_annotate(ui, evidence, options),
        "f": lambda ui: step_retrain(ui, evidence, options),
        "g": lambda ui: step_ab_traffic(ui, evidence, options),
    }
    failure = None
    started = time.time()
    server = Server(options)
    print(f"workspace {options.workspace}; screenshots and report in {options.out}", flush=True)
    try:
        server.start()
        print(f"streamlit at {server.url}", flush=True)
        with sync_playwright() as playwright:
            browser = browser_harness.launch_chromium(playwright, chromium)
            try:
                ui = Ui(browser.new_page(viewport=browser_harness.VIEWPORT), server, options)
                for step in steps:
                    failure = run_step(step, ui, lambda ui=ui, key=step.key: actions[key](ui))
                    if failure:
                        break
            finally:
                browser.close()
    except Exception as exc:  # noqa: BLE001 - the server or the browser could not start
        failure = failure or f"{exc.__class__.__name__}: {exc}"
    finally:
        server.stop()

    checks, facts = [], {}
    try:
        checks, facts = verify_database(options, evidence)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        checks.append(Check("database readable", False, f"{exc.__class__.__name__}: {exc}"))
    report = write_report(
        options,
        steps,
        checks,
        facts,
        evidence,
        time.time() - started,
        failure,
        server.log_path.read_text(errors="replace") if server.log_path.exists() else "",
    )
    print("\nDatabase evidence:")
    for item in checks:
        print(f"  [{'PASS' if item.ok else 'FAIL'}] {item.name}: {item.detail}")
    for warning in facts.get("warnings", []):
        print(f"  WARNING: {warning}")
    if failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
    ok = failure is None and checks and all(item.ok for item in checks)
    print(f"\n{'PASS' if ok else 'FAIL'} in {_duration(time.time() - started)}; report: {report}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
