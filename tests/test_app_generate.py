"""The Generate page, driven like a visitor would: pick a run, shape the sampling, generate.

Runs are tiny models trained in-process into a workspace under a temporary CHARRNN_HOME.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from conftest import quick_config
from rdkit import Chem
from streamlit.testing.v1 import AppTest

from app import molecule_downloads
from charrnn.chem.smiles import canonical_set
from charrnn.core.model import ModelConfig
from charrnn.runs.config import RunConfig, corpus_fingerprint, load_corpus
from charrnn.runs.folder import GENERATED_FILE, read_generated, save_generated
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGE = "pages/generate.py"
# A corpus whose characters let a prompt (and samples) hold markup that must stay plain text.
MARKUP = "<script>alert(1)</script>"
TEXT_CORPUS = (f"{MARKUP} **bold** abc abcd _x_ [a](b)\n" * 150).encode()
SMILES_CORPUS = "\n".join(
    ["CCO", "CC(=O)O", "c1ccccc1", "c1ccncc1", "CCN(CC)CC", "ClCCl", "CC(C)Cl", "C1CCCCC1"] * 8
).encode()


def finished_run(space: Workspace, name: str, reference: str, kind: str, steps: int) -> str:
    """A run trained to the end by the engine itself (as a worker would), in seconds."""
    corpus = load_corpus(reference)
    config = RunConfig(
        corpus=reference,
        corpus_kind=kind,
        corpus_sha256=corpus_fingerprint(corpus),
        tokenizer="smiles" if kind == "smiles" else "char",
        model=ModelConfig(vocab_size=1, cell="gru", embedding_size=16, hidden_size=32, layers=1),
        train=quick_config(steps=steps, log_every=10),
    )
    run_id = space.create_run(name, config)
    train_worker(str(space.run_dir(run_id)), threads=1)
    assert space.summary(run_id).status == "finished"
    return run_id


@pytest.fixture(scope="module")
def text_space(home) -> tuple[str, str]:
    """A workspace with one finished text run; returns (token, run id)."""
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(TEXT_CORPUS, "markup.txt", 10**6)
    return token, finished_run(space, "tiny <b>text</b>", reference, "text", 60)


@pytest.fixture(scope="module")
def smiles_space(home) -> tuple[str, str]:
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(SMILES_CORPUS, "molecules.smi", 10**6)
    return token, finished_run(space, "tiny molecules", reference, "smiles", 80)


def open_page(monkeypatch, home: Path, token: str | None = None, run_id: str | None = None):
    monkeypatch.setenv("CHARRNN_HOME", str(home))
    if token and run_id:
        Workspace(token, home).update_choices(run=run_id)
    at = AppTest.from_file(APP, default_timeout=60)
    if token:
        at.query_params["ws"] = token
    at.run()
    at.switch_page(PAGE)
    return at.run()


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_without_a_trained_run_the_page_says_to_train(monkeypatch, home, tmp_path):
    monkeypatch.setenv("CHARRNN_PRIORS", str(tmp_path))  # a server without shipped priors
    at = open_page(monkeypatch, home, new_workspace(home))
    no_exceptions(at)
    assert "no trained model here yet" in at.info[0].value
    assert at.button(key="generate_go_train").label == "Go to Train"
    assert not at.slider  # nothing to generate with
    at.button(key="generate_go_train").click().run()
    no_exceptions(at)
    assert "generate_go_train" not in [button.key for button in at.button]  # now on Train


def test_generate_text_shows_samples_and_a_download(monkeypatch, home, text_space):
    at = open_page(monkeypatch, home, *text_space)
    no_exceptions(at)
    assert at.selectbox(key="generate_run").value == text_space[1]
    at.slider(key="generate_count_text").set_value(2)
    at.slider(key="generate_length_text").set_value(40)
    at.text_area(key="generate_prompt_text").input("abc")
    at.number_input(key="generate_seed").set_value(7)
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    assert not at.error
    samples = [code.value for code in at.code]
    assert len(samples) == 2 and all(text.startswith("abc") for text in samples)
    assert all(code.language in ("", "plaintext", None) for code in at.code)
    assert at.get("download_button")
    # The same seed gives the same samples again.
    at.button(key="generate_button").click().run()
    assert [code.value for code in at.code] == samples


def test_a_prompt_with_an_unseen_character_is_explained(monkeypatch, home, text_space):
    at = open_page(monkeypatch, home, *text_space)
    at.text_area(key="generate_prompt_text").input("abc🚀").run()
    no_exceptions(at)
    assert any("the model knows" in info.value for info in at.info)  # the why panel waits
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    assert "never saw" in at.error[0].value and "🚀" in at.error[0].value
    assert not any("🚀" in code.value for code in at.code)  # earlier samples, if any, stay


def test_samples_survive_a_refresh_and_stay_with_their_run(monkeypatch, home, text_space):
    token, run_id = text_space
    at = open_page(monkeypatch, home, token, run_id)
    at.slider(key="generate_count_text").set_value(2)
    at.slider(key="generate_length_text").set_value(30)
    at.number_input(key="generate_seed").set_value(11)
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    samples = [code.value for code in at.code]
    assert len(samples) == 2
    # A refresh is a new session: nothing in session state, the samples come from the run.
    again = open_page(monkeypatch, home, token, run_id)
    no_exceptions(again)
    assert [code.value for code in again.code] == samples
    assert any("seed 11" in note.value and "step 60" in note.value for note in again.caption)
    # A bad prompt explains itself and the samples stay.
    again.text_area(key="generate_prompt_text").input("🚀")
    again.button(key="generate_button").click().run()
    assert again.error and [code.value for code in again.code] == samples
    saved = read_generated(Workspace(token, home).run_dir(run_id))
    assert saved["seed"] == 11 and [text for text, _ in saved["samples"]] == samples


def test_on_a_full_disk_the_samples_show_with_a_warning(monkeypatch, home, text_space):
    import charrnn.runs.folder
    from charrnn.files import DiskFullError

    def full(*args, **kwargs):
        raise DiskFullError("the samples")

    monkeypatch.setattr(charrnn.runs.folder, "save_generated", full)
    at = open_page(monkeypatch, home, *text_space)
    at.number_input(key="generate_seed").set_value(5)
    at.text_area(key="generate_prompt_text").input("abcd")
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    assert "could not be kept" in at.warning[0].value and "disk is full" in at.warning[0].value
    assert at.code and all(code.value.startswith("abcd") for code in at.code)
    assert "generate_publish" not in [button.key for button in at.button]  # not the old ones


def test_a_damaged_samples_file_is_ignored(tmp_path):
    save_generated(tmp_path, 3, [("ab", -1.5)], step=4)
    assert read_generated(tmp_path)["samples"] == [("ab", -1.5)]
    for damaged in ("", "{", '{"seed": 1}', '{"seed": "x", "samples": []}', "[1, 2]"):
        (tmp_path / GENERATED_FILE).write_text(damaged)
        assert read_generated(tmp_path) is None
    (tmp_path / GENERATED_FILE).unlink()
    assert read_generated(tmp_path) is None


def test_markup_in_prompts_and_samples_stays_plain_text(monkeypatch, home, text_space):
    at = open_page(monkeypatch, home, *text_space)
    prompt = f"{MARKUP} **bold**"
    at.text_area(key="generate_prompt_text").input(prompt)
    at.slider(key="generate_temperature").set_value(1.0)
    at.slider(key="generate_count_text").set_value(3)
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    assert not at.error
    samples = [code.value for code in at.code]
    assert len(samples) == 3 and all(text.startswith(prompt) for text in samples)
    assert any("**" in text[len(prompt) :] or "<" in text[len(prompt) :] for text in samples)
    assert not at.get("html")  # nothing is ever written as raw HTML
    written = [e.value for kind in ("markdown", "caption", "info", "error") for e in at.get(kind)]
    assert not any("<script" in text or "**bold" in text or "alert(" in text for text in written)


def test_the_why_panel_shows_raw_and_shaped_chances(monkeypatch, home, text_space):
    at = open_page(monkeypatch, home, *text_space)
    at.slider(key="generate_temperature").set_value(0.5).run()
    no_exceptions(at)
    expander = at.expander[0]
    assert expander.label == "Why these characters? (what temperature does)"
    (chart,) = at.get("plotly_chart")
    figure = json.loads(chart.proto.spec)
    raw, shaped = figure["data"]
    assert raw["orientation"] == shaped["orientation"] == "h"
    assert len(raw["y"]) == 15 and 0.9 < sum(shaped["x"]) <= 1 + 1e-6  # the likeliest 15
    assert shaped["x"] == sorted(shaped["x"], reverse=True)
    assert max(shaped["x"]) > max(raw["x"])  # temperature 0.5 sharpens the favourite
    assert "␣ space" in raw["y"] and " " not in raw["y"]  # shown readably
    assert not any("<" in label or ">" in label for label in raw["y"])  # escaped for plotly
    assert any("0.5" in caption.value and "likelier" in caption.value for caption in at.caption)


def test_generate_molecules_shows_a_grid_and_a_table(monkeypatch, home, smiles_space):
    at = open_page(monkeypatch, home, *smiles_space)
    no_exceptions(at)
    at.slider(key="generate_count_sm").set_value(6)
    at.text_input(key="generate_prompt_sm").input("C")
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    assert not at.error
    (image,) = at.image
    (url,) = image.value
    assert url.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(url.split(",", 1)[1]).decode()
    assert svg.count(">log-likelihood -") == 6  # one legend under each molecule
    table = at.dataframe[0].value
    assert list(table.columns) == ["SMILES", "valid", "reason if invalid", "log-likelihood"]
    assert len(table) == 6 and all(smiles.startswith("C") for smiles in table["SMILES"])
    assert at.metric[0].value.endswith("of 6")
    assert len(at.get("download_button")) == 2  # CSV and SDF
    assert at.get("plotly_chart")  # the why panel works for SMILES too


def distinct(smiles) -> int:
    return len(canonical_set(list(smiles)))


def download_keys(at) -> list[str]:
    return [button.proto.id.rsplit("-", 1)[-1] for button in at.get("download_button")]


def ask_for_unique(at, wanted: int, tries: int, seed: int = 3):
    at.radio(key="generate_mode").set_value("unique").run()
    at.number_input(key="generate_unique_count").set_value(wanted)
    at.number_input(key="generate_max_tries").set_value(tries)
    at.number_input(key="generate_seed").set_value(seed)
    return at.button(key="generate_button").click().run()


def test_n_different_molecules_are_found_kept_and_downloadable(monkeypatch, home, smiles_space):
    token, run_id = smiles_space
    at = open_page(monkeypatch, home, token, run_id)
    assert at.radio(key="generate_mode").options == ["Samples", "N different molecules"]
    ask_for_unique(at, 5, 500)
    no_exceptions(at)
    assert not at.error
    assert "Found 5 different valid molecules in" in at.success[0].value
    assert "generate_count_sm" not in [slider.key for slider in at.slider]  # N is asked for
    table = at.dataframe[0].value
    assert len(table) == 5 and table["valid"].all()
    assert distinct(table["SMILES"]) == 5
    assert {"generate_download_csv", "generate_download_sdf"} <= set(download_keys(at))
    saved = read_generated(Workspace(token, home).run_dir(run_id))
    assert saved["mode"] == "unique" and saved["wanted"] == 5 and len(saved["samples"]) == 5
    sdf = io.BytesIO(molecule_downloads.sdf_bytes(saved["samples"]))  # what the button gives
    assert len([mol for mol in Chem.ForwardSDMolSupplier(sdf) if mol is not None]) == 5
    again = open_page(monkeypatch, home, token, run_id)  # a refresh keeps them
    no_exceptions(again)
    assert list(again.dataframe[0].value["SMILES"]) == list(table["SMILES"])
    assert "Found 5 different valid molecules" in again.success[0].value


def test_n_different_molecules_stop_at_the_most_tries(monkeypatch, home, smiles_space):
    at = open_page(monkeypatch, home, *smiles_space)
    ask_for_unique(at, 200, 20)
    no_exceptions(at)
    assert "Stopped after 20 samples, the most allowed" in at.warning[0].value
    assert len(at.dataframe[0].value) < 200


def test_n_different_lines_of_text(monkeypatch, home, text_space):
    at = open_page(monkeypatch, home, *text_space)
    assert at.radio(key="generate_mode").options == ["Samples", "N different lines"]
    at.slider(key="generate_length_text").set_value(60)
    ask_for_unique(at, 3, 300)
    no_exceptions(at)
    assert "Found 3 different lines" in at.success[0].value
    lines = list(at.dataframe[0].value["line"])
    assert len(set(lines)) == 3 and all("\n" not in line for line in lines)
    assert download_keys(at) == ["generate_download_lines"]
    assert not at.code  # lines are a table, not sample blocks


def test_choosing_another_run_makes_it_the_current_one(monkeypatch, home, text_space):
    token, first = text_space
    space = Workspace(token, home)
    reference = space.runs()[0].corpus
    second = finished_run(space, "second", reference, "text", 10)
    try:
        at = open_page(monkeypatch, home, token, first)
        runs = at.selectbox(key="generate_run")
        assert runs.value == first and set(runs.options) >= {"second", "tiny <b>text</b>"}
        runs.select(second).run()
        no_exceptions(at)
        assert space.choices["run"] == second
        assert at.get("plotly_chart")
    finally:
        space.update_choices(run=first)
        space.delete(second)
