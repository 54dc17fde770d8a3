"""Shipped priors: the real one loads offline and checks its checksum; damaged or hostile prior
files give a clear PriorError; the float16 file round-trips to a float32 model."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from charrnn.core.checkpoint_header import CheckpointError
from charrnn.core.model import CharRNN
from charrnn.core.prior_file import read_prior, write_prior
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import build_vocabulary
from charrnn.errors import UserError
from charrnn.runs import priors
from charrnn.runs.priors import PriorError, find_prior, is_prior, load_prior, shipped_priors

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "priors"


def test_every_shipped_prior_loads_and_writes_molecules(monkeypatch):
    monkeypatch.delenv("CHARRNN_PRIORS", raising=False)
    found = shipped_priors()
    assert "moses" in [prior.id for prior in found]
    for prior in found:
        weights = prior.weights.read_bytes()
        assert hashlib.sha256(weights).hexdigest() == prior.sha256
        model, vocabulary, info = load_prior(prior.reference)
        assert info["prior"] == prior.id
        assert all(p.dtype == torch.float32 for p in model.parameters())
        texts = [s.text for s in sample(model, vocabulary, SampleConfig(num_samples=20, seed=0))]
        assert len(texts) == 20 and any(texts)


def test_the_moses_prior_is_small_and_says_how_it_was_trained(monkeypatch):
    monkeypatch.delenv("CHARRNN_PRIORS", raising=False)
    prior = find_prior("prior:moses")
    assert prior.weights.stat().st_size < 8 * 1024 * 1024
    for key in ("steps", "training_seconds", "threads", "seed", "heldout", "command"):
        assert key in prior.training
    assert "MIT" in prior.data


def copy_prior(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "priors"
    shutil.copytree(SHIPPED / "moses", folder / "moses")
    monkeypatch.setenv("CHARRNN_PRIORS", str(folder))
    priors._read_checked.cache_clear()
    return folder / "moses"


def test_a_damaged_prior_is_refused_by_its_checksum(tmp_path, monkeypatch):
    folder = copy_prior(tmp_path, monkeypatch)
    data = bytearray((folder / "prior.safetensors").read_bytes())
    data[-100] ^= 0xFF
    (folder / "prior.safetensors").write_bytes(bytes(data))
    with pytest.raises(PriorError, match="checksum"):
        load_prior("prior:moses")


def test_missing_weights_and_unknown_names_are_clear(tmp_path, monkeypatch):
    folder = copy_prior(tmp_path, monkeypatch)
    with pytest.raises(PriorError, match="Shipped priors: prior:moses"):
        find_prior("prior:nothing")
    with pytest.raises(PriorError):
        find_prior("prior:../../etc")
    (folder / "prior.safetensors").unlink()
    with pytest.raises(PriorError, match="missing"):
        load_prior("prior:moses")
    assert issubclass(PriorError, UserError)
    assert is_prior("prior:moses") and not is_prior("run-1")


def test_a_damaged_manifest_hides_that_prior_only(tmp_path, monkeypatch):
    folder = copy_prior(tmp_path, monkeypatch)
    shutil.copytree(folder, folder.parent / "other")
    (folder.parent / "other" / "prior.json").write_text("{not json")
    assert [prior.id for prior in shipped_priors()] == ["moses"]
    with pytest.raises(PriorError, match="damaged"):
        find_prior("prior:other")


def test_prior_file_round_trip_restores_float32(tmp_path):
    vocabulary = build_vocabulary(["CCO", "c1ccccc1"], tokenizer="smiles", line_based=True)
    model = CharRNN(tiny_config(len(vocabulary)))
    path = write_prior(tmp_path / "p.safetensors", model, vocabulary, {"title": "t"})
    back, vocab_back, info = read_prior(path)
    assert vocab_back.tokens == vocabulary.tokens and info["title"] == "t"
    for name, value in model.state_dict().items():
        restored = back.state_dict()[name]
        assert restored.dtype == torch.float32
        assert torch.allclose(restored, value.half().float())


def test_a_prior_file_whose_header_lies_is_refused_before_reading(tmp_path):
    vocabulary = build_vocabulary(["CCO"], tokenizer="smiles", line_based=True)
    model = CharRNN(tiny_config(len(vocabulary)))
    path = write_prior(tmp_path / "p.safetensors", model, vocabulary, {})
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    meta = json.loads(header["__metadata__"]["charrnn"])
    meta["model_config"]["hidden_size"] = 4096  # would need gigabytes
    header["__metadata__"]["charrnn"] = json.dumps(meta)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + length :])
    with pytest.raises(CheckpointError):
        read_prior(path)
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="not a charrnn prior"):
        read_prior(tmp_path / "junk.safetensors")
