"""A SELFIES model in the app, as a person uses it: chosen on Train (the SMILES prior is
then not offered), its molecules shown as both strings on Generate, measured as SMILES on
Chemistry, and read symbol by symbol on Inside."""

from __future__ import annotations

import json
import time

import pytest
from app_support import no_exceptions, open_page
from conftest import quick_config
from test_app_generate import SMILES_CORPUS

from charrnn.chem.smiles import parse_smiles
from charrnn.core.model import ModelConfig
from charrnn.core.representation import selfies_of
from charrnn.runs import assessment
from charrnn.runs.assessment import AssessmentSettings
from charrnn.runs.config import RunConfig, corpus_fingerprint, load_corpus
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace

TINY = ModelConfig(vocab_size=1, cell="gru", embedding_size=16, hidden_size=32, layers=1)

pytestmark = pytest.mark.usefixtures("app_environment")


@pytest.fixture(scope="module")
def selfies_run(home) -> tuple[str, str]:
    """A workspace with a tiny SELFIES run trained to the end in this process."""
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(SMILES_CORPUS, "molecules.smi", 10**6)
    config = RunConfig(
        corpus=reference,
        corpus_kind="smiles",
        corpus_sha256=corpus_fingerprint(load_corpus(reference)),
        tokenizer="selfies",
        model=TINY,
        train=quick_config(steps=120, log_every=10),
    )
    run_id = space.create_run("tiny selfies", config)
    train_worker(str(space.run_dir(run_id)), threads=1)
    assert space.summary(run_id).status == "finished"
    space.update_choices(run=run_id)
    return token, run_id


def test_generate_shows_what_a_selfies_model_wrote_and_the_smiles_it_spells(selfies_run):
    token, run_id = selfies_run
    at = open_page(token, "generate")
    no_exceptions(at)
    assert at.selectbox(key="generate_run").value == run_id
    assert "[C]" in at.text_input(key="generate_prompt_sm").placeholder
    at.slider(key="generate_count_sm").set_value(12)
    at.number_input(key="generate_seed").set_value(5)
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    assert not at.error
    assert any("writes SELFIES" in caption.value for caption in at.caption)
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["SELFIES", "SMILES", "valid"] and len(table) == 12
    assert all(text.startswith("[") for text in table["SELFIES"] if text)
    spelled = table[table["SMILES"] != ""]
    assert len(spelled) >= 9 and spelled["valid"].all()  # every spelled one is a molecule
    assert all(parse_smiles(text) is not None for text in spelled["SMILES"])
    assert (table.loc[table["SMILES"] == "", "reason if invalid"] != "").all()
    valid = int(table["valid"].sum())
    assert at.metric[0].value == f"{valid} of 12"


def test_generate_n_different_molecules_of_a_selfies_model(selfies_run):
    token, _ = selfies_run
    at = open_page(token, "generate")
    at.radio(key="generate_mode").set_value("unique").run()
    at.number_input(key="generate_unique_count").set_value(4)
    at.number_input(key="generate_max_tries").set_value(400)
    at.number_input(key="generate_seed").set_value(3)
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == ["SELFIES", "SMILES"] and table["valid"].all()
    assert len(set(table["SMILES"])) == len(table) >= 1


def test_chemistry_measures_a_selfies_model_as_smiles(selfies_run):
    token, run_id = selfies_run
    folder = Workspace(token).run_dir(run_id)
    assessment.request(folder, AssessmentSettings(samples=60, fcd=False, seed=1))
    report = assessment.run_assessment(folder)
    assert report["written_as"] == "SELFIES"
    rows = report["samples"]
    assert all(row["selfies"].startswith("[") for row in rows if row["selfies"])
    assert all(row["valid"] for row in rows if row["smiles"])  # SELFIES spells molecules
    validity = next(m["value"] for m in report["metrics"] if m["key"] == "valid")
    assert validity >= 0.8
    at = open_page(token, "chemistry")
    no_exceptions(at)
    assert [metric.label for metric in at.metric][:2] == ["Validity", "Uniqueness@1k"]
    assert any("writes SELFIES" in caption.value for caption in at.caption)


