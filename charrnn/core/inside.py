"""What the network does inside: per-step probabilities, losses and hidden states of a text,
and one step's chances and loss written out (the units that follow detectors: hidden_units).

Everything returns plain data (dataclasses, numpy arrays) for the Inside page. A trace's
position t is one step of the model: it reads input token t, its hidden state becomes
``hidden[t]``, and it gives ``probabilities[t]`` for the true next token ``targets[t]``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from charrnn.core.model import CharRNN, ModelConfig
from charrnn.core.next_token import readable_token
from charrnn.core.sample import lean
from charrnn.core.tokens import BOS, BOS_ID, EOS_ID, Vocabulary, tokenize
from charrnn.errors import UserError

MAX_TRACE_TOKENS = 2000  # longer texts are cut (Trace.truncated says so)
TRACE_BYTES = 16 * 1024 * 1024  # what one trace keeps (the web server caches a few): fewer
# positions for models with a large vocabulary or hidden size


class InsideError(UserError, ValueError):
    """A text the Inside page cannot trace; the message says what to change."""


@dataclass(frozen=True, eq=False)
class Trace:
    """The model's steps over one text (arrays have one row per position)."""

    text: str  # the text as given
    pieces: list[str]  # the text of each position's input token ("" for the begin token)
    inputs: list[str]  # readable input token of each position
    targets: list[str]  # readable true next token of each position
    input_ids: np.ndarray  # (positions,)
    target_ids: np.ndarray  # (positions,)
    char_ends: np.ndarray  # index in `text` of each input token's last character; -1: begin
    logits: np.ndarray  # (positions, vocabulary) float32
    probabilities: np.ndarray  # (positions, vocabulary): softmax of the logits
    losses: np.ndarray  # (positions,): -ln p(true next token), the training loss of each step
    hidden: np.ndarray  # (positions, hidden size): hidden output h of layer `layer`
    cells: np.ndarray | None  # LSTM only: its cell state c, same shape; None otherwise
    layer: int  # 0 = the layer next to the embedding
    labels: tuple[str, ...]  # readable label of each vocabulary id
    truncated: bool  # the text was longer than MAX_TRACE_TOKENS and was cut


def token_label(token: str) -> str:
    """A token as shown on the Inside page (the begin token reads "▶ start")."""
    return "▶ start" if token == BOS else readable_token(token)


@contextmanager
def _evaluating(model: nn.Module):
    """Eval mode (no dropout) for the block; the model's own mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _encode(vocabulary: Vocabulary, text: str) -> tuple[list[int], list[str]]:
    """Token ids as the model sees them (begin/end tokens for line corpora) and their text."""
    if vocabulary.line_based and "\n" in text:
        raise InsideError("This model reads one line (one molecule) at a time: give one line.")
    ids = vocabulary.encode(text)  # UnknownCharacterError names what the model never saw
    pieces = tokenize(text, vocabulary.tokenizer)
    if vocabulary.line_based:
        return [BOS_ID, *ids, EOS_ID], ["", *pieces, ""]
    if len(ids) < 2:
        raise InsideError("Give at least two characters: the model predicts each next one.")
    return ids, pieces


def _layer_module(rnn: nn.RNNBase, index: int) -> nn.RNNBase:
    """Layer ``index`` of a stacked nn.RNN / GRU / LSTM as a one-layer module (copied weights).

    The stacked module returns every position only for its last layer, so each layer is
    run on its own; built on the meta device so that no random initialisation happens.
    """
    options = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
    size = rnn.input_size if index == 0 else rnn.hidden_size
    single = type(rnn)(
        size, rnn.hidden_size, bias=rnn.bias, batch_first=True, device="meta", **options
    )
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if rnn.bias else [])
    weights = {f"{n}_l0": getattr(rnn, f"{n}_l{index}").detach().clone() for n in names}
    single.load_state_dict(weights, assign=True)
    single.flatten_parameters()
    return single


def _lstm_cells(lstm: nn.LSTM, inputs: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """An LSTM layer's cell state c at every position (nn.LSTM returns only the last one),
    recomputed from its gates and the hidden outputs h it already gave: (time, hidden)."""
    previous = torch.cat([torch.zeros_like(hidden[:1]), hidden[:-1]])
    gates = inputs @ lstm.weight_ih_l0.T + previous @ lstm.weight_hh_l0.T
    if lstm.bias:
        gates = gates + lstm.bias_ih_l0 + lstm.bias_hh_l0
    input_gate, forget_gate, candidate, _ = gates.float().cpu().chunk(4, dim=-1)  # i, f, g, o
    keep, write = forget_gate.sigmoid(), input_gate.sigmoid() * candidate.tanh()
    cells, cell = [], torch.zeros_like(keep[0])
    for t in range(len(keep)):
        cell = keep[t] * cell + write[t]
        cells.append(cell)
    return torch.stack(cells)


def _run_layers(
    model: CharRNN, ids: torch.Tensor, layer: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Logits (time, vocab) and the hidden states h (and LSTM cells c) of ``layer``."""
    outputs = model.embedding(ids[None])
    for index in range(model.config.layers):
        single = _layer_module(model.rnn, index)
        layer_inputs = outputs  # no dropout between layers: the model is in eval mode
        outputs, _ = single(layer_inputs)
        if index == layer:
            hidden = outputs[0]
            is_lstm = isinstance(single, nn.LSTM)
            cells = _lstm_cells(single, layer_inputs[0], hidden) if is_lstm else None
    return model.head(outputs[0]).float(), hidden.float(), cells


