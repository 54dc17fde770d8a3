"""Tests for charrnn.core.checkpoint: a saved model comes back exactly; anything else is refused.

Pickles are never opened, damaged files are reported, and a failed save keeps the old one.
"""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from conftest import tiny_config
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from charrnn.core import checkpoint as checkpoint_module
from charrnn.core.checkpoint import (
    CHECKPOINT_FILE,
    CHECKPOINT_JSON,
    CheckpointError,
    load_checkpoint,
    optimizer_tensors,
    read_header,
    restore_optimizer,
    save_checkpoint,
)
from charrnn.core.model import CharRNN
from charrnn.core.tokens import build_vocabulary

TEXT = "naïve café — 東京 🚀🧪 abc abcd\n"


def make_model(vocabulary, seed=0, **overrides) -> CharRNN:
    torch.manual_seed(seed)
    return CharRNN(tiny_config(vocabulary.size, **overrides))


def logits_of(model, vocabulary) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(torch.tensor([vocabulary.encode(TEXT)]))[0]


def no_temporary_files(folder) -> bool:
    return not [name for name in os.listdir(folder) if name.endswith(".tmp")]


@pytest.fixture
def vocabulary():
    return build_vocabulary([TEXT])


@pytest.fixture
def saved(tmp_path, vocabulary):
    """A folder with a saved checkpoint, and the model that was saved."""
    model = make_model(vocabulary)
    save_checkpoint(tmp_path, model, vocabulary, {"step": 7, "note": "é"})
    return tmp_path, model


@pytest.mark.parametrize("cell, layers", [("rnn", 1), ("gru", 2), ("lstm", 2)])
def test_round_trip_gives_identical_logits(tmp_path, vocabulary, cell, layers):
    model = make_model(vocabulary, cell=cell, layers=layers)
    extra = {"rng.torch": torch.get_rng_state(), "carry.0": torch.randn(layers, 2, 32)}
    path = save_checkpoint(tmp_path, model, vocabulary, {"step": 12, "run": {"x": 1}}, extra)
    assert path == tmp_path / CHECKPOINT_FILE
    loaded = load_checkpoint(tmp_path)
    assert loaded.vocabulary == vocabulary and loaded.model.config == model.config
    assert loaded.step == 12 and loaded.info["run"] == {"x": 1}
    assert torch.equal(logits_of(loaded.model, vocabulary), logits_of(model, vocabulary))
    assert set(loaded.tensors) == set(extra)
    assert all(torch.equal(loaded.tensors[k], v) for k, v in extra.items())
    # The same description sits beside it for people and tools.
    beside = json.loads((tmp_path / CHECKPOINT_JSON).read_text(encoding="utf-8"))
    assert beside["step"] == 12 and beside["vocabulary"]["tokens"] == list(vocabulary.tokens)
    assert read_header(tmp_path)["model_config"] == model.config.to_json()
    assert no_temporary_files(tmp_path)


def test_a_saved_model_can_be_loaded_by_file_path(saved):
    folder, model = saved
    loaded = load_checkpoint(folder / CHECKPOINT_FILE)
    assert loaded.step == 7 and loaded.info["note"] == "é"


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="No checkpoint"):
        load_checkpoint(tmp_path)


