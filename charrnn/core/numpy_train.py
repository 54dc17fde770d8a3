"""The NumPy engine: trains `numpy_rnn`'s vanilla RNN in a run, exactly as `Trainer` would.

It is a `Trainer` whose step (NumPy, Adagrad), model and checkpoint differ; the loop, the
learning-rate schedule, the batches, validation, previews, events and control messages are
Trainer's own. `engine_speeds` times the same network's training steps in NumPy and PyTorch.

The NumPy engine is for tiny models: it always trains a one-layer vanilla RNN ("rnn" cell,
one-hot input) of the configured hidden size; the configured cell, layers, embedding size
and dropout are replaced (see `numpy_model_config`). Its float32 weights are saved as a
normal CharRNN checkpoint, with the Adagrad memory, so a NumPy run resumes exactly.
Adagrad wants a larger learning rate than Adam: about 0.1 (`ADAGRAD_LEARNING_RATE`).
NumPy's matrix products use as many threads as torch is told to (`use_blas_threads`).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from charrnn.core.batches import TextStreams, TrainingData
from charrnn.core.checkpoint import load_checkpoint
from charrnn.core.checkpoint import save_checkpoint as write_checkpoint
from charrnn.core.model import CharRNN, ModelConfig
from charrnn.core.numpy_rnn import (
    NAMES,
    from_charrnn,
    init_params,
    to_charrnn,
    train_step,
    zeros_like,
)
from charrnn.core.tokens import PAD_ID
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig

ADAGRAD_LEARNING_RATE = 0.1  # min-char-rnn's; a good start for NumPy runs
POSITION = ("step", "elapsed", "epoch", "base_learning_rate", "offsets", "epoch_batches")


def numpy_model_config(model_config: ModelConfig, vocab_size: int) -> ModelConfig:
    """The model the NumPy engine trains for ``model_config``: a one-layer vanilla RNN of
    the same hidden size, whose embedding is the identity (one-hot input), no dropout."""
    return ModelConfig(
        vocab_size,
        cell="rnn",
        embedding_size=vocab_size,
        hidden_size=model_config.hidden_size,
        layers=1,
    )


def use_blas_threads(count: int) -> bool:
    """Let NumPy's matrix products use at most ``count`` threads; False where NumPy's
    OpenBLAS is not the bundled one (then it is left as it is).

    On a busy machine threaded products of small matrices are many times slower than one
    thread (the threads wait for each other's cores), so workers keep to their share.
    """
    libraries = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libraries.glob("*openblas*")):
        library = ctypes.CDLL(str(path))  # the copy NumPy has loaded already
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads"):
            if hasattr(library, name):
                getattr(library, name)(ctypes.c_int(max(1, count)))
                return True
    return False


class NumpyTrainer(Trainer):
    """A Trainer that learns with `numpy_rnn.train_step`; `run()` trains until done.

    Takes Trainer's arguments (``device`` is ignored: NumPy runs on the CPU). ``model``, a
    one-layer "rnn" CharRNN, is a start to continue from; ``dtype`` is float32 or float64.
    """

    def __init__(
        self,
        data: TrainingData,
        model_config: ModelConfig,
        config: TrainConfig,
        *,
        model: CharRNN | None = None,
        device: torch.device | str | None = None,
        dtype: type = np.float32,
        **hooks,
    ):
        self.dtype = dtype
        if model is None:
            config_used = numpy_model_config(model_config, data.vocabulary.size)
            start = init_params(config_used.vocab_size, config_used.hidden_size, config.seed)
            model = to_charrnn(start)
        super().__init__(data, model.config, config, model=model, device="cpu", **hooks)
        use_blas_threads(torch.get_num_threads())  # the worker's share of the cores
        self.optimizer = None  # the Adagrad memory below takes its place
        self.average = None  # no weight averaging: the lesson keeps to min-char-rnn's steps
        self.memory = zeros_like(self.params)
        self.bfloat16 = False  # validation in float32, like the training

    @property
    def model(self) -> CharRNN:
        """The network as a CharRNN, converted from the NumPy weights when asked for."""
        return to_charrnn(self.params)

    @model.setter
    def model(self, model: CharRNN) -> None:
        self.params = from_charrnn(model, self.dtype)

    def train_step(self) -> tuple[float, int]:
        """One Adagrad step in NumPy; returns (mean loss, tokens scored)."""
        inputs, targets = (t.numpy() for t in self.next_batch())
        loss, last = train_step(
            self.params,
            self.memory,
            inputs,
            targets,
            self.state,
            self.learning_rate(),
            self.config.gradient_clip,
        )
        if not self.data.line_based:
            self.state = last  # carried into the next window of the same streams
        self.step += 1
        return loss, int((targets != PAD_ID).sum())

    def save_checkpoint(self) -> None:
        """The converted CharRNN, the Adagrad memory, the data order and the carried state."""
        if not self.run_dir:
            return
        tensors = {f"adagrad.{name}": torch.from_numpy(self.memory[name]) for name in NAMES}
        tensors["rng.data"] = self.generator.get_state()
        if self.state is not None:
            tensors["carry.0"] = torch.from_numpy(self.state[None])  # (layers, batch, hidden)
        info = {name: getattr(self, name) for name in POSITION}
        info.update(engine="numpy", run=self.run_info, train_config=self.config.to_json())
        write_checkpoint(self.run_dir, self.model.float(), self.data.vocabulary, info, tensors)
        self.emit(self.event("checkpoint"))

    @classmethod
    def resume(
        cls, run_dir: Path, data: TrainingData, config: TrainConfig | None = None, **kwargs
    ) -> NumpyTrainer:
        """Continue a run from its checkpoint where it stopped. A checkpoint without Adagrad
        memory (a one-layer "rnn" run of the PyTorch engine) continues with a fresh one."""
        checkpoint = load_checkpoint(run_dir)
        info, tensors = checkpoint.info, checkpoint.tensors
        config = config or TrainConfig.from_json(info["train_config"])
        model = checkpoint.model
        trainer = cls(data, model.config, config, run_dir=run_dir, model=model, **kwargs)
        for name in POSITION:
            setattr(trainer, name, info[name])
        trainer.offsets = {int(k): v for k, v in trainer.offsets.items()}
        trainer.epoch_batches = [list(b) for b in trainer.epoch_batches]
        if all(f"adagrad.{name}" in tensors for name in NAMES):
            trainer.memory = {
                n: tensors[f"adagrad.{n}"].numpy().astype(trainer.dtype) for n in NAMES
            }
        trainer.generator.set_state(tensors["rng.data"])
        if "carry.0" in tensors:
            trainer.state = tensors["carry.0"][0].numpy().astype(trainer.dtype)
        if "run_info" not in kwargs:
            trainer.run_info = dict(info.get("run", {}))
        return trainer


# ----- how fast: the same network's training steps in NumPy and in PyTorch ---------------
def engine_speeds(
    data: TrainingData | Sequence[int] | np.ndarray | torch.Tensor,
    vocab_size: int,
    hidden_size: int,
    seconds: float = 2.0,
    *,
    sequence_length: int = 64,
    batch_size: int = 1,
    learning_rate: float = ADAGRAD_LEARNING_RATE,
) -> dict:
    """Characters per second that each engine trains the same vanilla RNN on ``data``.

    Both start from the same weights, read the same windows (the state carried along) and
    do the same work per step: forward, cross-entropy, backpropagation through time,
    global-norm clipping at 5 and an Adagrad update (PyTorch's embedding, the identity, is
    frozen). Each runs for ``seconds`` after one warm-up step, both with torch's current
    number of threads. Lines are joined into one stream.
    """
    use_blas_threads(torch.get_num_threads())
    streams = TextStreams(_token_stream(data), batch_size, sequence_length)
    params = init_params(vocab_size, hidden_size)
    numpy_speed = _characters_per_second(_numpy_step(params, learning_rate), streams, seconds)
    torch_speed = _characters_per_second(_torch_step(params, learning_rate), streams, seconds)
    return {
        "numpy": numpy_speed,
        "torch": torch_speed,
        "hidden_size": hidden_size,
        "sequence_length": streams.sequence_length,
        "batch_size": streams.batch_size,
        "torch_threads": torch.get_num_threads(),
    }


def _token_stream(data) -> torch.Tensor:
    if isinstance(data, TrainingData):
        if not data.line_based:
            return data.train
        return torch.tensor([i for line in data.train for i in line], dtype=torch.long)
    return torch.as_tensor(np.asarray(data), dtype=torch.long)


def _characters_per_second(step, streams: TextStreams, seconds: float) -> float:
    """Run ``step(inputs, targets, fresh)`` on successive windows for ``seconds``."""
    generator, offsets = torch.Generator().manual_seed(0), {}
    inputs, targets, fresh = streams.window(0, generator, offsets)
    step(inputs, targets, fresh)  # warm-up: first calls allocate and load kernels
    count, characters, started = 1, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or not characters:
        inputs, targets, fresh = streams.window(count, generator, offsets)
        step(inputs, targets, fresh)
        count, characters = count + 1, characters + inputs.numel()
    return characters / elapsed


def _numpy_step(params: dict, learning_rate: float):
    memory, carried = zeros_like(params), {"h": None}

    def step(inputs: torch.Tensor, targets: torch.Tensor, fresh: bool) -> None:
        h = None if fresh else carried["h"]
        _, carried["h"] = train_step(
            params, memory, inputs.numpy(), targets.numpy(), h, learning_rate
        )

    return step


def _torch_step(params: dict, learning_rate: float):
    model = to_charrnn(params)
    model.embedding.weight.requires_grad_(False)
    weights = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adagrad(weights, lr=learning_rate)
    carried = {"h": None}

    def step(inputs: torch.Tensor, targets: torch.Tensor, fresh: bool) -> None:
        logits, state = model(inputs, None if fresh else carried["h"])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(weights, 5.0)
        optimizer.step()
        carried["h"] = state.detach()

    return step
