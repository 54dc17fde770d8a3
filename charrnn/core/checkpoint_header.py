"""A checkpoint's header, read and checked before any tensor is: no torch, nothing allocated.

The safetensors header lists every tensor's dtype, shape and byte range; ours also holds the
model's description. Both are checked against the server's limits and against each other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from charrnn.errors import UserError
from charrnn.limits import GATES, MAX_VOCABULARY, model_problem

FORMAT = "charrnn-checkpoint-1"
MAX_CHECKPOINT_BYTES = 2 * 1024**3
CHECKPOINT_FILE = "checkpoint.safetensors"  # in a run folder: the saved model
MAX_HEADER_BYTES = 100 * 1024 * 1024  # a checkpoint this server wrote (long epoch lists)
MAX_UPLOAD_HEADER_BYTES = 8 * 1024 * 1024  # an uploaded one: parsing costs up to ~10x
MAX_TOKEN_CHARS = 32  # the longest token a tokenizer makes is a bracket atom of 18
EXTRA_SLACK_BYTES = 16 * 1024 * 1024  # RNG states and a carried hidden state
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}
MODEL_DTYPE = "F32"
SIZE_FIELDS = ("vocab_size", "embedding_size", "hidden_size", "layers")
# Header fields only a resumed run reads; an uploaded run is never resumed.
RESUME_ONLY = ("optimizer_param_groups", "epoch_batches", "offsets", "average_updates")
COPY_CHUNK = 1024 * 1024


class CheckpointError(UserError, ValueError):
    """A file is not a checkpoint this app can load; the message says why and what to do."""


@dataclass(frozen=True)
class Header:
    """A checked header: our description, the tensors' entries, where their bytes start."""

    meta: dict  # format, model_config, vocabulary, step, ...
    entries: dict[str, dict]  # name -> {"dtype", "shape", "data_offsets"} (checked)
    data_start: int  # offsets are counted from here


