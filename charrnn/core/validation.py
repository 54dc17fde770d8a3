"""The validation loss: mean loss per token of a model on a corpus's held-out part.

The trainer's evaluations and `python -m charrnn evaluate` both use it.
"""

from __future__ import annotations

import torch
from torch import nn

from charrnn.core.batches import TrainingData, line_validation_batches, text_validation_windows
from charrnn.core.model import CharRNN
from charrnn.core.tokens import PAD_ID


@torch.inference_mode()
def validation_loss(
    model: CharRNN,
    data: TrainingData,
    *,
    max_tokens: int | None = None,
    sequence_length: int = 64,
    bfloat16: bool = False,
) -> float | None:
    """Mean loss per token on ``data.validation`` (nats/token); None when it is empty.

    Text is read as 32 parallel streams with the state carried along; lines are scored
    whole. ``max_tokens`` caps the work for evaluations during training.
    """
    if len(data.validation) == 0:
        return None
    model.eval()
    device = next(model.parameters()).device
    if data.line_based:
        mean_length = max(1, data.train_tokens // max(1, len(data.train)))
        max_lines = max(1, max_tokens // mean_length) if max_tokens else None
        batches = (
            (inputs, targets, True)
            for inputs, targets in line_validation_batches(data.validation, 256, max_lines)
        )
    else:
        batches = text_validation_windows(data.validation, 32, sequence_length, max_tokens)
    total, count, state = 0.0, 0, None
    for inputs, targets, fresh in batches:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bfloat16):
            logits, state = model(inputs.to(device), None if fresh else state)
        targets = targets.to(device)
        total += float(
            nn.functional.cross_entropy(
                logits.float().flatten(0, 1),
                targets.flatten(),
                ignore_index=PAD_ID,
                reduction="sum",
            )
        )
        count += int((targets != PAD_ID).sum())
    return total / count if count else None
