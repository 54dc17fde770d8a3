"""Where a run and its chemistry check stand: run.json and chemistry_status.json.

RunStatus and CheckStatus, read and written atomically under the folder's status lock, so
the server and a worker changing a status at once never overwrite each other's fields.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
import unicodedata
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Literal

from charrnn.files import DiskFullError, atomic_write_text

STATUS_FILE = "run.json"
CHECK_STATUS_FILE = "chemistry_status.json"
STATUS_LOCK_FILE = ".status.lock"  # flock()ed while a status file is read, changed, written
_status_guard = threading.Lock()  # the threads of one process take turns too


class RunStatus(StrEnum):
    """Where a run stands; run.json holds it as its plain string."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED})  # has a job
DONE = frozenset({RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.INTERRUPTED})
WORKING = frozenset({RunStatus.RUNNING, RunStatus.PAUSED})  # a worker that reads control.json


class CheckStatus(StrEnum):
    """Where a run's chemistry check stands; chemistry_status.json holds it as a string."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STOPPED = "stopped"  # ended at the server's time cap
    INTERRUPTED = "interrupted"


CHECK_ACTIVE = frozenset({CheckStatus.QUEUED, CheckStatus.RUNNING})

JobTask = Literal["train", "assess"]  # a job trains a run, or checks its chemistry
JOB_STATUS_FILES: dict[JobTask, str] = {"train": STATUS_FILE, "assess": CHECK_STATUS_FILE}


def one_visible_line(text: str) -> str:
    """``text`` as one line of what it shows: runs of white space become one space, and
    format and control characters (zero-width, right-to-left overrides) are removed, so a
    name can be neither invisible nor shown reversed."""
    shown = "".join(
        c for c in str(text) if unicodedata.category(c) not in ("Cf", "Cc") or c.isspace()
    )
    return " ".join(shown.split())


def clean_name(name: str) -> str:
    name = one_visible_line(name)[:80].strip()
    return name or "Untitled run"


def read_job_status(folder: Path, task: JobTask = "train") -> dict:
    """A job's status: run.json for training, chemistry_status.json for a check; or {}."""
    try:
        data = json.loads((Path(folder) / JOB_STATUS_FILES[task]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_status(folder: Path) -> dict:
    """The run's run.json ({"name", "status", "created", ...}), or {}."""
    return read_job_status(folder, "train")


def write_status(folder: Path, **values) -> None:
    """Write run.json atomically; on a full disk, rewrite it within the space it has.

    So a worker's last word ("failed: the server's disk is full") still reaches the page.
    """
    _write_status_file(Path(folder) / STATUS_FILE, values)


def _write_status_file(path: Path, values: dict) -> None:
    text = json.dumps(values, ensure_ascii=False)
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
    return update_job_status(folder, "train", **values)


def update_job_status(folder: Path, task: JobTask, **values) -> dict:
    """Change some fields of a job's status file (see read_job_status), under the lock."""
    with status_lock(folder):
        status = {**read_job_status(folder, task), **values, "updated": time.time()}
        _write_status_file(Path(folder) / JOB_STATUS_FILES[task], status)
    return status
