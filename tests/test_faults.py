"""Faults a workshop server meets: a worker killed mid-training, a server restart, a full disk.

Extends tests/test_runs.py (a worker killed through the runner's handle; mark_interrupted
with a dead pid) and tests/test_checkpoint.py (a failed checkpoint save keeps the old one):
here the kill comes from outside (SIGKILL to the pid in run.json) next to another person's
run, a whole server stops and a fresh one takes over, and the disk fills up under the
atomic writes, a training worker, the Corpus page and the Models page.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from safetensors import SafetensorError
from streamlit.testing.v1 import AppTest
from test_runs import finished_run, make_run, wait_for

import charrnn.core.checkpoint as checkpoint_module
from charrnn.core.checkpoint import (
    CHECKPOINT_FILE,
    CHECKPOINT_JSON,
    load_checkpoint,
    save_checkpoint,
)
from charrnn.files import DiskFullError, atomic_write_text
from charrnn.runs.bounds import LOCK_FILE
from charrnn.runs.housekeeping import mark_interrupted
from charrnn.runs.jobs import JobRunner
from charrnn.runs.status import read_status, update_status
from charrnn.runs.transfer import export_run
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace
from charrnn.worker_start import process_identity

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
FOREVER = dict(steps=1_000_000, checkpoint_every=20, eval_every=100_000)
DISK_FULL = "The server's disk is full"
REAL_REPLACE = os.replace


def steps_logged(space: Workspace, run_id: str) -> list[int]:
    return [event["step"] for event in space.metrics(run_id) if event["kind"] == "step"]


def temporary_files(folder: Path) -> list[str]:
    return [path.name for path in Path(folder).rglob("*") if path.name.endswith(".tmp")]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop_and_wait(space: Workspace, run_id: str) -> None:
    wait_for(lambda: space.summary(run_id).status == "running")
    space.send(run_id, "stop")
    wait_for(lambda: space.summary(run_id).status == "stopped")


# ----- a worker killed ---------------------------------------------------------------------
def test_a_worker_killed_from_outside_fails_with_the_reason_and_resumes(root, space):
    neighbour_space = Workspace(new_workspace(root), root)
    runner = JobRunner(max_workers=2, poll_seconds=0.1)
    try:
        run_id = make_run(space, "killed", **FOREVER)
        neighbour = make_run(neighbour_space, "neighbour", steps=60)
        folder = space.run_dir(run_id)
        runner.submit(folder)
        runner.submit(neighbour_space.run_dir(neighbour))
        wait_for(lambda: (folder / CHECKPOINT_FILE).is_file() and space.summary(run_id).step > 25)
        pid = read_status(folder)["pid"]
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        wait_for(lambda: space.summary(run_id).status == "failed")
        error = space.summary(run_id).error
        assert "ended unexpectedly" in error and "exit code -9" in error
        assert "Resume to continue from the last checkpoint" in error
        assert read_status(folder)["pid"] is None and not pid_alive(pid)
        saved = load_checkpoint(folder).step
        assert saved >= 20 and saved % 20 == 0

        runner.submit(folder)  # the page's "Resume from last checkpoint"
        wait_for(lambda: space.summary(run_id).step > saved + 20)
        assert space.summary(run_id).error is None
        steps = steps_logged(space, run_id)
        assert steps == sorted(set(steps))  # nothing logged twice
        assert steps[steps.index(saved) + 1] == saved + 5  # on from the checkpoint, not 0
        stop_and_wait(space, run_id)
        assert load_checkpoint(folder).step > saved

        # The other person's run went on as if nothing happened.
        wait_for(lambda: neighbour_space.summary(neighbour).status == "finished")
        assert neighbour_space.summary(neighbour).error is None
        assert steps_logged(neighbour_space, neighbour)[-1] == 60
    finally:
        runner.shutdown()


# ----- a server restart --------------------------------------------------------------------
def snapshot(root: Path) -> dict:
    """Every workspace's runs (id -> name) and choices, as a restarted server finds them."""
    found = {}
    for folder in sorted(root.iterdir()):
        space = Workspace(folder.name, root)
        found[folder.name] = ({run.id: run.name for run in space.runs()}, space.choices)
    return found


