"""A workshop room on one server: N people train a tiny model and generate.

Starts `streamlit run streamlit_app.py` headless on a free loopback port (CHARRNN_HOME in a
temporary folder, CHARRNN_WORKERS=2), then N people, each a client speaking Streamlit's
protocol (benchmarks/protocol_client.py; the default) or a browser context in one chromium
(--client browser: on 2 cores the tabs take the CPU the server needs). Each person opens
Home, presses a one-click start, sets the steps in Advanced settings, presses Train, waits
on the Train page for the end (its live parts refresh themselves; every so often the person
opens Models and comes back), then opens Generate and presses Generate. It reports page
response times (browser: from a click or a navigation to the page's main element being
visible; protocol: from the rerun sent to the script's end, live refreshes included), p50/p95
overall and while training ran; jobs completed; errors (must be 0); peak memory of the server
and its workers; the load.
With --backends local ray (protocol client only) the same room runs twice in one go, on
--servers app servers sharing one store (each visitor sticks to one, as behind a load
balancer with sticky sessions): with the local backend (each server runs its own workers,
--workers split between them) and with a local Ray cluster of --workers CPUs (one queue for
every server, in its coordinator); one table each and a comparison of p95 page time and jobs
completed.
Usage: python benchmarks/load_workshop.py [--users 30] [--steps 200] [--workers 2]
       [--client protocol|browser] [--backends local ray] [--servers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import RESULTS, ROOT, machine, save

sys.path.insert(0, str(ROOT / "tests"))
from browser_support import CHROMIUM, CHROMIUM_ARGS, StreamlitServer  # noqa: E402
from playwright.async_api import async_playwright, expect  # noqa: E402
from protocol_client import Visitor  # noqa: E402

STARTS = {  # one-click start on Home -> (button key, the steps field of its preset)
    "pattern": ("start_pattern", "train_steps_tiny"),
    "molecules": ("start_molecules", "train_steps_finetune"),
}


@dataclass
class User:
    number: int
    timings: list[tuple[str, float, float]] = field(default_factory=list)  # action, at, s
    errors: list[str] = field(default_factory=list)
    trained: bool = False
    generated: bool = False
    train_seconds: float | None = None


# ----- memory and load, sampled in a thread ----------------------------------------------
def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (from /proc's parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat", encoding="ascii") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Sampler(threading.Thread):
    """Every ``seconds``: RSS of the server and its workers, workers alive, load average."""

    def __init__(self, server_pid: int, seconds: float = 0.5):
        super().__init__(daemon=True)
        self.server_pid, self.seconds = server_pid, seconds
        self.peak_rss, self.peak_workers, self.peak_load = 0, 0, 0.0
        self.stopped = threading.Event()
        self.cpu_start = cpu_times()

    def run(self) -> None:
        while not self.stopped.wait(self.seconds):
            tree = process_tree(self.server_pid)
            self.peak_rss = max(self.peak_rss, sum(rss_bytes(pid) for pid in tree))
            self.peak_workers = max(self.peak_workers, len(tree) - 1)
            self.peak_load = max(self.peak_load, os.getloadavg()[0])

    def stop(self) -> float:
        """Stop sampling; returns the machine's CPU use (0..1) while it ran."""
        self.stopped.set()
        self.join()
        busy, total = cpu_times()
        return (busy - self.cpu_start[0]) / max(1, total - self.cpu_start[1])


# ----- one person ------------------------------------------------------------------------
async def settle(page, seconds: float = 15.0) -> None:
    """Until the script has finished its run (Streamlit's running indicator is gone)."""
    deadline = time.monotonic() + seconds
    busy = page.locator("[data-testid='stStatusWidget']")
    while await busy.count() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)


async def timed(user: User, action: str, step) -> None:
    """Run ``step`` (a coroutine) and record how long it took under ``action``."""
    started, at = time.monotonic(), time.time()
    await step
    user.timings.append((action, at, time.monotonic() - started))


async def navigate(page, title: str, heading: str, main_element, timeout: float) -> None:
    """Follow the sidebar link to a page until its title and ``main_element`` are visible."""
    await page.locator("[data-testid='stSidebarNav'] a", has_text=title).click()
    await expect(page.locator("h1", has_text=heading)).to_be_visible(timeout=timeout)
    await expect(main_element.first).to_be_visible(timeout=timeout)


async def no_traceback(page, where: str) -> None:
    if await page.locator("[data-testid='stException']").count():
        raise RuntimeError(f"a traceback is shown on {where}")


