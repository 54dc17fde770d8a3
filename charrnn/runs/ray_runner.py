"""An app server's handle on the course's Ray cluster: the job runner's methods, answered by
the cluster's coordinator through a link process, so that Ray never runs in the server.

Ray ends a process connected to a cluster whose head node is lost (about a minute later):
were the app server that process, losing the head would end every page of the room. Here
that process is the link (charrnn.runs.ray_jobs.serve_link, started with ``python -c``), and
when it goes the server says the cluster cannot be reached and starts a new link later.
No Ray import here.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Client
from pathlib import Path

from charrnn.errors import UserError
from charrnn.runs.jobs import Job
from charrnn.runs.status import CheckStatus, JobTask, RunStatus, update_job_status
from charrnn.worker_start import child_environment

NAMESPACE = "charrnn"  # Ray's namespace of the coordinator
CALL_SECONDS = 30.0  # a coordinator that does not answer in this long is an error
START_SECONDS = 180.0  # a new coordinator (a fresh Python process on a busy node) may take long
CONNECT_SECONDS = 5.0  # a cluster's address that does not take a connection in this long is down
RETRY_SECONDS = 30.0  # after a failed connection, calls fail at once for this long
INIT_SECONDS = 20.0  # the longest a page waits for ray.init (ray_jobs._init_ray)
LINK_SECONDS = 60.0  # the link process's start (Python and Ray's import) on a busy machine
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkSettings:
    """What an app server's link process joins and how long it waits (JSON on its command
    line): the cluster's address, the coordinator's options (backends.coordinator_options),
    Ray's namespace of the coordinator, and its waits in seconds."""

    address: str
    options: dict = field(default_factory=dict)
    namespace: str = NAMESPACE
    call_seconds: float = CALL_SECONDS
    init_seconds: float = INIT_SECONDS


class ClusterError(UserError):
    """The course's Ray cluster cannot take or answer a request now (unreachable, busy, or
    its coordinator lost for good): pages show the message; the rest of the app works.
    ``reached``: whether the request may have reached the coordinator."""

    def __init__(self, message: str, reached: bool = False):
        super().__init__(message)
        self.reached = reached


def unreachable(address: str) -> str:
    return (
        f"The course's Ray cluster at {address} cannot be reached: ask your instructor. "
        "Training, steering and chemistry checks wait for it; generating with your models "
        "still works."
    )


BUSY = (
    f"The course's Ray cluster did not answer within {CALL_SECONDS:.0f} seconds (it is busy). "
    "Try again in a minute; if this goes on, ask your instructor."
)
NOT_STARTED = "The course's Ray cluster could not be reached, so this did not start."
RESUME, AGAIN = "Resume it when the cluster is back.", "Run the check again when it is back."


def check_reachable(address: str) -> None:
    """A quick TCP look at ``host:port``: Ray retries an address where no cluster is for many
    minutes. ``auto`` (Ray finds the cluster itself) is not looked at."""
    host, colon, port = address.split("://", 1)[-1].rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        logger.warning("The Ray cluster at %s cannot be reached: %s", address, error)
        raise ClusterError(unreachable(address)) from error


def _stop_link(process: subprocess.Popen, folder: str) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


