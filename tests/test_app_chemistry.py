"""The Chemistry page, driven like a visitor would: check a molecule model, read the report.

Runs are tiny models trained in-process; the check itself runs in a real worker process.
"""

from __future__ import annotations

import json
import time

import pytest
from app_support import no_exceptions
from app_support import open_page as open_app
from test_app_generate import SMILES_CORPUS, TEXT_CORPUS, finished_run

from charrnn.runs import assessment
from charrnn.runs.assessment import AssessmentSettings
from charrnn.runs.housekeeping import mark_interrupted
from charrnn.runs.workspace import Workspace, new_workspace

pytestmark = pytest.mark.usefixtures("app_environment")


@pytest.fixture(scope="module")
def molecules(home) -> tuple[str, str]:
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(SMILES_CORPUS, "molecules.smi", 10**6)
    return token, finished_run(space, "tiny molecules", reference, "smiles", 120)


def open_page(token: str):
    return open_app(token, "chemistry")


def test_without_a_molecule_model_the_page_says_what_to_do(home, monkeypatch, tmp_path):
    monkeypatch.setenv("CHARRNN_PRIORS", str(tmp_path / "none"))  # no shipped priors
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(TEXT_CORPUS, "text.txt", 10**6)
    finished_run(space, "text", reference, "text", 5)  # a text model does not count
    at = open_page(token)
    no_exceptions(at)
    assert "needs a model trained on molecules" in at.info[0].value
    at.button(key="chemistry_run_go_home").click().run()
    no_exceptions(at)
    assert "chemistry_run_go_home" not in [button.key for button in at.button]


def test_a_check_runs_in_a_worker_and_its_report_is_shown(molecules):
    token, run_id = molecules
    folder = Workspace(token).run_dir(run_id)
    at = open_page(token)
    no_exceptions(at)
    assert any("Press the button" in info.value for info in at.info)
    at.select_slider(key="chemistry_samples").set_value(100).run()  # each change reruns
    at.checkbox(key="chemistry_fcd").uncheck().run()
    at.button(key="chemistry_start").click().run()
    no_exceptions(at)
    assert assessment.read_status(folder)["settings"]["samples"] == 100
    assert at.button(key="chemistry_start").disabled  # one check at a time
    assert at.button(key="chemistry_cancel")
    deadline = time.monotonic() + 120
    while assessment.read_status(folder).get("status") in assessment.ACTIVE:
        assert time.monotonic() < deadline, "the check did not finish"
        time.sleep(0.5)
    assert assessment.read_status(folder)["status"] == "finished"
    at.run()  # AppTest does not tick run_every by itself
    no_exceptions(at)
    # The settings of the check stay as they were set, not back at their defaults.
    assert at.select_slider(key="chemistry_samples").value == 100
    assert not at.checkbox(key="chemistry_fcd").value
    names = [metric.label for metric in at.metric]
    assert names == ["Validity", "Uniqueness@1k", "Novelty", "IntDiv1"]
    table = at.table[0].value  # the sentences whole, not cut at a grid cell's width
    assert list(table.columns) == ["Measure", "Value", "What it measures", "What good looks like"]
    assert {"Validity", "Novelty", "SNN", "Frag", "Filters"} <= set(table["Measure"])
    assert all(table["What it measures"].str.len() > 20)
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert len(charts) >= 6  # a histogram per property
    first = charts[0]["data"]
    assert [series["name"] for series in first] == ["training molecules", "generated"]
    keys = [button.proto.id for button in at.get("download_button")]
    assert len(keys) == 2 and any("chemistry_download_sdf" in key for key in keys)  # CSV, SDF
    assert any("100 molecules written at temperature 1" in c.value for c in at.caption)
    # A refresh (a new session) finds the report again.
    again = open_page(token)
    no_exceptions(again)
    assert [metric.label for metric in again.metric] == names


def test_a_failed_check_says_why_and_can_run_again(molecules):
    token, run_id = molecules
    folder = Workspace(token).run_dir(run_id)
    assessment.request(folder, AssessmentSettings(samples=10, fcd=False))
    assessment.write_status(folder, status="failed", error="The disk is **full**.")
    at = open_page(token)
    no_exceptions(at)
    assert "did not finish" in at.error[0].value
    assert r"\*\*full\*\*" in at.error[0].value  # user-facing text is escaped
    assert at.button(key="chemistry_start")


def test_a_check_a_restart_cut_short_says_to_run_it_again(molecules, home):
    token, run_id = molecules
    folder = Workspace(token).run_dir(run_id)
    assessment.request(folder, AssessmentSettings(samples=10, fcd=False))
    assessment.write_status(folder, status="running", pid=1, process="a server ago")
    mark_interrupted(home)  # what a restarted server does first
    at = open_page(token)
    no_exceptions(at)
    assert "Run the check again" in at.error[0].value
    assert at.button(key="chemistry_start")
