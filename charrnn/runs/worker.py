"""The training worker: a fresh Python process that trains (or resumes) one run folder.

JobRunner starts a WorkerProcess (charrnn.runs.worker_process) per run; train_worker runs
inside it and reports through the run folder's files (run.json, metrics.jsonl), reading
control.json for messages.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from charrnn.files import DiskFullError, is_disk_full
from charrnn.runs.folder import FileControl
from charrnn.runs.status import RunStatus, update_status
from charrnn.runs.steer_run import is_steering_run, run_steering
from charrnn.runs.trainer import run_trainer
from charrnn.worker_start import (
    memory_message,
    out_of_memory,
    process_identity,
)


def train_worker(folder: str, threads: int) -> None:
    """Entry point of a worker process: train (or resume) the run in ``folder``, or steer it
    when it is a steering run (runs.steer_run)."""
    run_dir = Path(folder)
    torch.set_num_threads(max(1, threads))
    for stale in run_dir.glob(".checkpoint.*.tmp"):  # a killed worker's half-written save
        stale.unlink(missing_ok=True)  # (only this run's training worker writes those)
    control = FileControl(run_dir)  # listening before "running" invites messages
    identity = process_identity(os.getpid())
    update_status(run_dir, status=RunStatus.RUNNING, pid=os.getpid(), process=identity, error=None)

    def on_event(event):
        if event.kind in ("paused", "resumed"):
            paused = event.kind == "paused"
            update_status(run_dir, status=RunStatus.PAUSED if paused else RunStatus.RUNNING)

    try:
        if is_steering_run(run_dir):  # a steering run is a training job of its own kind
            final = run_steering(run_dir, in_workspace=True, on_event=on_event, control=control)
        else:
            trainer = run_trainer(run_dir, in_workspace=True, on_event=on_event, control=control)
            final = trainer.run()
        update_status(run_dir, status=final.status or RunStatus.FINISHED, pid=None)
    except Exception as error:  # the worker's last word: shown to the user, never a traceback
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            error = DiskFullError("the training progress")  # e.g. metrics.jsonl
        reason = memory_message() if out_of_memory(error) else str(error)
        error_text = reason or type(error).__name__
        update_status(run_dir, status=RunStatus.FAILED, pid=None, error=error_text)
        raise SystemExit(1) from None
