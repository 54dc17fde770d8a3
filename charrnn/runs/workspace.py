"""The run store: one person's workspace of run folders on disk, and its corpora and choices.

A workspace is a folder named by an unguessable token, made on its first write (a visit
only gets a token); a run is a folder inside it holding config.json, run.json (name,
status), metrics.jsonl, the checkpoint and control.json. Training happens in worker
processes started by charrnn.runs.jobs.JobRunner. A workspace keeps within the server's bounds
(charrnn.runs.bounds): a number of runs and a disk quota, and the server's global ones
(charrnn.runs.serverroom): a number of workspaces, a total disk and a free-space floor.
Clean-up at server start is charrnn.runs.housekeeping's.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from charrnn.corpora.builtins import builtin_corpora
from charrnn.files import atomic_write_bytes, atomic_write_text
from charrnn.runs import bounds
from charrnn.runs.bounds import LOCK_FILE, RUN_ID
from charrnn.runs.config import RunConfig, read_run_config, write_run_config
from charrnn.runs.folder import (
    CHART_EVENTS,
    Command,
    RunError,
    last_event,
    read_metrics,
    send_control,
)
from charrnn.runs.serverroom import (  # noqa: F401 (ServerFullError: importable from here)
    TOKEN,
    ServerFullError,
    check_server_room,
)
from charrnn.runs.settings import MB, ServerSettings, load_settings
from charrnn.runs.status import (
    STATUS_FILE,
    WORKING,
    RunStatus,
    clean_name,
    read_status,
    update_status,
    write_status,
)

_CREATING = threading.Lock()  # one workspace made at a time (Workspace._create)


def default_root() -> Path:
    """The folder of all workspaces: CHARRNN_HOME, else ./workspaces (resolved)."""
    return load_settings().home


def new_token() -> str:
    """A fresh unguessable workspace token; no folder is made until the first write."""
    return secrets.token_urlsafe(24)


def new_workspace(root: Path | None = None) -> str:
    """Create a workspace and return its token (the only way to reach it)."""
    token = new_token()
    folder = Path(root or default_root()) / token
    folder.mkdir(parents=True)
    (folder / LOCK_FILE).touch()  # Workspace.adding()'s; made here, so adding writes nothing
    return token


@dataclass(frozen=True)
class RunSummary:
    id: str
    name: str
    status: str
    created: float
    step: int = 0
    total_steps: int | None = None
    corpus: str = ""
    error: str | None = None


class Workspace:
    """One person's runs. Names from users never become paths: runs have generated ids.

    The server's bounds (``settings``, by default load_settings()) are checked when a run is
    created or imported and when a corpus is uploaded: at most ``runs_per_workspace`` runs,
    and no more than ``workspace_quota_mb`` on disk. Training itself may write checkpoints
    past the quota (a run is never cut off for it); the next creation or upload is refused.

    ``Workspace(token)`` needs the folder to exist; ``Workspace.pending(token)`` does not:
    until its first write it reads as empty, and that write makes the folder (if the
    server has room for one more workspace).
    """

    def __init__(
        self,
        token: str,
        root: Path | None = None,
        settings: ServerSettings | None = None,
        *,
        must_exist: bool = True,
    ):
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            raise RunError("This workspace link is not valid. Start a new workspace.")
        self.server_settings = settings or load_settings()
        self.root = Path(root or self.server_settings.home)
        self.folder = self.root / token
        if self.folder.is_symlink() or (must_exist and not self.folder.is_dir()):
            raise RunError(
                "No workspace has this link: nothing was saved under it yet, or it has been "
                "cleaned up."
            )
        self.token = token

    @classmethod
    def pending(
        cls, token: str, root: Path | None = None, settings: ServerSettings | None = None
    ) -> Workspace:
        """A workspace that may not exist yet: its folder is made on the first write."""
        return cls(token, root, settings, must_exist=False)

    def exists(self) -> bool:
        return self.folder.is_dir()

    def _create(self) -> None:
        """Make the folder (first write), within the server's bound on workspaces."""
        if self.folder.is_dir():
            return
        with _CREATING:  # counted and made in one go: the bound holds for this server
            if not self.folder.is_dir():
                check_server_room(self.root, self.server_settings, new_workspace=True)
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / LOCK_FILE).touch()

    def run_dir(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
            raise RunError("No such run.")
        folder = self.folder / run_id
        if folder.is_symlink() or not folder.is_dir():
            raise RunError("No such run in this workspace.")
        return folder

    # ----- bounds (charrnn.runs.bounds) ---------------------------------------------------
    def adding(self) -> contextlib.AbstractContextManager[None]:
        """Held while something is checked against the bounds and then written: two tabs
        (or two servers) of one workspace cannot both pass the check with the last room."""
        return bounds.adding_lock(self.folder, self._create)

    def run_count(self) -> int:
        """How many runs the workspace holds (finished or not)."""
        return bounds.run_count(self.folder)

    def disk_usage(self) -> int:
        """Bytes of every file in the workspace (symbolic links are not followed)."""
        return bounds.disk_usage(self.folder)

    def check_run_room(self) -> None:
        """WorkspaceFullError if one more run would pass the server's bound on runs."""
        bounds.check_run_room(self.folder, self.server_settings)

    def check_disk_room(self, adding: int = 0) -> None:
        """WorkspaceFullError if ``adding`` more bytes would pass the workspace's quota;
        ServerFullError if they would pass the server's (total disk, free-space floor)."""
        bounds.check_disk_room(self.root, self.folder, self.server_settings, adding)

    def create_run(self, name: str, config: RunConfig) -> str:
        """A new queued run; WorkspaceFullError past the bound on runs or the disk quota."""
        with self.adding():
            self.check_run_room()
            self.check_disk_room()
            run_id = f"r-{secrets.token_hex(6)}"
            folder = self.folder / run_id
            write_run_config(folder, config)
            write_status(
                folder, name=clean_name(name), status=RunStatus.QUEUED, created=time.time()
            )
        return run_id

    def runs(self) -> list[RunSummary]:
        if not self.exists():
            return []
        found = []
        for folder in self.folder.iterdir():
            if (
                RUN_ID.fullmatch(folder.name)
                and not folder.is_symlink()
                and (folder / STATUS_FILE).is_file()
            ):
                found.append(self.summary(folder.name))
        return sorted(found, key=lambda run: run.created, reverse=True)

    def summary(self, run_id: str) -> RunSummary:
        folder = self.run_dir(run_id)
        status = read_status(folder)
        last = last_event(folder)
        try:
            config = read_run_config(folder)
            corpus, total = config.corpus, config.train.steps
        except ValueError:
            corpus, total = "", None
        return RunSummary(
            id=run_id,
            name=status.get("name", run_id),
            status=status.get("status", RunStatus.QUEUED),
            created=float(status.get("created", 0)),
            step=int(last.get("step", 0)) if last else 0,
            total_steps=total,
            corpus=corpus,
            error=status.get("error"),
        )

    def metrics(self, run_id: str, limit: int | None = CHART_EVENTS) -> list[dict]:
        """The run's events, at most ``limit`` spread over the run (what a chart draws)."""
        return read_metrics(self.run_dir(run_id), limit)

    def send(
        self, run_id: str, command: Command | None = None, learning_rate: float | None = None
    ) -> None:
        """Ask a training worker to pause, resume or stop, or to use a new learning rate."""
        send_control(self.run_dir(run_id), command, learning_rate)

    # ----- corpora and the current choice (so a refresh loses nothing) ---------------------
    def save_corpus(self, data: bytes, filename: str, max_bytes: int | None = None) -> str:
        """Keep an upload in the workspace under a generated name; returns its reference.

        Refused past ``max_bytes`` (default: the server's upload limit) or the disk quota.
        """
        if max_bytes is None:
            max_bytes = self.server_settings.upload_limit_bytes()
        if len(data) > max_bytes:
            raise RunError(
                f"The file is {len(data) / MB:.1f} MB; the limit is {max_bytes / MB:.0f} MB."
            )
        suffixes = "".join(Path(filename).suffixes[-2:]).lower()
        suffix = suffixes if re.fullmatch(r"(\.[a-z]{1,5}){1,2}", suffixes) else ".txt"
        folder = self.folder / "corpora"
        with self.adding():
            self.check_disk_room(len(data))
            folder.mkdir(exist_ok=True)
            path = folder / f"c-{secrets.token_hex(6)}{suffix}"
            atomic_write_bytes(path, data)
            names = self._read_json("corpora/names.json")
            names[path.name] = clean_name(Path(filename).name)
            atomic_write_text(folder / "names.json", json.dumps(names, ensure_ascii=False))
        return str(path)

    def corpus_name(self, reference: str) -> str:
        """What to call a corpus reference on screen (an upload keeps its file name)."""
        if reference.startswith("builtin:"):
            titles = {f"builtin:{corpus.id}": corpus.title for corpus in builtin_corpora()}
            return titles.get(reference, reference)
        return self._read_json("corpora/names.json").get(Path(reference).name, "uploaded file")

    def owns_corpus(self, reference: str) -> bool:
        """Whether a corpus reference is a built-in or an upload kept in this workspace."""
        if not isinstance(reference, str):
            return False
        if reference.startswith("builtin:"):
            return True
        try:
            path = Path(reference).resolve()
            return path.parent == (self.folder / "corpora").resolve() and path.is_file()
        except (OSError, ValueError):  # a NUL byte, a name too long
            return False

    @property
    def choices(self) -> dict:
        """The workspace's current choices: {"corpus": {...}, "run": id, "preset", "author"}."""
        return self._read_json("workspace.json")

    def update_choices(self, **values) -> dict:
        """Change the workspace's current choices (the first write makes the workspace).

        Read, changed and written under the workspace's lock: two tabs choosing at once
        (a corpus in one, a run in the other) keep both choices."""
        with self.adding():
            choices = {**self.choices, **values}
            text = json.dumps(choices, ensure_ascii=False)
            atomic_write_text(self.folder / "workspace.json", text)
        return choices

    def _read_json(self, name: str) -> dict:
        try:
            data = json.loads((self.folder / name).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def rename(self, run_id: str, name: str) -> None:
        update_status(self.run_dir(run_id), name=clean_name(name))

    def delete(self, run_id: str) -> None:
        folder = self.run_dir(run_id)
        if read_status(folder).get("status") in WORKING:
            raise RunError("Stop the run before deleting it.")
        shutil.rmtree(folder)
