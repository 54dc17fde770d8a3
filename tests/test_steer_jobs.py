"""Steering runs in a workspace: planned from one of its runs or a shipped prior, steered by the
training worker (in this process, and as a job the runner stops like any other)."""

from __future__ import annotations

import pytest
from test_runs import make_run, wait_for

from charrnn.chem.scorer import PatternError
from charrnn.chem.scoring import Component, ScoreSpec
from charrnn.core.checkpoint import CHECKPOINT_FILE, load_checkpoint
from charrnn.runs.config import read_run_config
from charrnn.runs.folder import RunError
from charrnn.runs.jobs import JobRunner
from charrnn.runs.status import read_status
from charrnn.runs.steer_config import SteerConfig, SteerError
from charrnn.runs.steer_run import load_start, new_steering_run, read_hits, read_steer_file
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace

MOLECULES = ["CCO", "CCN", "NCCN", "CCCN", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CNC"] * 10
SCORE = ScoreSpec((Component("contains", target="N"), Component("rings", low=1, high=2)))


def settings(**values) -> SteerConfig:
    base = dict(steps=3, minutes=None, batch_size=16, max_length=40, threads=1)
    return SteerConfig(**{**base, **values})


@pytest.fixture
def trained(space):
    reference = space.save_corpus("\n".join(MOLECULES).encode(), "mols.smi")
    corpus = {"reference": reference, "name": "mols.smi", "kind": "smiles"}
    run_id = make_run(space, "start", corpus, steps=20, chem_every=0)
    train_worker(str(space.run_dir(run_id)), 1)
    return run_id


def test_a_workspace_run_is_steered_by_the_training_worker(space, trained):
    steer_id = new_steering_run(space, trained, SCORE, settings(), "steered")
    folder = space.run_dir(steer_id)
    config = read_run_config(folder)
    assert config.init_from == str(space.run_dir(trained))
    assert config.corpus == read_run_config(space.run_dir(trained)).corpus  # for Chemistry
    assert read_steer_file(folder)[1] == SCORE
    assert space.summary(steer_id).status == "queued"
    train_worker(str(folder), 1)
    assert space.summary(steer_id).status == "finished" and space.summary(steer_id).step == 3
    assert load_checkpoint(folder).step == 3 and read_hits(folder)["names"] == ["contains", "rings"]
    space.metrics(steer_id)  # the page's chart reads it like a training run's


def test_a_steering_job_stops_at_the_users_word(space, trained):
    steer_id = new_steering_run(space, trained, SCORE, settings(steps=None, minutes=60), "long")
    folder = space.run_dir(steer_id)
    runner = JobRunner(max_workers=1, poll_seconds=0.1)
    try:
        runner.submit(folder)
        wait_for(lambda: space.summary(steer_id).status == "running")
        wait_for(lambda: space.summary(steer_id).step >= 2)
        space.send(steer_id, "stop")
        wait_for(lambda: space.summary(steer_id).status == "stopped")
    finally:
        runner.shutdown()
    assert (folder / CHECKPOINT_FILE).is_file() and read_status(folder).get("error") is None


def test_steering_is_refused_for_bad_patterns_and_other_workspaces(root, space, trained):
    bad = ScoreSpec((Component("contains", target="C(=O"),))
    with pytest.raises(PatternError):
        new_steering_run(space, trained, bad, settings(), "bad")
    assert [run.name for run in space.runs()] == ["start"]  # nothing made
    other = Workspace(new_workspace(root), root)
    with pytest.raises(RunError, match="No such run"):
        new_steering_run(other, trained, SCORE, settings(), "theirs")
    stray = other.folder / "r-000000000000"
    stray.mkdir()
    with pytest.raises(SteerError, match="same workspace"):
        load_start(str(space.run_dir(trained)), stray)


def test_a_shipped_prior_can_be_steered(space):
    steer_id = new_steering_run(space, "prior:moses", SCORE, settings(steps=1), "from prior")
    config = read_run_config(space.run_dir(steer_id))
    assert config.init_from == "prior:moses" and config.model.hidden_size == 256
    train_worker(str(space.run_dir(steer_id)), 1)
    assert space.summary(steer_id).status == "finished"
