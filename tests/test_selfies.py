"""SELFIES: molecules written as SELFIES round-trip, are cut into their bracketed symbols,
always decode to a molecule, and a SELFIES run is planned, described and trained like any."""

from __future__ import annotations

import json
import random

import pytest
from conftest import SMILES_LINES, quick_config, tiny_config
from test_steer_loop import AtomScore

from charrnn import cli
from charrnn.chem.smiles import canonical_smiles, parse_smiles
from charrnn.core.batches import prepare_data
from charrnn.core.representation import (
    SelfiesError,
    as_written,
    selfies_lines,
    selfies_of,
    to_smiles,
)
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import SPECIALS, build_vocabulary, tokenize
from charrnn.core.train import Trainer
from charrnn.runs.config import RunConfig, load_corpus, training_data
from charrnn.runs.folder import RunError
from charrnn.runs.generate_view import distinct_valid, molecule_table, shared_items
from charrnn.runs.plan import RunChoice, plan_run
from charrnn.runs.steer import Steerer
from charrnn.runs.steer_config import SteerConfig
from charrnn.runs.unique import sample_unique

DRUGS = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "caffeine": "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "celecoxib": "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1",
}
PERCHLORATE = "[O-]Cl(=O)(=O)=O"  # chlorine with seven bonds: SELFIES cannot write it


@pytest.mark.parametrize("name", list(DRUGS))
def test_a_drug_written_as_selfies_comes_back_as_the_same_molecule(name):
    smiles = DRUGS[name]
    written = selfies_of(smiles)
    assert written.startswith("[") and written != smiles
    decoded = to_smiles(written, build_vocabulary([written], "selfies", line_based=True))
    assert canonical_smiles(decoded) == canonical_smiles(smiles)


def test_selfies_text_is_cut_into_its_bracketed_symbols():
    written = selfies_of("CC(=O)[O-].[Na+]")
    tokens = tokenize(written, "selfies")
    assert "".join(tokens) == written
    assert tokens[:3] == ["[C]", "[C]", "[=Branch1]"]
    assert "[O-1]" in tokens and "." in tokens and "[Na+1]" in tokens
    assert all(t == "." or (t.startswith("[") and t.endswith("]")) for t in tokens)
    assert tokenize("[C]x[unclosed", "selfies") == ["[C]", *"x[unclosed"]  # never lost


def test_any_string_of_symbols_decodes_to_a_molecule_or_to_nothing():
    written, _ = selfies_lines(list(SMILES_LINES) + list(DRUGS.values()))
    vocabulary = build_vocabulary(written, "selfies", line_based=True)
    symbols = [token for token in vocabulary.tokens if token not in SPECIALS]
    rng = random.Random(0)
    molecules = 0
    for _ in range(300):
        text = "".join(rng.choices(symbols, k=rng.randint(1, 40)))
        smiles = to_smiles(text, vocabulary)
        assert smiles == "" or parse_smiles(smiles) is not None, (text, smiles)
        molecules += smiles != ""
    assert molecules > 250
    assert to_smiles("[NotASymbol][C]", vocabulary) == ""  # unknown symbols: no molecule


def test_smiles_models_read_their_text_as_it_is():
    vocabulary = build_vocabulary(["C1CC1"], "smiles", line_based=True)
    assert to_smiles("C1CC", vocabulary) == "C1CC"
    assert as_written("CCO", vocabulary) == "CCO"


def test_a_molecule_selfies_cannot_write_is_a_clear_error():
    with pytest.raises(SelfiesError, match="SELFIES cannot write"):
        selfies_of(PERCHLORATE)
    written, unwritable = selfies_lines(["CCO", PERCHLORATE, "CCN"])
    assert len(written) == 2 and [u.index for u in unwritable] == [1]
    assert unwritable[0].reason == "Cl has 7 bonds, SELFIES allows it 1"


@pytest.fixture
def molecules_file(tmp_path):
    path = tmp_path / "molecules.smi"
    path.write_text("\n".join([*SMILES_LINES, PERCHLORATE] * 2) + "\n")
    return path


def test_a_selfies_run_is_planned_with_the_molecules_it_leaves_out_named(molecules_file):
    config = plan_run(RunChoice(corpus=str(molecules_file), tokenizer="selfies"))
    assert config.tokenizer == "selfies" and config.representation == "SELFIES"
    assert config.unwritable == 2 and PERCHLORATE in config.unwritable_examples[0]
    assert "SELFIES cannot write 2 molecules" in config.unwritable_sentence()
    again = RunConfig.from_json(json.loads(json.dumps(config.to_json())))
    assert again == config
    smiles = plan_run(RunChoice(corpus=str(molecules_file)))
    assert smiles.tokenizer == "smiles" and smiles.unwritable == 0
    assert smiles.representation == "SMILES" and smiles.unwritable_sentence() == ""


def test_an_old_run_config_still_reads():
    config = plan_run(RunChoice(corpus="builtin:toy-pattern", train=quick_config()))
    data = config.to_json()
    del data["unwritable"], data["unwritable_examples"]
    assert RunConfig.from_json(data) == config


