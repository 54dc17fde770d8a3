"""What the real-browser tests share: a Streamlit server, Debian's chromium, page helpers.

The server runs `streamlit run streamlit_app.py` in a fresh CHARRNN_HOME; the browser is
the chromium Debian ships (Playwright's own browsers cannot be downloaded here).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots (git-ignored)
CHROMIUM = Path("/usr/bin/chromium")
# The screenshots the README shows: with CHARRNN_SCREENSHOTS=docs/images (scripts/screenshots.sh)
# they are also written there, 1400 x 1100 px of the page so that they stay small: from the top,
# from the bottom, or from a heading less some pixels above it, whichever shows the page at work.
README_SHOTS = {
    "1-home": ("top", 0),
    "3-train": ("bottom", 0),
    "4-generate": ("Molecules", 40),
    "8-steer": ("Your steering run", 40),
    "10-game": ("The score", 560),
}
README_SHOT_WIDTH = 1400
README_SHOT_HEIGHT = 1100
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def process_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak since the last reset_peak) of a process, in bytes."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) * 1024
    return values


def reset_peak(pid: int) -> int:
    """Set a process's peak-memory mark to its memory now (Linux: clear_refs = 5); returns
    that memory in bytes."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")
    return process_memory(pid)["VmRSS"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamlitServer:
    """`streamlit run streamlit_app.py` on a free port, with its own workspaces folder."""

    def __init__(
        self, home: Path, workers: int = 1, environment: dict | None = None, name: str = "streamlit"
    ):
        """Several servers may share one ``home`` (one store), each with its own ``name``
        for its log; ``environment`` adds variables (e.g. CHARRNN_RAY_ADDRESS)."""
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / f"{name}.log"
        env = {
            **os.environ,
            "CHARRNN_HOME": str(home / "workspaces"),
            "CHARRNN_CACHE": str(home / "cache"),
            "CHARRNN_WORKERS": str(workers),
            "PYTHONUNBUFFERED": "1",
            **(environment or {}),
        }
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",  # no watching of the repository (and its .venv)
            "none",
        ]
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its training workers can be ended with it
        )

    def wait_healthy(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200 and answer.read().strip() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"streamlit did not answer within {seconds:.0f} s:\n{self.log()}")

    def log(self) -> str:
        """The end of the server's output, and what its workspaces hold (to explain a failure)."""
        self._log.flush()
        lines = [self.log_path.read_text(encoding="utf-8", errors="replace")[-5000:]]
        for path in sorted((self.home / "workspaces").glob("*/*.json")):
            lines.append(f"{path.relative_to(self.home)}: {path.read_text(encoding='utf-8')}")
        for path in sorted((self.home / "workspaces").glob("*/r-*/run.json")):
            lines.append(f"{path.relative_to(self.home)}: {path.read_text(encoding='utf-8')}")
        return "\n".join(lines)

    def stop(self) -> None:
        """Terminate, then kill; then end any training worker it left behind."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the session this server started
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()


@contextmanager
def running_server(folder: Path, request, workers: int = 1):
    """A healthy StreamlitServer for a test module; its log is printed if a test failed."""
    failed = request.session.testsfailed
    app = StreamlitServer(folder, workers=workers)
    try:
        app.wait_healthy(seconds=60)
        yield app
    finally:
        if request.session.testsfailed > failed:
            print(f"--- the end of streamlit's log ---\n{app.log()}")
        app.stop()


@contextmanager
def chromium_browser():
    """Debian's chromium driven by Playwright, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def launch_chromium(playwright):
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium); browser tests skipped"
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


# ----- page helpers: Streamlit gives each keyed widget the CSS class st-key-<key> --------
def keyed(page, key: str):
    return page.locator(f".st-key-{key}")


def click_button(page, key: str) -> None:
    keyed(page, key).locator("button").click()


def open_page(page, title: str) -> None:
    """Follow the sidebar's navigation link to a page, as a person would."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    page.locator("h1").first.wait_for()


def caption(page, pattern: str):
    """A caption whose whole text matches ``pattern`` (a regular expression)."""
    captions = page.locator('[data-testid="stCaptionContainer"]')
    return captions.filter(has_text=re.compile(pattern))


def no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "a traceback is shown"


def settle(page, seconds: float = 10.0) -> None:
    """Wait (at most ``seconds``) until the script has finished drawing the page."""
    deadline = time.monotonic() + seconds
    busy = page.locator(
        '[data-testid="stStatusWidget"], [data-testid="stElementContainer"][data-stale="true"], '
        '[data-testid="stSkeleton"]'
    )
    while busy.count() and time.monotonic() < deadline:
        page.wait_for_timeout(250)


def screenshot(page, name: str) -> Path:
    """The whole page as a PNG in tests/artifacts/ (the window grows to fit it); the README's
    shots (README_SHOTS) also in $CHARRNN_SCREENSHOTS, when set, cut to 1400 x 1100 px."""
    ARTIFACTS.mkdir(exist_ok=True)
    settle(page)
    size = page.viewport_size
    height = page.evaluate(
        """() => Math.max(...Array.from(
            document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]'),
            (element) => element.scrollHeight), document.body.scrollHeight)"""
    )
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.wait_for_timeout(500)  # charts redraw at the new size
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    readme_folder = os.environ.get("CHARRNN_SCREENSHOTS")
    if readme_folder and name in README_SHOTS:
        folder = Path(readme_folder)
        folder = folder if folder.is_absolute() else ROOT / folder
        folder.mkdir(parents=True, exist_ok=True)
        page_height = max(size["height"], height)
        clip_height = min(README_SHOT_HEIGHT, page_height)
        anchor, above = README_SHOTS[name]
        if anchor == "top":
            top = 0
        elif anchor == "bottom":
            top = page_height - clip_height
        else:
            heading = page.get_by_role("heading", name=anchor)
            box = heading.first.bounding_box() if heading.count() else None
            top = max(0, int(box["y"]) - above) if box else 0
        top = min(top, page_height - clip_height)
        width = min(README_SHOT_WIDTH, size["width"])
        clip = {"x": 0, "y": top, "width": width, "height": clip_height}
        page.screenshot(path=str(folder / f"{name}.png"), clip=clip)
    page.set_viewport_size(size)
    return path


def require_chromium():
    """Called at the top of a browser test module: skips the module, with the reason, where
    Debian's chromium or Playwright is missing; returns ``playwright.sync_api``."""
    import pytest

    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium); browser tests skipped",
            allow_module_level=True,
        )
    return pytest.importorskip("playwright.sync_api")


def visitor(browser):
    """A new person: a fresh browser context (no cookies, so a new workspace) and its tab."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    return context, tab
