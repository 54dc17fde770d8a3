"""What one mischievous participant can do to a shared server: each attack, its cost, the answer.

Starts `streamlit run streamlit_app.py` headless on a loopback port (CHARRNN_HOME in a
temporary folder), then, one at a time, drives Debian's chromium through each attack as a
person would (uploads, sliders at their ends, Train with every setting at its largest, a
flood of visits, parallel password guesses). Before each attack the server's peak-memory
mark is reset (/proc/PID/clear_refs); after it the benchmark prints the server's resident
memory before, its peak during the attack, what the page said, and how long another
visitor's page took to answer. The figure to reach: under 200 MB added by any one attack,
and the server alive afterwards.
Usage: python benchmarks/room_attacks.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import struct
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from common import ROOT, machine, save

sys.path.insert(0, str(ROOT / "tests"))
from browser_support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    StreamlitServer,
    click_button,
    keyed,
    open_page,
    process_memory,
    reset_peak,
    settle,
)
from playwright.sync_api import sync_playwright  # noqa: E402
from protocol_client import Visitor  # noqa: E402

MB = 1024 * 1024
TARGET_MB = 200
PASSWORD = "a-long-instructor-password"


# ----- the server's memory ------------------------------------------------------------
def workspace_count(home: Path) -> int:
    folder = home / "workspaces"
    return sum(1 for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else 0


# ----- another visitor ------------------------------------------------------------------
def run_async(coroutine):
    """asyncio.run in a thread of its own (Playwright's sync API holds this thread's loop)."""
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as error:  # noqa: BLE001 (raised again in the caller)
            result["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def other_visitor_seconds(url: str) -> float:
    """Seconds for a fresh visitor's Home page to be drawn completely (protocol client)."""

    async def visit() -> float:
        visitor = Visitor(url, timeout=120)
        started = time.monotonic()
        try:
            await visitor.connect()
            return time.monotonic() - started
        finally:
            await visitor.close()

    return run_async(visit())


