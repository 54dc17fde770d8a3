"""The run store and job runner: workspaces stay apart, workers train, die and resume.

Worker processes train models of hidden size 16 for a few dozen steps (seconds each).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile

import pytest

from charrnn.core.checkpoint import CHECKPOINT_FILE, CheckpointError, load_checkpoint
from charrnn.runs.bounds import LOCK_FILE
from charrnn.runs.folder import FileControl, RunError
from charrnn.runs.housekeeping import mark_interrupted
from charrnn.runs.jobs import JobRunner
from charrnn.runs.plan import new_run_config
from charrnn.runs.status import read_status, update_status
from charrnn.runs.transfer import EXPORT_FILES, export_run, import_run
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace
from charrnn.worker_start import process_identity

TOY = {"reference": "builtin:toy-pattern", "name": "Toy", "kind": "text"}
TINY_MODEL = {"cell": "gru", "layers": 1, "hidden_size": 16, "embedding_size": 8}


def quick_train(**overrides) -> dict:
    values = dict(
        steps=30,
        batch_size=8,
        sequence_length=16,
        eval_every=10,
        eval_tokens=500,
        log_every=5,
        checkpoint_every=10,
        preview_samples=0,
        precision="float32",
        threads=1,
    )
    return {**values, **overrides}


def make_run(space: Workspace, name: str = "run", corpus: dict = TOY, **train) -> str:
    config = new_run_config(space, corpus, "tiny", TINY_MODEL, quick_train(**train))
    return space.create_run(name, config)


def finished_run(space: Workspace, name: str = "run", corpus: dict = TOY, **train) -> str:
    """A run trained to the end in this process (no worker)."""
    run_id = make_run(space, name, corpus, **train)
    train_worker(str(space.run_dir(run_id)), 1)
    return run_id


def wait_for(condition, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


# ----- workspaces and runs ----------------------------------------------------------------
def test_one_workspace_cannot_reach_anothers_runs(root, space):
    other = Workspace(new_workspace(root), root)
    run_id = make_run(space)
    assert space.summary(run_id).name == "run"
    for call in (other.run_dir, other.summary, other.metrics, other.delete):
        with pytest.raises(RunError):
            call(run_id)
    with pytest.raises(RunError):
        other.send(run_id, "stop")
    with pytest.raises(RunError):  # nor fine-tune from it
        new_run_config(other, TOY, "tiny", train=quick_train(), init_from=run_id)
    reference = space.save_corpus(b"hello world " * 50, "mine.txt", 10_000)
    with pytest.raises(RunError):  # nor train on its corpus
        new_run_config(other, {"reference": reference, "name": "x", "kind": "text"}, "tiny")
    assert other.runs() == []


@pytest.mark.parametrize("token", ["", "short", "../" + "x" * 30, "a/" + "b" * 30, None, 42])
def test_bad_workspace_tokens_raise(root, token):
    with pytest.raises(RunError):
        Workspace(token, root)


def test_an_unknown_but_wellformed_token_raises(root):
    with pytest.raises(RunError):
        Workspace("A" * 32, root)


@pytest.mark.parametrize("run_id", ["../x", "r-../../etc", "r-0123456789ab/..", "", "r-XYZ"])
def test_bad_run_ids_raise(space, run_id):
    with pytest.raises(RunError):
        space.run_dir(run_id)


def test_create_list_rename_delete(space):
    first = make_run(space, "first")
    time.sleep(0.01)
    second = make_run(space, "  second \n run ")
    assert [run.id for run in space.runs()] == [second, first]  # newest first
    assert space.summary(second).name == "second run"
    assert space.summary(first).status == "queued"
    space.rename(first, "renamed")
    assert space.summary(first).name == "renamed"
    update_status(space.run_dir(second), status="running")
    with pytest.raises(RunError, match="Stop the run"):
        space.delete(second)
    space.delete(first)
    assert [run.id for run in space.runs()] == [second]


def test_a_built_in_corpus_is_called_by_its_title(space):
    # The game said "From the corpus builtin:nci-5k." under its text.
    assert space.corpus_name("builtin:nci-5k") == "NCI first 5K (RDKit)"
    assert space.corpus_name("builtin:toy-pattern") == "Toy pattern (a first lesson)"
    assert space.corpus_name("builtin:no-such-corpus") == "builtin:no-such-corpus"


def test_file_control_replays_no_old_message(space):
    run_id = make_run(space)
    space.send(run_id, "pause")
    control = FileControl(space.run_dir(run_id))
    assert control() is None  # written before the worker started: not replayed
    space.send(run_id, "stop")
    assert control()["command"] == "stop"
    assert control() is None
    space.send(run_id, learning_rate=0.01)
    assert control()["learning_rate"] == 0.01
    with pytest.raises(RunError):
        space.send(run_id, "explode")


# ----- new runs --------------------------------------------------------------------------
def test_new_run_config_uses_preset_defaults(space):
    config = new_run_config(space, TOY, "tiny")
    assert config.train.steps == 1500 and config.train.chem_every == 0
    assert config.preset == "tiny" and config.tokenizer == "char"
    assert config.model.hidden_size == 128 and config.model.vocab_size > 5
    timed = new_run_config(space, TOY, "small", train={"minutes": 2.0})
    assert timed.train.steps is None and timed.train.minutes == 2.0
    with pytest.raises(ValueError):
        new_run_config(space, TOY, "tiny", train={"batch_size": 0})


def test_smiles_runs_check_chemistry_by_default(space):
    reference = space.save_corpus(b"CCO\nc1ccccc1\nCC(=O)O\n" * 10, "mols.smi", 10_000)
    corpus = {"reference": reference, "name": "mols.smi", "kind": "smiles"}
    config = new_run_config(space, corpus, "tiny", train={"augment": True})
    assert config.tokenizer == "smiles" and config.train.chem_every == 100
    assert config.train.augment


def test_fine_tuning_starts_from_another_runs_model(space):
    base_id = finished_run(space, "base")
    base = load_checkpoint(space.run_dir(base_id))
    reference = space.save_corpus(b"xyz abcde zyx " * 200, "new.txt", 100_000)
    corpus = {"reference": reference, "name": "new.txt", "kind": "text"}
    config = new_run_config(space, corpus, "tiny", train=quick_train(), init_from=base_id)
    assert config.model.hidden_size == 16 and config.init_from == str(space.run_dir(base_id))
    run_id = space.create_run("tuned", config)
    train_worker(str(space.run_dir(run_id)), 1)
    assert space.summary(run_id).status == "finished"
    tuned = load_checkpoint(space.run_dir(run_id))
    assert tuned.vocabulary.tokens[: base.vocabulary.size] == base.vocabulary.tokens
    assert {"x", "y", "z"} <= set(tuned.vocabulary.tokens)
    saved = json.loads((space.run_dir(run_id) / "config.json").read_text())
    assert saved["model"]["vocab_size"] == tuned.vocabulary.size


def test_the_worker_trains_the_run_as_planned_and_leaves_its_config(space):
    molecules = b"C[C@H](N)C(=O)O\nc1ccc2ccccc2c1\nCC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O\n" * 10
    reference = space.save_corpus(molecules, "mols.smi", 10_000)
    corpus = {"reference": reference, "name": "mols.smi", "kind": "smiles"}
    config = new_run_config(space, corpus, "tiny", TINY_MODEL, quick_train(augment=True, steps=5))
    folder = space.run_dir(space.create_run("mols", config))
    planned = (folder / "config.json").read_text()
    train_worker(str(folder), 1)
    assert space.summary(folder.name).status == "finished"
    assert (folder / "config.json").read_text() == planned  # written once, when planned
    assert config.model.vocab_size == load_checkpoint(folder).vocabulary.size


# ----- the job runner ----------------------------------------------------------------------
def test_job_runner_trains_in_a_worker_and_queues_the_rest(space):
    runner = JobRunner(max_workers=1, poll_seconds=0.1)
    try:
        first, second = make_run(space, "first"), make_run(space, "second")
        assert runner.submit(space.run_dir(first)) == 0
        assert runner.submit(space.run_dir(second)) == 1  # waits for the only worker
        assert runner.position(space.run_dir(second)) == 1
        runner.cancel(space.run_dir(second))
        assert space.summary(second).status == "stopped"
        wait_for(lambda: space.summary(first).status == "finished")
        summary = space.summary(first)
        assert summary.step == 30 and summary.error is None
        assert any(e.get("validation_loss") for e in space.metrics(first))
    finally:
        runner.shutdown()


def test_a_killed_worker_leaves_a_failed_run_that_resumes(space):
    runner = JobRunner(max_workers=1, poll_seconds=0.1)
    try:
        run_id = make_run(space, steps=1_000_000, checkpoint_every=50, eval_every=1000)
        folder = space.run_dir(run_id)
        runner.submit(folder)
        wait_for(lambda: (folder / CHECKPOINT_FILE).is_file())
        runner.process(folder).kill()
        wait_for(lambda: space.summary(run_id).status == "failed")
        assert "ended unexpectedly" in space.summary(run_id).error
        saved = load_checkpoint(folder).step
        assert saved >= 50
        logged = space.summary(run_id).step  # the killed worker may have logged past `saved`
        runner.submit(folder)  # resume from the checkpoint
        wait_for(lambda: read_status(folder).get("status") == "running")
        wait_for(lambda: space.summary(run_id).step > max(saved, logged) + 20)
        space.send(run_id, "stop")
        wait_for(lambda: space.summary(run_id).status == "stopped")
        steps = [e["step"] for e in space.metrics(run_id) if e["kind"] == "step"]
        assert steps == sorted(set(steps))  # picked up at the checkpoint, nothing twice
        assert load_checkpoint(folder).step > saved
    finally:
        runner.shutdown()


def test_a_killed_workers_half_written_checkpoint_is_removed_on_resume(space):
    run_id = make_run(space, steps=20)
    folder = space.run_dir(run_id)
    stale = folder / ".checkpoint.safetensors.k1ll3d.tmp"  # as a SIGKILL mid-save leaves it
    stale.write_bytes(bytes(10_000))
    train_worker(str(folder), 1)
    assert not stale.exists()
    assert load_checkpoint(folder).step == 20


def test_mark_interrupted_marks_runs_whose_process_is_gone(root, space):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan, alive = make_run(space, "orphan"), make_run(space, "alive")
    update_status(space.run_dir(orphan), status="running", pid=gone.pid)
    me = os.getpid()
    update_status(space.run_dir(alive), status="running", pid=me, process=process_identity(me))
    assert mark_interrupted(root) == 1
    assert space.summary(orphan).status == "interrupted"
    assert space.summary(alive).status == "running"


# ----- models in and out ------------------------------------------------------------------
def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_export_and_import_round_trip(root, space):
    run_id = finished_run(space, "exported")
    data = export_run(space.run_dir(run_id))
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == sorted(EXPORT_FILES)
    other = Workspace(new_workspace(root), root)
    new_id = import_run(other, data, "carried over")
    summary = other.summary(new_id)
    assert (summary.name, summary.status, summary.step) == ("carried over", "finished", 30)
    assert summary.corpus == "builtin:toy-pattern"
    assert len(other.metrics(new_id)) == len(space.metrics(run_id))
    assert load_checkpoint(other.run_dir(new_id)).step == 30
    hidden = [p.name for p in other.folder.iterdir() if p.name.startswith(".")]
    assert hidden == [LOCK_FILE]  # no staging folder left behind


def test_an_imported_upload_corpus_is_only_named(space):
    reference = space.save_corpus(b"abc abd " * 300, "secret.txt", 100_000)
    run_id = finished_run(space, corpus={"reference": reference, "name": "s", "kind": "text"})
    new_id = import_run(space, export_run(space.run_dir(run_id)))
    corpus = space.summary(new_id).corpus
    assert corpus.startswith("imported:") and "/" not in corpus
    folder = space.run_dir(new_id)
    with pytest.raises(SystemExit):  # resuming it never reads a file outside the workspace
        train_worker(str(folder), 1)
    assert "not in this workspace" in read_status(folder)["error"]


def test_export_needs_a_model(space):
    with pytest.raises(RunError, match="no saved model"):
        export_run(space.run_dir(make_run(space)))


def test_a_pickle_named_like_a_checkpoint_is_refused(space):
    import pickle

    data = zip_of({CHECKPOINT_FILE: pickle.dumps({"weights": [1, 2, 3]})})
    with pytest.raises(CheckpointError, match="pickle"):
        import_run(space, data)
    assert space.runs() == []


@pytest.mark.parametrize(
    "members, message",
    [
        ({"../checkpoint.safetensors": b"x"}, "never has"),
        ({"run/checkpoint.safetensors": b"x"}, "never has"),
        ({"config.json": b"{}"}, "no checkpoint"),
        ({CHECKPOINT_FILE: b"x", "evil.py": b"x"}, "never has"),
    ],
)
def test_zips_with_other_files_are_refused(space, members, message):
    with pytest.raises(RunError, match=message):
        import_run(space, zip_of(members))


def test_not_a_zip_and_too_large_are_refused(space):
    with pytest.raises(RunError, match="not a model file"):
        import_run(space, b"plain text, not a zip")
    with pytest.raises(RunError, match="limit"):
        import_run(space, zip_of({CHECKPOINT_FILE: b"x" * 2000}), max_bytes=100)


def bomb(megabytes: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(CHECKPOINT_FILE, "w", force_zip64=True) as member:
            block = bytes(1024 * 1024)
            for _ in range(megabytes):
                member.write(block)
    return buffer.getvalue()


def test_zip_bombs_are_refused_before_unpacking(space):
    started = time.monotonic()
    with pytest.raises(RunError, match="limit"):
        import_run(space, bomb(201))  # 201 MB of zeros in well under 1 MB
    with pytest.raises(RunError, match="far more"):
        import_run(space, bomb(20))  # small enough, but no model packs 1000:1
    assert time.monotonic() - started < 30
    assert [path.name for path in space.folder.iterdir()] == [LOCK_FILE]  # nothing unpacked