def test_a_server_restart_keeps_every_workspace_and_resumes_what_was_training(
    root, space, monkeypatch
):
    other = Workspace(new_workspace(root), root)
    idle = Workspace(new_workspace(root), root)
    reference = idle.save_corpus(b"an idle person's own corpus " * 40, "mine.txt", 10**6)
    idle.update_choices(corpus={"reference": reference, "name": "mine.txt", "kind": "text"})
    done = finished_run(space, "finished before")
    training = make_run(space, "training", **FOREVER)
    others_training, others_queued = (make_run(other, name, **FOREVER) for name in ("o1", "o2"))
    space.update_choices(run=training)

    server = JobRunner(max_workers=2, poll_seconds=0.1)
    for workspace, run_id in ((space, training), (other, others_training), (other, others_queued)):
        server.submit(workspace.run_dir(run_id))
    for workspace, run_id in ((space, training), (other, others_training)):
        folder = workspace.run_dir(run_id)
        wait_for(lambda f=folder: (f / CHECKPOINT_FILE).is_file())
    assert other.summary(others_queued).status == "queued"  # one job per workspace at a time
    pids = [
        read_status(space.run_dir(training))["pid"],
        read_status(other.run_dir(others_training))["pid"],
    ]
    before = snapshot(root)

    server.shutdown()  # what the server does when it stops (atexit): its workers end with it
    assert not any(pid_alive(pid) for pid in pids)

    restarted = JobRunner(max_workers=2, poll_seconds=0.1)
    try:
        assert mark_interrupted(root) == 3
        assert snapshot(root) == before  # every workspace, run, name and choice is there
        assert space.summary(done).status == "finished"
        assert load_checkpoint(space.run_dir(done)).step == 30
        assert idle.owns_corpus(reference)
        for workspace, run_id in (
            (space, training),
            (other, others_training),
            (other, others_queued),
        ):
            assert workspace.summary(run_id).status == "interrupted"
        saved = load_checkpoint(space.run_dir(training)).step

        # The person opens their link again: the Train page says what happened and resumes.
        monkeypatch.setenv("CHARRNN_HOME", str(root))
        monkeypatch.setenv("CHARRNN_WORKERS", "2")
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params["ws"] = space.token
        at.run()
        at.switch_page("pages/train.py").run()
        assert not at.exception
        assert any("the machine running it, stopped" in caption.value for caption in at.caption)
        at.button(key="train_resume_run").click().run()
        assert not at.exception
        wait_for(lambda: space.summary(training).step > saved + 10)
        steps = steps_logged(space, training)
        assert steps == sorted(set(steps)) and saved + 5 in steps
        stop_and_wait(space, training)

        # The other workspace resumes through the new server's runner, one run at a time.
        restarted.submit(other.run_dir(others_training))
        assert restarted.submit(other.run_dir(others_queued)) == 1
        stop_and_wait(other, others_training)
        stop_and_wait(other, others_queued)
        assert load_checkpoint(other.run_dir(others_queued)).step >= 0  # from scratch, saved
    finally:
        restarted.shutdown()


def test_a_job_still_ending_is_marked_interrupted_when_it_has_ended(root, space):
    """A Ray coordinator replacing a killed one: the old one's jobs are still being ended by
    Ray. Each is marked interrupted once its process is gone, within the grace given."""
    folder = space.run_dir(make_run(space, "ending"))
    ending = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        update_status(
            folder, status="running", pid=ending.pid, process=process_identity(ending.pid)
        )
        assert mark_interrupted(root) == 0  # it still runs
        threading.Timer(1.0, ending.kill).start()
        assert mark_interrupted(root, grace_seconds=30) == 1
        assert read_status(folder)["status"] == "interrupted"
    finally:
        ending.kill()
        ending.wait()


# ----- a full disk -------------------------------------------------------------------------
def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("failing", ["os.replace", "os.fsync", "mkstemp"])
def test_a_text_write_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "settings.json"
    atomic_write_text(path, '{"kept": true}')
    if failing == "mkstemp":
        monkeypatch.setattr(checkpoint_module.tempfile, "mkstemp", no_space)
    else:
        monkeypatch.setattr(os, failing.split(".")[1], no_space)
    with pytest.raises(DiskFullError) as raised:
        atomic_write_text(path, '{"kept": false, "and much more": "' + "x" * 10_000 + '"}')
    monkeypatch.undo()
    error = raised.value
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC
    assert str(error).startswith(f"{DISK_FULL}: the file settings.json could not be saved")
    assert "free some space" in str(error) and "Errno" not in str(error)
    assert path.read_text() == '{"kept": true}'  # the old content, whole
    assert temporary_files(tmp_path) == []


def half_then_full(tensors, filename, metadata=None):
    """safetensors' save_file on a full disk: half a file, then its own error type."""
    with open(filename, "wb") as handle:
        handle.write(b"half a checkpoint")
    raise SafetensorError(
        "Error while serializing: I/O error: No space left on device (os error 28)"
    )


@pytest.mark.parametrize("failing", ["save_file", "os.replace"])
def test_a_checkpoint_save_on_a_full_disk_keeps_the_last_good_one(space, monkeypatch, failing):
    folder = space.run_dir(finished_run(space, steps=20))
    good = load_checkpoint(folder)
    description = (folder / CHECKPOINT_JSON).read_text()
    if failing == "save_file":
        monkeypatch.setattr(checkpoint_module, "save_file", half_then_full)
    else:
        monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(DiskFullError, match=f"^{DISK_FULL}: the model"):
        save_checkpoint(folder, good.model, good.vocabulary, {"step": 99}, good.tensors)
    monkeypatch.undo()
    assert temporary_files(folder) == []
    assert load_checkpoint(folder).step == 20
    assert (folder / CHECKPOINT_JSON).read_text() == description


