"""The job runner shares the cores fairly: a workspace at a time, a time cap, a wait estimate."""

from __future__ import annotations

import os

from test_runs import make_run, wait_for

from charrnn.core.checkpoint import CHECKPOINT_FILE, load_checkpoint
from charrnn.runs.jobs import JobRunner
from charrnn.runs.status import read_status
from charrnn.runs.workspace import Workspace, new_workspace


def test_one_workspace_cannot_take_every_worker(root, space):
    other = Workspace(new_workspace(root), root)
    runner = JobRunner(max_workers=2, poll_seconds=0.1)
    try:
        first, second = (make_run(space, name, steps=1_000_000) for name in ("a1", "a2"))
        theirs = make_run(other, "b1", steps=1_000_000)
        assert runner.submit(space.run_dir(first)) == 0
        assert runner.submit(space.run_dir(second)) == 1  # a free worker, but not for us
        assert runner.submit(other.run_dir(theirs)) == 0  # the other workspace goes first
        assert runner.position(space.run_dir(second)) == 1
        assert runner.expected_wait(space.run_dir(second)) > 0
        assert runner.expected_wait(space.run_dir(first)) is None  # running, not waiting
        running = {job.folder for job in runner.active_jobs()[:2]}
        assert running == {space.run_dir(first), other.run_dir(theirs)}
        wait_for(lambda: space.summary(first).status == "running")  # listening to messages
        space.send(first, "stop")
        wait_for(lambda: space.summary(second).status == "running")  # our next one starts
        for workspace, run_id in ((space, second), (other, theirs)):
            wait_for(lambda w=workspace, r=run_id: w.summary(r).status == "running")
            workspace.send(run_id, "stop")
            wait_for(lambda w=workspace, r=run_id: w.summary(r).status == "stopped")
    finally:
        runner.shutdown()


def test_a_job_past_the_time_cap_is_stopped_and_keeps_its_model(space):
    runner = JobRunner(max_workers=1, poll_seconds=0.1, time_cap_seconds=4)
    try:
        run_id = make_run(space, steps=1_000_000, checkpoint_every=1_000_000)
        folder = space.run_dir(run_id)
        runner.submit(folder)
        wait_for(lambda: space.summary(run_id).status == "stopped", seconds=60)
        assert "time limit of 4 seconds" in read_status(folder)["note"]
        assert (folder / CHECKPOINT_FILE).is_file()  # stopping saves the model
        assert load_checkpoint(folder).step >= 0
        runner.submit(folder)  # a resumed run gets a fresh cap and a clean note
        assert read_status(folder).get("note") is None
        wait_for(lambda: space.summary(run_id).status == "stopped", seconds=60)
    finally:
        runner.shutdown()


def test_workers_run_nicer_than_the_server_so_pages_stay_quick(space):
    runner = JobRunner(max_workers=1, poll_seconds=0.1, worker_nice=7)
    try:
        run_id = make_run(space, steps=1_000_000)
        runner.submit(space.run_dir(run_id))
        wait_for(lambda: space.summary(run_id).status == "running")
        pid = runner.process(space.run_dir(run_id)).pid
        assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 7
        space.send(run_id, "stop")
        wait_for(lambda: space.summary(run_id).status == "stopped")
    finally:
        runner.shutdown()
