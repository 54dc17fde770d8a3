"""The server's global bounds on what users write: how many workspaces, how much disk they
use together, and a floor of free disk space. Checked before every write from a user.

The total size of every workspace is walked at most once every few seconds (cached), so a
room clicking away never makes the server walk a thousand folders per click.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import threading
import time
from pathlib import Path

from charrnn.runs.folder import RunError
from charrnn.runs.settings import MB, ServerSettings

TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
TOTAL_SECONDS = 10.0  # how long a walked total of every workspace's size is trusted
_TOTALS: dict[Path, tuple[float, int]] = {}  # root -> (when walked, bytes)
_TOTALS_GUARD = threading.Lock()


class ServerFullError(RunError):
    """The server as a whole has no room left (workspaces, disk, free space)."""


def walk(folder: Path) -> tuple[int, float]:
    """The bytes of the files under ``folder`` and the newest modification time of anything
    there, the folder included. Symbolic links are never followed."""
    total, newest = 0, folder.lstat().st_mtime
    for parent, folders, files in os.walk(folder, followlinks=False):
        for name in (*folders, *files):
            try:
                info = os.lstat(os.path.join(parent, name))
            except OSError:  # removed meanwhile
                continue
            newest = max(newest, info.st_mtime)
            total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total, newest


def workspace_folders(root: Path) -> list[Path]:
    """The workspace folders directly under ``root`` (never through a symbolic link)."""
    try:
        with os.scandir(root) as entries:
            return [
                Path(entry.path)
                for entry in entries
                if TOKEN.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
            ]
    except OSError:  # no root yet
        return []


def total_usage(root: Path, now: float | None = None) -> int:
    """Bytes used by every workspace together, walked again only every TOTAL_SECONDS."""
    root, now = Path(root), time.monotonic() if now is None else now
    with _TOTALS_GUARD:  # one walk at a time; the others wait for its answer
        walked = _TOTALS.get(root)
        if walked is None or now - walked[0] > TOTAL_SECONDS:
            walked = (now, sum(walk(folder)[0] for folder in workspace_folders(root)))
            _TOTALS[root] = walked
    return walked[1]


def forget_total(root: Path) -> None:
    """Walk the folders again at the next check (after a clean-up, and in tests)."""
    with _TOTALS_GUARD:
        _TOTALS.pop(Path(root), None)


def check_server_room(
    root: Path, settings: ServerSettings, adding: int = 0, new_workspace: bool = False
) -> None:
    """ServerFullError, in plain words, if this write would pass one of the server's bounds.

    ``adding``: the bytes about to be written; ``new_workspace``: the write creates one.
    """
    root = Path(root)
    if new_workspace and len(workspace_folders(root)) >= settings.max_workspaces:
        raise ServerFullError(
            f"The server already keeps {settings.max_workspaces:,} workspaces, the most it "
            "can, so nothing new can be saved for now. Tell the workshop's instructor."
        )
    try:
        free = shutil.disk_usage(root if root.is_dir() else root.parent).free
    except OSError:
        free = None
    if free is not None and free - adding < settings.free_space_mb * MB:
        raise ServerFullError(
            "The server's disk is nearly full, so nothing new can be saved. "
            "Tell the workshop's instructor."
        )
    if total_usage(root) + adding > settings.disk_mb * MB:
        raise ServerFullError(
            "The workspaces on this server together use all the disk space they may, so "
            "nothing new can be saved. Delete runs you no longer need on the Models page, "
            "or tell the workshop's instructor."
        )
