"""A shipped prior's weights file: a model stored in half precision (float16) to stay small,
read back as float32 for sampling and fine-tuning.

A safetensors file like a checkpoint, but with its own format name and float16 model
weights only. Its header is checked against the server's limits before anything is read,
exactly as an uploaded checkpoint's is; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from charrnn.core.checkpoint_header import CheckpointError, description_check, tensor_problem
from charrnn.core.model import CharRNN, ModelConfig
from charrnn.core.tokens import Vocabulary

PRIOR_FORMAT = "charrnn-prior-1"
PRIOR_DTYPE = "F16"
MAX_PRIOR_HEADER_BYTES = 1024 * 1024


def write_prior(path: Path, model: CharRNN, vocabulary: Vocabulary, info: dict) -> Path:
    """Write ``model``'s weights as float16 with its description to ``path`` (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        **info,
        "format": PRIOR_FORMAT,
        "model_config": model.config.to_json(),
        "vocabulary": vocabulary.to_json(),
    }
    tensors = {
        f"model.{name}": value.detach().cpu().to(torch.float16).contiguous()
        for name, value in model.state_dict().items()
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".prior.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"charrnn": json.dumps(header, ensure_ascii=False)})
        os.chmod(tmp, 0o644)  # a file of the repository, readable by all
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def read_prior(path: Path) -> tuple[CharRNN, Vocabulary, dict]:
    """The float32 model, vocabulary and description of a prior file; CheckpointError if the
    file is not one (its header is checked before any tensor is read)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length <= min(MAX_PRIOR_HEADER_BYTES, size - 8):
                raise CheckpointError(f"{path.name} is not a charrnn prior file.")
            entries = json.loads(handle.read(length))
        meta = json.loads(entries.pop("__metadata__")["charrnn"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{path.name} is not a charrnn prior file ({error}).") from None
    if not isinstance(meta, dict) or meta.get("format") != PRIOR_FORMAT:
        raise CheckpointError(f"{path.name} is not a charrnn prior file.")
    description_check(meta)
    problem = tensor_problem(entries, meta["model_config"], size - 8 - length, PRIOR_DTYPE)
    if problem:
        raise CheckpointError(f"The prior's weights do not fit its description ({problem}).")
    model = CharRNN(ModelConfig.from_json(meta["model_config"]))
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            weights = {
                name: handle.get_tensor(f"model.{name}").float() for name in model.state_dict()
            }
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"The prior file is damaged ({error}).") from None
    if not all(torch.isfinite(weight).all() for weight in weights.values()):
        raise CheckpointError("The prior's weights contain NaN or infinity.")
    model.load_state_dict(weights)
    vocabulary = Vocabulary.from_json(meta["vocabulary"])
    info = {k: v for k, v in meta.items() if k not in ("model_config", "vocabulary", "format")}
    return model, vocabulary, info