class WritesMarker:
    """A pickle that, when opened, creates a file: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_without_being_opened(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(WritesMarker(marker))
    (tmp_path / CHECKPOINT_FILE).write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(tmp_path)
    assert not marker.exists()
    pickle.loads(payload).close()  # the payload is live: opening it would have run code
    assert marker.exists()


def test_a_torch_save_file_is_refused(tmp_path, vocabulary):
    torch.save({"model": make_model(vocabulary).state_dict()}, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(tmp_path)


def test_a_legacy_torch_save_file_is_refused(tmp_path):
    path = tmp_path / CHECKPOINT_FILE
    torch.save({"w": torch.zeros(3)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)


@pytest.mark.parametrize("keep", ["empty", 4, 12, 100, "half", "all but one"])
def test_a_truncated_file_is_refused(saved, keep):
    folder, _ = saved
    path = folder / CHECKPOINT_FILE
    content = path.read_bytes()
    cut = {"empty": 0, "half": len(content) // 2, "all but one": len(content) - 1}.get(keep, keep)
    path.write_bytes(content[:cut])
    with pytest.raises(CheckpointError):
        load_checkpoint(folder)


def test_text_and_random_bytes_are_refused(tmp_path):
    path = tmp_path / CHECKPOINT_FILE
    for content in (b"hello, this is a text file\n" * 10, bytes(range(256)) * 4, b"\0" * 64):
        path.write_bytes(content)
        with pytest.raises(CheckpointError):
            load_checkpoint(path)


def test_a_safetensors_file_from_elsewhere_is_refused(tmp_path):
    path = tmp_path / CHECKPOINT_FILE
    save_file({"weight": torch.zeros(4, 4)}, path)
    with pytest.raises(CheckpointError, match="not written by charrnn"):
        load_checkpoint(path)
    save_file({"weight": torch.zeros(4, 4)}, path, metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="not written by charrnn"):
        load_checkpoint(path)
    save_file({"weight": torch.zeros(4)}, path, metadata={"charrnn": json.dumps({"format": "x"})})
    with pytest.raises(CheckpointError, match="not written by charrnn"):
        load_checkpoint(path)


def rewrite_header(folder, change) -> None:
    """Rewrite a saved checkpoint with its JSON header changed by ``change(header)``."""
    path = folder / CHECKPOINT_FILE
    with safe_open(str(path), framework="pt") as handle:
        header = json.loads(handle.metadata()["charrnn"])
    tensors = load_file(str(path))
    change(header)
    save_file(tensors, str(path), metadata={"charrnn": json.dumps(header)})


def test_a_vocabulary_that_does_not_fit_the_weights_is_refused(saved):
    folder, _ = saved
    rewrite_header(folder, lambda header: header["vocabulary"]["tokens"].append("Ω"))
    with pytest.raises(CheckpointError, match="vocabulary"):
        load_checkpoint(folder)


def test_a_model_description_that_does_not_fit_the_weights_is_refused(saved):
    folder, _ = saved

    def grow(header):
        header["vocabulary"]["tokens"].append("Ω")
        header["model_config"]["vocab_size"] += 1

    rewrite_header(folder, grow)
    with pytest.raises(CheckpointError, match="weights"):
        load_checkpoint(folder)


def test_a_damaged_description_is_refused(saved):
    folder, _ = saved
    rewrite_header(folder, lambda header: header["model_config"].update(cell="transformer"))
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(folder)


def test_weights_with_nan_are_refused(tmp_path, vocabulary):
    model = make_model(vocabulary)
    with torch.no_grad():
        model.head.bias[3] = float("nan")
    save_checkpoint(tmp_path, model, vocabulary, {"step": 1})
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path)


def test_a_failed_save_keeps_the_previous_checkpoint(saved, vocabulary, monkeypatch):
    folder, model = saved
    before = logits_of(model, vocabulary)
    description = (folder / CHECKPOINT_JSON).read_text(encoding="utf-8")

    def disk_full(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoint_module, "save_file", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(folder, make_model(vocabulary, seed=1), vocabulary, {"step": 8})
    assert no_temporary_files(folder)
    loaded = load_checkpoint(folder)
    assert loaded.step == 7
    assert torch.equal(logits_of(loaded.model, vocabulary), before)
    assert (folder / CHECKPOINT_JSON).read_text(encoding="utf-8") == description


def test_a_new_save_replaces_the_old_one(saved, vocabulary):
    folder, _ = saved
    newer = make_model(vocabulary, seed=1)
    save_checkpoint(folder, newer, vocabulary, {"step": 8})
    loaded = load_checkpoint(folder)
    assert loaded.step == 8
    assert torch.equal(logits_of(loaded.model, vocabulary), logits_of(newer, vocabulary))
    assert no_temporary_files(folder)


def test_optimizer_state_round_trip_and_mismatch(vocabulary):
    model = make_model(vocabulary)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    logits, _ = model(torch.tensor([[3, 4, 5]]))
    logits.sum().backward()
    optimizer.step()
    tensors, groups = optimizer_tensors(optimizer)
    groups = json.loads(json.dumps(groups))  # as stored in the checkpoint header

    again = torch.optim.Adam(model.parameters(), lr=1e-3)
    restore_optimizer(again, tensors, groups)
    for index, state in optimizer.state_dict()["state"].items():
        restored = again.state_dict()["state"][index]
        for key, value in state.items():
            assert torch.equal(torch.as_tensor(restored[key]), torch.as_tensor(value))

    other = torch.optim.Adam(make_model(vocabulary, layers=2).parameters())
    with pytest.raises(CheckpointError, match="optimizer"):
        restore_optimizer(other, tensors, groups)
