"""The Steer page, driven like a visitor would: build a score, see how the model does now,
steer a small model in a real worker and read its progress and best molecules."""

from __future__ import annotations

import time

import pytest
from app_support import no_exceptions, open_page
from test_app_generate import SMILES_CORPUS, finished_run

from charrnn.runs.models import choose_model
from charrnn.runs.status import ACTIVE
from charrnn.runs.steer_run import is_steering_run, read_hits
from charrnn.runs.workspace import Workspace, new_workspace

SULFONAMIDE = "Drug-like sulfonamide (logP 3-5, weight 300-450, QED at least 0.7)"

pytestmark = pytest.mark.usefixtures("app_environment")


def removes(at) -> list:
    return [button for button in at.button if button.key.startswith("steer_remove_")]


def test_a_score_is_built_kept_and_checked_and_the_prior_scored(home):
    token = new_workspace(home)
    at = open_page(token, "steer")
    no_exceptions(at)
    assert at.selectbox(key="steer_model").value == "prior:moses"
    assert "Choose a goal" in at.info[0].value
    at.selectbox(key="steer_goal").set_value(SULFONAMIDE)
    at.button(key="steer_use_goal").click().run()
    no_exceptions(at)
    assert len(removes(at)) == 4 and len(at.get("plotly_chart")) == 3  # curves, not patterns
    # A pattern RDKit cannot read is explained and changes nothing.
    form_kind = next(box for box in at.selectbox if box.label == "What to ask for")
    form_kind.set_value("excludes")
    at.text_input(key="steer_target").input("C(((")
    next(b for b in at.button if b.label == "Add").click().run()
    no_exceptions(at)
    assert at.error and "C(((" in at.error[0].value.replace("\\", "")
    assert len(removes(at)) == 4
    # A refresh (a new session) keeps the score; the prior's own molecules are scored.
    again = open_page(token, "steer")
    no_exceptions(again)
    assert len(removes(again)) == 4
    again.button(key="steer_baseline").click().run()
    no_exceptions(again)
    labels = {metric.label: metric.value for metric in again.metric}
    assert float(labels["Mean score"]) < 0.5  # the prior was not asked for this
    assert labels["Valid"].endswith("%")
    rates = again.dataframe[0].value
    assert list(rates["part"]) == ["logP", "Molecular weight", "QED (drug-likeness)",
                                   "Contains S(=O)(=O)N"]  # fmt: skip
    # The baseline is kept in the workspace: a refresh shows it without scoring again.
    third = open_page(token, "steer")
    assert {metric.label: metric.value for metric in third.metric}["Mean score"] == labels[
        "Mean score"
    ]
    third.button(key="steer_remove_0").click().run()
    assert len(removes(third)) == 3
    assert not third.metric  # another score: the old baseline is not shown for it


def test_a_valid_part_is_added_with_its_window_and_the_filter_follows_the_score(home):
    token = new_workspace(home)
    at = open_page(token, "steer")
    form_kind = next(box for box in at.selectbox if box.label == "What to ask for")
    form_kind.set_value("tpsa")
    at.number_input(key="steer_low").set_value(40.0)
    at.number_input(key="steer_high").set_value(90.0)
    next(b for b in at.button if b.label == "Add").click().run()
    no_exceptions(at)
    assert len(removes(at)) == 1 and at.get("plotly_chart")
    assert "TPSA" in at.markdown[-1].value or any("TPSA" in m.value for m in at.markdown)
    score = Workspace(token, home).choices["steer_score"]
    assert score["components"][0]["kind"] == "tpsa"
    assert (score["components"][0]["low"], score["components"][0]["high"]) == (40.0, 90.0)
    assert at.radio(key="steer_diversity").value == "scaffold"
    form_kind = next(box for box in at.selectbox if box.label == "What to ask for")
    form_kind.set_value("similarity")
    at.text_input(key="steer_target").input("c1ccccc1O")
    next(b for b in at.button if b.label == "Add").click().run()
    no_exceptions(at)
    assert len(removes(at)) == 2
    fresh = open_page(token, "steer")  # toward a molecule: only repeats go unrewarded
    assert fresh.radio(key="steer_diversity").value == "molecule"
    assert fresh.number_input(key="steer_sigma").value == 120  # and a harder push
    assert fresh.number_input(key="steer_batch").value == 128


def test_a_small_model_is_steered_in_a_worker_to_the_end(home):
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(SMILES_CORPUS, "molecules.smi", 10**6)
    run_id = finished_run(space, "tiny molecules", reference, "smiles", 60)
    choose_model(space, run_id)
    at = open_page(token, "steer")
    no_exceptions(at)
    assert at.selectbox(key="steer_model").value == run_id
    at.selectbox(key="steer_goal").set_value("Drug-like and easy to make (QED, SA score)")
    at.button(key="steer_use_goal").click().run()
    at.number_input(key="steer_minutes").set_value(0.5)
    at.button(key="steer_start").click().run()
    no_exceptions(at)
    steered = space.choices["steer_run"]
    folder = space.run_dir(steered)
    assert is_steering_run(folder) and space.choices["run"] == steered
    deadline = time.monotonic() + 180
    while space.summary(steered).status in ACTIVE:
        assert time.monotonic() < deadline, "the steering did not finish"
        time.sleep(1.0)
    assert space.summary(steered).status in ("finished", "stopped"), space.summary(steered)
    at.run()
    no_exceptions(at)
    labels = [metric.label for metric in at.metric]
    assert "Best so far" in labels and "Ring systems" in labels
    assert at.get("plotly_chart")  # the score per step
    assert read_hits(folder)["rows"]
    keys = [button.key for button in at.get("download_button")]
    assert "steer_download_csv" in keys and "steer_download_sdf" in keys
    assert any("a run like any other" in caption.value for caption in at.caption)
    # Reopened later in another session: the run, its before/after histograms and hits.
    later = open_page(token, "steer")
    no_exceptions(later)
    keys = {chart.proto.id for chart in later.get("plotly_chart")}
    assert any("steer_histogram_score" in key for key in keys), keys
    assert any("steer_histogram_qed" in key for key in keys)
    assert "Before and after" in " ".join(m.value for m in later.markdown)