class Probe(threading.Thread):
    """Another visitor opening Home every second while an attack runs: the slowest answer."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.slowest, self.failures = url, 0.0, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.slowest = max(self.slowest, other_visitor_seconds(self.url))
            except Exception:  # noqa: BLE001 (a probe that fails is what we count)
                self.failures += 1
            self.stopped.wait(1.0)

    def stop(self) -> tuple[float, int]:
        self.stopped.set()
        self.join(150)
        return self.slowest, self.failures


# ----- hostile files ----------------------------------------------------------------------
def unclosed_branches(characters: int) -> bytes:
    return ("C(" * (characters // 2)).encode("ascii") + b"\n"


def csv_with_a_huge_cell(characters: int) -> bytes:
    return b"name,smiles\nethanol,CCO\nbig," + unclosed_branches(characters)


def huge_description_zip(hidden: int = 4096, layers: int = 3) -> bytes:
    """A few hundred bytes: a safetensors checkpoint describing a huge LSTM, tensors empty."""
    description = {
        "format": "charrnn-checkpoint-1",
        "model_config": {
            "vocab_size": 43,
            "cell": "lstm",
            "embedding_size": 64,
            "hidden_size": hidden,
            "layers": layers,
            "dropout": 0.0,
        },
        "vocabulary": {
            "tokens": ["<pad>", "<s>", "</s>", *"CNOSPFIBcnops()=#123456789[]+-@HlrKLMXYZ"],
            "tokenizer": "char",
            "line_based": True,
        },
        "step": 1,
    }
    header = {"__metadata__": {"charrnn": json.dumps(description)}}
    header_bytes = json.dumps(header).encode("utf-8")
    checkpoint = struct.pack("<Q", len(header_bytes)) + header_bytes
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("checkpoint.safetensors", checkpoint)
    return buffer.getvalue()


def big_model_run(home: Path) -> str:
    """A workspace holding one finished run of a large model (the server's upper limit of
    what a run may be): the sampling and download attacks use it. Returns the token."""
    sys.path.insert(0, str(ROOT))
    from charrnn.core.model import CharRNN, ModelConfig
    from charrnn.core.tokens import build_vocabulary
    from charrnn.core.train_config import TrainConfig
    from charrnn.limits import MAX_PARAMETERS, parameter_count
    from charrnn.runs.config import RunConfig, write_run_config
    from charrnn.runs.status import write_status
    from charrnn.runs.workspace import Workspace, new_workspace

    root = home / "workspaces"
    root.mkdir(parents=True, exist_ok=True)
    token = new_workspace(root)
    space = Workspace(token, root)
    vocabulary = build_vocabulary(
        ["CCO", "c1ccccc1", "CC(=O)N[C@@H](Cl)Br"], "smiles", line_based=True
    )
    hidden = 1024
    while parameter_count("lstm", vocabulary.size, 256, hidden, 2) > MAX_PARAMETERS:
        hidden -= 64
    config = ModelConfig(vocabulary.size, "lstm", 256, hidden, 2)
    folder = space.folder / "r-0123456789ab"
    from charrnn.core.checkpoint import save_checkpoint

    save_checkpoint(folder, CharRNN(config), vocabulary, {"step": 1})
    write_run_config(
        folder,
        RunConfig("builtin:nci-5k", "smiles", "", "smiles", config, TrainConfig(steps=1)),
    )
    write_status(folder, name="a large model", status="finished", created=time.time())
    return token


# ----- the attacks ------------------------------------------------------------------------
def upload_corpus(page, name: str, data: bytes) -> str:
    open_page(page, "Corpus")
    keyed(page, "corpus_source").get_by_text("Upload", exact=True).click()
    upload = keyed(page, "corpus_upload").locator('input[type="file"]')
    upload.set_input_files(files=[{"name": name, "mimeType": "text/plain", "buffer": data}])
    answer = page.locator(
        '[data-testid="stAlertContentError"], [data-testid="stMetric"], [data-testid="stException"]'
    )
    answer.first.wait_for(timeout=300_000)
    settle(page, 120)
    said = page_message(page)
    keyed(page, "corpus_upload").get_by_role("button", name=f"Remove {name}").click()
    settle(page, 30)
    return said


def upload_model(page, data: bytes) -> str:
    open_page(page, "Models")
    upload = keyed(page, "models_upload_model").locator('input[type="file"]')
    upload.set_input_files(files=[{"name": "m.zip", "mimeType": "application/zip", "buffer": data}])
    keyed(page, "models_import").wait_for()
    click_button(page, "models_import")
    answer = page.locator(
        '[data-testid="stAlertContentError"], [data-testid="stAlertContentSuccess"], '
        '[data-testid="stException"], [data-testid="stToast"]'
    )
    answer.first.wait_for(timeout=300_000)
    settle(page, 120)
    return page_message(page)


def slide_to_end(page, key: str) -> None:
    thumb = keyed(page, key).locator('input[type="range"]')
    thumb.focus()
    thumb.press("End")
    settle(page, 60)


def generate_largest(page, url: str, token: str) -> str:
    page.goto(f"{url}/generate?ws={token}")
    keyed(page, "generate_button").wait_for(timeout=120_000)
    slide_to_end(page, "generate_count_sm")
    slide_to_end(page, "generate_length_sm")
    click_button(page, "generate_button")
    answer = page.locator(
        '[data-testid="stAlertContentError"], [data-testid="stImage"], [data-testid="stException"]'
    )
    answer.first.wait_for(timeout=300_000)
    settle(page, 300)
    return page_message(page) + f" ({page.locator('[data-testid=stImage]').count()} grid)"


def download_model(page, url: str, token: str) -> str:
    page.goto(f"{url}/models?ws={token}")
    keyed(page, "models_download").wait_for(timeout=120_000)
    with page.expect_download(timeout=300_000) as download:
        keyed(page, "models_download").get_by_role("button").first.click()
    size = Path(download.value.path()).stat().st_size
    return f"downloaded {size / MB:.1f} MB"


def train_largest(page) -> str:
    open_page(page, "Home")
    click_button(page, "start_pattern")
    page.locator("h1", has_text="Train").wait_for(timeout=60_000)
    page.get_by_text("Advanced settings").click()
    largest = {  # the largest each field of the page accepts
        "train_layers": 6,
        "train_hidden_size": 2048,
        "train_embedding_size": 1024,
        "train_sequence_length": 512,
        "train_batch_size": 512,
    }
    for key, value in largest.items():
        field = page.locator(f'[class*="st-key-{key}"] input').first
        field.fill(str(value))
        field.press("Enter")
        settle(page, 30)
    train = keyed(page, "train_start").locator("button")
    if train.is_disabled():
        return "Train is disabled: " + page_message(page)
    train.click()
    settle(page, 120)
    page.wait_for_timeout(20_000)  # a worker that started has time to fail (or not)
    settle(page, 30)
    return page_message(page)


def many_visits(url: str, count: int = 200) -> str:
    async def visit_all() -> None:
        for start in range(0, count, 20):
            visitors = [Visitor(url, timeout=120) for _ in range(min(20, count - start))]
            await asyncio.gather(*(visitor.connect() for visitor in visitors))
            await asyncio.gather(*(visitor.close() for visitor in visitors))

    run_async(visit_all())
    return f"{count} visits by fresh tabs"


def guess_passwords(url: str, count: int = 30) -> str:
    """Parallel sessions each typing a wrong password on the Instructor page."""

    async def one(number: int) -> bool:
        visitor = Visitor(url, timeout=120)
        try:
            await visitor.connect()
            await visitor.go("instructor")
            kind, widget = visitor.page.widget("instructor_password")
            visitor.values[widget.id] = {"string_value": f"guess-{number}"}
            await visitor.press("instructor_open")
            return visitor.page.has_text("Wrong password")
        finally:
            await visitor.close()

    async def all_of_them() -> list[bool]:
        return await asyncio.gather(*(one(n) for n in range(count)))

    wrong = sum(run_async(all_of_them()))
    return f"{count} parallel guesses: {wrong} were compared, {count - wrong} were held back"


def page_message(page) -> str:
    """The alerts the page shows (errors, warnings, infos), shortened."""
    alerts = page.locator(
        '[data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"], '
        '[data-testid="stAlertContentSuccess"], [data-testid="stToast"]'
    ).all_inner_texts()
    if page.locator('[data-testid="stException"]').count():
        alerts.insert(0, "TRACEBACK SHOWN")
    text = " | ".join(" ".join(alert.split()) for alert in alerts) or "(no message)"
    return text[:300]


# ----- the run ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="run only these attacks")
    parser.add_argument("--chromium", type=Path, default=CHROMIUM)
    args = parser.parse_args()
    if not args.chromium.exists():
        sys.exit(f"No chromium at {args.chromium} (apt-get install chromium).")
    before = machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="charrnn-attacks-") as folder:
        home = Path(folder)
        token = big_model_run(home)
        os.environ["CHARRNN_INSTRUCTOR_PASSWORD"] = PASSWORD
        server = StreamlitServer(home, workers=2)
        try:
            server.wait_healthy(120)
            other_visitor_seconds(server.url)  # the first visit imports the pages
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(args.chromium), args=CHROMIUM_ARGS
                )
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.set_default_timeout(120_000)
                page.goto(server.url)
                page.locator("h1").first.wait_for()
                attacks = {
                    "smiles-line-40KB": lambda: upload_corpus(
                        page, "long.smi", unclosed_branches(40_000)
                    ),
                    "smiles-line-200KB": lambda: upload_corpus(
                        page, "longer.smi", unclosed_branches(200_000)
                    ),
                    "csv-cell-200KB": lambda: upload_corpus(
                        page, "cell.csv", csv_with_a_huge_cell(200_000)
                    ),
                    "model-zip-4096x3": lambda: upload_model(page, huge_description_zip()),
                    "generate-largest": lambda: generate_largest(page, server.url, token),
                    "download-largest": lambda: download_model(page, server.url, token),
                    "train-largest": lambda: train_largest(page),
                    "200-fresh-tabs": lambda: many_visits(server.url),
                    "password-guessing": lambda: guess_passwords(server.url),
                }
                for name, attack in attacks.items():
                    if args.only and name not in args.only:
                        continue
                    rows.append(one_attack(name, attack, server, home))
                    print(row_text(rows[-1]), flush=True)
                browser.close()
        finally:
            alive = server.process.poll() is None
            server.stop()
    result = {"rows": rows, "server_alive": alive, "machine_before": before}
    result["machine_after"] = machine()
    print()
    print(table(result))
    print(
        f"load average before {before['load_average']}, after {result['machine_after']['load_average']}"
    )
    print(f"saved {save('room-attacks', result)}")


def one_attack(name: str, attack, server: StreamlitServer, home: Path) -> dict:
    pid = server.process.pid
    reset_peak(pid)
    rss_before = process_memory(pid)["VmRSS"]
    folders_before = workspace_count(home)
    probe = Probe(server.url)
    probe.start()
    started = time.monotonic()
    try:
        said = attack()
    except Exception as error:  # noqa: BLE001 (the table says what went wrong)
        said = f"the attack itself failed: {type(error).__name__}: {str(error)[:200]}"
    seconds = time.monotonic() - started
    slowest, failures = probe.stop()
    alive = server.process.poll() is None
    after = process_memory(pid) if alive else {"VmRSS": 0, "VmHWM": 0}
    answer = other_visitor_seconds(server.url) if alive else None
    return {
        "attack": name,
        "rss_before_mb": rss_before / MB,
        "peak_mb": after["VmHWM"] / MB,
        "added_mb": max(0, after["VmHWM"] - rss_before) / MB,
        "attack_seconds": seconds,
        "other_visitor_slowest_s": slowest,
        "other_visitor_failures": failures,
        "other_visitor_after_s": answer,
        "workspaces_added": workspace_count(home) - folders_before,
        "server_alive": alive,
        "page_said": re.sub(r"\s+", " ", said),
    }


def row_text(row: dict) -> str:
    answer = row["other_visitor_after_s"]
    return (
        f"| {row['attack']} | {row['rss_before_mb']:.0f} | {row['peak_mb']:.0f} | "
        f"**{row['added_mb']:.0f}** | {row['attack_seconds']:.1f} | "
        f"{row['other_visitor_slowest_s']:.2f} ({row['other_visitor_failures']} failed) | "
        f"{'-' if answer is None else f'{answer:.2f}'} | {row['workspaces_added']} | "
        f"{'yes' if row['server_alive'] else 'NO'} | {row['page_said'][:140]} |"
    )


def table(result: dict) -> str:
    lines = [
        "| attack | server MB before | peak MB | added MB | attack s | another visitor's "
        "slowest Home during it, s | after, s | workspaces added | server alive | what the "
        "page said |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [row_text(row) for row in result["rows"]]
    worst = max((row["added_mb"] for row in result["rows"]), default=0.0)
    verdict = "met" if worst < TARGET_MB and result["server_alive"] else "NOT met"
    lines.append("")
    lines.append(f"largest added: {worst:.0f} MB (target < {TARGET_MB} MB): {verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
