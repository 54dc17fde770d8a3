"""A Trainer's checkpoint: the model and everything needed to continue exactly where it
stopped (optimizer, random states, carried hidden state, data order, averaging).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch

from charrnn.core.averaging import WeightAverage
from charrnn.core.batches import TrainingData
from charrnn.core.checkpoint import (
    CheckpointError,
    load_checkpoint,
    optimizer_tensors,
    restore_optimizer,
)
from charrnn.core.checkpoint import save_checkpoint as write_checkpoint
from charrnn.core.model import CharRNN
from charrnn.core.train_config import TrainConfig, TrainEvent


class TrainingRun(Protocol):
    """What a checkpoint saves of a trainer and sets again on resuming (core/train.py's
    Trainer is one; named here so this module needs nothing from train.py)."""

    # Set again on resuming:
    run_info: dict
    state: Any  # the carried hidden state (text): a tensor, a tuple of them, or None
    step: int
    elapsed: float
    epoch: int
    base_learning_rate: float
    offsets: dict
    epoch_batches: list[list[int]]

    # Only read (properties, so that a subclass such as Adam for the optimizer fits):
    @property
    def data(self) -> TrainingData: ...

    @property
    def config(self) -> TrainConfig: ...

    @property
    def model(self) -> CharRNN: ...

    @property
    def optimizer(self) -> torch.optim.Optimizer: ...

    @property
    def average(self) -> WeightAverage | None: ...

    @property
    def generator(self) -> torch.Generator: ...

    @property
    def device(self) -> torch.device: ...

    @property
    def run_dir(self) -> Path | None: ...

    def averaged(self) -> AbstractContextManager[Any]: ...

    def event(self, kind: str, **values: Any) -> TrainEvent: ...

    def emit(self, event: TrainEvent) -> None: ...


Run = TypeVar("Run", bound=TrainingRun)


def save_training_checkpoint(trainer: TrainingRun) -> None:
    """Write the trainer's checkpoint into its run folder (the averaged model, when averaging,
    with the training weights beside it)."""
    tensors, param_groups = optimizer_tensors(trainer.optimizer)
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.data"] = trainer.generator.get_state()
    if trainer.state is not None:
        parts = trainer.state if isinstance(trainer.state, tuple) else (trainer.state,)
        for index, part in enumerate(parts):
            tensors[f"carry.{index}"] = part
    info = {
        "run": trainer.run_info,
        "average_updates": trainer.average.updates if trainer.average else None,
        "step": trainer.step,
        "elapsed": trainer.elapsed,
        "epoch": trainer.epoch,
        "base_learning_rate": trainer.base_learning_rate,
        "offsets": {str(k): v for k, v in trainer.offsets.items()},
        "epoch_batches": trainer.epoch_batches,
        "optimizer_param_groups": param_groups,
        "train_config": trainer.config.to_json(),
    }
    with trainer.averaged():  # the model saved is the one to use; training weights beside it
        if trainer.average:
            tensors.update(trainer.average.training_tensors())
        write_checkpoint(trainer.run_dir, trainer.model, trainer.data.vocabulary, info, tensors)
    trainer.emit(trainer.event("checkpoint"))


def resume_training(
    cls: Callable[..., Run], run_dir: Path, data: TrainingData, config: TrainConfig | None, **kwargs
) -> Run:
    """A ``cls`` trainer continuing the run in ``run_dir`` exactly where it stopped."""
    checkpoint = load_checkpoint(run_dir)
    info = checkpoint.info
    config = config or TrainConfig.from_json(info["train_config"])
    trainer = cls(
        data, checkpoint.model.config, config, run_dir=run_dir, model=checkpoint.model, **kwargs
    )
    trainer.model.to(trainer.device)
    if trainer.average:
        try:
            trainer.average.restore(checkpoint.tensors, int(info["average_updates"]))
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(
                "This checkpoint has no training weights to go on averaging from."
            ) from None
    restore_optimizer(trainer.optimizer, checkpoint.tensors, info["optimizer_param_groups"])
    trainer.step, trainer.elapsed = int(info["step"]), float(info["elapsed"])
    trainer.epoch, trainer.base_learning_rate = int(info["epoch"]), info["base_learning_rate"]
    trainer.offsets = {int(k): v for k, v in info.get("offsets", {}).items()}
    trainer.epoch_batches = [list(b) for b in info.get("epoch_batches", [])]
    torch.set_rng_state(checkpoint.tensors["rng.torch"])
    trainer.generator.set_state(checkpoint.tensors["rng.data"])
    carried = [checkpoint.tensors[k] for k in sorted(checkpoint.tensors) if k.startswith("carry.")]
    if carried:
        parts = tuple(t.to(trainer.device) for t in carried)
        trainer.state = parts if len(parts) > 1 else parts[0]
    if "run_info" not in kwargs:
        trainer.run_info = dict(info.get("run", {}))
    return trainer
