"""The Ray job backend: one coordinator (a named, detached Ray actor) holds the queue and the
fairness rules for every app server, and each job runs as a Ray task with explicit resources.

The coordinator is the local backend's JobRunner, living in one place for the whole cluster,
with a launcher that starts Ray tasks instead of local processes. Inside its task a job is
the same worker process as locally (its own Python, memory limit, niceness), on the node
Ray chose; the run folder, on storage every node sees, stays the one source of truth.
Pause, resume and stop go through the run folder as locally.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError

from charrnn.errors import UserError
from charrnn.runs.jobs import Job, JobRunner
from charrnn.runs.status import CheckStatus, JobTask, RunStatus, update_job_status
from charrnn.runs.worker_process import WorkerProcess

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding charrnn/
NAMESPACE = "charrnn"
COORDINATOR = "charrnn-coordinator"
CALL_SECONDS = 30.0  # a coordinator that does not answer in this long is an error
START_SECONDS = 180.0  # a new coordinator (a fresh Python process on a busy node) may take long
CONNECT_SECONDS = 5.0  # a cluster's address that does not take a connection in this long is down
RETRY_SECONDS = 30.0  # after a failed connection, calls fail at once for this long
INIT_SECONDS = 20.0  # the longest a page waits for ray.init (see _init_ray)
OLD_JOBS_SECONDS = 20.0  # a dead coordinator's jobs end within seconds (Ray ends its tasks)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RayResources:
    """What each job asks Ray for: CPUs (also its torch threads) and, for training, GPUs (a
    fraction lets several small runs share one GPU)."""

    cpus: float = 1.0
    gpus: float = 0.0


def run_job(folder: str, threads: int, task: str, nice: int, memory_mb: float) -> int:
    """Inside a Ray task: record the node, run the job's worker process, return its exit code.
    The worker ends with this task (its parent-death signal), so a killed task or a lost node
    leaves the run interrupted, resumable from its last checkpoint."""
    context = ray.get_runtime_context()
    update_job_status(Path(folder), task, node=context.get_node_id())  # type: ignore[arg-type]
    process = WorkerProcess(Path(folder), threads, task, nice, memory_mb)
    process.join()
    return process.exitcode if process.exitcode is not None else -1


class RayTask:
    """A started job as the runner sees a process: alive, exit code, kill."""

    pid = None  # the worker's pid lives on another node; the run's status file has it

    def __init__(self, reference: ray.ObjectRef):
        self.reference = reference
        self._exitcode: int | None = None
        self._done = False

    def _collect(self) -> None:
        try:
            self._exitcode = int(ray.get(self.reference, timeout=CALL_SECONDS))
        except (RayError, GetTimeoutError):  # its worker or node died, or it was cancelled
            self._exitcode = -1
        self._done = True

    def is_alive(self) -> bool:
        if self._done:
            return False
        ready, _ = ray.wait([self.reference], timeout=0)
        if ready:
            self._collect()
        return not ready

    @property
    def exitcode(self) -> int | None:
        return self._exitcode if self._done or not self.is_alive() else None

    def kill(self) -> None:
        ray.cancel(self.reference, force=True)  # kills the task's process, and so its worker

    terminate = kill

    def join(self, timeout: float | None = None) -> None:
        ray.wait([self.reference], timeout=timeout)
        if not self.is_alive():
            self._collect()


def ray_launcher(resources: RayResources):
    """A JobRunner launcher that runs each job as a Ray task with ``resources``."""
    remote = ray.remote(run_job)

    def launch(folder: Path, threads: int, task: str, nice: int, memory_mb: float) -> RayTask:
        gpus = resources.gpus if task == "train" else 0.0  # chemistry checks: CPU only
        options = dict(num_cpus=resources.cpus, num_gpus=gpus, max_retries=0)
        reference = remote.options(**options).remote(str(folder), threads, task, nice, memory_mb)
        return RayTask(reference)

    return launch


def _job_record(job: Job, running: bool) -> dict:
    return {
        "folder": str(job.folder),
        "task": job.task,
        "submitted": job.submitted,
        "started": job.started,
        "running": running,
    }


class Coordinator:
    """The one scheduler of a cluster (a named, detached Ray actor): every app server submits
    to it, so one queue and one fairness rule span all of them."""

    def __init__(self, options: dict):
        from charrnn.runs.housekeeping import cleanup_idle_workspaces, mark_interrupted

        resources = RayResources(options.get("cpus", 1.0), options.get("gpus", 0.0))
        home = Path(options["home"]) if options.get("home") else None
        if home:
            mark_interrupted(home, OLD_JOBS_SECONDS)  # a new coordinator: older jobs are gone

        def housekeeping() -> None:  # the servers clean up at their start; this, hourly
            if home:
                cleanup_idle_workspaces(home, options.get("idle_days", 0))

        self.runner = JobRunner(
            max_workers=options.get("max_workers") or _cluster_cpus(resources),
            per_workspace=options.get("per_workspace", 1),
            time_cap_seconds=options.get("time_cap_seconds"),
            worker_nice=options.get("worker_nice", 0),
            worker_memory_mb=options.get("worker_memory_mb", 0),
            launcher=ray_launcher(resources),
            threads_per_job=max(1, int(resources.cpus)),
            poll_seconds=options.get("poll_seconds", 0.5),
            housekeeping=housekeeping,
            housekeeping_seconds=options.get("housekeeping_seconds", 3600.0),
        )

    def submit(self, folder: str, task: JobTask) -> int:
        return self.runner.submit(Path(folder), task)

    def position(self, folder: str, task: JobTask) -> int:
        return self.runner.position(Path(folder), task)

    def expected_wait(self, folder: str, task: JobTask) -> float | None:
        return self.runner.expected_wait(Path(folder), task)

    def waits_for_own_job(self, folder: str) -> bool:
        return self.runner.waits_for_own_job(Path(folder))

    def cancel(self, folder: str, task: JobTask) -> None:
        self.runner.cancel(Path(folder), task)

    def jobs(self) -> dict:
        """Running jobs, then the queue, as plain records; and the number of job slots."""
        with self.runner.lock:
            running = [_job_record(job, True) for job in self.runner.running.values()]
            queued = [_job_record(job, False) for job in self.runner.queue]
        return {"jobs": running + queued, "max_workers": self.runner.max_workers}

    def end(self, folder: str, task: JobTask, how: str, wait: float = 10.0) -> bool:
        """Terminate or kill a running job's task; False when it was not running."""
        with self.runner.lock:
            process = self.runner.process(Path(folder), task)
            if process is None:
                return False
            process.kill() if how == "kill" else process.terminate()
        process.join(wait)
        return True

    def alive(self) -> bool:
        return True


