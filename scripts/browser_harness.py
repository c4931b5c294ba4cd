"""Start the app and a browser the same way in the browser tests and in the walk-through.

One place for: chromium's flags on this closed network, where Debian's chromium
lives (Playwright never downloads one), a headless ``streamlit run app.py`` on a
free localhost port, and the one signal that tells a Streamlit script finished:
``stApp``'s ``data-test-script-state`` attribute (``notRunning`` when idle).
The status widget older helpers polled never appears in this Streamlit version.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Without the background-networking flags chromium keeps trying to reach Google's hosts,
# which this machine's closed network refuses, many connections at a time.
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
VIEWPORT = {"width": 1400, "height": 1000}
GRID_ROW_PX = 35  # row (and header) height of st.dataframe / st.data_editor


def app_page_paths(app_root: Path = ROOT) -> list[str]:
    """Every page's URL path in the app's navigation order ("" for the default page), read from app.py's
    ``st.Page("pages/<name>.py", ...)`` lines, so a page added there is visited by every browser check."""
    import re

    source = (app_root / "app.py").read_text(encoding="utf-8")
    paths = []
    for name, rest in re.findall(r'st\.Page\(\s*"pages/(\w+)\.py"([^\n]*)', source):
        paths.append("" if "default=True" in rest else name)
    return paths


IDLE_STATE = "notRunning"


class HarnessError(RuntimeError):
    """The server or the page did not get where it should in time (with the evidence)."""


def chromium_executable() -> str | None:
    """Debian's chromium, or None when it is not installed (scripts/ensure_chromium.sh installs it)."""
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamlitServer:
    """``streamlit run app.py`` headless on a free localhost port, its output in ``log_path``."""

    def __init__(self, *, env: dict, log_path: Path, start_timeout_s: float = 120, app_root: Path = ROOT):
        self.env = env
        self.app_root = Path(app_root)  # another checkout of the app (bench/page_load.py measures an older one)
        self.log_path = Path(log_path)
        self.start_timeout_s = start_timeout_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> StreamlitServer:
        self._log = open(self.log_path, "w")
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
        command += ["--server.port", str(self.port), "--server.address", "127.0.0.1"]
        command += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self.process = subprocess.Popen(command, cwd=self.app_root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            self.ensure_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise HarnessError(f"streamlit did not become healthy in {self.start_timeout_s:.0f} s:\n{self.log_tail()}")

    def ensure_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise HarnessError(f"the streamlit server exited with {self.process.returncode}:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> StreamlitServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def launch_chromium(playwright, executable: str):
    """A headless Debian chromium through Playwright, with the flags above."""
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def script_busy(page) -> bool:
    """True while the page's script runs (or has not run yet) or a spinner shows."""
    state = page.get_attribute('[data-testid="stApp"]', "data-test-script-state")
    return state != IDLE_STATE or page.locator('[data-testid="stSpinner"]').count() > 0


def wait_until_idle(page, timeout_s: float = 120, quiet_s: float = 1.5) -> None:
    """Wait until the script has finished and stayed finished for ``quiet_s``; raise on timeout.

    Never returns silently before the script is done, so a check that follows sees
    the page's final state (an exception box included).
    """
    page.wait_for_selector('[data-testid="stApp"]', state="attached", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        if script_busy(page):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.2)
    state = page.get_attribute('[data-testid="stApp"]', "data-test-script-state")
    raise HarnessError(f"the page's script did not finish in {timeout_s:.0f} s (script state {state!r})")


def time_page_load(page, url: str, timeout_s: float = 120) -> float:
    """Seconds from asking for ``url`` until its script has finished (the page is interactive).

    Opened by its address, as a reload or a shared link would; the clock includes the HTML, the
    websocket handshake and the whole script run, and stops the first moment the page is idle.
    """
    started = time.monotonic()
    page.goto(url)
    wait_until_idle(page, timeout_s=timeout_s, quiet_s=0.0)
    return time.monotonic() - started


def start_long_training_job(page, base_url: str, *, epochs: int = 1000, timeout_s: float = 120) -> None:
    """Start a baseline job from the Training runs form that trains until cancelled (early stopping off).

    The small-data form of the bundled sample: each epoch takes about a second, so the job keeps
    one process training for as long as a measurement needs. The caller finds its run in the store
    (the page's "Queued run" notice goes away when the job starts and the page reruns).
    """
    page.goto(f"{base_url}/training_runs")
    wait_until_idle(page, timeout_s=timeout_s)
    page.get_by_label("Model", exact=True).click()
    page.get_by_role("option", name="baseline", exact=True).click()
    wait_until_idle(page, timeout_s=timeout_s)
    epochs_input = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs_input.fill(str(epochs))
    epochs_input.press("Tab")
    page.get_by_text("Early stopping", exact=True).click()  # inside the form: no rerun until submitted
    page.get_by_role("button", name="Start training").click()
    wait_until_idle(page, timeout_s=timeout_s)


def cancel_every_job(page, base_url: str, timeout_s: float = 120) -> None:
    """Press Cancel on every job card of the Training runs page until none is left.

    A running job stops after its current batch, so its card (and button) may still be there after a
    click, or vanish between finding and clicking it: click whatever Cancel button shows, briefly, again.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"{base_url}/training_runs")
    wait_until_idle(page, timeout_s=timeout_s)
    buttons = page.get_by_role("button", name="Cancel", exact=True)
    deadline = time.monotonic() + timeout_s
    while buttons.count():
        if time.monotonic() > deadline:
            raise HarnessError(f"job cards still offer Cancel after {timeout_s:.0f} s")
        try:
            buttons.first.click(timeout=5_000)
        except PlaywrightTimeout:
            pass  # the card went away meanwhile
        time.sleep(1)


def watch_enter(page) -> None:
    """Record, in the page, when Enter is pressed and when the span editor's next sentence is painted (its
    ``data-item-id`` changes): read it with :func:`enter_latency_ms`. The browser test and the annotation walk
    time Enter this way."""
    page.locator(".se-root").evaluate(
        """root => {
            window.__enter = {};
            document.addEventListener('keydown', e => { if (e.key === 'Enter') window.__enter.pressed = performance.now(); },
                                      {capture: true, once: true});
            const observer = new MutationObserver(() => {
                observer.disconnect();
                requestAnimationFrame(() => { window.__enter.shown = performance.now(); });
            });
            observer.observe(root, {attributes: true, attributeFilter: ['data-item-id']});
        }"""
    )


def enter_latency_ms(page) -> float:
    page.wait_for_function("() => window.__enter && window.__enter.shown !== undefined", timeout=10_000)
    timing = page.evaluate("() => window.__enter")
    return timing["shown"] - timing["pressed"]


def wait_for_annotation(store, analyst: str, text: str, timeout_s: float = 60):
    """The newest annotation of ``text`` by ``analyst`` once it is in the database (an accepted sentence is
    written at once; polled every 5 ms so the wait can also time it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [a for a in store.list_annotations() if a.analyst == analyst and a.text == text]
        if found:
            return found[-1]
        time.sleep(0.005)
    raise HarnessError(f"no annotation by {analyst} of {text[:80]!r} in the database within {timeout_s:.0f} s")


def set_grid_tag(page, grid, position: int, tag: str, *, column: int = 4, screenshot: Path | None = None) -> list[str]:
    """Set the tag of row ``position`` in an ``st.data_editor`` tag column (``column``) as a user does: click the
    cell, Enter opens its list, click the tag; the cell counts as set once it shows the tag and the list has
    closed (an open list covers the rows below it and would take the next click). A row below the fold is
    reached with the arrow key from the last visible one.

    A rerun can redraw the grid under a click or close the list before the choice lands: then the try is
    repeated (three in all), after closing a list left open and scrolling the grid back into view. Returns
    where each repeated try stopped (the caller's, not the user's, actions); raises :class:`HarnessError`
    with those causes, and a full-page ``screenshot`` if given, when all three fail. The browser test and
    the annotation walk edit the grid this way.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    cell = f"glide-cell-{column}-{position}"
    selected = "([e, id]) => (e.querySelector('td[aria-selected=true]') || {}).id === id"
    causes: list[str] = []
    for attempt in range(3):
        if page.locator("#portal [role=option]").count():
            page.keyboard.press("Escape")
        if attempt:
            grid.evaluate("e => e.scrollIntoView({block: 'start'})")
        box = grid.bounding_box()
        row = min(position, int(box["height"] // GRID_ROW_PX) - 2)
        page.mouse.click(box["x"] + box["width"] - 40, box["y"] + GRID_ROW_PX * (row + 1.5))
        step = "the click selects the cell"
        try:
            for below in range(row + 1, position + 1):
                page.wait_for_function(selected, arg=[grid.element_handle(), f"glide-cell-{column}-{below - 1}"], timeout=5_000)
                page.keyboard.press("ArrowDown")
            page.wait_for_function(selected, arg=[grid.element_handle(), cell], timeout=5_000)
            step = "Enter opens the list and the tag is clicked"
            page.keyboard.press("Enter")
            option = page.locator("#portal [role=option]").filter(has_text=re.compile(rf"^{re.escape(tag)}$"))
            option.first.click(timeout=5_000)
            step = "the cell shows the tag and the list has closed"
            page.wait_for_function(
                """([e, id, tag]) => ((e.querySelector('#' + id) || {}).textContent || '').trim() === tag
                                     && !document.querySelector('#portal [role=option]')""",
                arg=[grid.element_handle(), cell, tag],
                timeout=5_000,
            )
            wait_until_idle(page, quiet_s=0.5)
            return causes
        except PlaywrightTimeout:
            shown = grid.evaluate(
                """(e, id) => ({selected: (e.querySelector('td[aria-selected=true]') || {}).id || null,
                                cell: ((e.querySelector('#' + id) || {}).textContent || '').trim(),
                                grids: document.querySelectorAll('[data-testid="stDataFrame"]').length,
                                options: document.querySelectorAll('#portal [role=option]').length,
                                top: Math.round(e.getBoundingClientRect().top), scrollY: Math.round(window.scrollY)})""",
                cell,
            )
            causes.append(f"cell {position} ({tag}), try {attempt + 1} stopped at: {step}; the page showed {shown}")
            wait_until_idle(page, quiet_s=0.5)
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    raise HarnessError(f"the grid's cell {cell} could not be set to {tag} in three tries ({screenshot}):\n" + "\n".join(causes))