def test_selfies_needs_molecules_and_a_prior_writes_smiles(molecules_file):
    with pytest.raises(RunError, match="corpus of molecules"):
        plan_run(RunChoice(corpus="builtin:toy-pattern", tokenizer="selfies"))
    with pytest.raises(RunError, match="writes molecules as SMILES"):
        plan_run(
            RunChoice(corpus=str(molecules_file), tokenizer="selfies", init_from="prior:moses")
        )


def test_a_tiny_selfies_model_learns_and_its_samples_are_molecules(molecules_file):
    corpus = load_corpus(str(molecules_file))
    settings = quick_config(steps=60, chem_every=30, chem_samples=20, augment=True)
    data = training_data(corpus, "selfies", settings)
    assert data.vocabulary.tokenizer == "selfies"
    assert all(line.startswith("[") for line in data.train_lines)
    assert len(data.train) + len(data.validation) == 2 * len(SMILES_LINES)  # perchlorate out
    events = []
    trainer = Trainer(
        data, tiny_config(), settings, on_event=events.append, device="cpu"
    )  # fmt: skip
    trainer.run()
    losses = [e.train_loss for e in events if e.kind == "step"]
    assert losses[-1] < losses[0]
    checks = [e for e in events if e.kind == "chem"]
    assert len(checks) == 2 and checks[-1].validity >= 0.8  # the rest: nothing (empty)
    drawn = sample(trainer.model, data.vocabulary, SampleConfig(num_samples=30, seed=1))
    decoded = [to_smiles(s.text, data.vocabulary) for s in drawn]
    assert all(smiles == "" or parse_smiles(smiles) is not None for smiles in decoded)
    assert sum(smiles != "" for smiles in decoded) >= 25


@pytest.fixture(scope="module")
def selfies_model(tmp_path_factory):
    """A tiny SELFIES model that has learned the test molecules (shared: read-only)."""
    written, _ = selfies_lines(list(SMILES_LINES) * 2)
    data = prepare_data(lines=written, tokenizer="selfies")
    trainer = Trainer(data, tiny_config(), quick_config(steps=150), device="cpu")
    trainer.run()
    return trainer.model, data.vocabulary


def test_n_different_molecules_are_told_apart_as_smiles_and_kept_as_written(selfies_model):
    model, vocabulary = selfies_model
    result = sample_unique(model, vocabulary, SampleConfig(seed=2), wanted=5, max_tries=300)
    assert len(result.found) == 5
    written = [text for text, _ in result.found]
    assert all(text.startswith("[") for text in written)
    decoded = {canonical_smiles(to_smiles(text, vocabulary)) for text in written}
    assert len(decoded) == 5 and None not in decoded


def test_the_generate_table_shows_both_strings(selfies_model):
    _, vocabulary = selfies_model
    samples = [(selfies_of("CCO"), -1.0), ("[Branch1]", -2.0), (selfies_of("OCC"), -1.5)]
    table = molecule_table(samples, vocabulary)
    assert list(table["SELFIES"]) == [text for text, _ in samples]
    assert list(table["SMILES"]) == ["CCO", "", "OCC"]
    assert list(table["valid"]) == [True, False, True]
    assert "no atom" in table["reason if invalid"][1] and distinct_valid(table) == 1
    assert shared_items({"samples": samples}, True, vocabulary) == ["CCO", "", "OCC"]
    assert "SELFIES" not in molecule_table([("CCO", -1.0)]).columns


@pytest.mark.parametrize("method", ["reinvent", "hillclimb"])
def test_steering_scores_the_smiles_and_replays_the_selfies_written(selfies_model, method):
    model, vocabulary = selfies_model
    score = AtomScore("O", most=3, passes=1, name="oxygen")  # a third of a point each
    settings = SteerConfig(
        method=method, steps=4, batch_size=16, max_length=40, seed=1, replay_samples=4
    )
    steerer = Steerer(model, vocabulary, score, settings)
    assert steerer.run().status == "finished"
    asked = [text for text in score.asked if text]
    assert asked and not any(text.startswith("[") for text in asked)  # SMILES, never SELFIES
    remembered = [entry.smiles for entry in steerer.memory.best(50)]
    assert remembered and all(text.startswith("[") for text in remembered)  # as written
    assert all(vocabulary.encode(text) for text in remembered)
    assert all(not row["smiles"].startswith("[") for row in steerer.hits.values())


def test_the_command_line_trains_and_samples_a_selfies_model(molecules_file, tmp_path, capsys):
    run = tmp_path / "run"
    options = ["--tokenizer", "selfies", "--steps", "30", "--preset", "tiny", "--threads", "1"]
    assert cli.main(["train", str(molecules_file), "--out", str(run), *options]) == 0
    assert "SELFIES cannot write 2 molecules" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["tokenizer"] == "selfies"
    assert cli.main(["sample", str(run), "--num", "6", "--seed", "1", "--check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    for line in lines:  # SMILES, the SELFIES written, the verdict
        smiles, written, verdict = line.split("\t", 2)
        assert written.startswith("[") or written == ""
        assert verdict == "valid" or verdict.startswith("invalid")
        assert verdict == "valid" or not smiles
