"""Checkpoints: weights and optimizer state in safetensors, config + vocabulary + step in JSON.

Nothing is ever unpickled. The JSON lives inside the safetensors header (so one atomic rename
writes a consistent checkpoint) and beside it as `checkpoint.json` for people and tools.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from charrnn.model import CharRNN, ModelConfig
from charrnn.tokens import Vocabulary

CHECKPOINT_FILE = "checkpoint.safetensors"
CHECKPOINT_JSON = "checkpoint.json"
FORMAT = "charrnn-checkpoint-1"
MAX_CHECKPOINT_BYTES = 2 * 1024**3


class CheckpointError(ValueError):
    """A file is not a checkpoint this app can load; the message says why and what to do."""


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)  # no space left; disk quota used up


class DiskFullError(OSError):
    """The server's disk is full: a file could not be written and its previous copy is kept.

    An OSError (errno ENOSPC) whose message is for people: ``str(error)`` is that message.
    """

    def __init__(self, what: str = "a file"):
        super().__init__(
            errno.ENOSPC,
            f"The server's disk is full: {what} could not be saved (the copy saved before "
            "is kept). Ask the person who runs the server to free some space, then try "
            "again; a run continues from its last checkpoint.",
        )

    def __str__(self) -> str:
        return self.strerror


def is_disk_full(error: BaseException) -> bool:
    """Whether an error means the disk (or the user's disk quota) is full."""
    if isinstance(error, OSError):
        return error.errno in DISK_FULL_ERRNOS
    # safetensors reports a failed write as SafetensorError("... (os error 28)").
    text = str(error) if isinstance(error, SafetensorError) else ""
    return any(f"(os error {number})" in text for number in DISK_FULL_ERRNOS)


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


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file so that readers see the old or the new content, never half.

    A full disk raises DiskFullError (the old content is kept, no temporary file is left).
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never half."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            raise DiskFullError(f"the file {path.name}") from error
        raise


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


def read_header(path: Path) -> dict:
    """The JSON header of a checkpoint file, checked to be ours; raises CheckpointError."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(f"No checkpoint found at {path.name}. Train the run first.")
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"The checkpoint is {size / 1e9:.1f} GB, larger than the 2 GB a charrnn model can be."
        )
    with open(path, "rb") as handle:
        start = handle.read(8)
        if len(start) < 8:
            raise CheckpointError("The checkpoint file is truncated or empty.")
        length = int.from_bytes(start, "little")
        if length <= 0 or length > min(size - 8, 100 * 1024 * 1024):
            raise CheckpointError(_not_ours(start))
        try:
            header = json.loads(handle.read(length))
        except ValueError:
            raise CheckpointError(_not_ours(start)) from None
    try:  # a valid safetensors file, but is it ours?
        meta = json.loads(header["__metadata__"]["charrnn"])
    except (ValueError, KeyError, TypeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError("This safetensors file was not written by charrnn.")
    return meta


def _not_ours(start: bytes) -> str:
    if start[:1] == b"\x80" or start[:2] == b"PK":
        return (
            "This file is a Python pickle or a zip (such as a torch.save file), not a charrnn "
            "checkpoint. For safety the app never opens pickles: export the model from charrnn."
        )
    return "This is not a charrnn checkpoint (it is not a valid safetensors file)."


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Load a checkpoint written by `save_checkpoint`; anything else raises CheckpointError."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    header = read_header(path)
    try:
        config = ModelConfig.from_json(header["model_config"])
        vocabulary = Vocabulary.from_json(header["vocabulary"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"The checkpoint's description is damaged: {error}.") from None
    if vocabulary.size != config.vocab_size:
        raise CheckpointError("The checkpoint's vocabulary does not match its model size.")
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, RuntimeError) as error:
        raise CheckpointError(
            f"The checkpoint file is damaged or truncated ({error}). "
            "Use an earlier copy or train again."
        ) from None
    model = CharRNN(config)
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise CheckpointError(
            f"The checkpoint's weights do not fit its model description ({first})."
        ) from None
    if not all(torch.isfinite(w).all() for w in weights.values()):
        raise CheckpointError("The checkpoint's weights contain NaN or infinity.")
    info = {k: v for k, v in header.items() if k not in ("model_config", "vocabulary")}
    rest = {k: v for k, v in tensors.items() if not k.startswith("model.")}
    return Checkpoint(model.to(device), vocabulary, info, rest)


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
