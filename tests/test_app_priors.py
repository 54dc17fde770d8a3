"""Shipped priors beside the user's runs: usable at once on Generate, Chemistry, Inside and
Models, labelled as shipped, never changed; what is made with them kept in the workspace."""

from __future__ import annotations

import time

import pytest
from app_support import no_exceptions, open_page
from test_app_generate import SMILES_CORPUS, finished_run

from charrnn.runs import assessment
from charrnn.runs.folder import GENERATED_FILE, RunError, read_generated
from charrnn.runs.models import (
    choose_model,
    current_model,
    folder_prior,
    model_choices,
    results_folder,
)
from charrnn.runs.priors import PriorError, find_prior
from charrnn.runs.workspace import Workspace, new_workspace

PRIOR = "prior:moses"
LABEL = "Shipped prior: Drug-like molecules (MOSES prior)"

pytestmark = pytest.mark.usefixtures("app_environment")


def weights_unchanged():
    prior = find_prior(PRIOR)
    return prior.weights.stat().st_mtime_ns, prior.weights.stat().st_size


def test_priors_come_after_the_runs_and_a_prior_chosen_gives_way_to_a_new_run(home):
    space = Workspace(new_workspace(home), home)
    assert [choice.id for choice in model_choices(space)] == [PRIOR]
    reference = space.save_corpus(SMILES_CORPUS, "molecules.smi", 10**6)
    run_id = finished_run(space, "mine", reference, "smiles", 20)
    choices = model_choices(space, molecules_only=True)
    assert [choice.id for choice in choices] == [run_id, PRIOR]
    assert choices[1].shipped and choices[1].label == LABEL and choices[1].status is None
    choose_model(space, PRIOR)
    assert current_model(space) == PRIOR and space.choices.get("run") != PRIOR
    choose_model(space, run_id)  # a run chosen (or a new one trained) comes first again
    assert current_model(space) == run_id
    with pytest.raises(PriorError):
        choose_model(space, "prior:../../etc")
    with pytest.raises(RunError):
        choose_model(space, "r-000000000000")


def test_a_prior_keeps_its_results_in_the_workspace_only(home):
    space = Workspace(new_workspace(home), home)
    with pytest.raises(RunError):
        results_folder(space, PRIOR)  # nothing made yet, nothing written
    assert not (space.folder / "p-moses").exists()
    folder = results_folder(space, PRIOR, create=True)
    assert folder.parent == space.folder and folder.name == "p-moses"
    assert folder_prior(folder) == PRIOR and folder_prior(space.folder) is None
    assert space.runs() == []  # not a run: it cannot be renamed, deleted or trained


def test_generate_with_the_prior_in_a_new_workspace(home):
    before = weights_unchanged()
    token = new_workspace(home)
    at = open_page(token, "generate")
    no_exceptions(at)
    assert at.selectbox(key="generate_run").value == PRIOR
    assert any("A shipped prior" in caption.value for caption in at.caption)
    at.slider(key="generate_count_sm").set_value(12)
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    valid = next(metric for metric in at.metric if metric.label == "Valid molecules")
    assert int(valid.value.split()[0]) >= 8, valid.value  # the prior writes real molecules
    space = Workspace(token, home)
    kept = read_generated(space.folder / "p-moses")
    assert kept and len(kept["samples"]) == 12
    again = open_page(token, "generate")  # a refresh finds them
    no_exceptions(again)
    assert any(metric.label == "Valid molecules" for metric in again.metric)
    assert (space.folder / "p-moses" / GENERATED_FILE).is_file() and space.runs() == []
    assert weights_unchanged() == before


def test_chemistry_checks_the_prior_against_a_chosen_corpus(home):
    token = new_workspace(home)
    at = open_page(token, "chemistry")
    no_exceptions(at)
    assert at.selectbox(key="chemistry_run").value == PRIOR
    assert at.selectbox(key="chemistry_reference").value == "builtin:nci-5k"
    at.select_slider(key="chemistry_samples").set_value(100)
    at.checkbox(key="chemistry_fcd").uncheck()
    at.button(key="chemistry_start").click().run()
    no_exceptions(at)
    folder = Workspace(token, home).folder / "p-moses"
    deadline = time.monotonic() + 180
    while assessment.read_status(folder).get("status") in assessment.ACTIVE:
        assert time.monotonic() < deadline, "the check did not finish"
        time.sleep(0.5)
    assert assessment.read_status(folder)["status"] == "finished", assessment.read_status(folder)
    at.run()
    no_exceptions(at)
    captions = " ".join(caption.value for caption in at.caption)
    assert "100 molecules written at temperature 1" in captions
    assert "molecules of NCI first 5K" in captions
    validity = next(metric for metric in at.metric if metric.label == "Validity")
    assert float(validity.value) >= 0.85


def test_inside_reads_with_the_prior(home):
    token = new_workspace(home)
    at = open_page(token, "inside")
    no_exceptions(at)
    assert at.selectbox(key="inside_run").value == PRIOR
    at.radio(key="inside_source").set_value("From the corpus").run()
    no_exceptions(at)
    assert any("Molecules from NCI first 5K" in caption.value for caption in at.caption)
    assert at.get("plotly_chart"), "no chart of the next symbol's chances"


def test_models_page_shows_the_prior_card_and_uses_it(home):
    token = new_workspace(home)
    at = open_page(token, "models")
    no_exceptions(at)
    assert any(header.value == "Shipped priors" for header in at.subheader)
    table = at.dataframe[0].value
    assert "Validity" in set(table["Measure"])
    validity = table.set_index("Measure").loc["Validity", "Value"]
    assert validity == pytest.approx(find_prior(PRIOR).figures["metrics"]["valid"])
    at.button(key="models_use_moses").click().run()
    no_exceptions(at)
    assert at.selectbox(key="generate_run").value == PRIOR  # now on Generate, prior chosen


def test_a_check_of_the_prior_cut_short_by_a_restart_is_marked(home):
    from charrnn.runs.assessment import AssessmentSettings
    from charrnn.runs.housekeeping import mark_interrupted

    space = Workspace(new_workspace(home), home)
    folder = results_folder(space, PRIOR, create=True)
    assessment.request(folder, AssessmentSettings(samples=10, fcd=False))
    assessment.write_status(folder, status="running", pid=1, process="a server ago")
    mark_interrupted(home)
    assert assessment.read_status(folder)["status"] == "interrupted"
