"""Checkpoints: weights and optimizer state in safetensors, config + vocabulary + step in JSON.

Nothing is ever unpickled. The JSON lives inside the safetensors header (so one atomic rename
writes a consistent checkpoint) and beside it as `checkpoint.json` for people and tools.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from charrnn.core.checkpoint_header import (
    CHECKPOINT_FILE,
    FORMAT,
    MAX_HEADER_BYTES,
    CheckpointError,
    Header,
    read_index,
)
from charrnn.core.model import CharRNN, ModelConfig
from charrnn.core.tokens import Vocabulary
from charrnn.files import DiskFullError, atomic_write_text, is_disk_full

CHECKPOINT_JSON = "checkpoint.json"
OUT_OF_MEMORY = (
    "The server has not enough free memory to load this model right now. Try again in a "
    "minute; if it happens again, use a smaller model."
)


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model, its vocabulary, and what is needed to resume."""

    model: CharRNN
    vocabulary: Vocabulary
    info: dict  # step, train config, corpus, elapsed seconds ... (JSON-able)
    tensors: dict[str, torch.Tensor]  # optimizer state, RNG states, carried hidden state

    @property
    def step(self) -> int:
        return int(self.info.get("step", 0))


def save_checkpoint(
    folder: Path,
    model: CharRNN,
    vocabulary: Vocabulary,
    info: dict,
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``folder/checkpoint.safetensors`` (+ ``checkpoint.json``) atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    header = {
        "format": FORMAT,
        "model_config": model.config.to_json(),
        "vocabulary": vocabulary.to_json(),
        **info,
    }
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for key, value in (extra_tensors or {}).items():
        tensors[key] = value.detach().cpu().contiguous()
    path = folder / CHECKPOINT_FILE
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checkpoint.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"charrnn": json.dumps(header, ensure_ascii=False)})
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            raise DiskFullError("the model (its checkpoint)") from error
        raise
    atomic_write_text(folder / CHECKPOINT_JSON, json.dumps(header, indent=2, ensure_ascii=False))
    return path


def read_header(path: Path, max_header_bytes: int = MAX_HEADER_BYTES) -> dict:
    """The JSON header of a checkpoint file, checked to be ours and to describe a model this
    server accepts, with tensors that fit it (all read from the header: nothing is allocated).
    Raises CheckpointError."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(f"No checkpoint found at {path.name}. Train the run first.")
    with open(path, "rb") as handle:
        return read_index(handle, max_header_bytes).meta


def load_checkpoint(
    path: Path,
    device: torch.device | str = "cpu",
    *,
    training_state: bool = True,
    max_header_bytes: int = MAX_HEADER_BYTES,
) -> Checkpoint:
    """Load a checkpoint written by `save_checkpoint`; anything else raises CheckpointError.

    Its header is checked first (`read_index`), so nothing it describes is allocated before
    it is known to fit; ``training_state=False`` reads the model's weights only (no optimizer
    state, RNG, carried state). Running out of memory is a CheckpointError too.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    try:
        with open(path, "rb") as handle:  # one open file: a save meanwhile changes nothing here
            index = read_index(handle, max_header_bytes)
            config = ModelConfig.from_json(index.meta["model_config"])
            vocabulary = Vocabulary.from_json(index.meta["vocabulary"])
            model = _read_weights(handle, index, config)
        rest = _read_training_state(path) if training_state else {}
    except FileNotFoundError:
        raise CheckpointError(f"No checkpoint found at {path.name}. Train the run first.") from None
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"The checkpoint's description is damaged: {error}.") from None
    except MemoryError:
        raise CheckpointError(OUT_OF_MEMORY) from None
    except RuntimeError as error:
        if _out_of_memory(error):
            raise CheckpointError(OUT_OF_MEMORY) from None
        raise
    info = {k: v for k, v in index.meta.items() if k not in ("model_config", "vocabulary")}
    return Checkpoint(model.to(device), vocabulary, info, rest)


@torch.no_grad()
def _read_weights(handle: BinaryIO, index: Header, config: ModelConfig) -> CharRNN:
    """A fresh model whose weights are read from the file straight into place (no copy)."""
    model = CharRNN(config)
    for name, weight in model.state_dict().items():
        begin, end = index.entries[f"model.{name}"]["data_offsets"]  # checked against config
        handle.seek(index.data_start + begin)
        if handle.readinto(memoryview(weight.numpy()).cast("B")) != end - begin:
            raise CheckpointError("The checkpoint file is truncated. Use an earlier copy.")
        if not torch.isfinite(weight).all():
            raise CheckpointError("The checkpoint's weights contain NaN or infinity.")
    return model


def _read_training_state(path: Path) -> dict[str, torch.Tensor]:
    """Everything but the model's weights: optimizer state, training weights, RNG, carry."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            names = [name for name in handle.keys() if not name.startswith("model.")]
            return {name: handle.get_tensor(name).clone() for name in names}
    except (SafetensorError, OSError) as error:
        raise CheckpointError(
            f"The checkpoint file is damaged or truncated ({error}). "
            "Use an earlier copy or train again."
        ) from None


def _out_of_memory(error: RuntimeError) -> bool:
    """Whether torch failed to allocate (it raises RuntimeError, not MemoryError, for that)."""
    text = str(error)
    return "can't allocate memory" in text or "DefaultCPUAllocator" in text


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    """Flatten an optimizer's state into named tensors plus its JSON-able param groups."""
    state = optimizer.state_dict()
    tensors = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            tensors[f"optim.{index}.{key}"] = torch.as_tensor(value)
    return tensors, state["param_groups"]


def restore_optimizer(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], param_groups: list
) -> None:
    """Inverse of `optimizer_tensors`; raises CheckpointError if they do not fit."""
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": param_groups})
    except (ValueError, KeyError, RuntimeError) as error:
        raise CheckpointError(f"The optimizer state does not fit the model ({error}).") from None