def _cluster_cpus(resources: RayResources) -> int:
    """How many jobs the cluster holds at once: its CPUs over each job's."""
    return max(1, int(ray.cluster_resources().get("CPU", 1) // max(resources.cpus, 1e-9)))


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


class ClusterError(UserError):
    """The course's Ray cluster cannot take or answer a request now (unreachable, busy, or
    its coordinator lost for good): pages show the message; the rest of the app works."""


def _unreachable(address: str) -> ClusterError:
    return ClusterError(
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


def _check_reachable(address: str) -> None:
    """A quick TCP look at ``host:port`` before ray.init, which retries an address where no
    cluster is for many minutes. ``auto`` (Ray finds the cluster itself) is not looked at."""
    host, colon, port = address.split("://", 1)[-1].rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        logger.warning("The Ray cluster at %s cannot be reached: %s", address, error)
        raise _unreachable(address) from error


_joining = threading.Lock()
_join: dict = {"thread": None, "error": None}  # this process's one ray.init under way


def _init_ray(address: str) -> None:
    """Join the cluster at ``address``, waiting INIT_SECONDS at most; ClusterError if not.

    ray.init runs in a thread of its own: at an address that takes connections but is no
    Ray cluster (another service's port), it retries for minutes, and a page must not wait
    that long. A later call waits for the same attempt, or starts a new one once it failed.
    """
    with _joining:
        thread = _join["thread"]
        if thread is None or not thread.is_alive():
            if ray.is_initialized():
                return
            _join["error"] = None
            thread = threading.Thread(
                target=_run_init, args=(address,), name="charrnn-ray-init", daemon=True
            )
            _join["thread"] = thread
            thread.start()
    thread.join(INIT_SECONDS)
    if thread.is_alive():
        logger.warning("Ray has not joined the cluster at %s in %.0f s", address, INIT_SECONDS)
        raise _unreachable(address)
    if _join["error"] is not None:
        logger.warning("Ray could not connect to %s: %s", address, _join["error"])
        raise _unreachable(address) from _join["error"]


def _run_init(address: str) -> None:
    try:
        ray.init(
            address=address,
            namespace=NAMESPACE,
            log_to_driver=False,
            configure_logging=False,
            # The coordinator and the jobs import charrnn from this checkout: on every node it
            # must be at the same path (the shared folder; docs/workshop.md).
            runtime_env={"env_vars": {"PYTHONPATH": str(PACKAGE_ROOT)}},
        )
    except Exception as error:  # OSError, ValueError, RuntimeError, RayError ...: unreachable
        _join["error"] = error


class RayJobRunner:
    """An app server's handle on the cluster's coordinator, with the JobRunner's methods, so
    pages and the instructor's view work the same on both backends.

    It connects at its first call, and again after a failure (not sooner than RETRY_SECONDS
    later: meanwhile calls fail at once). A coordinator that died (killed, or its node lost)
    is replaced by a new one, which leaves the runs the old one had as interrupted. Every
    failure reaches pages as a ClusterError."""

    def __init__(self, address: str, options: dict, *, start_coordinator: bool = True):
        self.address, self.options = address, options
        self.start_coordinator = start_coordinator
        self.coordinator = None
        self.lock = threading.RLock()  # the coordinator keeps its own; this orders local calls
        self._failed: tuple[float, str] | None = None  # when, and the message

    def problem(self) -> str | None:
        """Why jobs cannot start now (the cluster cannot be reached), or None."""
        try:
            self._coordinator()
        except ClusterError as error:
            return str(error)
        return None

    def _coordinator(self):
        with self.lock:
            if self.coordinator is not None:
                return self.coordinator
            if self._failed and time.monotonic() - self._failed[0] < RETRY_SECONDS:
                raise ClusterError(self._failed[1])
            try:
                self.coordinator = self._connect()
            except ClusterError as error:
                self._failed = (time.monotonic(), str(error))
                raise
            self._failed = None
            return self.coordinator

    def _connect(self):
        """The cluster's coordinator, made if there is none (by the first server, or after
        the last one died), once it answers."""
        _check_reachable(self.address)
        if not ray.is_initialized():
            _init_ray(self.address)
        actor = ray.remote(Coordinator).options(
            name=COORDINATOR,
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_concurrency=64,
        )
        deadline = time.monotonic() + START_SECONDS
        while True:  # a dead coordinator keeps its name for a moment
            try:
                if self.start_coordinator:
                    coordinator = actor.remote(self.options)
                else:
                    coordinator = ray.get_actor(COORDINATOR, namespace=NAMESPACE)
                self._ask(coordinator, "alive", (), max(1.0, deadline - time.monotonic()))
                return coordinator
            except (RayActorError, ValueError) as error:  # ValueError: none by that name
                if time.monotonic() > deadline:
                    logger.warning("No coordinator on the Ray cluster: %s", error)
                    raise ClusterError(
                        "The course's Ray cluster has no job coordinator now: ask your instructor."
                    ) from error
                time.sleep(0.2)

    @staticmethod
    def _ask(coordinator, method: str, arguments: tuple, timeout: float):
        try:
            return ray.get(getattr(coordinator, method).remote(*arguments), timeout=timeout)
        except GetTimeoutError as error:
            logger.warning("The coordinator did not answer %s within %s s", method, timeout)
            raise ClusterError(BUSY) from error

    def _call(self, method: str, *arguments, timeout: float | None = None):
        coordinator = self._coordinator()
        try:
            return self._ask(coordinator, method, arguments, timeout or CALL_SECONDS)
        except RayActorError:  # killed, or its node lost: a new coordinator takes over
            logger.warning("The coordinator died; making a new one")
            with self.lock:
                if self.coordinator is coordinator:
                    self.coordinator = None
            coordinator = self._coordinator()
            try:
                return self._ask(coordinator, method, arguments, timeout or CALL_SECONDS)
            except RayActorError as error:
                raise ClusterError(
                    "The course's Ray cluster keeps losing its job coordinator: ask your "
                    "instructor."
                ) from error

    # ----- what pages call (as JobRunner) -----------------------------------------------
    def submit(self, run_dir: Path, task: JobTask = "train") -> int:
        try:
            return self._call("submit", str(Path(run_dir)), task)
        except ClusterError:
            if self.coordinator is None:  # it never got there: resumable once the cluster is
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
        """Leave the cluster (its coordinator and jobs go on for the other servers)."""


def stop_coordinator() -> None:
    """End the cluster's coordinator (tests, or a course that is over); its running jobs go
    on to their end but nothing new starts until a server makes a new one."""
    try:
        ray.kill(ray.get_actor(COORDINATOR, namespace=NAMESPACE))
    except ValueError:
        return  # there was none
    deadline = time.monotonic() + 30  # gone by name before a new one can take it
    while time.monotonic() < deadline:
        try:
            ray.get_actor(COORDINATOR, namespace=NAMESPACE)
        except ValueError:
            return
        time.sleep(0.1)
