"""Shared fixtures for the engine's unit tests: one torch thread, small corpora, tiny models.

Everything runs on the CPU in seconds; models have a hidden size of 16 to 64.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from charrnn.core.batches import TrainingData, prepare_data
from charrnn.core.model import CharRNN, ModelConfig
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig
from charrnn.corpora.builtins import load_builtin
from charrnn.runs.workspace import Workspace, new_workspace

# Molecules with two-letter atoms, bracket atoms, stereo centres, charges and ring closures.
SMILES_LINES = (
    "CCO",
    "CC(=O)O",
    "c1ccccc1",
    "c1ccncc1",
    "CCN(CC)CC",
    "ClCCl",
    "BrCCBr",
    "CC(C)Cl",
    "c1ccc(Br)cc1",
    "c1cc[nH]c1",
    "C[C@@H](N)C(=O)O",
    "C[C@H](O)CC",
    "[NH4+]",
    "c1cc[nH+]cc1",
    "O=C(O)c1ccccc1",
    "CC(=O)Nc1ccc(O)cc1",
    "C1CCCCC1",
    "C1CC2CCC1C2",
    "OCC(O)CO",
    "CCCCCCCC",
    "C=CC=C",
    "C#N",
    "CC#CC",
    "FC(F)(F)F",
    "c1ccc2ccccc2c1",
    "CCOC(=O)C",
    "NC(=O)N",
    "CS(=O)(=O)C",
    "C%10CCCC%10",
    "[Na+].[Cl-]",
)


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tests share the machine with benchmarks: one thread each."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def toy_text() -> str:
    """The built-in toy pattern: about 30,000 characters of abc, abcd and abcde."""
    return load_builtin("toy-pattern").text


@pytest.fixture(scope="session")
def smiles_lines() -> list[str]:
    """Sixty short SMILES (each molecule twice), enough for a validation part."""
    return list(SMILES_LINES) * 2


@pytest.fixture
def text_data(toy_text) -> TrainingData:
    return prepare_data(toy_text)


@pytest.fixture
def line_data(smiles_lines) -> TrainingData:
    return prepare_data(lines=smiles_lines, tokenizer="smiles")


def tiny_config(vocab_size: int = 1, **overrides) -> ModelConfig:
    """A model small enough to train for a hundred steps in about a second."""
    values = dict(cell="gru", embedding_size=16, hidden_size=32, layers=1)
    return ModelConfig(vocab_size=vocab_size, **{**values, **overrides})


def quick_config(**overrides) -> TrainConfig:
    """Training settings for tests: small batches, no previews, evaluation only at the end."""
    values = dict(
        steps=40,
        batch_size=8,
        sequence_length=24,
        learning_rate=1e-2,
        warmup_steps=5,
        eval_every=1000,
        eval_tokens=2000,
        log_every=1,
        checkpoint_every=0,
        preview_samples=0,
        precision="float32",
    )
    return TrainConfig(**{**values, **overrides})


def train_model(data: TrainingData, steps: int, seed: int = 0, **model_overrides) -> CharRNN:
    """A tiny model trained briefly on ``data``."""
    config = quick_config(steps=steps, seed=seed)
    trainer = Trainer(data, tiny_config(**model_overrides), config, device="cpu")
    trainer.run()
    return trainer.model


@pytest.fixture(scope="session")
def trained_text_model(toy_text) -> tuple[CharRNN, TrainingData]:
    """A tiny model that has learned some of the toy pattern (shared: read-only)."""
    data = prepare_data(toy_text)
    return train_model(data, steps=80), data


@pytest.fixture(scope="session")
def trained_line_model(smiles_lines) -> tuple[CharRNN, TrainingData]:
    """A tiny SMILES model that has learned to end its lines (shared: read-only)."""
    data = prepare_data(lines=smiles_lines, tokenizer="smiles")
    return train_model(data, steps=150), data


# ----- app tests: one workspaces folder per module (its models are trained once) ----------
@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """The workspaces folder (CHARRNN_HOME) a module's app tests share."""
    return tmp_path_factory.mktemp("charrnn-home")


@pytest.fixture
def app_environment(monkeypatch, home, tmp_path) -> Path:
    """The app reads the module's ``home``, a cache of the test's own, the shipped priors."""
    monkeypatch.setenv("CHARRNN_HOME", str(home))
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHARRNN_PRIORS", raising=False)
    return home


@pytest.fixture
def root(tmp_path) -> Path:
    """The folder of workspaces (CHARRNN_HOME) for one test."""
    return tmp_path / "workspaces"


@pytest.fixture
def space(root) -> Workspace:
    """A fresh workspace under ``root``."""
    return Workspace(new_workspace(root), root)


# ----- browser tests: an app server and chromium per module, a fresh visitor per test -----
@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """The app served on a loopback port, with a workspaces folder of the module's own."""
    from browser_support import running_server

    with running_server(tmp_path_factory.mktemp(request.module.__name__), request) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright, once per browser test module."""
    from browser_support import chromium_browser

    with chromium_browser() as chromium:
        yield chromium


@pytest.fixture
def page(browser, server):
    """A fresh visitor (a new browser context: no cookies, a new workspace)."""
    from browser_support import visitor

    context, tab = visitor(browser)
    yield tab
    context.close()