async def person(browser, url: str, user: User, args) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    timeout = args.page_timeout * 1000
    page.set_default_timeout(timeout)
    stage = "Home"
    try:
        await asyncio.sleep(user.number * args.stagger)
        start_key, steps_key = STARTS[args.start]

        async def home():
            await page.goto(url)
            await expect(page.locator(f".st-key-{start_key} button")).to_be_visible(timeout=timeout)

        await timed(user, "open Home", home())
        stage = "one-click start"

        async def start():
            await page.locator(f".st-key-{start_key} button").click()
            await expect(page.locator("h1", has_text="Train a model")).to_be_visible(
                timeout=timeout
            )
            await expect(page.locator(".st-key-train_start button")).to_be_visible(timeout=timeout)

        await timed(user, "one-click start -> Train", start())
        stage = "Advanced settings"
        await page.locator("[data-testid='stExpander'] summary", has_text="Advanced").click()
        steps = page.locator(f".st-key-{steps_key} input")
        await steps.fill(str(args.steps))
        await steps.press("Enter")
        await expect(steps).to_have_value(str(args.steps))
        await settle(page)
        stage = "Train"
        status = page.locator("[data-testid='stCaptionContainer']").filter(
            has_text=re.compile(r"^(Waiting to start|Training|Finished)$")
        )

        async def train():
            await page.locator(".st-key-train_start button").click()
            await expect(status.first).to_be_visible(timeout=timeout)

        pressed = time.monotonic()
        await timed(user, "press Train -> run shown", train())
        table = page.locator("[data-testid='stDataFrame']")
        done = page.get_by_text("Done. Try the model on the Generate page.")
        failed = page.get_by_text("Training stopped because of a problem")
        deadline = pressed + args.train_timeout
        while True:
            try:
                await expect(done).to_be_visible(timeout=args.probe_every * 1000)
                break
            except AssertionError:
                pass
            if await failed.count():
                raise RuntimeError(await failed.first.inner_text())
            if time.monotonic() > deadline:
                raise RuntimeError(f"training did not end within {args.train_timeout:.0f} s")
            await no_traceback(page, "Train")
            stage = "Models (while training)"
            await timed(
                user,
                "open Models",
                navigate(page, "Models", "Your models", table, timeout),
            )
            stage = "Train (while training)"
            await timed(
                user,
                "open Train",
                navigate(page, "Train", "Train a model", status, timeout),
            )
            stage = "Train"
        user.train_seconds = time.monotonic() - pressed
        progress = await page.locator("[data-testid='stProgress']").first.inner_text()
        if f"of {args.steps:,}" not in progress:
            raise RuntimeError(f"the run did not take the steps asked for: {progress!r}")
        user.trained = True
        await no_traceback(page, "Train")
        stage = "Generate"
        generate_button = page.locator(".st-key-generate_button button")
        await timed(
            user,
            "open Generate",
            navigate(page, "Generate", "Generate", generate_button, timeout),
        )
        made = page.locator("[data-testid='stCaptionContainer']", has_text="Made with seed")

        async def generate():
            await page.locator(".st-key-generate_button button").click()
            await expect(made.first).to_be_visible(timeout=timeout)

        await timed(user, "press Generate -> samples", generate())
        await no_traceback(page, "Generate")
        user.generated = True
    except Exception as error:  # every failure is counted and reported
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        user.errors.append(f"user {user.number}, {stage}: {first_line[:300]}")
        try:
            RESULTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(RESULTS / f"load-workshop-error-{user.number}.png"))
        except Exception:  # a screenshot is a bonus
            pass
    finally:
        await context.close()


async def visitor(url: str, user: User, args) -> None:
    """The same person as `person`, speaking Streamlit's protocol instead of driving a tab
    (benchmarks/protocol_client.py): every click is a rerun, timed from sending it to the
    script's end; the live parts of the Train page refresh themselves as in a browser."""
    start_key, steps_key = STARTS[args.start]
    tab = Visitor(url, timeout=args.page_timeout)
    stage = "Home"
    try:
        await asyncio.sleep(user.number * args.stagger)
        await tab.connect()
        stage = "one-click start"
        await tab.press(start_key, "one-click start -> Train")
        if not tab.page.has_text("Train a model"):
            raise RuntimeError("the one-click start did not open the Train page")
        stage = "Advanced settings"
        await tab.set_number(steps_key, args.steps, "set the steps")
        stage = "Train"
        pressed = time.monotonic()
        await tab.press("train_start", "press Train -> run shown")
        deadline = pressed + args.train_timeout
        next_probe = time.monotonic() + args.probe_every
        while not tab.page.has_text("Done. Try the model on the Generate page."):
            if tab.page.has_text("Training stopped because of a problem"):
                raise RuntimeError("the run failed")
            if tab.page.widget("train_start") is None and tab.page.has_text("Traceback"):
                raise RuntimeError("a traceback is shown on Train")
            if time.monotonic() > deadline:
                raise RuntimeError(f"training did not end within {args.train_timeout:.0f} s")
            if time.monotonic() > next_probe:
                stage = "Models (while training)"
                await tab.go("models", "open Models")
                stage = "Train (while training)"
                await tab.go("train", "open Train")
                stage = "Train"
                next_probe = time.monotonic() + args.probe_every
            await asyncio.sleep(0.2)
        user.train_seconds = time.monotonic() - pressed
        if not tab.page.has_text(f"of {args.steps:,}"):
            raise RuntimeError("the run did not take the steps asked for")
        user.trained = True
        stage = "Generate"
        await tab.go("generate", "open Generate")
        await tab.press("generate_button", "press Generate -> samples")
        if not tab.page.has_text("Made with seed"):
            raise RuntimeError("no samples after pressing Generate")
        user.generated = True
    except Exception as error:  # every failure is counted and reported
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        user.errors.append(f"user {user.number}, {stage}: {first_line[:300]}")
    finally:
        user.timings += tab.timings
        await tab.close()


