"""Fine-tuning a shipped prior: planned from the prior's model, new symbols added and said
so, frozen layers unchanged, and a run that trains, checkpoints and resumes."""

from __future__ import annotations

import pytest
import torch

from charrnn.core.checkpoint import load_checkpoint
from charrnn.runs.config import read_run_config
from charrnn.runs.folder import RunError
from charrnn.runs.plan import (
    FINETUNE_LEARNING_RATE,
    FINETUNE_STEPS,
    RunChoice,
    finetune_train,
    new_run_config,
    plan_run,
    planned_budget,
)
from charrnn.runs.priors import load_prior
from charrnn.runs.trainer import run_trainer

MOLECULES = [  # ".", [Na+] and [O-] are not in the MOSES prior's vocabulary
    "CC(=O)[O-].[Na+]",
    "c1ccccc1O",
    "CCN(CC)CC",
    "O=C(O)c1ccccc1",
    "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
] * 20


def quick(**values):
    base = dict(
        steps=12,
        batch_size=8,
        eval_every=6,
        eval_tokens=400,
        log_every=3,
        checkpoint_every=6,
        preview_samples=0,
        chem_every=0,
        precision="float32",
        threads=1,
    )
    return {**base, **values}


@pytest.fixture
def molecules(space):
    reference = space.save_corpus("\n".join(MOLECULES).encode(), "salts.smi")
    return {"reference": reference, "name": "salts.smi", "kind": "smiles"}


def test_a_run_from_the_prior_takes_its_model_and_names_the_new_symbols(space, molecules):
    config = new_run_config(space, molecules, "tiny", train=quick(), init_from="prior:moses")
    prior, vocabulary, _ = load_prior("prior:moses")
    assert config.init_from == "prior:moses" and config.preset is None
    assert config.model.hidden_size == prior.config.hidden_size == 256
    assert config.added_tokens == (".", "[Na+]", "[O-]")
    assert config.model.vocab_size == vocabulary.size + 3
    sentence = config.added_tokens_sentence()
    assert "Added 3 symbols" in sentence and "., [Na+], [O-]" in sentence
    assert read_run_config(space.run_dir(space.create_run("r", config))) == config


def test_fine_tuning_learns_the_new_symbols_and_resumes(space, molecules):
    config = new_run_config(space, molecules, "tiny", train=quick(), init_from="prior:moses")
    run_id = space.create_run("tuned", config)
    folder = space.run_dir(run_id)
    trainer = run_trainer(folder, in_workspace=True)
    losses = []
    trainer.on_event = lambda event: losses.append(event.train_loss) if event.train_loss else None
    trainer.run()
    assert losses[-1] < losses[0]
    checkpoint = load_checkpoint(folder)
    assert checkpoint.vocabulary.tokens[-3:] == (".", "[Na+]", "[O-]")
    assert checkpoint.model.config.vocab_size == config.model.vocab_size
    resumed = run_trainer(folder, in_workspace=True)
    assert resumed.step == 12


def test_frozen_layers_stay_as_the_prior_learned_them(space, molecules):
    train = quick(freeze_layers=1, learning_rate=0.01)
    config = new_run_config(space, molecules, "tiny", train=train, init_from="prior:moses")
    trainer = run_trainer(space.run_dir(space.create_run("frozen", config)), in_workspace=True)
    prior, _, _ = load_prior("prior:moses")
    trainer.run()
    after = {name: value.cpu() for name, value in trainer.model.rnn.named_parameters()}
    for name, value in prior.rnn.named_parameters():
        if name.endswith("_l0"):
            assert torch.equal(after[name], value), name
        else:
            assert not torch.equal(after[name], value), name
    assert not torch.equal(trainer.model.head.weight[: prior.config.vocab_size], prior.head.weight)


def test_a_prior_is_not_fine_tuned_on_text_or_with_more_frozen_layers_than_it_has(space, molecules):
    with pytest.raises(RunError, match="cannot keep 3"):
        new_run_config(
            space, molecules, "tiny", train=quick(freeze_layers=3), init_from="prior:moses"
        )
    text = {"reference": "builtin:toy-pattern", "name": "Toy", "kind": "text"}
    with pytest.raises(RunError, match="learned molecules"):
        new_run_config(space, text, "tiny", train=quick(), init_from="prior:moses")


def test_fine_tuning_defaults_and_the_budget_use_the_prior(space, molecules):
    settings = finetune_train(True)
    assert settings.learning_rate == FINETUNE_LEARNING_RATE and settings.steps == FINETUNE_STEPS
    assert settings.chem_every > 0 and finetune_train(False).chem_every == 0
    assert finetune_train(True, minutes=1.0).steps is None
    choice = RunChoice(corpus=molecules["reference"], train=settings, init_from="prior:moses")
    assert planned_budget(space, choice).problem is None
    plan = plan_run(choice, space)
    assert plan.train.learning_rate == FINETUNE_LEARNING_RATE