class FullDisk:
    """After the first checkpoint, the disk is full for every new file under ``root``."""

    def __init__(self, root: Path, monkeypatch):
        self.root, self.full, self.saves = str(root), False, 0
        self.real_save, self.real_replace = checkpoint_module.save_file, os.replace
        monkeypatch.setattr(checkpoint_module, "save_file", self.save_file)
        monkeypatch.setattr(os, "replace", self.replace)

    def save_file(self, tensors, filename, metadata=None):
        self.saves += 1
        self.full = self.full or self.saves > 1
        if self.full:
            return half_then_full(tensors, filename, metadata)
        return self.real_save(tensors, filename, metadata=metadata)

    def replace(self, source, target, *args, **kwargs):
        if self.full and str(target).startswith(self.root):
            no_space()
        return self.real_replace(source, target, *args, **kwargs)


def test_a_worker_on_a_full_disk_fails_in_plain_words_and_its_checkpoint_loads(
    root, space, monkeypatch
):
    run_id = make_run(space, "on a full disk", steps=60, checkpoint_every=20)
    folder = space.run_dir(run_id)
    disk = FullDisk(root, monkeypatch)
    with pytest.raises(SystemExit):
        train_worker(str(folder), 1)
    assert disk.full  # run.json too could not be replaced: it was rewritten in place
    monkeypatch.undo()
    status = read_status(folder)
    assert status["status"] == "failed" and status["pid"] is None
    assert status["error"].startswith(f"{DISK_FULL}: the model (its checkpoint) could not")
    assert temporary_files(folder) == []
    assert load_checkpoint(folder).step == 20  # the last good checkpoint

    # The Train page says it in plain words and offers to resume.
    monkeypatch.setenv("CHARRNN_HOME", str(root))
    space.update_choices(run=run_id)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["ws"] = space.token
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    message = " ".join(error.value for error in at.error)
    assert "disk is full" in message and "Errno" not in message and "Traceback" not in message
    assert at.button(key="train_resume_run")

    # Space is freed: resuming goes on from step 20 to the end.
    train_worker(str(folder), 1)
    assert space.summary(run_id).status == "finished"
    steps = steps_logged(space, run_id)
    assert steps == sorted(set(steps)) and steps[-1] == 60


def test_run_status_on_a_full_disk_is_still_written(space, monkeypatch):
    run_id = make_run(space)
    folder = space.run_dir(run_id)
    monkeypatch.setattr(os, "replace", no_space)
    update_status(folder, status="failed", error="The server's disk is full: ...")
    monkeypatch.undo()
    assert read_status(folder)["status"] == "failed"
    assert json.loads((folder / "run.json").read_text())["name"] == "run"
    assert temporary_files(folder) == []


def app_in(root: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CHARRNN_HOME", str(root))
    monkeypatch.setenv("CHARRNN_WORKERS", "1")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_keeping_an_upload_on_a_full_disk_says_so_and_keeps_the_old_choice(root, monkeypatch):
    at = app_in(root, monkeypatch)
    space = Workspace.pending(at.session_state["ws"], root)  # made on its first write
    space.update_choices(corpus={"reference": "builtin:toy-pattern", "name": "Toy", "kind": "text"})
    at.switch_page("pages/corpus.py").run()
    at.radio(key="corpus_source").set_value("Upload").run()
    at.file_uploader(key="corpus_upload").set_value(
        ("notes.txt", b"hello world\n" * 50, "text/plain")
    )
    at.run()
    monkeypatch.setattr(os, "replace", no_space)
    at.button(key="use_corpus").click().run()
    monkeypatch.setattr(os, "replace", REAL_REPLACE)  # space is back
    assert not at.exception
    message = " ".join(error.value for error in at.error)
    assert "could not be kept on the server" in message
    assert "disk is full" in message or "No space left on device" in message
    assert "Errno" not in message and str(root) not in message  # no server path shown
    assert space.choices["corpus"]["reference"] == "builtin:toy-pattern"
    at.button(key="use_corpus").click().run()  # and keeping it works
    assert not at.error and space.choices["corpus"]["name"] == "notes.txt"


def test_adding_a_model_on_a_full_disk_says_so_and_adds_nothing(root, monkeypatch, tmp_path):
    source = Workspace(new_workspace(tmp_path / "elsewhere"), tmp_path / "elsewhere")
    model_zip = export_run(source.run_dir(finished_run(source, "source", steps=10)))
    at = app_in(root, monkeypatch)
    space = Workspace.pending(at.session_state["ws"], root)  # made on its first write
    at.switch_page("pages/models.py").run()
    at.file_uploader(key="models_upload_model").set_value(
        ("model.zip", model_zip, "application/zip")
    )
    at.run()
    monkeypatch.setattr(os, "replace", no_space)
    at.button(key="models_import").click().run()
    monkeypatch.setattr(os, "replace", REAL_REPLACE)
    assert not at.exception
    message = " ".join(error.value for error in at.error)
    assert message.startswith("The model could not be added on the server. The server's disk")
    assert space.runs() == []
    assert [p.name for p in space.folder.iterdir() if p.name.startswith(".")] == [LOCK_FILE]
    at.button(key="models_import").click().run()
    assert not at.error and [run.name for run in space.runs()] == ["model"]
