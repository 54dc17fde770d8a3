"""The server's settings for a room of users: workers, per-workspace bounds, clean-up.

Read from environment variables by ``load_settings()``; every one is optional:

| variable | default | meaning |
| --- | --- | --- |
| CHARRNN_WORKERS | 0 | training jobs at once on the server; 0 = one per CPU core |
| CHARRNN_JOBS_PER_WORKSPACE | 1 | jobs at once from one workspace (the rest queue) |
| CHARRNN_JOB_MINUTES | 60 | time cap per job in minutes; 0 = no cap |
| CHARRNN_WORKER_NICE | 10 | workers' niceness (0-19): pages stay quick while jobs train |
| CHARRNN_WORKSPACE_QUOTA_MB | 500 | disk space one workspace may use (runs, corpora) |
| CHARRNN_RUNS_PER_WORKSPACE | 50 | runs one workspace may keep |
| CHARRNN_UPLOAD_MB | 50 | largest upload; Streamlit's server.maxUploadSize also applies |
| CHARRNN_IDLE_DAYS | 30 | idle workspaces (no active run) are removed after; 0 = never |
| CHARRNN_MAX_WORKSPACES | 1000 | workspaces the server keeps at once (new ones are refused) |
| CHARRNN_DISK_MB | 20480 | disk space all workspaces together may use |
| CHARRNN_FREE_SPACE_MB | 1024 | writes from users are refused when the disk has less free |
| CHARRNN_WORKER_MEMORY_MB | 4096 | memory (address space) of each worker; 0 = no limit |
| CHARRNN_HOME | ./workspaces | the folder holding every workspace |
| CHARRNN_INSTRUCTOR_PASSWORD | unset | the instructor's password (or Streamlit secrets) |
| CHARRNN_RAY_ADDRESS | unset | jobs on a Ray cluster (`auto`, `host:6379`); unset: local |
| CHARRNN_RAY_CPUS | 1 | Ray: CPUs (and torch threads) each job asks for |
| CHARRNN_RAY_GPUS | 0 | Ray: GPUs per training job; a fraction (0.25) shares one |

A megabyte (MB) here is 1024 x 1024 bytes, as in Streamlit's server.maxUploadSize.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024


def _default_home() -> Path:
    return Path("workspaces").resolve()


@dataclass(frozen=True)
class ServerSettings:
    """One server's configuration; see the module docstring for each field's variable."""

    workers: int = 0  # 0 = one per CPU core
    jobs_per_workspace: int = 1
    job_minutes: float | None = 60  # None = no time cap
    worker_nice: int = 10  # added to the workers' niceness: the web server goes first
    workspace_quota_mb: float = 500
    runs_per_workspace: int = 50
    upload_mb: float = 50
    idle_days: float = 30  # 0 = never clean up
    max_workspaces: int = 1000
    disk_mb: float = 20480  # every workspace together
    free_space_mb: float = 1024  # below this much free disk, writes from users are refused
    worker_memory_mb: float = 4096  # 0 = no limit
    home: Path = field(default_factory=_default_home)
    instructor_password: str | None = None
    ray_address: str | None = None  # None: local worker processes
    ray_cpus: float = 1
    ray_gpus: float = 0

    @property
    def quota_bytes(self) -> int:
        return int(self.workspace_quota_mb * MB)

    @property
    def job_seconds(self) -> float | None:
        """The time cap per job in seconds (None: no cap), as runs.jobs.JobRunner takes it."""
        return self.job_minutes * 60 if self.job_minutes else None

    def upload_limit_bytes(self, streamlit_max_mb: float | None = None) -> int:
        """The largest upload: the smaller of upload_mb and Streamlit's server.maxUploadSize."""
        limit = self.upload_mb
        if streamlit_max_mb is not None:
            limit = min(limit, streamlit_max_mb)
        return int(limit * MB)


def worker_count(settings: ServerSettings, cpu_count: int | None) -> int:
    """How many jobs run at once: CHARRNN_WORKERS, or one per core when it is 0."""
    return settings.workers or max(1, cpu_count or 1)


def threads_per_worker(settings: ServerSettings, cpu_count: int | None) -> int:
    """Torch threads for each worker, so that the workers together never oversubscribe cores."""
    return max(1, (cpu_count or 1) // worker_count(settings, cpu_count))


# field, variable, type, smallest value, whether the smallest itself is allowed, accepts
_NUMBERS = (
    ("workers", "CHARRNN_WORKERS", int, 0, True, "0 (one per CPU core) or more workers"),
    ("jobs_per_workspace", "CHARRNN_JOBS_PER_WORKSPACE", int, 1, True, "1 or more jobs"),
    ("job_minutes", "CHARRNN_JOB_MINUTES", float, 0, True, "0 (no cap) or more minutes"),
    ("worker_nice", "CHARRNN_WORKER_NICE", int, 0, True, "a niceness from 0 to 19"),
    ("workspace_quota_mb", "CHARRNN_WORKSPACE_QUOTA_MB", float, 0, False, "more than 0 MB"),
    ("runs_per_workspace", "CHARRNN_RUNS_PER_WORKSPACE", int, 1, True, "1 or more runs"),
    ("upload_mb", "CHARRNN_UPLOAD_MB", float, 0, False, "more than 0 MB"),
    ("idle_days", "CHARRNN_IDLE_DAYS", float, 0, True, "0 (never clean up) or more days"),
    ("max_workspaces", "CHARRNN_MAX_WORKSPACES", int, 1, True, "1 or more workspaces"),
    ("disk_mb", "CHARRNN_DISK_MB", float, 0, False, "more than 0 MB"),
    ("free_space_mb", "CHARRNN_FREE_SPACE_MB", float, 0, True, "0 (no floor) or more MB"),
    ("worker_memory_mb", "CHARRNN_WORKER_MEMORY_MB", float, 0, True, "0 (no limit) or more MB"),
    ("ray_cpus", "CHARRNN_RAY_CPUS", float, 0, False, "more than 0 CPUs"),
    ("ray_gpus", "CHARRNN_RAY_GPUS", float, 0, True, "0 (no GPU) or more GPUs"),
)


def load_settings(environ: Mapping[str, str] = os.environ) -> ServerSettings:
    """The settings from CHARRNN_* variables (unset or empty: the default).

    A bad value raises ValueError naming the variable and what it accepts.
    """
    values: dict = {}
    for name, variable, kind, smallest, inclusive, accepts in _NUMBERS:
        text = environ.get(variable, "").strip()
        if not text:
            continue
        try:
            value = kind(text)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise ValueError(f"{variable}={text!r} is not {noun}: it accepts {accepts}.") from None
        too_big = name == "worker_nice" and value > 19
        if (
            not math.isfinite(value)
            or value < smallest
            or (value == smallest and not inclusive)
            or too_big
        ):
            raise ValueError(f"{variable}={text!r} is out of range: it accepts {accepts}.")
        values[name] = value
    if "job_minutes" in values:
        values["job_minutes"] = values["job_minutes"] or None  # 0 = no cap
    home = environ.get("CHARRNN_HOME", "").strip()
    if home:
        if "\x00" in home:
            raise ValueError("CHARRNN_HOME holds a NUL character: it accepts a folder path.")
        values["home"] = Path(home).expanduser().resolve()
    values["instructor_password"] = environ.get("CHARRNN_INSTRUCTOR_PASSWORD") or None
    values["ray_address"] = environ.get("CHARRNN_RAY_ADDRESS", "").strip() or None
    return ServerSettings(**values)
