"""Reinforcement-learning updates of a molecule model: REINVENT's loss (the agent's
log-likelihood pulled toward the prior's plus sigma times the score) and hill climbing.

Sequences are token ids ``[BOS] + tokens (+ [EOS])`` as the sampler writes them; their
log-likelihoods are the sampler's (the same tokens banned, the same renormalisation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
from torch import nn

from charrnn.core.batches import pad_batch
from charrnn.core.model import CharRNN
from charrnn.core.tokens import BOS_ID, PAD_ID

LINE_BANNED = (PAD_ID, BOS_ID)  # what the sampler never writes in a line corpus


def _no_dropout_gradients(model: CharRNN):
    """Dropout off (eval mode) while gradients flow; cuDNN's RNN backward needs train mode,
    so on a GPU the RNN runs without cuDNN instead."""
    model.eval()
    if next(model.parameters()).device.type == "cuda":
        return torch.backends.cudnn.flags(enabled=False)
    return contextlib.nullcontext()


def sequence_log_likelihoods(
    model: CharRNN, sequences: Sequence[Sequence[int]], banned: Sequence[int] = LINE_BANNED
) -> torch.Tensor:
    """log p(sequence) under ``model`` for each sequence (teacher forcing, one padded batch):
    the sum over its tokens after the first of log p(token | the tokens before), with the
    ``banned`` tokens left out of each distribution, as the sampler does. Shape (batch,);
    differentiable (wrap in torch.no_grad() for a frozen prior)."""
    device = next(model.parameters()).device
    inputs, targets = (tensor.to(device) for tensor in pad_batch(sequences))
    with _no_dropout_gradients(model):
        logits, _ = model(inputs)
    logits = logits.float()
    if banned:
        ban = torch.zeros(logits.shape[-1], device=device)
        ban[list(banned)] = float("-inf")
        logits = logits + ban
    chosen = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return chosen.masked_fill(targets == PAD_ID, 0.0).sum(1)


def reinvent_loss(
    agent_log_likelihood: torch.Tensor,
    prior_log_likelihood: torch.Tensor,
    scores: torch.Tensor,
    sigma: float,
) -> torch.Tensor:
    """REINVENT's loss (Olivecrona et al. 2017): the augmented log-likelihood
    ``prior + sigma * score`` is the target of the agent's; the loss is the mean squared gap."""
    augmented = prior_log_likelihood + sigma * scores
    return (augmented - agent_log_likelihood).pow(2).mean()


def reinvent_update(
    agent: CharRNN,
    prior: CharRNN,
    optimizer: torch.optim.Optimizer,
    sequences: Sequence[Sequence[int]],
    scores: Sequence[float],
    sigma: float,
    gradient_clip: float = 0.0,
) -> float:
    """One optimizer step of the agent on REINVENT's loss; returns the loss."""
    with torch.no_grad():
        prior_ll = sequence_log_likelihoods(prior, sequences)
    agent_ll = sequence_log_likelihoods(agent, sequences)
    target = torch.as_tensor(scores, dtype=torch.float32, device=agent_ll.device)
    loss = reinvent_loss(agent_ll, prior_ll, target, sigma)
    _step(agent, optimizer, loss, gradient_clip)
    return float(loss.detach())


def likelihood_update(
    model: CharRNN,
    optimizer: torch.optim.Optimizer,
    sequences: Sequence[Sequence[int]],
    gradient_clip: float = 0.0,
) -> float:
    """One optimizer step of plain maximum likelihood on ``sequences`` (hill climbing's
    fine-tuning on the best molecules); returns the mean loss per token."""
    device = next(model.parameters()).device
    inputs, targets = (tensor.to(device) for tensor in pad_batch(sequences))
    with _no_dropout_gradients(model):
        logits, _ = model(inputs)
    loss = nn.functional.cross_entropy(
        logits.float().flatten(0, 1), targets.flatten(), ignore_index=PAD_ID
    )
    _step(model, optimizer, loss, gradient_clip)
    return float(loss.detach())


def _step(
    model: CharRNN, optimizer: torch.optim.Optimizer, loss: torch.Tensor, clip: float
) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
