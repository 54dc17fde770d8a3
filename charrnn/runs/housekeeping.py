"""The run store's housekeeping at server start: jobs a dead server left active become
interrupted (mark_interrupted), and workspaces idle for long are removed.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from charrnn.runs.bounds import RUN_ID
from charrnn.runs.serverroom import forget_total, workspace_folders
from charrnn.runs.serverroom import walk as _walk
from charrnn.runs.status import (
    ACTIVE,
    CHECK_ACTIVE,
    CheckStatus,
    RunStatus,
    read_job_status,
    read_status,
    status_lock,
    update_job_status,
    write_status,
)
from charrnn.worker_start import process_identity


def cleanup_idle_workspaces(root: Path, idle_days: float, now: float | None = None) -> list[str]:
    """Remove workspaces untouched for ``idle_days`` that have no active run; their tokens.

    Only folders directly under ``root`` named like a workspace token are considered, never
    through a symbolic link, and a link inside a workspace is removed, not followed.
    ``idle_days`` of 0 (or less) removes nothing.
    """
    if idle_days <= 0 or not Path(root).is_dir():
        return []
    cutoff = (time.time() if now is None else now) - idle_days * 86400
    removed = []
    for folder in workspace_folders(root):
        if _walk(folder)[1] >= cutoff or _has_active_run(folder):
            continue
        try:
            shutil.rmtree(folder)
        except OSError:
            continue
        removed.append(folder.name)
    if removed:
        forget_total(root)
    return sorted(removed)


def _has_active_run(folder: Path) -> bool:
    for run in folder.iterdir():
        if RUN_ID.fullmatch(run.name) and not run.is_symlink() and run.is_dir():
            if read_status(run).get("status") in ACTIVE:
                return True
    return False


def _default_root() -> Path:
    from charrnn.runs.workspace import default_root  # (with torch: Ray's coordinator has none)

    return default_root()


def mark_interrupted(root: Path | None = None, grace_seconds: float = 0.0) -> int:
    """After a server restart: runs and chemistry checks left active by a dead server become
    interrupted (a run resumable, a check to be run again). Returns how many were marked.

    A job counts as still alive only when its process is the very one that wrote the
    status: the same pid and the same start time (a pid alone may belong to another
    process by now). ``grace_seconds``: how long to wait for such jobs to end, marking each
    as it does (a new Ray coordinator: the jobs of the one it replaces are ending with it).
    """
    root = Path(root) if root else _default_root()
    count = _mark_once(root)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and _still_running(root):
        time.sleep(0.5)
        count += _mark_once(root)
    return count


def _job_folders(root: Path) -> list[Path]:
    """Run folders, and the folders of shipped priors' checks, never through a link."""
    folders = [*root.glob("*/r-*"), *root.glob("*/p-*")]
    return [folder for folder in folders if not folder.is_symlink() and folder.is_dir()]


def _still_running(root: Path) -> bool:
    """Whether a job left active still has its process."""
    for folder in _job_folders(root):
        run, check = read_status(folder), read_job_status(folder, "assess")
        if run.get("status") in ACTIVE and _pid_alive(run):
            return True
        if check.get("status") in CHECK_ACTIVE and _pid_alive(check):
            return True
    return False


def _mark_once(root: Path) -> int:
    count = 0
    for folder in _job_folders(root):
        if folder.name.startswith("r-"):  # a run (p-*: only a shipped prior's check)
            with status_lock(folder):
                status = read_status(folder)
                if status.get("status") in ACTIVE and not _pid_alive(status):
                    marked = {"status": RunStatus.INTERRUPTED, "pid": None, "updated": time.time()}
                    write_status(folder, **{**status, **marked})
                    count += 1
        count += _mark_check_interrupted(folder)
    return count


def _mark_check_interrupted(folder: Path) -> int:
    """A chemistry check left queued or running by a dead server: 1 when it was marked."""
    with status_lock(folder):
        status = read_job_status(folder, "assess")
        if status.get("status") not in CHECK_ACTIVE or _pid_alive(status):
            return 0
    update_job_status(
        folder,
        "assess",
        status=CheckStatus.INTERRUPTED,
        pid=None,
        error="The server, or the machine running it, stopped before this check finished. "
        "Run the check again.",
    )
    return 1


def _pid_alive(status: dict) -> bool:
    """Whether the process named in a status (its pid and start identity) still runs."""
    pid, identity = status.get("pid"), status.get("process")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1 or not identity:
        return False
    return process_identity(pid) == identity
