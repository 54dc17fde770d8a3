"""The course's Ray head node lost while an app server is connected: the server lives on
(Ray ends the process connected to a lost cluster: the server's link process, never the
server), its pages say the cluster cannot be reached, and once a head is back at the same
address the server reconnects by itself and the run that was training resumes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_runs import make_run, wait_for

pytest.importorskip("ray", reason="Ray is a test dependency (requirements-dev.txt)")

from charrnn.core.checkpoint import load_checkpoint  # noqa: E402
from charrnn.runs import ray_runner  # noqa: E402
from charrnn.runs.backends import job_backend  # noqa: E402
from charrnn.runs.folder import read_metrics  # noqa: E402
from charrnn.runs.settings import load_settings  # noqa: E402

RAY = Path(sys.executable).parent / "ray"
UNREACHABLE = "cannot be reached: ask your instructor"


def free_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


def start_head(port: int, folder: str) -> subprocess.Popen:
    """A one-machine cluster's head (2 CPUs), its processes in a process group of their own.
    Its files in ``folder``: a killed head leaves its address file behind, where a later
    ray.init() with no address would find it (and try to join a cluster that is gone)."""
    command = [str(RAY), "start", "--head", f"--port={port}", "--num-cpus=2", "--block"]
    folder = tempfile.mkdtemp(dir=folder)  # a folder each, as on two machines
    command += ["--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={folder}"]
    return subprocess.Popen(
        command,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def lose(head: subprocess.Popen) -> None:
    """The head node lost at once: every process of it killed, none asked to stop."""
    try:
        os.killpg(head.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    head.wait(30)


@pytest.fixture
def heads():
    """Heads started by the test, lost at its end; their files in a short path (Ray's
    sockets must fit in 107 characters)."""
    folder = tempfile.mkdtemp(prefix="ray-")
    started: list[subprocess.Popen] = []
    yield started, folder
    for head in started:
        lose(head)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_lost_head_leaves_the_server_running_and_it_reconnects(monkeypatch, root, space, heads):
    heads, ray_files = heads
    port = free_port()
    heads.append(start_head(port, ray_files))
    for name, value in {
        "CHARRNN_RAY_ADDRESS": f"127.0.0.1:{port}",
        "CHARRNN_HOME": str(root),
        "CHARRNN_WORKER_NICE": "0",
        "RAY_gcs_rpc_server_reconnect_timeout_s": "5",  # Ray's own wait before it ends (60 s)
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(ray_runner, "RETRY_SECONDS", 1.0)
    wait_for(
        lambda: (
            subprocess.run(
                [str(RAY), "status", f"--address=127.0.0.1:{port}"], capture_output=True
            ).returncode
            == 0
        ),
        seconds=60,
    )
    runner = job_backend(load_settings())
    assert runner.problem() is None
    run_id = make_run(space, steps=1_000_000, checkpoint_every=20)
    folder = space.run_dir(run_id)
    assert runner.submit(folder) == 0
    wait_for(lambda: any(e.get("kind") == "checkpoint" for e in read_metrics(folder)))
    link = runner._process

    lose(heads[-1])
    wait_for(lambda: UNREACHABLE in (runner.problem() or ""), seconds=90)
    wait_for(lambda: link.poll() is not None, seconds=60)  # Ray ended the link, not us
    saved = load_checkpoint(folder).step

    heads.append(start_head(port, ray_files))  # the instructor starts the head again
    wait_for(lambda: runner.problem() is None, seconds=120)
    assert space.summary(run_id).status == "interrupted"  # marked by the new coordinator
    written = len(read_metrics(folder))  # (the lost worker wrote steps past its checkpoint)
    assert runner.submit(folder) == 0
    wait_for(lambda: space.summary(run_id).status == "running", seconds=120)
    wait_for(lambda: len(read_metrics(folder)) > written + 2, seconds=120)
    resumed = read_metrics(folder)[written:]
    assert min(e["step"] for e in resumed if "step" in e) > saved  # from its checkpoint
    space.send(run_id, "stop")
    wait_for(lambda: space.summary(run_id).status == "stopped", seconds=60)
    runner.shutdown()
