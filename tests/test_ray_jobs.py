"""The Ray job backend on a real local Ray cluster (two nodes on this machine, one declaring a
GPU): runs train through it end to end, obey pause / resume / stop, survive a killed Ray
worker as resumable runs, land on the GPU node when they ask for a GPU, and two app
processes sharing one store see one queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_runs import make_run, wait_for

ray = pytest.importorskip("ray", reason="Ray is a test dependency (requirements-dev.txt)")
from ray.cluster_utils import Cluster  # noqa: E402

from charrnn.core.checkpoint import load_checkpoint  # noqa: E402
from charrnn.runs.backends import job_backend  # noqa: E402
from charrnn.runs.folder import read_metrics  # noqa: E402
from charrnn.runs.instructor import job_rows, machine_load, stop_job  # noqa: E402
from charrnn.runs.ray_jobs import COORDINATOR, stop_coordinator  # noqa: E402
from charrnn.runs.ray_runner import NAMESPACE  # noqa: E402
from charrnn.runs.settings import load_settings  # noqa: E402
from charrnn.runs.status import read_job_status, read_status, update_status  # noqa: E402
from charrnn.runs.workspace import Workspace, new_workspace  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster():
    """A head node with 2 CPUs and a worker node with 1 CPU and 1 (declared) GPU."""
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )  # Ray's workers import charrnn from this checkout
    made = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "include_dashboard": False},
    )
    made.add_node(num_cpus=1, num_gpus=1)
    made.wait_for_nodes()
    ray.init(address=made.address, namespace="charrnn", log_to_driver=False)
    yield made
    stop_coordinator()
    ray.shutdown()
    made.shutdown()


def server_environment(cluster, home: Path, **more: str) -> dict[str, str]:
    return {
        "CHARRNN_RAY_ADDRESS": cluster.address,
        "CHARRNN_HOME": str(home),
        "CHARRNN_WORKER_NICE": "0",
        "CHARRNN_WORKERS": "2",
        **more,
    }


@pytest.fixture(scope="module")
def runner(cluster, tmp_path_factory):
    """The backend a server gets from its settings with CHARRNN_RAY_ADDRESS set: one
    coordinator for the module's tests (starting one takes seconds)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in server_environment(cluster, tmp_path_factory.mktemp("ws")).items():
            patch.setenv(name, value)
        yield job_backend(load_settings())


def kill_coordinator() -> None:
    """Kill the cluster's coordinator and wait until it is dead: ray.kill only asks, and a
    call made at once may still reach the old one (and be answered by it)."""
    coordinator = ray.get_actor(COORDINATOR, namespace=NAMESPACE)
    ray.kill(coordinator)

    def dead() -> bool:
        try:
            ray.get(coordinator.alive.remote(), timeout=5)
        except ray.exceptions.RayActorError:
            return True
        except ray.exceptions.GetTimeoutError:
            return False
        return False

    wait_for(dead, seconds=30)


def gpu_node_id() -> str:
    return next(node["NodeID"] for node in ray.nodes() if node["Resources"].get("GPU"))


def test_a_run_trains_end_to_end_through_ray(runner, space):
    run_id = make_run(space, steps=30)
    folder = space.run_dir(run_id)
    assert type(runner).__name__ == "RayJobRunner"
    assert runner.submit(folder) == 0
    wait_for(lambda: space.summary(run_id).status == "finished", seconds=180)
    assert load_checkpoint(folder).step == 30
    assert read_job_status(folder, "train").get("node")  # the node Ray chose is recorded
    wait_for(lambda: runner.process(folder) is None)  # the coordinator saw it end
    assert all(job.folder != folder for job in runner.active_jobs())


def test_pause_resume_and_stop_work_as_locally(runner, space):
    run_id = make_run(space, steps=1_000_000)
    folder = space.run_dir(run_id)
    runner.submit(folder)
    wait_for(lambda: space.summary(run_id).status == "running", seconds=120)
    assert runner.process(folder) is not None
    space.send(run_id, "pause")
    wait_for(lambda: space.summary(run_id).status == "paused")
    space.send(run_id, "resume")
    wait_for(lambda: space.summary(run_id).status == "running")
    space.send(run_id, "stop")
    wait_for(lambda: space.summary(run_id).status == "stopped")
    wait_for(lambda: runner.process(folder) is None)