# ----- the room --------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(statistics.median(values), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
    }


def run_statuses(home: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in (home / "workspaces").glob("*/r-*/run.json"):
        status = json.loads(path.read_text(encoding="utf-8")).get("status", "?")
        counts[status] = counts.get(status, 0) + 1
    return counts


def start_servers(args, home: Path, backend: str) -> list[StreamlitServer]:
    """``args.servers`` app servers on one store: local workers split among them, or all of
    them on the Ray cluster this process started (backend "ray")."""
    count = args.servers if backend == "ray" or args.backends else 1
    if backend == "ray":
        import ray

        environment = {"CHARRNN_RAY_ADDRESS": ray.get_runtime_context().gcs_address}
        workers = args.workers
    else:
        environment, workers = {}, max(1, args.workers // count)
    servers = [
        StreamlitServer(home, workers=workers, environment=environment, name=f"server{number}")
        for number in range(count)
    ]
    for server in servers:
        server.wait_healthy(seconds=180)
    return servers


async def room(args, home: Path, backend: str = "local") -> dict:
    if args.job_minutes:
        os.environ["CHARRNN_JOB_MINUTES"] = str(args.job_minutes)
    servers = start_servers(args, home, backend)
    server = servers[0]
    try:
        sampler = Sampler(os.getpid())  # this process's tree: servers, workers (and Ray)
        sampler.start()
        users = [User(number) for number in range(args.users)]
        started = time.monotonic()
        if args.client == "browser":
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(args.chromium), args=CHROMIUM_ARGS
                )
                await asyncio.gather(*(person(browser, server.url, u, args) for u in users))
                await browser.close()
        else:
            urls = [servers[user.number % len(servers)].url for user in users]  # sticky
            await asyncio.gather(
                *(visitor(url, u, args) for url, u in zip(urls, users, strict=True))
            )
        seconds = time.monotonic() - started
        cpu_use = sampler.stop()
        log = "\n".join(
            one.log_path.read_text(encoding="utf-8", errors="replace") for one in servers
        )
    finally:
        for one in servers:
            one.stop()
    errors = [error for user in users for error in user.errors]
    if "Traceback" in log:
        errors.append(f"the server's log has {log.count('Traceback')} traceback(s)")
    pressed = [at for u in users for action, at, _ in u.timings if action.startswith("press Train")]
    ends = [at + s for u in users for action, at, s in u.timings if action == "open Generate"]
    ends = ends or [at + s for u in users for _, at, s in u.timings]
    window = (min(pressed), max(ends)) if pressed and ends else (0.0, 0.0)
    actions: dict[str, list[float]] = {}
    during: list[float] = []
    for user in users:
        for action, at, spent in user.timings:
            actions.setdefault(action, []).append(spent)
            if window[0] <= at <= window[1]:
                during.append(spent)
    every = [spent for values in actions.values() for spent in values]
    return {
        "backend": backend,
        "servers": len(servers),
        "users": args.users,
        "steps": args.steps,
        "start": args.start,
        "client": args.client,
        "workers": args.workers,
        "job_minutes": args.job_minutes,
        "seconds": round(seconds, 1),
        "jobs_completed": sum(user.trained for user in users),
        "generated": sum(user.generated for user in users),
        "run_statuses": run_statuses(home),
        "errors": errors,
        "train_seconds": summary([u.train_seconds for u in users if u.train_seconds]),
        "page_response": summary(every),
        "page_response_while_training": summary(during),
        "actions": {action: summary(values) for action, values in actions.items()},
        "peak_memory_mb": round(sampler.peak_rss / 2**20, 1),
        "peak_processes_below_server": sampler.peak_workers,
        "peak_load_1min": round(sampler.peak_load, 2),
        "cpu_use": round(cpu_use, 3),
    }


def table(result: dict) -> str:
    lines = [
        f"{result['backend']} backend, {result['servers']} app server(s): "
        f"{result['users']} users, {result['steps']} steps each ({result['start']}), "
        f"{result['workers']} workers, {result['client']} client, "
        f"{result['seconds']:.0f} s in all",
        "",
        f"| {'action':<38} | count | p50 s | p95 s | max s |",
        f"| {'-' * 38} | ----- | ----- | ----- | ----- |",
    ]
    rows = [*result["actions"].items()]
    rows += [("all page responses", result["page_response"])]
    rows += [("  of which while training ran", result["page_response_while_training"])]
    rows += [("Train pressed -> Done (queue included)", result["train_seconds"])]
    for action, values in rows:
        if values.get("count"):
            lines.append(
                f"| {action:<38} | {values['count']:>5} | {values['p50']:>5.2f} | "
                f"{values['p95']:>5.2f} | {values['max']:>5.2f} |"
            )
    lines += [
        "",
        f"jobs completed: {result['jobs_completed']} of {result['users']} "
        f"(run statuses {result['run_statuses']}), generated: {result['generated']}",
        f"errors: {len(result['errors'])}",
        *[f"  {error}" for error in result["errors"][:20]],
        f"peak memory (this process tree: servers, workers, clients; RSS): "
        f"{result['peak_memory_mb']:.0f} MB; "
        f"at most {result['peak_processes_below_server']} processes below the server",
        f"machine: peak 1-minute load {result['peak_load_1min']}, CPU use "
        f"{result['cpu_use']:.0%} over the run",
    ]
    return "\n".join(lines)


def compare_backends(args) -> None:
    """The same room on each backend in one run; the Ray cluster is started here."""
    if args.client != "protocol":
        sys.exit("--backends needs the protocol client (one process per person is too heavy).")
    results = []
    for backend in args.backends:
        before = machine()
        if backend == "ray":
            import ray

            ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        try:
            with tempfile.TemporaryDirectory(prefix="charrnn-load-") as home:
                result = asyncio.run(room(args, Path(home), backend))
        finally:
            if backend == "ray":
                ray.shutdown()
        result["machine_before"], result["machine_after"] = before, machine()
        results.append(result)
        print(table(result), "\n", flush=True)
    print("| backend | servers | users | jobs completed | p95 page s | p95 while training s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for result in results:
        print(
            f"| {result['backend']} | {result['servers']} | {result['users']} | "
            f"{result['jobs_completed']} | {result['page_response'].get('p95', 0):.2f} | "
            f"{result['page_response_while_training'].get('p95', 0):.2f} |"
        )
    print(f"saved {save('load-backends', {'results': results})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=30, help="people in the room")
    parser.add_argument("--steps", type=int, default=200, help="training steps per person")
    parser.add_argument("--start", choices=sorted(STARTS), default="pattern")
    parser.add_argument("--workers", type=int, default=2, help="CHARRNN_WORKERS")
    parser.add_argument("--job-minutes", type=float, default=None, help="CHARRNN_JOB_MINUTES")
    parser.add_argument("--stagger", type=float, default=0.5, help="seconds between arrivals")
    parser.add_argument(
        "--probe-every", type=float, default=15.0, help="seconds between Models visits"
    )
    parser.add_argument("--page-timeout", type=float, default=120.0, help="seconds per page")
    parser.add_argument(
        "--train-timeout", type=float, default=1800.0, help="seconds from Train to Done"
    )
    parser.add_argument("--chromium", type=Path, default=CHROMIUM)
    parser.add_argument(
        "--client",
        choices=["protocol", "browser"],
        default="protocol",
        help="protocol: Streamlit's websocket protocol (light: the server gets the CPU); "
        "browser: one chromium tab per person (on 2 cores the tabs take the CPU)",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=["local", "ray"],
        help="run the room once per job backend, on --servers app servers sharing one store",
    )
    parser.add_argument("--servers", type=int, default=2, help="app servers (with --backends)")
    args = parser.parse_args()
    if args.backends:
        compare_backends(args)
        return
    if args.client == "browser" and not args.chromium.exists():
        sys.exit(f"No chromium at {args.chromium} (apt-get install chromium, or --chromium).")
    before = machine()
    with tempfile.TemporaryDirectory(prefix="charrnn-load-") as home:
        result = asyncio.run(room(args, Path(home)))
    result["machine_before"], result["machine_after"] = before, machine()
    print(table(result))
    print(
        f"load average before {before['load_average']}, after {result['machine_after']['load_average']}"
    )
    print(f"saved {save('load-workshop', result)}")
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
