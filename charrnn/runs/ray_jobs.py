"""The Ray job backend: one coordinator (a named, detached Ray actor) holds the queue and the
fairness rules for every app server, and each job runs as a Ray task with explicit resources.

The coordinator is the local backend's JobRunner, living in one place for the whole cluster,
with a launcher that starts Ray tasks instead of local processes. Inside its task a job is
the same worker process as locally (its own Python, memory limit, niceness), on the node
Ray chose; the run folder, on storage every node sees, stays the one source of truth.
Pause, resume and stop go through the run folder as locally.

Ray runs in the cluster's processes and in each app server's link process (serve_link),
never in an app server itself (charrnn.runs.ray_runner says why).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import AuthenticationError, Listener
from pathlib import Path

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError

from charrnn.runs.jobs import Job, JobRunner
from charrnn.runs.ray_runner import (
    BUSY,
    CALL_SECONDS,
    NAMESPACE,
    START_SECONDS,
    ClusterError,
    LinkSettings,
    check_reachable,
    unreachable,
)
from charrnn.runs.status import JobTask, update_job_status
from charrnn.runs.worker_process import WorkerProcess

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding charrnn/
COORDINATOR = "charrnn-coordinator"
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


_joining = threading.Lock()
_join: dict = {"thread": None, "error": None}  # this process's one ray.init under way


def _init_ray(address: str, seconds: float) -> None:
    """Join the cluster at ``address``, waiting ``seconds`` at most; ClusterError if not.

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
    thread.join(seconds)
    if thread.is_alive():
        logger.warning("Ray has not joined the cluster at %s in %.0f s", address, seconds)
        raise ClusterError(unreachable(address))
    if _join["error"] is not None:
        logger.warning("Ray could not connect to %s: %s", address, _join["error"])
        raise ClusterError(unreachable(address)) from _join["error"]


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


CALLS = {"connect", "submit", "position", "expected_wait", "waits_for_own_job", "cancel", "jobs"}
CALLS |= {"end"}


class ClusterConnection:
    """The link process's connection to the cluster and its coordinator (an app server's
    RayJobRunner sends it each call). It joins the cluster at its first call, and replaces a
    coordinator that died (killed, or its node lost) by a new one, which leaves the runs the
    old one had as interrupted. ``lost``: the cluster cannot be reached; the link ends."""

    def __init__(self, settings: LinkSettings):
        self.address, self.options = settings.address, settings.options
        self.namespace = settings.namespace
        self.call_seconds, self.init_seconds = settings.call_seconds, settings.init_seconds
        self.coordinator = None
        self.lost = False
        self.lock = threading.Lock()

    def call(self, method: str, *arguments):
        """A coordinator method's answer (``connect``: only reach the coordinator)."""
        if method not in CALLS:
            raise ValueError(f"no such call: {method}")
        coordinator = self._coordinator()
        if method == "connect":
            return None
        try:
            return self._ask(coordinator, method, arguments)
        except RayActorError:  # killed, or its node lost: a new coordinator takes over
            logger.warning("The coordinator died; making a new one")
            with self.lock:
                if self.coordinator is coordinator:
                    self.coordinator = None
            coordinator = self._coordinator()
            try:
                return self._ask(coordinator, method, arguments)
            except RayActorError as error:
                raise ClusterError(
                    "The course's Ray cluster keeps losing its job coordinator: ask your "
                    "instructor."
                ) from error

    def _coordinator(self):
        with self.lock:
            if self.coordinator is None:
                try:
                    self.coordinator = self._connect()
                except ClusterError:
                    self.lost = True
                    raise
            return self.coordinator

    def _connect(self):
        """The cluster's coordinator, made if there is none (by the first server, or after
        the last one died), once it answers."""
        check_reachable(self.address)
        if not ray.is_initialized():
            _init_ray(self.address, self.init_seconds)
        actor = ray.remote(Coordinator).options(
            name=COORDINATOR,
            namespace=self.namespace,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_concurrency=64,
        )
        deadline = time.monotonic() + START_SECONDS
        while True:  # a dead coordinator keeps its name for a moment
            try:
                coordinator = actor.remote(self.options)
                ray.get(coordinator.alive.remote(), timeout=max(1.0, deadline - time.monotonic()))
                return coordinator
            except (RayActorError, GetTimeoutError) as error:
                if time.monotonic() > deadline:
                    logger.warning("No coordinator on the Ray cluster: %s", error)
                    raise ClusterError(
                        "The course's Ray cluster has no job coordinator now: ask your instructor."
                    ) from error
                time.sleep(0.2)

    def _ask(self, coordinator, method: str, arguments: tuple):
        reference = getattr(coordinator, method).remote(*arguments)
        try:
            return ray.get(reference, timeout=self.call_seconds)
        except GetTimeoutError as error:
            logger.warning("The coordinator did not answer %s in %s s", method, self.call_seconds)
            raise ClusterError(BUSY) from error


def serve_link(link_json: str) -> None:
    """The link process (started by an app server's RayJobRunner): answer the server's calls
    on a Unix socket, each in a thread of its own, until the server or the cluster is gone."""
    given = json.loads(link_json)
    key = bytes.fromhex(sys.stdin.readline().strip())
    logging.basicConfig(format="charrnn ray link: %(levelname)s %(message)s")
    link = ClusterConnection(LinkSettings(**given["settings"]))
    listener = Listener(given["socket"], family="AF_UNIX", authkey=key)
    threading.Thread(target=_watch_parent, args=(given["parent"],), daemon=True).start()
    print("ready", flush=True)
    os.dup2(2, 1)  # the server reads one line: anything Ray prints later goes to the log
    sys.stdout = sys.stderr
    while True:
        try:
            connection = listener.accept()
        except (OSError, EOFError, AuthenticationError):
            continue
        threading.Thread(target=_answer, args=(link, connection), daemon=True).start()


def _answer(link: ClusterConnection, connection) -> None:
    """One call: (method, arguments) in; (kind, value, reached, lost) out."""
    try:
        with connection:
            method, arguments = connection.recv()
            try:
                reply = ("ok", link.call(method, *arguments), True, False)
            except ClusterError as error:
                reply = ("error", str(error), link.coordinator is not None, link.lost)
            connection.send(reply)
    except (OSError, EOFError):
        pass  # the server stopped waiting
    if link.lost:  # its cluster is gone: the server starts a new link later
        os._exit(0)


def _watch_parent(parent: int) -> None:
    """End the link when its app server is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


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