def test_inside_reads_a_selfies_model_symbol_by_symbol(selfies_run):
    token, _ = selfies_run
    at = open_page(token, "inside")
    at.radio(key="inside_source").set_value("Type your own").run()
    no_exceptions(at)
    assert at.text_input(key="inside_typed").label == "Your molecule (SMILES)"
    at.text_input(key="inside_typed").input("CCO").run()
    no_exceptions(at)
    assert any("SMILES: CCO" in caption.value for caption in at.caption)
    assert any("[C]" in html.proto.body for html in at.get("html"))
    at.text_input(key="inside_typed").input("CC(C(C)O)N").run()
    no_exceptions(at)
    detectors = at.dataframe[0].value["detector"].tolist()  # section 3 reads SELFIES symbols
    assert "branch_depth" in detectors and "number_symbol" in detectors
    at.radio(key="inside_source").set_value("From the corpus").run()
    no_exceptions(at)
    assert any("The molecule in SMILES: CCO" in caption.value for caption in at.caption)
    assert any(selfies_of("CCO")[:3] in html.proto.body for html in at.get("html"))


def molecules_chosen(home) -> tuple[str, Workspace]:
    """A new workspace whose corpus is a small SMILES file, with the tiny preset chosen."""
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(SMILES_CORPUS, "molecules.smi", 10**6)
    space.update_choices(
        corpus={"reference": reference, "name": "molecules.smi", "kind": "smiles"},
        preset="tiny",
    )
    return token, space


def test_train_offers_selfies_without_the_smiles_prior_and_plans_a_selfies_run(home):
    token, space = molecules_chosen(home)
    at = open_page(token, "train")
    no_exceptions(at)
    assert at.radio(key="train_representation").value == "smiles"
    assert at.selectbox(key="train_init_from").value == "prior:moses"  # SMILES: the prior
    at.radio(key="train_representation").set_value("selfies").run()
    no_exceptions(at)
    assert at.selectbox(key="train_init_from").options == ["A new, untrained model"]
    assert at.radio(key="train_preset").value == "tiny"  # a new model
    at.number_input(key="train_steps_tiny").set_value(20)
    at.button(key="train_start").click().run()
    no_exceptions(at)
    assert not at.error
    [run] = space.runs()
    config = json.loads((space.run_dir(run.id) / "config.json").read_text())
    assert config["tokenizer"] == "selfies" and config["init_from"] is None
    deadline = time.monotonic() + 120
    while space.summary(run.id).status != "finished":
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(1.0)
    at.run()
    no_exceptions(at)
    # the model's latest samples, decoded too (not the settings' recipe link)
    shown = [code.value for code in at.code if "recipe=1" not in code.value]
    assert shown and all("\n= " in text for text in shown)


def test_the_lesson_trains_the_same_model_as_smiles_and_as_selfies(home):
    token, space = molecules_chosen(home)
    at = open_page(token, "train")
    assert not any(b.key == "train_both_representations" for b in at.button)  # prior: SMILES
    at.selectbox(key="train_init_from").set_value("").run()  # a new, untrained model
    at.number_input(key="train_steps_tiny").set_value(15)
    at.text_input(key="train_run_name").input("lesson")
    at.button(key="train_both_representations").click().run()
    no_exceptions(at)
    assert not at.error
    runs = {run.name: run.id for run in space.runs()}
    assert set(runs) == {"lesson (SMILES)", "lesson (SELFIES)"}
    configs = {
        name: json.loads((space.run_dir(run_id) / "config.json").read_text())
        for name, run_id in runs.items()
    }
    assert configs["lesson (SMILES)"]["tokenizer"] == "smiles"
    assert configs["lesson (SELFIES)"]["tokenizer"] == "selfies"
    for config in configs.values():  # the same model and training, only the writing differs
        assert config["train"]["steps"] == 15 and config["model"]["hidden_size"] == 128
    deadline = time.monotonic() + 180
    while any(space.summary(run_id).status != "finished" for run_id in runs.values()):
        assert time.monotonic() < deadline, "the runs did not finish"
        time.sleep(1.0)
