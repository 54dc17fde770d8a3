"""The instructor's view of the server: every job of every workspace, the load, and ways to stop.

Workspaces appear only as a short prefix of their token; a full token never leaves this module.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal

from charrnn.runs.config import read_run_config
from charrnn.runs.folder import last_event, send_control
from charrnn.runs.jobs import Job, JobRunner
from charrnn.runs.status import (
    WORKING,
    CheckStatus,
    JobTask,
    RunStatus,
    read_job_status,
    read_status,
    update_job_status,
    update_status,
)

TOKEN_PREFIX = 6  # characters of a workspace token shown to tell workspaces apart
TASK_NAMES: dict[JobTask, str] = {"train": "training", "assess": "chemistry check"}
STOP_NOTE = "Stopped by the instructor."
KILL_NOTE = "Ended at once by the instructor."
StopOutcome = Literal["cancelled", "asked", "ended", "gone"]  # what stop_job did


@dataclass(frozen=True)
class JobRow:
    """One job as the instructor sees it; ``key`` names it on the page (no token in it)."""

    key: str
    workspace: str
    run_name: str
    status: str
    task: str
    seconds: float  # how long it has run, or has waited while queued
    step: str
    queued: bool


def job_key(job: Job) -> str:
    return f"{job.folder.name}:{job.task}"


def find_job(runner: JobRunner, key: str) -> Job | None:
    return next((job for job in runner.active_jobs() if job_key(job) == key), None)


def _status(job: Job) -> dict:
    return read_job_status(job.folder, job.task)


def _step(job: Job, status: dict) -> str:
    if job.task != "train":
        return str(status.get("stage") or "")
    last = last_event(job.folder)
    if not last:
        return ""
    try:
        total = read_run_config(job.folder).train.steps
    except ValueError:
        total = None
    step = int(last.get("step", 0))
    return f"{step:,} of {total:,}" if total else f"{step:,}"


def job_rows(runner: JobRunner, now: float | None = None) -> list[JobRow]:
    """Every running job, then the queue in order."""
    now = time.time() if now is None else now
    rows = []
    for job in runner.active_jobs():
        status = _status(job)
        queued = job.process is None
        since = job.submitted if queued or job.started is None else job.started
        rows.append(
            JobRow(
                key=job_key(job),
                workspace=job.workspace[:TOKEN_PREFIX],
                run_name=str(read_status(job.folder).get("name") or job.folder.name),
                status=str(status.get("status") or (RunStatus.QUEUED if queued else "starting")),
                task=TASK_NAMES.get(job.task, job.task),
                seconds=max(0.0, now - since),
                step=_step(job, status),
                queued=queued,
            )
        )
    return rows


def stop_job(runner: JobRunner, job: Job) -> StopOutcome:
    """Stop a job the gentle way; returns what happened.

    "cancelled": it was still queued and left the queue. "asked": a training worker was
    asked to stop (it saves its model first, within a step or two). "ended": a worker still
    starting up, or a chemistry check, was ended (nothing to save yet). "gone": it had ended.
    """
    with runner.lock:
        process = runner.process(job.folder, job.task)
        if process is None:
            if any(queued.key == job.key for queued in runner.queue):
                runner.cancel(job.folder, job.task)
                return "cancelled"
            return "gone"
        if job.task == "train" and read_status(job.folder).get("status") in WORKING:
            update_status(job.folder, note=STOP_NOTE)  # before the message: the worker answers it
            send_control(job.folder, "stop")
            return "asked"
        # A worker that is not listening yet, or a chemistry check: end it now. The lock
        # keeps the runner from calling it a failure in between.
        process.terminate()
        process.join(10)
        if job.task == "train":
            update_status(job.folder, status=RunStatus.STOPPED, pid=None, note=STOP_NOTE)
        else:
            update_job_status(job.folder, "assess", status=CheckStatus.CANCELLED)
        return "ended"


def kill_job(runner: JobRunner, job: Job) -> bool:
    """End a job's process at once (for one that ignores Stop); False when it had ended.

    The runner then marks the run failed; a training run keeps its last checkpoint.
    """
    with runner.lock:
        process = runner.process(job.folder, job.task)
        if process is None:
            return False
        process.kill()
        process.join(10)
        if job.task == "train":
            update_status(job.folder, note=KILL_NOTE)
        return True


def machine_load(runner: JobRunner) -> dict:
    """{"load": (1, 5, 15 min averages) or None, "cores", "workers", "running", "queued"}."""
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    jobs = runner.active_jobs()  # one question (to the coordinator, with Ray)
    running = sum(job.process is not None for job in jobs)
    return {
        "load": load,
        "cores": os.cpu_count() or 1,
        "workers": runner.max_workers,
        "running": running,
        "queued": len(jobs) - running,
    }
