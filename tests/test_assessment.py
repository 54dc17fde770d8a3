"""The chemistry check of a run: a job that samples, measures and keeps its report on disk."""

from __future__ import annotations

import pytest
from test_runs import wait_for

from charrnn.chem.properties import PROPERTY_NAMES
from charrnn.runs import assessment
from charrnn.runs.assessment import AssessmentSettings
from charrnn.runs.jobs import JobRunner
from charrnn.runs.plan import new_run_config
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace

SERIES = {"reference": "builtin:chembl-freewilson", "name": "series", "kind": "smiles"}
TOY = {"reference": "builtin:toy-pattern", "name": "Toy", "kind": "text"}
TINY_MODEL = {"cell": "gru", "layers": 1, "hidden_size": 48, "embedding_size": 16}
QUICK = dict(
    steps=120,
    batch_size=16,
    eval_every=1000,
    eval_tokens=500,
    checkpoint_every=0,
    preview_samples=0,
    precision="float32",
    chem_every=0,
    learning_rate=1e-2,
)


@pytest.fixture(autouse=True)
def stats_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A workspace with a tiny model trained on the ChEMBL series (in this process)."""
    root = tmp_path_factory.mktemp("workspaces")
    space = Workspace(new_workspace(root), root)
    run_id = space.create_run("mols", new_run_config(space, SERIES, "tiny", TINY_MODEL, QUICK))
    train_worker(str(space.run_dir(run_id)), 1)
    return space, run_id


def test_a_check_leaves_a_report_the_page_can_show(trained):
    space, run_id = trained
    folder = space.run_dir(run_id)
    assessment.request(folder, AssessmentSettings(samples=60, fcd=False, seed=1))
    assert assessment.read_status(folder)["status"] == "queued"
    report = assessment.run_assessment(folder)
    assert assessment.read_status(folder)["status"] == "finished"
    assert assessment.read_report(folder) == report
    keys = {metric["key"] for metric in report["metrics"]}
    assert {"valid", "unique@1000", "novelty", "intdiv1", "snn", "frag", "filters"} <= keys
    assert len(report["samples"]) == 60
    valid = [row for row in report["samples"] if row["valid"]]
    invalid = [row for row in report["samples"] if not row["valid"]]
    validity = next(m["value"] for m in report["metrics"] if m["key"] == "valid")
    assert validity == pytest.approx(len(valid) / 60)
    assert valid, "a trained model writes some valid molecules"
    assert all(row["problem"] for row in invalid)  # every invalid one says why
    assert all(set(PROPERTY_NAMES) <= set(row) for row in valid)
    assert report["training"]["molecules"] > 0
    histograms = assessment.property_histograms(report)
    for shares in histograms.values():
        assert len(shares["edges"]) == len(shares["generated"]) + 1
        assert sum(shares["generated"]) == pytest.approx(1)
        assert sum(shares["training"]) == pytest.approx(1)
    passing = assessment.passing_molecules(report)
    assert len({row["canonical"] for row in passing}) == len(passing)
    assert all(row["passes_filters"] for row in passing)


def test_text_runs_fail_with_a_plain_message(tmp_path):
    root = tmp_path / "workspaces"
    space = Workspace(new_workspace(root), root)
    quick = {**QUICK, "steps": 5}
    run_id = space.create_run("text", new_run_config(space, TOY, "tiny", TINY_MODEL, quick))
    folder = space.run_dir(run_id)
    train_worker(str(folder), 1)
    assessment.request(folder, AssessmentSettings(samples=20, fcd=False))
    with pytest.raises(SystemExit):
        assessment.assess_worker(str(folder), 1)
    status = assessment.read_status(folder)
    assert status["status"] == "failed" and "learned text" in status["error"]
    assert assessment.read_report(folder) is None


def test_settings_are_checked():
    with pytest.raises(ValueError, match="between 10 and 30,000"):
        AssessmentSettings(samples=5)
    with pytest.raises(ValueError, match="temperature"):
        AssessmentSettings(temperature=0)


def test_the_job_runner_runs_a_check_in_a_worker(trained):
    space, run_id = trained
    folder = space.run_dir(run_id)
    assessment.request(folder, AssessmentSettings(samples=30, fcd=False))
    runner = JobRunner(max_workers=1, poll_seconds=0.1)
    try:
        assert runner.submit(folder, "assess") == 0
        wait_for(lambda: assessment.read_status(folder).get("status") not in assessment.ACTIVE)
        assert assessment.read_status(folder)["status"] == "finished"
        assert len(assessment.read_report(folder)["samples"]) == 30
    finally:
        runner.shutdown()