def test_a_killed_ray_worker_leaves_the_run_resumable(runner, space):
    run_id = make_run(space, steps=1_000_000, checkpoint_every=20)
    folder = space.run_dir(run_id)
    runner.submit(folder)
    wait_for(lambda: len([e for e in read_metrics(folder) if e.get("kind") == "checkpoint"]) > 0)
    training_pid = int(read_status(folder)["pid"])
    ray_worker = int(Path(f"/proc/{training_pid}/stat").read_text().split(")")[1].split()[1])
    os.kill(ray_worker, signal.SIGKILL)  # the Ray worker dies; its job dies with it
    wait_for(lambda: space.summary(run_id).status == "failed", seconds=60)
    assert "Resume to continue" in read_status(folder)["error"]
    saved = load_checkpoint(folder).step
    assert saved > 0
    runner.submit(folder)  # resumed from the checkpoint
    wait_for(lambda: space.summary(run_id).status == "running", seconds=120)
    wait_for(lambda: any(e.get("step", 0) > saved for e in read_metrics(folder)))
    steps = [e["step"] for e in read_metrics(folder) if e.get("kind") == "step"]
    assert steps == sorted(steps)  # it went on from the checkpoint, not from step 0
    space.send(run_id, "stop")
    wait_for(lambda: space.summary(run_id).status == "stopped")


CLIENT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from charrnn.runs.backends import job_backend
    from charrnn.runs.settings import load_settings
    runner = job_backend(load_settings())
    place = runner.submit(Path(sys.argv[1]))
    print(json.dumps({"place": place, "jobs": [str(j.folder) for j in runner.active_jobs()]}))
    """
)


def test_two_app_processes_sharing_one_store_see_one_queue(runner, root, space):
    other = Workspace(new_workspace(root), root)
    mine = [make_run(space, f"mine{i}", steps=1_000_000) for i in range(2)]
    theirs = make_run(other, "theirs", steps=1_000_000)
    for run_id in mine:
        runner.submit(space.run_dir(run_id))
    wait_for(lambda: space.summary(mine[0]).status == "running", seconds=120)
    assert runner.position(space.run_dir(mine[1])) == 1  # one job per workspace
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    answer = subprocess.run(
        [sys.executable, "-c", CLIENT, str(other.run_dir(theirs))],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=True,
    )
    seen = json.loads(answer.stdout.strip().splitlines()[-1])
    assert seen["place"] == 0  # the other server's visitor gets the free slot at once
    assert set(seen["jobs"]) == {str(space.run_dir(r)) for r in mine} | {str(other.run_dir(theirs))}
    assert str(other.run_dir(theirs)) in {str(job.folder) for job in runner.active_jobs()}
    rows = job_rows(runner)  # the instructor's view: every server's jobs, one queue
    assert sorted(row.queued for row in rows) == [False, False, True]
    assert machine_load(runner)["running"] == 2 and machine_load(runner)["queued"] == 1
    queued = next(job for job in runner.active_jobs() if job.process is None)
    assert stop_job(runner, queued) == "cancelled"
    assert space.summary(mine[1]).status == "stopped"
    for workspace, run_id in ((space, mine[0]), (other, theirs)):
        wait_for(lambda w=workspace, r=run_id: w.summary(r).status == "running", seconds=120)
        workspace.send(run_id, "stop")
        wait_for(lambda w=workspace, r=run_id: w.summary(r).status == "stopped")


def test_a_killed_link_is_replaced_at_the_next_call(runner, space):
    """The server's link process killed (say by the kernel, short of memory) while the
    cluster is fine: the next page gets a new link at once, with the same coordinator."""
    run_id = make_run(space, steps=1_000_000)
    folder = space.run_dir(run_id)
    runner.submit(folder)
    runner._process.kill()
    runner._process.wait(10)
    assert runner.problem() is None
    assert runner.process(folder) is not None  # the coordinator still has it
    wait_for(lambda: space.summary(run_id).status == "running", seconds=120)
    space.send(run_id, "stop")
    wait_for(lambda: space.summary(run_id).status == "stopped", seconds=120)


def test_a_killed_coordinator_is_replaced_and_its_runs_left_resumable(runner):
    """The coordinator killed mid-course (or its node lost): the next submission makes a new
    one, which leaves the old one's runs interrupted, resumable; so does the instructor's."""
    home = Path(runner.options["home"])  # the store the module's coordinator looks after
    space = Workspace(new_workspace(home), home)
    training, waiting = (make_run(space, n, steps=1_000_000, checkpoint_every=20) for n in "ab")
    for run_id in (training, waiting):
        runner.submit(space.run_dir(run_id))
    folder = space.run_dir(training)
    wait_for(lambda: any(e.get("kind") == "checkpoint" for e in read_metrics(folder)))
    kill_coordinator()
    assert runner.submit(folder) == 0  # a new coordinator: the run resumes at once
    assert space.summary(waiting).status == "interrupted"  # the old queue was lost with it
    saved = load_checkpoint(folder).step
    wait_for(lambda: any(e.get("step", 0) > saved for e in read_metrics(folder)), seconds=120)
    steps = [e["step"] for e in read_metrics(folder) if e.get("kind") == "step"]
    assert steps == sorted(steps)  # on from the checkpoint
    kill_coordinator()  # again, and the instructor's page is the next to ask
    assert machine_load(runner)["running"] == 0 and job_rows(runner) == []
    assert space.summary(training).status == "interrupted"
    assert load_checkpoint(folder).step >= saved


def test_a_coordinator_that_does_not_answer_in_time_is_explained(cluster, monkeypatch, root):
    """A busy coordinator: the instructor's page says so (no traceback), as other pages do."""
    from test_app_gallery_instructor import PASSWORD, log_in, open_page

    from app import ui
    from charrnn.runs import login, ray_runner

    @ray.remote(num_cpus=0)
    class Busy:
        def alive(self) -> bool:
            return True

        def jobs(self) -> dict:
            time.sleep(10)
            return {"jobs": [], "max_workers": 1}

    # The coordinator of a namespace of its own, where the server's link finds it by name.
    options = dict(name=COORDINATOR, namespace="charrnn-busy", lifetime="detached")
    coordinator = Busy.options(**options).remote()
    ray.get(coordinator.alive.remote())
    link = ray_runner.LinkSettings(cluster.address, namespace="charrnn-busy", call_seconds=0.5)
    busy = ray_runner.RayJobRunner(link)
    try:
        with pytest.raises(ray_runner.ClusterError, match="did not answer"):
            busy.active_jobs()
        monkeypatch.setattr(ui, "job_runner", lambda: busy)
        monkeypatch.setenv("CHARRNN_HOME", str(root))
        monkeypatch.setenv("CHARRNN_INSTRUCTOR_PASSWORD", PASSWORD)
        login.INSTRUCTOR.reset()
        at = log_in(open_page("instructor"), PASSWORD)
        assert any("did not answer" in error.value for error in at.error)
        assert any("CHARRNN_RAY_ADDRESS" in caption.value for caption in at.caption)
    finally:
        busy.shutdown()
        ray.kill(coordinator)


