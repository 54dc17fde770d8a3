"""Generate's "Decorate a scaffold", driven like a visitor would: the shipped prior decorates
a scaffold, the results are drawn with the scaffold shaded, kept, explained and exported."""

from __future__ import annotations

import base64
import csv
import io

import pytest
from app_support import no_exceptions, open_page
from conftest import quick_config
from rdkit import Chem
from test_app_generate import SMILES_CORPUS, TEXT_CORPUS, finished_run

from charrnn.core.model import ModelConfig
from charrnn.runs.config import RunConfig, corpus_fingerprint, load_corpus
from charrnn.runs.decorations import DECORATIONS_FILE, decorations_csv, read_decorations
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace

HIGHLIGHT = "#8CCCFF"  # drawing.HIGHLIGHT as RDKit writes it in the SVG

pytestmark = pytest.mark.usefixtures("app_environment")


def decorate(at, scaffold: str, tries: int = 40, seed: int = 3):
    at.radio(key="generate_task").set_value("decorate").run()
    at.text_input(key="decorate_scaffold").input(scaffold)
    at.number_input(key="decorate_tries").set_value(tries)
    at.number_input(key="decorate_seed").set_value(seed)
    return at.button(key="decorate_button").click().run()


def svg_of(image) -> str:
    (url,) = image.value
    return base64.b64decode(url.split(",", 1)[1]).decode()


def test_the_prior_decorates_a_scaffold_and_keeps_the_decorations(home):
    token = new_workspace(home)
    at = open_page(token, "generate")
    no_exceptions(at)
    assert at.radio(key="generate_task").options == ["Write molecules", "Decorate a scaffold"]
    decorate(at, "*c1ccc(*)cc1")
    no_exceptions(at)
    assert not at.error
    assert any("augmentation" in info.value for info in at.info)  # which models do well
    metrics = {metric.label: metric.value for metric in at.metric}
    valid = int(metrics["Valid decorations"].split()[0])
    assert valid >= 20 and metrics["Valid decorations"].endswith("of 40 tries")
    scaffold, grid = at.image
    assert "the scaffold" in svg_of(scaffold)
    assert HIGHLIGHT in svg_of(grid) and ">×" in svg_of(grid)
    keys = [button.proto.id.rsplit("-", 1)[-1] for button in at.get("download_button")]
    assert keys == ["decorate_download_csv", "decorate_download_sdf"]

    made = read_decorations(Workspace(token, home).folder / "p-moses")
    assert made.tries == 40 and made.valid_tries == valid
    rows = list(csv.DictReader(io.StringIO(decorations_csv(made))))  # what the button gives
    assert len(rows) == len(made.found) and sum(int(row["tries"]) for row in rows) == 40
    para = Chem.MolFromSmarts("[!#1]c1ccc([!#1])cc1")
    for row in rows:
        if row["valid"] == "True":
            assert Chem.MolFromSmiles(row["SMILES"]).HasSubstructMatch(para)
            assert row["groups"].count(" | ") == 1 and row["MW"]
        else:
            assert row["reason if invalid"]

    again = open_page(token, "generate")  # a refresh finds them
    again.radio(key="generate_task").set_value("decorate").run()
    no_exceptions(again)
    assert {metric.label: metric.value for metric in again.metric} == metrics
    assert (Workspace(token, home).folder / "p-moses" / DECORATIONS_FILE).is_file()


@pytest.mark.parametrize(
    "scaffold, words",
    [("c1ccccc1", "no attachment point"), ("c1ccc(*)cc", "cannot read"), ("", "Type a scaffold")],
)
def test_a_bad_scaffold_is_explained(home, scaffold, words):
    at = open_page(new_workspace(home), "generate")
    decorate(at, scaffold)
    no_exceptions(at)
    assert words in at.error[0].value
    assert not at.metric


def augmented_run(space: Workspace) -> str:
    reference = space.save_corpus(SMILES_CORPUS, "molecules.smi", 10**6)
    config = RunConfig(
        corpus=reference,
        corpus_kind="smiles",
        corpus_sha256=corpus_fingerprint(load_corpus(reference)),
        tokenizer="smiles",
        model=ModelConfig(vocab_size=1, cell="gru", embedding_size=16, hidden_size=32, layers=1),
        train=quick_config(steps=30, log_every=10, augment=True),
    )
    run_id = space.create_run("augmented", config)
    train_worker(str(space.run_dir(run_id)), threads=1)
    return run_id


def test_a_model_trained_with_augmentation_is_said_to_decorate_well(home):
    space = Workspace(new_workspace(home), home)
    run_id = augmented_run(space)
    space.update_choices(run=run_id)
    at = open_page(space.token, "generate")
    decorate(at, "CC(*)O", tries=10)
    no_exceptions(at)
    assert "trained with SMILES augmentation" in at.success[0].value
    assert read_decorations(space.run_dir(run_id)).tries == 10  # kept with the run


def test_text_models_have_no_decorating(home):
    space = Workspace(new_workspace(home), home)
    reference = space.save_corpus(TEXT_CORPUS, "markup.txt", 10**6)
    run_id = finished_run(space, "text", reference, "text", 10)
    space.update_choices(run=run_id)
    at = open_page(space.token, "generate")
    no_exceptions(at)
    assert "generate_task" not in [radio.key for radio in at.radio]