class RayJobRunner:
    """The JobRunner's methods for pages and the instructor's view, on the Ray backend.

    The link process is started at the first call and again after it ended (not sooner than
    RETRY_SECONDS later: meanwhile calls fail at once with the same message). Every failure
    reaches pages as a ClusterError."""

    def __init__(self, settings: LinkSettings):
        self.settings = settings
        self.address, self.options = settings.address, settings.options
        # The longest the link may take over one call: connecting, then a call and its retry.
        connect = CONNECT_SECONDS + settings.init_seconds + START_SECONDS
        self.wait_seconds = connect + 2 * settings.call_seconds + 10
        self.lock = threading.RLock()  # the coordinator keeps its own; this orders local calls
        self._process: subprocess.Popen | None = None
        self._socket = ""
        self._key = os.urandom(32)
        self._failed: tuple[float, str] | None = None  # when, and the message

    def problem(self) -> str | None:
        """Why jobs cannot start now (the cluster cannot be reached), or None."""
        try:
            self._call("connect")
        except ClusterError as error:
            return str(error)
        return None

    # ----- the link process --------------------------------------------------------------
    def _link(self) -> tuple[subprocess.Popen, str]:
        """The running link process and its socket, the link started if there is none."""
        with self.lock:
            if self._process is not None and self._process.poll() is None:
                return self._process, self._socket
            if self._process is not None:  # it ended between calls: a new one at once
                logger.warning("The link to the Ray cluster ended (%s)", self._process.returncode)
                _stop_link(self._process, str(Path(self._socket).parent))
                self._process = None
            if self._failed and time.monotonic() - self._failed[0] < RETRY_SECONDS:
                raise ClusterError(self._failed[1])
            try:
                check_reachable(self.address)
                self._start()
            except ClusterError as error:
                self._failed = (time.monotonic(), str(error))
                raise
            self._failed = None
            return self._process, self._socket

    def _start(self) -> None:
        folder = tempfile.mkdtemp(prefix="charrnn-ray-")  # only this user may reach its socket
        self._socket = str(Path(folder) / "link")
        link = {"settings": asdict(self.settings), "socket": self._socket, "parent": os.getpid()}
        code = "import sys; from charrnn.runs.ray_jobs import serve_link; serve_link(sys.argv[1])"
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", code, json.dumps(link)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=child_environment(),
            )
        except OSError as error:  # no memory or processes left for it
            logger.warning("The link to the Ray cluster could not start: %s", error)
            shutil.rmtree(folder, ignore_errors=True)
            raise ClusterError(unreachable(self.address)) from error
        weakref.finalize(self, _stop_link, process, folder)
        process.stdin.write(self._key.hex().encode() + b"\n")  # the key: never on its command line
        process.stdin.close()
        ready, _, _ = select.select([process.stdout], [], [], LINK_SECONDS)
        line = process.stdout.readline() if ready else b""
        process.stdout.close()
        self._process = process
        if line.strip() != b"ready":
            logger.warning("The link to the Ray cluster did not start (%r)", line)
            self._gone(process, unreachable(self.address))
            raise ClusterError(unreachable(self.address))

    def _gone(self, process: subprocess.Popen, message: str) -> None:
        """The link ``process`` ended (or is ending): calls fail with ``message`` for
        RETRY_SECONDS. Nothing, when a newer link has taken its place."""
        with self.lock:
            if process is not self._process:
                return
            _stop_link(process, str(Path(self._socket).parent))
            self._process = None
            self._failed = (time.monotonic(), message)

    def _call(self, method: str, *arguments):
        process, path = self._link()
        try:
            connection = Client(path, family="AF_UNIX", authkey=self._key)
        except (OSError, EOFError) as error:  # it ended just now
            logger.warning("The link to the Ray cluster ended: %s", error)
            self._gone(process, unreachable(self.address))
            raise ClusterError(unreachable(self.address)) from error
        try:
            with connection:
                connection.send((method, arguments))
                if not connection.poll(self.wait_seconds):
                    raise ClusterError(BUSY, reached=True)
                kind, value, reached, lost = connection.recv()
        except (OSError, EOFError) as error:  # it ended mid-call: its cluster was lost
            logger.warning("The link to the Ray cluster ended during %s: %s", method, error)
            self._gone(process, unreachable(self.address))
            # reached: the call may have got to the coordinator before the link ended
            raise ClusterError(unreachable(self.address), reached=True) from error
        if lost:  # the link found its cluster gone, and ends
            self._gone(process, value if kind == "error" else unreachable(self.address))
        if kind == "error":
            raise ClusterError(value, reached)
        return value

    # ----- what pages call (as JobRunner) -----------------------------------------------
    def submit(self, run_dir: Path, task: JobTask = "train") -> int:
        try:
            return self._call("submit", str(Path(run_dir)), task)
        except ClusterError as error:
            if not error.reached:  # it never got there: resumable once the cluster is back
                if task == "train":
                    what = {"status": RunStatus.INTERRUPTED, "note": f"{NOT_STARTED} {RESUME}"}
                else:
                    what = {"status": CheckStatus.INTERRUPTED, "error": f"{NOT_STARTED} {AGAIN}"}
                update_job_status(Path(run_dir), task, **what)
            raise

    def position(self, run_dir: Path, task: JobTask = "train") -> int:
        return self._call("position", str(Path(run_dir)), task)

    def expected_wait(self, run_dir: Path, task: JobTask = "train") -> float | None:
        return self._call("expected_wait", str(Path(run_dir)), task)

    def waits_for_own_job(self, run_dir: Path) -> bool:
        return self._call("waits_for_own_job", str(Path(run_dir)))

    def cancel(self, run_dir: Path, task: JobTask = "train") -> None:
        self._call("cancel", str(Path(run_dir)), task)

    def process(self, run_dir: Path, task: JobTask = "train") -> RemoteProcess | None:
        key = (str(Path(run_dir)), task)
        for record in self._call("jobs")["jobs"]:
            if record["running"] and (record["folder"], record["task"]) == key:
                return RemoteProcess(self, Path(run_dir), task)
        return None

    def active_jobs(self) -> list[Job]:
        """Running jobs first, then the queue in order (a running one has a process)."""
        jobs = []
        for record in self._call("jobs")["jobs"]:
            folder = Path(record["folder"])
            job = Job(folder, record["task"], record["submitted"], record["started"])
            if record["running"]:
                job.process = RemoteProcess(self, folder, record["task"])
            jobs.append(job)
        return jobs

    @property
    def running(self) -> dict:
        return {job.key: job for job in self.active_jobs() if job.process is not None}

    @property
    def queue(self) -> list[Job]:
        return [job for job in self.active_jobs() if job.process is None]

    @property
    def max_workers(self) -> int:
        return int(self._call("jobs")["max_workers"])

    def shutdown(self) -> None:
        """Leave the cluster: end the link (the coordinator and its jobs go on for the other
        servers)."""
        with self.lock:
            if self._process is not None:
                _stop_link(self._process, str(Path(self._socket).parent))
                self._process = None


class RemoteProcess:
    """A running job's process, ended through the coordinator (the instructor's Stop/Kill)."""

    pid = None

    def __init__(self, runner: RayJobRunner, folder: Path, task: JobTask):
        self.runner, self.folder, self.task = runner, folder, task

    def terminate(self) -> None:
        self.runner._call("end", str(self.folder), self.task, "terminate", 0.0)

    def kill(self) -> None:
        self.runner._call("end", str(self.folder), self.task, "kill", 0.0)

    def join(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or 0.0)
        while self.runner.process(self.folder, self.task) is not None:
            if time.monotonic() > deadline:
                return
            time.sleep(0.2)

    def is_alive(self) -> bool:
        return self.runner.process(self.folder, self.task) is not None
