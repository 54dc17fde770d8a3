"""Weight averaging: an exponential moving average of the weights as they train.

The weights at the end of training wobble with each step's batch; their running average
(Polyak averaging) sits nearer the middle of where they wobble and usually scores a little
better on held-out text. The trainer keeps training its own weights and shows the average
for evaluations, samples and checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class WeightAverage:
    """An exponential moving average of a model's parameters.

    ``decay`` close to 1 averages over about ``1 / (1 - decay)`` steps; early on the average
    follows the weights more closely (``(1 + n) / (10 + n)`` caps the decay after n updates).
    While the average is shown, the training weights wait in ``raw``.
    """

    def __init__(self, model: nn.Module, decay: float, updates: int = 0):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the averaging decay must be between 0 and 1, not {decay!r}")
        self.decay, self.updates = decay, updates
        self.params = list(model.parameters())
        self.average = [p.detach().clone() for p in self.params]
        self.raw: list[torch.Tensor] | None = None

    @torch.no_grad()
    def update(self) -> None:
        """Fold the current training weights into the average (after an optimizer step)."""
        if self.raw is not None:
            raise RuntimeError("the average is shown: hide it before training on")
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.average, [p.detach() for p in self.params], 1.0 - decay)

    @torch.no_grad()
    def show(self) -> None:
        """Put the average into the model (the training weights are kept aside)."""
        if self.raw is None:
            self.raw = [p.detach().clone() for p in self.params]
            for param, average in zip(self.params, self.average, strict=True):
                param.copy_(average)

    @torch.no_grad()
    def hide(self) -> None:
        """Put the training weights back."""
        if self.raw is not None:
            for param, raw in zip(self.params, self.raw, strict=True):
                param.copy_(raw)
            self.raw = None

    @contextmanager
    def shown(self) -> Iterator[list[torch.Tensor]]:
        """The average in the model for the block; yields the training weights."""
        was_shown = self.raw is not None
        self.show()
        try:
            yield self.raw
        finally:
            if not was_shown:
                self.hide()

    def training_tensors(self) -> dict[str, torch.Tensor]:
        """The training weights by name (``raw.0``, ``raw.1``...) for a checkpoint."""
        weights = self.raw if self.raw is not None else [p.detach() for p in self.params]
        return {f"raw.{index}": weight for index, weight in enumerate(weights)}

    @torch.no_grad()
    def restore(self, tensors: dict[str, torch.Tensor], updates: int) -> None:
        """After loading a checkpoint whose model holds the average: the training weights
        from ``training_tensors`` go back into the model, the average stays."""
        if self.raw is not None:
            raise RuntimeError("hide the average before restoring")
        names = [f"raw.{index}" for index in range(len(self.params))]
        if not all(name in tensors for name in names):
            raise KeyError("the checkpoint has no training weights beside the average")
        self.average = [p.detach().clone() for p in self.params]
        for param, name in zip(self.params, names, strict=True):
            if tensors[name].shape != param.shape:
                raise ValueError(f"{name} does not fit the model")
            param.copy_(tensors[name])
        self.updates = updates
