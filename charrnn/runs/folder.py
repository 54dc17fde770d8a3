"""The files a run folder shares between the server and its worker: status, metrics, control.

run.json holds the run's name and status, metrics.jsonl one event per line (and
last_event.json a copy of its last line, so refreshes never parse a whole log), control.json
the latest message to the worker (pause, resume, stop, a new learning rate), and
generated.json the last samples the Generate page wrote with this run (so a refresh keeps them).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from charrnn.core.events import LAST_EVENT_FILE, METRICS_FILE
from charrnn.files import DiskFullError, atomic_write_text

STATUS_FILE, CONTROL_FILE = "run.json", "control.json"
GENERATED_FILE = "generated.json"
CHART_EVENTS = 2000  # read_metrics(limit=...) for charts: the most events a page draws
TAIL_BYTES = 16 * 1024  # how much of a log's end last_event reads without last_event.json
STATUS_LOCK_FILE = ".status.lock"  # flock()ed while a status file is read, changed, written
_status_guard = threading.Lock()  # the threads of one process take turns too


class RunError(ValueError):
    """A workspace or run that does not exist or cannot do what was asked."""


def clean_name(name: str) -> str:
    name = " ".join(str(name).split())[:80]
    return name or "Untitled run"


def read_status(folder: Path) -> dict:
    try:
        return json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_status(folder: Path, **values) -> None:
    """Write run.json atomically; on a full disk, rewrite it within the space it has.

    So a worker's last word ("failed: the server's disk is full") still reaches the page.
    """
    path, text = folder / STATUS_FILE, json.dumps(values, ensure_ascii=False)
    try:
        atomic_write_text(path, text)
    except DiskFullError:
        if not _rewrite_in_place(path, text.encode("utf-8")):
            raise


def _rewrite_in_place(path: Path, data: bytes) -> bool:
    """The last resort on a full disk: overwrite a file inside the blocks it already has.

    Not atomic (for a moment a reader may find half a file; read_status then gives {}),
    so used only when no new file can be written. False when it does not fit.
    """
    try:
        if len(data) > path.stat().st_blocks * 512:
            return False
        with open(path, "r+b") as handle:
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        return False
    return True


@contextlib.contextmanager
def status_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's status lock: one reader-changer-writer at a time, in any process.

    So the server's "stopped" and a worker's last "finished" cannot overwrite each other.
    Without a lock file (a full disk, a folder removed meanwhile) the write goes unlocked.
    """
    with _status_guard:
        try:
            handle = open(Path(folder) / STATUS_LOCK_FILE, "a+b")
        except OSError:
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield  # closing the file releases the lock


def update_status(folder: Path, **values) -> dict:
    """Change some fields of run.json, under the folder's status lock."""
    with status_lock(folder):
        status = {**read_status(folder), **values, "updated": time.time()}
        write_status(folder, **status)
    return status


def save_generated(folder: Path, seed: int, samples: list[tuple[str, float]], **extra) -> dict:
    """Keep the last samples written with this run: ``{"seed", "samples": [[text, ll]], ...}``."""
    record = {
        "seed": int(seed),
        "samples": [[str(text), float(ll)] for text, ll in samples],
        "made": time.time(),
        **extra,
    }
    atomic_write_text(Path(folder) / GENERATED_FILE, json.dumps(record, ensure_ascii=False))
    return record


def read_generated(folder: Path) -> dict | None:
    """The last samples saved by save_generated, or None (none yet, or a damaged file)."""
    try:
        record = json.loads((Path(folder) / GENERATED_FILE).read_text(encoding="utf-8"))
        samples = [(str(text), float(ll)) for text, ll in record["samples"]]
        return {**record, "seed": int(record["seed"]), "samples": samples}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_metrics(folder: Path, limit: int | None = None) -> list[dict]:
    """Every complete line of metrics.jsonl (a line being written is skipped).

    With ``limit``, at most that many events, spread evenly over the run (half of them
    training steps, half the other kinds), the last one always kept: only those are parsed.
    """
    try:
        lines = (Path(folder) / METRICS_FILE).read_bytes().split(b"\n")
    except OSError:
        return []
    lines = [line for line in lines if line.strip()]
    if limit is not None and len(lines) > limit:
        steps = [i for i, line in enumerate(lines) if STEP_MARK in line]
        others = [i for i, line in enumerate(lines) if STEP_MARK not in line]
        half = max(limit // 2, 1)
        picked = _evenly(others, half)
        picked |= _evenly(steps, limit - min(len(picked), half) - 1) | {len(lines) - 1}
        lines = [lines[i] for i in sorted(picked)]
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


STEP_MARK = b'"kind": "step"'  # how json.dumps writes a training step's kind


def _evenly(indices: list[int], count: int) -> set[int]:
    """At most ``count`` of ``indices``, evenly spaced, the first and last included."""
    if count <= 0 or not indices:
        return set()
    if len(indices) <= count:
        return set(indices)
    if count == 1:
        return {indices[-1]}
    stride = (len(indices) - 1) / (count - 1)
    return {indices[round(k * stride)] for k in range(count)}


def last_event(folder: Path) -> dict | None:
    """The run's latest event without parsing its log: last_event.json when it is as new as
    metrics.jsonl, else the last complete line among the log's final TAIL_BYTES."""
    folder = Path(folder)
    try:
        logged = (folder / METRICS_FILE).stat()
    except OSError:
        return None
    try:
        if (folder / LAST_EVENT_FILE).stat().st_mtime_ns >= logged.st_mtime_ns:
            event = json.loads((folder / LAST_EVENT_FILE).read_text(encoding="utf-8"))
            if isinstance(event, dict):
                return event
    except (OSError, ValueError):
        pass
    return _tail_event(folder / METRICS_FILE, logged.st_size)


def _tail_event(path: Path, size: int) -> dict | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, size - TAIL_BYTES))
            lines = handle.read(TAIL_BYTES).split(b"\n")
    except OSError:
        return None
    for line in reversed(lines if size <= TAIL_BYTES else lines[1:]):  # [0] may be cut
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            return event
    return None


class FileControl:
    """The trainer's control callable: returns each new message written to control.json."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / CONTROL_FILE
        self.seen: str | None = None
        message = self._read()
        self.seen = message.get("id") if message else None  # old messages are not replayed

    def _read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def __call__(self) -> dict | None:
        message = self._read()
        if not message or message.get("id") == self.seen:
            return None
        self.seen = message.get("id")
        return message