def test_a_job_that_asks_for_a_gpu_lands_on_the_gpu_node(cluster, root, monkeypatch, space):
    stop_coordinator()  # (the module's last test) a coordinator whose jobs ask for a GPU
    environment = server_environment(cluster, root, CHARRNN_RAY_GPUS="0.5")  # two share one
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    runner = job_backend(load_settings())
    run_id = make_run(space, steps=10)
    folder = space.run_dir(run_id)
    runner.submit(folder)
    wait_for(lambda: space.summary(run_id).status == "finished", seconds=180)
    assert read_job_status(folder, "train")["node"] == gpu_node_id()


def test_the_coordinator_removes_idle_workspaces_on_its_own(root):
    """With Ray no app server runs a job runner, so the coordinator's runner does the hourly
    clean-up a local server does (here every 0.2 s): an idle workspace goes, a recent one
    stays."""
    from test_workshop_bounds import age

    from charrnn.runs.ray_jobs import Coordinator

    idle, recent = (Workspace(new_workspace(root), root) for _ in range(2))
    update_status(idle.run_dir(make_run(idle, "finished long ago")), status="finished")
    age(idle.folder, 40)
    options = {"home": str(root), "idle_days": 30, "max_workers": 1}
    coordinator = Coordinator({**options, "housekeeping_seconds": 0.2, "poll_seconds": 0.05})
    try:
        wait_for(lambda: not idle.folder.exists(), seconds=20)
        assert recent.folder.is_dir()
    finally:
        coordinator.runner.shutdown()
