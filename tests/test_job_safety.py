"""Jobs that cannot hold the server: workers die with it, a restart knows its own workers,
status writes never lose one another, and a run past its memory fails alone and says why.

Worker processes train models of hidden size 16 (seconds each); the memory limit is tried
on a child process that allocates past it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from test_runs import TOY, make_run, quick_train, wait_for

from charrnn.core.train_config import TrainConfig
from charrnn.runs import assessment
from charrnn.runs.folder import RunError
from charrnn.runs.housekeeping import mark_interrupted
from charrnn.runs.jobs import JobRunner
from charrnn.runs.plan import RunChoice, new_run_config, planned_budget
from charrnn.runs.settings import ServerSettings
from charrnn.runs.speeds import (
    SPEED_MAX_HIDDEN,
    SPEED_SAMPLE_CHARACTERS,
    _speed_sample,
    corpus_engine_speeds,
)
from charrnn.runs.status import read_status, update_status
from charrnn.runs.workspace import Workspace, new_workspace
from charrnn.worker_start import memory_message, out_of_memory, process_identity

ROOT = Path(__file__).resolve().parents[1]
FOREVER = dict(steps=1_000_000, checkpoint_every=1_000_000, eval_every=100_000)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"


def python(code: str, *arguments: str, **options) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *arguments], env=env, **options
    )


# ----- workers die with the server ----------------------------------------------------------
def test_a_killed_servers_worker_ends_with_it(root, space):
    """A server killed with SIGKILL (no atexit) takes its training worker with it, even
    though the job was submitted from a thread that ended long before (a page's rerun)."""
    run_id = make_run(space, **FOREVER)
    folder = space.run_dir(run_id)
    server = python(
        """
        import sys, threading, time
        from pathlib import Path
        from charrnn.runs.jobs import JobRunner
        runner = JobRunner(max_workers=1, poll_seconds=0.1)
        page = threading.Thread(target=runner.submit, args=(Path(sys.argv[1]),))
        page.start(); page.join()  # the page's thread is gone before the worker trains
        time.sleep(600)
        """,
        str(folder),
    )
    try:
        wait_for(lambda: read_status(folder).get("status") == "running", seconds=60)
        worker = read_status(folder)["pid"]
        time.sleep(1.0)
        assert alive(worker)  # it outlived the page's thread
        server.kill()
        server.wait()
        wait_for(lambda: not alive(worker), seconds=20)
    finally:
        server.kill()
    assert mark_interrupted(root) == 1  # and a restarted server offers to resume it
    assert space.summary(run_id).status == "interrupted"


def test_submit_from_a_passing_thread_starts_at_once(space):
    runner = JobRunner(max_workers=1, poll_seconds=5.0)  # a slow poll: submit wakes it
    try:
        run_id = make_run(space, **FOREVER)
        places = []
        page = threading.Thread(target=lambda: places.append(runner.submit(space.run_dir(run_id))))
        page.start()
        page.join()
        assert places == [0] and runner.process(space.run_dir(run_id)) is not None
        wait_for(lambda: space.summary(run_id).status == "running")
        space.send(run_id, "stop")
        wait_for(lambda: space.summary(run_id).status == "stopped")
    finally:
        runner.shutdown()


# ----- a restart recognises its own -----------------------------------------------------------
def test_a_reused_pid_does_not_keep_a_run_alive(root, space):
    reused, own = make_run(space, "reused"), make_run(space, "own")
    me = os.getpid()
    update_status(space.run_dir(reused), status="running", pid=me, process="old-boot:12345")
    update_status(space.run_dir(own), status="paused", pid=me, process=process_identity(me))
    queued = make_run(space, "queued")
    update_status(space.run_dir(queued), status="queued")
    assert mark_interrupted(root) == 2
    assert space.summary(reused).status == "interrupted"
    assert space.summary(queued).status == "interrupted"
    assert space.summary(own).status == "paused"
    space.delete(reused)  # no longer stuck: it can be deleted (or resumed)


def test_a_chemistry_check_left_running_is_marked_interrupted(root, space):
    left, own = make_run(space, "left"), make_run(space, "own")
    for run_id in (left, own):
        update_status(space.run_dir(run_id), status="finished")
    assessment.request(space.run_dir(left), assessment.AssessmentSettings())
    assessment.write_status(space.run_dir(left), status="running", pid=os.getpid(), process="x")
    me = os.getpid()
    assessment.write_status(
        space.run_dir(own), status="running", pid=me, process=process_identity(me)
    )
    assert mark_interrupted(root) == 1
    status = assessment.read_status(space.run_dir(left))
    assert status["status"] == "interrupted" and "Run the check again" in status["error"]
    assert assessment.read_status(space.run_dir(own))["status"] == "running"


def test_a_process_identity_changes_with_the_process():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_identity(os.getpid()) == process_identity(os.getpid())
    assert process_identity(child.pid) is None
    assert process_identity(os.getppid()) != process_identity(os.getpid())
    assert process_identity(os.getpid()).split(":")[1] == str(os.getpid())


# ----- status writes never lose one another -----------------------------------------------------
WRITER = """
import sys
from pathlib import Path
from charrnn.runs.status import update_status
for number in range(int(sys.argv[3])):
    update_status(Path(sys.argv[1]), **{f"{sys.argv[2]}-{number}": number})
"""


def test_concurrent_status_writers_lose_nothing(space):
    folder = space.run_dir(make_run(space))
    writes = 60

    def write(name: str) -> None:
        for number in range(writes):
            update_status(folder, **{f"{name}-{number}": number})

    children = [python(WRITER, str(folder), f"process{i}", str(writes)) for i in range(2)]
    threads = [threading.Thread(target=write, args=(f"thread{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for child in children:
        assert child.wait(60) == 0
    status = read_status(folder)
    for name in ("thread0", "thread1", "thread2", "process0", "process1"):
        assert all(f"{name}-{number}" in status for number in range(writes)), name


def test_concurrent_check_status_writers_lose_nothing(space):
    folder = space.run_dir(make_run(space))

    def write(name: str) -> None:
        for number in range(40):
            assessment.write_status(folder, **{f"{name}-{number}": number})

    threads = [threading.Thread(target=write, args=(f"thread{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    status = assessment.read_status(folder)
    assert sum(key.startswith("thread") for key in status) == 160


# ----- a run past its memory fails alone ----------------------------------------------------------
def test_a_worker_past_its_memory_limit_fails_with_a_plain_reason(space):
    """A worker started with a 1.5 GB limit that asks torch for 4 GB: the allocation fails,
    the run says why, and nothing else is touched."""
    child = python(
        """
        import os
        from charrnn.worker_start import prepare_worker
        prepare_worker(os.getppid(), 1536)
        import torch
        from charrnn.worker_start import memory_message, out_of_memory
        try:
            torch.zeros(1024, 1024, 1024)
        except Exception as error:
            print(out_of_memory(error), memory_message())
        """,
        stdout=subprocess.PIPE,
        text=True,
    )
    output, _ = child.communicate(timeout=60)
    assert output.startswith(
        "True This run needed more memory than the server allows each run (1.5 GB)"
    ), output


def test_allocation_errors_are_recognised():
    assert out_of_memory(MemoryError())
    assert out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    assert not out_of_memory(RuntimeError("size mismatch"))
    assert not out_of_memory(ValueError("out of memory"))  # a bug, not an allocation
    assert "Choose a smaller model or batch" in memory_message()


# ----- a run's budget, checked before it starts ---------------------------------------------------
def test_an_over_budget_run_is_refused_saying_what_fits(space):
    train = dict(batch_size=512, sequence_length=512)
    model = {"cell": "lstm", "layers": 3, "hidden_size": 512, "embedding_size": 128}
    with pytest.raises(RunError, match="batch size of at most"):
        new_run_config(space, TOY, "medium", model, train)
    choice = RunChoice(TOY["reference"], TrainConfig(**train), "medium", model)
    planned = planned_budget(space, choice)
    assert planned.problem and "batch size of at most" in planned.problem
    assert planned_budget(space, RunChoice(TOY["reference"], preset="tiny")).problem is None


def test_the_speed_comparison_reads_only_the_start_of_a_large_upload(space):
    text = ("the quick brown fox jumps over the lazy dog\n" * 200_000).encode()  # 8.8 MB
    reference = space.save_corpus(text, "big.txt", 20 * 2**20)
    corpus = {"reference": reference, "name": "big.txt", "kind": "text"}
    assert len(_speed_sample(corpus)) == SPEED_SAMPLE_CHARACTERS  # not 8.8 million
    speeds = corpus_engine_speeds(corpus, 4096, seconds=60)  # at most SPEED_MAX_SECONDS each
    assert speeds["hidden_size"] == SPEED_MAX_HIDDEN


def test_a_run_past_the_workers_memory_fails_alone_with_a_plain_reason(root, space):
    """A run the budget would refuse (created on a server without a limit) trains under a
    1.5 GB limit: it fails saying why, and the neighbour's run goes on to the end."""
    unlimited = Workspace(space.token, root, ServerSettings(home=root, worker_memory_mb=0))
    huge = {"cell": "lstm", "layers": 2, "hidden_size": 768, "embedding_size": 64}
    config = new_run_config(unlimited, TOY, "small", huge, quick_train(batch_size=256))
    greedy = unlimited.create_run(
        "greedy", replace(config, train=replace(config.train, sequence_length=256))
    )
    neighbour = Workspace(new_workspace(root), root)
    modest = make_run(neighbour, "modest", steps=40)
    runner = JobRunner(max_workers=2, poll_seconds=0.1, worker_memory_mb=1536)
    try:
        runner.submit(space.run_dir(greedy))
        runner.submit(neighbour.run_dir(modest))
        wait_for(lambda: space.summary(greedy).status == "failed", seconds=120)
        assert space.summary(greedy).error.startswith(
            "This run needed more memory than the server allows each run (1.5 GB)."
        )
        wait_for(lambda: neighbour.summary(modest).status == "finished", seconds=120)
    finally:
        runner.shutdown()