def read_index(handle: BinaryIO, max_header_bytes: int = MAX_HEADER_BYTES) -> Header:
    """Read the header of the open checkpoint ``handle`` and check all of it: our format, the
    description against the server's limits, and every tensor against the description.
    """
    size = os.fstat(handle.fileno()).st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"The checkpoint is {size / 1e9:.1f} GB, larger than the 2 GB a charrnn model can be."
        )
    handle.seek(0)
    start = handle.read(8)
    if len(start) < 8:
        raise CheckpointError("The checkpoint file is truncated or empty.")
    length = int.from_bytes(start, "little")
    if length <= 0 or length > size - 8:
        raise CheckpointError(_not_ours(start))
    if length > max_header_bytes:
        raise CheckpointError(
            f"The checkpoint's description takes {length / 1e6:.0f} MB; at most "
            f"{max_header_bytes / 1e6:.0f} MB is accepted. Upload a model downloaded from charrnn."
        )
    try:
        header = json.loads(handle.read(length))
        meta = json.loads(header.pop("__metadata__")["charrnn"])
    except (ValueError, RecursionError):  # RecursionError: a description nested too deeply
        raise CheckpointError(_not_ours(start)) from None
    except (KeyError, TypeError, AttributeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError("This safetensors file was not written by charrnn.")
    description_check(meta)
    problem = tensor_problem(header, meta["model_config"], size - 8 - length)
    if problem:
        raise CheckpointError(
            f"The checkpoint's weights do not fit its model description ({problem}). "
            "Use the model file exactly as charrnn saved it (or as Download gave it)."
        )
    return Header(meta, header, 8 + length)


def write_model_only(
    source: BinaryIO, out: BinaryIO, max_header_bytes: int = MAX_HEADER_BYTES
) -> dict:
    """Write the checkpoint ``source`` to ``out`` with the model's weights only (no optimizer
    state, training weights, RNG or carried state) and without the resume-only fields; the
    bytes are copied a megabyte at a time. Returns the description written."""
    index = read_index(source, max_header_bytes)
    meta = {key: value for key, value in index.meta.items() if key not in RESUME_ONLY}
    entries = index.entries
    names = [name for name in entries if name.startswith("model.")]
    names.sort(key=lambda name: entries[name]["data_offsets"][0])
    header: dict = {"__metadata__": {"charrnn": json.dumps(meta, ensure_ascii=False)}}
    offset = 0
    for name in names:
        begin, end = entries[name]["data_offsets"]
        dtype, shape = entries[name]["dtype"], entries[name]["shape"]
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [offset, offset + end - begin],
        }
        offset += end - begin
    raw = json.dumps(header, ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    out.write(len(raw).to_bytes(8, "little") + raw)
    for name in names:
        begin, end = entries[name]["data_offsets"]
        source.seek(index.data_start + begin)
        left = end - begin
        while left:
            chunk = source.read(min(left, COPY_CHUNK))
            if not chunk:
                raise CheckpointError("The checkpoint file is truncated. Use an earlier copy.")
            out.write(chunk)
            left -= len(chunk)
    return meta


def _not_ours(start: bytes) -> str:
    if start[:1] == b"\x80" or start[:2] == b"PK":
        return (
            "This file is a Python pickle or a zip (such as a torch.save file), not a charrnn "
            "checkpoint. For safety the app never opens pickles: export the model from charrnn."
        )
    return "This is not a charrnn checkpoint (it is not a valid safetensors file)."


def description_check(meta: Mapping) -> None:
    """The model description and vocabulary in ``meta``, checked; CheckpointError if not."""
    description, vocabulary = meta.get("model_config"), meta.get("vocabulary")
    if not isinstance(description, dict) or not isinstance(vocabulary, dict):
        raise CheckpointError("The checkpoint's description is damaged: a part is missing.")
    sizes = [description.get(name) for name in SIZE_FIELDS]
    if not all(_whole(size) and size > 0 for size in sizes):
        raise CheckpointError(
            "The checkpoint's description is damaged: a size is not a positive whole number."
        )
    if description.get("cell") not in GATES:
        raise CheckpointError(
            f"The checkpoint's description is damaged: cell must be one of {', '.join(GATES)}."
        )
    problem = model_problem(description)
    if problem:
        raise CheckpointError(
            f"This model is larger than this server accepts: {problem}. Use a smaller model, "
            "or train one here."
        )
    tokens = vocabulary.get("tokens")
    if not isinstance(tokens, list) or len(tokens) > MAX_VOCABULARY:
        raise CheckpointError(
            f"The checkpoint's vocabulary is damaged or has more than {MAX_VOCABULARY:,} tokens."
        )
    if not all(isinstance(token, str) and len(token) <= MAX_TOKEN_CHARS for token in tokens):
        raise CheckpointError(
            f"The checkpoint's vocabulary is damaged: a token is not text of at most "
            f"{MAX_TOKEN_CHARS} characters."
        )
    if len(tokens) != description["vocab_size"]:
        raise CheckpointError("The checkpoint's vocabulary does not match its model size.")


def model_shapes(description: Mapping) -> dict[str, tuple[int, ...]]:
    """Every weight of a CharRNN of this (checked) description: name -> shape, as saved."""
    vocab, embedding = description["vocab_size"], description["embedding_size"]
    hidden, gates = description["hidden_size"], GATES[description["cell"]]
    shapes = {"model.embedding.weight": (vocab, embedding)}
    for layer in range(description["layers"]):
        inputs = embedding if layer == 0 else hidden
        shapes[f"model.rnn.weight_ih_l{layer}"] = (gates * hidden, inputs)
        shapes[f"model.rnn.weight_hh_l{layer}"] = (gates * hidden, hidden)
        shapes[f"model.rnn.bias_ih_l{layer}"] = (gates * hidden,)
        shapes[f"model.rnn.bias_hh_l{layer}"] = (gates * hidden,)
    shapes["model.head.weight"] = (vocab, hidden)
    shapes["model.head.bias"] = (vocab,)
    return shapes


def tensor_problem(
    entries: Mapping, description: Mapping, data_length: int, model_dtype: str = MODEL_DTYPE
) -> str | None:
    """Why the tensors listed in a header do not fit the (checked) description, or None.

    Model weights must have exactly the described names, shapes and dtype (``model_dtype``:
    float32 in a checkpoint, float16 in a shipped prior); anything else
    (optimizer state, training weights, RNG, a carried state) is bounded by a few times the
    model's size. Every byte range must lie inside the file and match its dtype and shape.
    """
    expected = model_shapes(description)
    if len(entries) > 5 * len(expected) + 16:
        return "it holds far more tensors than a model of this size has"
    model_bytes = sum(_elements(shape) for shape in expected.values()) * DTYPE_BYTES[model_dtype]
    extra_bytes, extra_count = 0, 0
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            return f"{str(name)[:40]!r} is not a tensor"
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        label = str(name)[:40]
        if dtype not in DTYPE_BYTES:
            return f"{label} has an unknown number type"
        if not isinstance(shape, list) or len(shape) > 8 or not all(map(_whole, shape)):
            return f"{label} has no proper shape"
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_whole, offsets))):
            return f"{label} has no proper place in the file"
        nbytes = _elements(shape) * DTYPE_BYTES[dtype]
        if offsets[0] > offsets[1] or offsets[1] > data_length:
            return f"{label} lies past the end of the file (is it truncated?)"
        if offsets[1] - offsets[0] != nbytes:
            return f"{label}'s bytes do not match its shape"
        if name in expected:
            if tuple(shape) != expected[name]:
                return f"{label} is {_size(shape)}; the description needs {_size(expected[name])}"
            if dtype != model_dtype:
                return f"{label} holds {dtype} numbers, not {model_dtype}"
        else:
            extra_count += 1
            extra_bytes += nbytes
    missing = [name for name in expected if name not in entries]
    if missing:
        return f"{missing[0]} is missing"
    if extra_count > 4 * len(expected) + 16 or extra_bytes > 4 * model_bytes + EXTRA_SLACK_BYTES:
        return "it holds far more training state than a model of this size has"
    return None


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _elements(shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _size(shape) -> str:
    return " x ".join(f"{size:,}" for size in shape) or "a single number"
