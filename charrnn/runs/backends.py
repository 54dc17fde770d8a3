"""Which job backend a server uses: local worker processes (the default), or a Ray cluster
when CHARRNN_RAY_ADDRESS is set (charrnn.runs.ray_runner; Ray runs in its link process).

Both offer the same methods (submit, position, expected_wait, waits_for_own_job, cancel,
process, active_jobs, problem, shutdown), so pages and the instructor's view never ask which it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from charrnn.runs.jobs import JobRunner
from charrnn.runs.settings import ServerSettings, worker_count


def coordinator_options(settings: ServerSettings) -> dict:
    """What the cluster's coordinator is made with (by the first server that reaches it)."""
    return {
        "max_workers": settings.workers or None,  # None: the cluster's CPUs over each job's
        "per_workspace": settings.jobs_per_workspace,
        "time_cap_seconds": settings.job_seconds,
        "worker_nice": settings.worker_nice,
        "worker_memory_mb": settings.worker_memory_mb,
        "cpus": settings.ray_cpus,
        "gpus": settings.ray_gpus,
        "home": str(Path(settings.home).resolve()),
        "idle_days": settings.idle_days,
    }


def job_backend(settings: ServerSettings, housekeeping: Callable[[], None] | None = None):
    """The server's job runner: a RayJobRunner with CHARRNN_RAY_ADDRESS, else a JobRunner.

    With Ray, runs left active by a dead cluster are marked interrupted by a new coordinator,
    not by each server (a run may be training on another node meanwhile). A cluster that
    cannot be reached (within seconds) does not stop the server: its pages say so."""
    if settings.ray_address:
        from charrnn.runs.ray_runner import LinkSettings, RayJobRunner

        runner = RayJobRunner(LinkSettings(settings.ray_address, coordinator_options(settings)))
        runner.problem()  # connect now: a new coordinator marks a dead cluster's runs
        return runner
    from charrnn.runs.housekeeping import mark_interrupted

    mark_interrupted(settings.home)
    return JobRunner(
        max_workers=worker_count(settings, os.cpu_count()),
        per_workspace=settings.jobs_per_workspace,
        time_cap_seconds=settings.job_seconds,
        worker_nice=settings.worker_nice,
        worker_memory_mb=settings.worker_memory_mb,
        housekeeping=housekeeping,
    )
