"""A workspace's bounds: at most so many runs and so much disk, checked under its lock.

The lock (``adding_lock``) is held while something is checked against the bounds and then
written, so two tabs (or two servers) of one workspace cannot both pass with the last room.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from charrnn.runs.folder import RunError
from charrnn.runs.serverroom import check_server_room
from charrnn.runs.serverroom import walk as _walk
from charrnn.runs.settings import MB, ServerSettings

RUN_ID = re.compile(r"^r-[0-9a-f]{12}$")
LOCK_FILE = ".adding.lock"  # flock()ed while a run or an upload is added (Workspace.adding)
_ADDING_GUARD = threading.Lock()
_ADDING: dict[Path, threading.Lock] = {}  # per workspace folder, for this process's threads
_HELD = threading.local()  # the workspace folders whose lock this thread holds


class WorkspaceFullError(RunError):
    """A workspace already holds as many runs, or as much data, as the server allows."""


@contextlib.contextmanager
def adding_lock(folder: Path, create: Callable[[], None]) -> Iterator[None]:
    """Hold the workspace's adding lock (``create`` first makes its folder if need be).

    One holder at a time in any thread or process; a thread already holding it goes on."""
    held = _HELD.__dict__.setdefault("folders", set())  # by this thread
    if folder in held:
        yield
        return
    create()
    with _ADDING_GUARD:
        guard = _ADDING.setdefault(folder, threading.Lock())
    with guard, open(folder / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # other processes; released when closed
        held.add(folder)
        try:
            yield
        finally:
            held.discard(folder)


def run_count(folder: Path) -> int:
    """How many runs a workspace folder holds (finished or not); 0 before it is made."""
    if not folder.is_dir():
        return 0
    return sum(1 for path in folder.iterdir() if RUN_ID.fullmatch(path.name))


def disk_usage(folder: Path) -> int:
    """Bytes of every file in a workspace folder (symbolic links are not followed)."""
    return _walk(folder)[0] if folder.is_dir() else 0


def check_run_room(folder: Path, settings: ServerSettings) -> None:
    """WorkspaceFullError if one more run would pass the server's bound on runs."""
    limit = settings.runs_per_workspace
    if run_count(folder) >= limit:
        raise WorkspaceFullError(
            f"This workspace already holds {limit} run{'s' if limit != 1 else ''}, the "
            "most it can keep. "
            "Delete runs you no longer need on the Models page, then try again."
        )


def check_disk_room(root: Path, folder: Path, settings: ServerSettings, adding: int = 0) -> None:
    """WorkspaceFullError if ``adding`` more bytes would pass the workspace's quota;
    ServerFullError if they would pass the server's (total disk, free-space floor)."""
    check_server_room(root, settings, adding)
    used, quota = disk_usage(folder), settings.workspace_quota_mb
    if used + adding > settings.quota_bytes:
        needed = f" and this needs {adding / MB:.1f} MB more" if adding else ""
        raise WorkspaceFullError(
            f"This workspace uses {used / MB:.1f} MB of its {quota:g} MB{needed}. "
            "Delete runs you no longer need on the Models page to make room."
        )