# ----- the Train and Home pages -----------------------------------------------------------
def test_the_train_page_starts_molecules_from_the_prior_and_says_why(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from charrnn.runs.workspace import Workspace

    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path))
    app = AppTest.from_file("../streamlit_app.py", default_timeout=60)
    app.run()
    app.button(key="start_molecules").click().run()  # Home's one-click start
    assert not app.exception
    space = Workspace.pending(app.session_state["ws"])
    assert space.choices["start_from"] == "prior:moses"
    choice = app.selectbox(key="train_init_from")
    assert choice.value == "prior:moses"
    assert "already learned how molecules are written" in " ".join(c.value for c in app.caption)
    assert not [radio for radio in app.radio if radio.key == "train_preset"]  # its own size
    assert app.number_input(key="train_steps_finetune").value == FINETUNE_STEPS
    assert app.number_input(key="train_learning_rate_finetune").value == FINETUNE_LEARNING_RATE
    shape = app.number_input(key="train_hidden_size_fixed")  # the prior's, not a preset's
    assert shape.value == 256 and shape.disabled
    assert app.checkbox(key="train_canonical_finetune").value  # spelled as the prior learned
    app.number_input(key="train_steps_finetune").set_value(10)
    app.number_input(key="train_freeze_layers").set_value(1)
    app.button(key="train_start").click().run()
    assert not app.exception and not app.error
    [run] = space.runs()
    config = read_run_config(space.run_dir(run.id))
    assert config.init_from == "prior:moses" and config.train.freeze_layers == 1
    assert config.train.learning_rate == FINETUNE_LEARNING_RATE
    assert run.name == "Drug-like molecules (MOSES prior), fine-tuned on NCI first 5K (RDKit)"
    captions = " ".join(c.value for c in app.caption)
    assert "symbols that the model you started from never saw" in captions
    # A new model remains one choice away, with its sizes.
    app.selectbox(key="train_init_from").set_value("").run()
    assert app.radio(key="train_preset").value == "tiny"
    assert not app.number_input(key="train_hidden_size_tiny").disabled


# ----- the command line -------------------------------------------------------------------
def test_the_command_line_lists_samples_and_fine_tunes_priors(tmp_path, capsys):
    import json

    from charrnn import cli

    assert cli.main(["priors", "-v"]) == 0
    out = capsys.readouterr().out
    assert "prior:moses" in out and "864,731" in out and "MIT" in out
    assert cli.main(["sample", "prior:moses", "--num", "20", "--check", "--seed", "0"]) == 0
    verdicts = capsys.readouterr().out.splitlines()
    assert len(verdicts) == 20 and sum(line.endswith("\tvalid") for line in verdicts) >= 15
    corpus = tmp_path / "salts.smi"
    corpus.write_text("\n".join(MOLECULES) + "\n")
    run = tmp_path / "tuned"
    options = ["--steps", "6", "--batch-size", "8", "--threads", "1", "--freeze-layers", "1"]
    code = cli.main(
        ["train", str(corpus), "--init-from", "prior:moses", "--out", str(run)] + options
    )
    assert code == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["init_from"] == "prior:moses" and config["added_tokens"] == [".", "[Na+]", "[O-]"]
    assert config["train"]["learning_rate"] == FINETUNE_LEARNING_RATE
    assert config["train"]["freeze_layers"] == 1 and config["train"]["canonical"]
    assert cli.main(["train", "--resume", "--out", str(run), "--steps", "8"]) == 0
    written = tmp_path / "written"
    options += ["--spelling", "as-written"]
    assert (
        cli.main(
            ["train", str(corpus), "--init-from", "prior:moses", "--out", str(written)] + options
        )
        == 0
    )
    assert not json.loads((written / "config.json").read_text())["train"]["canonical"]
    capsys.readouterr()
    assert (
        cli.main(["train", str(corpus), "--init-from", "prior:nope", "--out", str(tmp_path / "x")])
        == 2
    )
    assert "Shipped priors: prior:moses" in capsys.readouterr().err
    assert cli.main(["evaluate", "prior:moses"]) == 2
    assert "MODEL_CARD.md" in capsys.readouterr().err
    assert (
        cli.main(["train", str(corpus), "--freeze-layers", "1", "--out", str(tmp_path / "y")]) == 2
    )


def test_fine_tuning_reads_molecules_in_the_spelling_the_prior_learned(space):
    from charrnn.core.train_config import TrainConfig
    from charrnn.runs.config import load_corpus, training_data

    written = ["C1=CC=CC=C1O", "OC(=O)c2ccccc2", "N#CC"] * 10  # not RDKit's spellings
    reference = space.save_corpus("\n".join(written).encode(), "written.smi")
    corpus = {"reference": reference, "name": "written.smi", "kind": "smiles"}
    config = new_run_config(space, corpus, "tiny", train=quick(), init_from="prior:moses")
    assert config.train.canonical and config.added_tokens == ()  # no "=", no "2": all known
    as_written = new_run_config(
        space, corpus, "tiny", train=quick(canonical=False), init_from="prior:moses"
    )
    assert not as_written.train.canonical
    data = training_data(load_corpus(reference), "smiles", config.train)
    assert set(data.train_lines) == {"Oc1ccccc1", "O=C(O)c1ccccc1", "CC#N"}
    scratch = training_data(load_corpus(reference), "smiles", TrainConfig(steps=1))
    assert set(scratch.train_lines) <= set(written)  # a new model reads them as written