@lean
def trace(model: CharRNN, vocabulary: Vocabulary, text: str, layer: int = -1) -> Trace:
    """Run the model over ``text`` (eval mode, no gradients, float32, on its device).

    Line corpora (SMILES) are read as the model learned them: begin token, the line, then
    the end token is the last target. Plain text: position t reads character t and predicts
    t + 1 (the first character is never predicted, the last never read). ``layer`` picks
    whose hidden states are kept (-1: the last); UnknownCharacterError for characters the
    model never saw; texts over trace_positions() steps are cut and flagged ``truncated``.
    """
    if not -model.config.layers <= layer < model.config.layers:
        raise InsideError(f"layer must be between 0 and {model.config.layers - 1}")
    layer %= model.config.layers
    ids, pieces = _encode(vocabulary, text)
    positions = min(len(ids) - 1, trace_positions(model.config))
    device = next(model.parameters()).device
    inputs = torch.tensor(ids[:positions], device=device)
    targets = torch.tensor(ids[1 : positions + 1], device=device)
    with torch.no_grad(), _evaluating(model), torch.autocast(device.type, enabled=False):
        logits, hidden, cells = _run_layers(model, inputs, layer)
        losses = nn.functional.cross_entropy(logits, targets, reduction="none")
    ends = np.cumsum([len(piece) for piece in pieces]) - 1
    ends[[piece == "" for piece in pieces]] = -1
    labels = tuple(token_label(token) for token in vocabulary.tokens)
    return Trace(
        text=text,
        pieces=pieces[:positions],
        inputs=[labels[i] for i in ids[:positions]],
        targets=[labels[i] for i in ids[1 : positions + 1]],
        input_ids=inputs.cpu().numpy(),
        target_ids=targets.cpu().numpy(),
        char_ends=ends[:positions],
        logits=logits.cpu().numpy(),
        probabilities=logits.softmax(-1).cpu().numpy(),
        losses=losses.cpu().numpy(),
        hidden=hidden.cpu().numpy(),
        cells=None if cells is None else cells.numpy(),
        layer=layer,
        labels=labels,
        truncated=len(ids) - 1 > positions,
    )


def trace_positions(config: ModelConfig) -> int:
    """The most positions a trace of this model keeps within TRACE_BYTES (float32 logits and
    chances over the vocabulary, hidden and cell states), at most MAX_TRACE_TOKENS."""
    per_position = 4 * (2 * config.vocab_size + 2 * config.hidden_size)
    return max(1, min(MAX_TRACE_TOKENS, TRACE_BYTES // per_position))


@dataclass(frozen=True)
class StepView:
    """One step of a trace: what the model expected and what it cost."""

    position: int
    input: str  # the token just read (readable)
    target: str  # the true next token (readable)
    top: list[tuple[str, float]]  # (readable token, probability), likeliest first
    target_probability: float  # p of the true next token
    target_rank: int  # 1 = the model's first choice
    loss: float  # -ln p, the loss of this step
    worked_example: dict  # the loss formula with the model's own numbers (and "text")


def step_view(trace: Trace, position: int, top: int = 10) -> StepView:
    """The ``top`` likeliest next tokens at ``position`` and the loss of the true one."""
    if not -len(trace.losses) <= position < len(trace.losses):
        raise InsideError(f"position must be between 0 and {len(trace.losses) - 1}")
    position %= len(trace.losses)
    probabilities = trace.probabilities[position]
    target = int(trace.target_ids[position])
    order = np.argsort(-probabilities, kind="stable")[: max(top, 0)]
    return StepView(
        position=position,
        input=trace.inputs[position],
        target=trace.targets[position],
        top=[(trace.labels[i], float(probabilities[i])) for i in order],
        target_probability=float(probabilities[target]),
        target_rank=1 + int((probabilities > probabilities[target]).sum()),
        loss=float(trace.losses[position]),
        worked_example=_worked_example(trace, position),
    )


def _worked_example(trace: Trace, position: int) -> dict:
    """Cross-entropy of one step, written out: softmax of the logits, then -ln p."""
    logits = trace.logits[position].astype(np.float64)
    target = int(trace.target_ids[position])
    log_sum_exp = float(np.logaddexp.reduce(logits))
    logit = float(logits[target])
    probability, loss = float(np.exp(logit - log_sum_exp)), log_sum_exp - logit
    steps = position + 1
    mean_loss = float(trace.losses[:steps].astype(np.float64).mean())
    label = trace.targets[position]
    text = (
        f"The model scores every possible next token; the true one, {label!r}, gets the "
        f"logit z = {logit:.3f}.\n"
        f"Softmax turns scores into chances: p = e^z / Σ e^(z_j) = e^({logit:.3f} − "
        f"{log_sum_exp:.3f}) = {probability:.4f}  (ln Σ e^(z_j) = {log_sum_exp:.3f} "
        f"over {len(logits)} tokens).\n"
        f"The loss of this step is −ln p = −ln {probability:.4f} = {loss:.4f}.\n"
        f"The mean loss over the first {steps} step{'s' * (steps > 1)} is {mean_loss:.4f}."
    )
    return {
        "target": label,
        "logit": logit,
        "log_sum_exp": log_sum_exp,
        "probability": probability,
        "loss": loss,
        "steps_so_far": steps,
        "mean_loss_so_far": mean_loss,
        "text": text,
    }


@dataclass(frozen=True, eq=False)
class LossCurve:
    losses: np.ndarray  # -ln p of the true next token, per position
    running_mean: np.ndarray  # the mean loss over positions 0..t
    mean: float  # the mean loss over the whole text (what training reports)


def loss_curve(trace: Trace) -> LossCurve:
    """The loss of every step and its running mean."""
    losses = trace.losses.astype(np.float64)
    running_mean = np.cumsum(losses) / np.arange(1, len(losses) + 1)
    return LossCurve(losses, running_mean, float(running_mean[-1]))
