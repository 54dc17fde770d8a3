"""The training worker: a fresh Python process that trains (or resumes) one run folder.

JobRunner starts a WorkerProcess per run; train_worker runs inside it and reports through
the run folder's files (run.json, metrics.jsonl), reading control.json for messages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from charrnn.files import DiskFullError, is_disk_full
from charrnn.runs.folder import FileControl
from charrnn.runs.status import RunStatus, update_status
from charrnn.runs.steer_run import is_steering_run, run_steering
from charrnn.runs.trainer import run_trainer
from charrnn.worker_start import (
    child_environment,
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


# What a worker process can do: task -> (module, entry function taking folder and threads).
TASKS = {
    "train": ("charrnn.runs.worker", "train_worker"),
    "assess": ("charrnn.runs.assessment", "assess_worker"),
}


class WorkerProcess:
    """A training worker in a fresh Python process, with multiprocessing's Process methods.

    Not multiprocessing: under Streamlit, __main__ is the app script, and a spawned child
    would run the whole app again before training. Start it from a thread that lives as
    long as the server (the job runner's): the worker ends when that thread does.
    """

    def __init__(
        self, run_dir: Path, threads: int, task: str = "train", nice: int = 0, memory_mb: float = 0
    ):
        """nice: added to the process's niceness before it imports anything, so that a
        server's pages get the CPU before training does; memory_mb: its address-space limit
        (0: none), set before torch is imported."""
        module, function = TASKS[task]
        code = "import sys; from charrnn.worker_start import prepare_worker; "
        code += f"prepare_worker(int(sys.argv[3]), float(sys.argv[4]), {int(nice)}); "
        code += f"from {module} import {function}; {function}(sys.argv[1], int(sys.argv[2]))"
        arguments = [str(run_dir), str(threads), str(os.getpid()), str(float(memory_mb or 0))]
        self.popen = subprocess.Popen(
            [sys.executable, "-c", code, *arguments],
            env=child_environment(),
            stdin=subprocess.DEVNULL,
        )
        self.pid = self.popen.pid

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        self.popen.kill()

    def terminate(self) -> None:
        self.popen.terminate()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
