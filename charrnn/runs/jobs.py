"""The job runner: one per server, it starts worker processes for runs and queues the rest.

A job is a task ("train", or "assess" for a chemistry check) on one run folder. At most
`max_workers` jobs run at once and at most `per_workspace` of them from one workspace, so a
room of people shares the cores fairly; a job past its time cap is stopped.

This is the local job backend, and the scheduler of the Ray one: there, the same runner
lives in one coordinator for every server and its ``launcher`` starts Ray tasks instead of
local processes (charrnn.runs.ray_jobs).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from charrnn.runs.folder import send_control
from charrnn.runs.status import (
    ACTIVE,
    WORKING,
    CheckStatus,
    JobTask,
    RunStatus,
    read_job_status,
    update_job_status,
    update_status,
)
from charrnn.runs.worker_process import WorkerProcess

STOP_GRACE_SECONDS = 30.0  # after asking a worker to stop at its time cap, before killing it
FIRST_GUESS_SECONDS = 120.0  # expected job length before any job has finished


class Process(Protocol):
    """What the runner needs of a started job: a local WorkerProcess or a Ray task."""

    pid: int | None

    def is_alive(self) -> bool: ...

    @property
    def exitcode(self) -> int | None: ...

    def kill(self) -> None: ...

    def terminate(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


# Starts a job: (run folder, torch threads, task, niceness, memory limit in MB) -> Process.
Launcher = Callable[[Path, int, str, int, float], Process]


@dataclass
class Job:
    folder: Path
    task: JobTask = "train"
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    stop_asked: float | None = None
    process: Process | None = None

    @property
    def key(self) -> tuple[Path, str]:
        return (self.folder, self.task)

    @property
    def workspace(self) -> str:
        return self.folder.parent.name


def _set_status(job: Job, **values) -> None:
    """Tell the run (or its chemistry check) what became of its job."""
    update_job_status(job.folder, job.task, **values)


def _status(job: Job) -> str | None:
    return read_job_status(job.folder, job.task).get("status")


class JobRunner:
    """Starts at most ``max_workers`` worker processes, ``per_workspace`` per workspace."""

    def __init__(
        self,
        max_workers: int | None = None,
        poll_seconds: float = 0.5,
        *,
        per_workspace: int = 1,
        time_cap_seconds: float | None = None,
        worker_nice: int = 0,
        worker_memory_mb: float = 0,
        housekeeping: Callable[[], None] | None = None,
        housekeeping_seconds: float = 3600.0,
        launcher: Launcher = WorkerProcess,
        threads_per_job: int | None = None,
    ):
        """``launcher`` starts a job (default: a local worker process); ``threads_per_job``
        its torch threads (default: the cores shared among ``max_workers``)."""
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        self.per_workspace = max(1, per_workspace)
        self.time_cap_seconds = time_cap_seconds
        self.worker_nice = worker_nice
        self.worker_memory_mb = worker_memory_mb  # each worker's address space; 0: no limit
        self.launcher, self.threads_per_job = launcher, threads_per_job
        self.queue: list[Job] = []
        self.running: dict[tuple[Path, str], Job] = {}
        self.durations: list[float] = []  # seconds of recent finished jobs, for wait estimates
        self.lock = threading.RLock()
        self.poll_seconds = poll_seconds
        self.housekeeping, self.housekeeping_seconds = housekeeping, housekeeping_seconds
        self._housekept = time.monotonic()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a job was queued: start it now, not at the next poll
        self._rounds_begun = self._rounds_done = 0  # so submit() can wait for the next round
        self._round_done = threading.Condition(self.lock)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="charrnn-jobs")
        self._thread.start()
        atexit.register(self.shutdown)  # workers end with the server, as daemons would

    # ----- what pages call ------------------------------------------------------------
    def submit(self, run_dir: Path, task: JobTask = "train") -> int:
        """Queue a job (a new or interrupted run, a chemistry check); returns its place in
        the queue (0: starting now).

        Workers are started by the runner's own thread, never the caller's: a worker dies
        with the thread that started it, and a page's thread ends after each rerun.
        """
        job = Job(Path(run_dir), task)
        with self.lock:
            ending = self.running.get(job.key)
            if ending and _status(ending) not in ACTIVE:  # said its last word, is exiting
                ending.process.join(10)
                self._reap()
            if job.key in self.running or any(j.key == job.key for j in self.queue):
                return self.position(run_dir, task)
            status = {"status": RunStatus.QUEUED, "error": None}  # a CheckStatus alike
            if task == "train":
                status["note"] = None
            _set_status(job, **status)
            self.queue.append(job)
            self._next_round()
            return self.position(run_dir, task)

    def position(self, run_dir: Path, task: JobTask = "train") -> int:
        """1-based place in the queue, 0 when running or not queued."""
        key = (Path(run_dir), task)
        with self.lock:
            keys = [job.key for job in self.queue]
        return keys.index(key) + 1 if key in keys else 0

    def expected_wait(self, run_dir: Path, task: JobTask = "train") -> float | None:
        """Seconds until a queued job is likely to start (None when it is not queued)."""
        place = self.position(run_dir, task)
        if not place:
            return None
        with self.lock:
            recent = self.durations[-20:]
            typical = sum(recent) / len(recent) if recent else FIRST_GUESS_SECONDS
            if self.time_cap_seconds:
                typical = min(typical, self.time_cap_seconds)
            now = time.time()
            left = sorted(
                max(5.0, typical - (now - (job.started or now))) for job in self.running.values()
            )
        rounds = math.ceil(place / self.max_workers)
        first = left[(place - 1) % len(left)] if len(left) >= self.max_workers else 0.0
        return first + (rounds - 1) * typical

    def waits_for_own_job(self, run_dir: Path) -> bool:
        """Whether a job of this run's workspace is running (so a new one of it waits)."""
        with self.lock:
            return self._busy(Path(run_dir).parent.name) >= self.per_workspace

    def cancel(self, run_dir: Path, task: JobTask = "train") -> None:
        """Take a job out of the queue (a running one is stopped through its run instead)."""
        key = (Path(run_dir), task)
        with self.lock:
            for job in [job for job in self.queue if job.key == key]:
                self.queue.remove(job)
                _set_status(
                    job, status=RunStatus.STOPPED if task == "train" else CheckStatus.CANCELLED
                )

    def problem(self) -> str | None:
        """Why jobs cannot start now: never, with local workers (the Ray backend's may)."""
        return None

    def process(self, run_dir: Path, task: JobTask = "train") -> Process | None:
        job = self.running.get((Path(run_dir), task))
        return job.process if job else None

    def active_jobs(self) -> list[Job]:
        """Running jobs first, then the queue in order."""
        with self.lock:
            return list(self.running.values()) + list(self.queue)

    # ----- the loop -------------------------------------------------------------------
    def _busy(self, workspace: str) -> int:
        return sum(job.workspace == workspace for job in self.running.values())

    def _next_round(self, timeout: float = 10.0) -> None:
        """Wake the runner's thread and wait (the lock held by the caller) for its round."""
        if threading.current_thread() is self._thread:
            self._start_waiting()
            return
        target = self._rounds_begun + 1  # a round that begins after the caller's change
        self._wake.set()
        self._round_done.wait_for(lambda: self._rounds_done >= target, timeout)

    def _start_waiting(self) -> None:
        """Start queued jobs that may run now: only ever on the runner's own thread."""
        with self.lock:
            for job in list(self.queue):
                if len(self.running) >= self.max_workers:
                    return
                if self._busy(job.workspace) >= self.per_workspace:
                    continue  # its workspace already has its share: the next one may start
                self.queue.remove(job)
                # Never oversubscribe the cores: with the default cap, 1 thread per worker.
                threads = self.threads_per_job or max(1, (os.cpu_count() or 1) // self.max_workers)
                job.started = time.time()
                job.process = self.launcher(
                    job.folder, threads, job.task, self.worker_nice, self.worker_memory_mb
                )
                self.running[job.key] = job

    def _reap(self) -> None:
        with self.lock:
            for key, job in list(self.running.items()):
                if job.process.is_alive():
                    self._enforce_cap(job)
                    continue
                del self.running[key]
                self.durations.append(time.time() - job.started)
                if _status(job) in ACTIVE:  # the worker died without saying why
                    _set_status(
                        job,
                        status=RunStatus.FAILED,  # CheckStatus.FAILED is the same word
                        pid=None,
                        error=f"The {'training' if job.task == 'train' else 'checking'} "
                        f"process ended unexpectedly (exit code {job.process.exitcode}). "
                        + (
                            "Resume to continue from the last checkpoint."
                            if job.task == "train"
                            else "Try again."
                        ),
                    )

    def _enforce_cap(self, job: Job) -> None:
        """Past the time cap: ask a training worker to stop (it saves), kill it if it won't."""
        if not self.time_cap_seconds or time.time() - job.started < self.time_cap_seconds:
            return
        if job.stop_asked is None:
            if job.task == "train" and _status(job) not in WORKING:
                return  # a worker still starting up would not see the message
            job.stop_asked = time.time()
            cap = self.time_cap_seconds
            limit = f"{cap:g} seconds" if cap < 120 else f"{cap / 60:.0f} minutes"
            note = f"Stopped at this server's time limit of {limit} per job."
            if job.task == "train":
                send_control(job.folder, "stop")
                update_status(job.folder, note=note)
            else:
                job.process.terminate()
                _set_status(job, status=CheckStatus.FAILED, error=note)
        elif time.time() - job.stop_asked > STOP_GRACE_SECONDS:
            job.process.kill()
            _set_status(job, status=RunStatus.STOPPED, pid=None)  # CheckStatus.STOPPED alike

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            with self.lock:
                self._rounds_begun += 1
                this_round = self._rounds_begun
            try:
                self._reap()
                self._start_waiting()
            except Exception:  # e.g. a full disk: never let the server's only runner die
                logging.getLogger(__name__).exception("the job runner's round failed")
            with self.lock:
                self._rounds_done = this_round
                self._round_done.notify_all()
            if self.housekeeping and time.monotonic() - self._housekept > self.housekeeping_seconds:
                self._housekept = time.monotonic()
                try:
                    self.housekeeping()
                except OSError:
                    pass  # e.g. a folder removed meanwhile: next time

    def shutdown(self) -> None:
        self._stop.set()
        self._wake.set()
        with self.lock:
            for job in self.running.values():
                job.process.terminate()
            for job in self.running.values():
                job.process.join(5)
