"""A vanilla recurrent network in plain NumPy: the whole algorithm, one short step per function.

A lesson first (karpathy's min-char-rnn with names and batches), and the NumPy training engine.

Reading order: init_params, one_hot, forward, softmax, loss, backward, clip_gradients,
adagrad_update, train_step, sample. The network, for a batch of token sequences:

    h_t = tanh(Wxh x_t + Whh h_(t-1) + bh)     x_t: the token at step t, one-hot
    y_t = Why h_t + by                         the scores (logits) of every next token
    p_t = softmax(y_t)                         the chances of every next token
    loss = mean over steps of -log p_t[target] (cross-entropy; padding never counts)

Rows are sequences, so ``x @ Wxh.T`` is ``Wxh x`` for every sequence of the batch at once.
Gradient clipping uses the global norm (as the PyTorch engine does), not min-char-rnn's
clipping of each number to [-5, 5]. `to_charrnn` and `from_charrnn` convert to and from the
app's `CharRNN`, so a NumPy-trained model is saved, loaded and sampled like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from charrnn.core.tokens import PAD_ID

if TYPE_CHECKING:
    from charrnn.core.model import CharRNN

Params = dict[str, np.ndarray]  # "Wxh", "Whh", "Why", "bh", "by"
NAMES = ("Wxh", "Whh", "Why", "bh", "by")


def init_params(
    vocab_size: int, hidden_size: int, seed: int = 0, dtype: type = np.float32
) -> Params:
    """Small random weights and zero biases (min-char-rnn's start).

    Small weights keep tanh in its steep middle part, where gradients flow well; zero
    biases mean the network starts with no preference for any token.
    """
    rng = np.random.default_rng(seed)

    def weights(rows: int, columns: int) -> np.ndarray:
        return (rng.standard_normal((rows, columns)) * 0.01).astype(dtype)

    return {
        "Wxh": weights(hidden_size, vocab_size),  # input -> hidden
        "Whh": weights(hidden_size, hidden_size),  # hidden -> hidden: the memory
        "Why": weights(vocab_size, hidden_size),  # hidden -> output scores
        "bh": np.zeros(hidden_size, dtype),
        "by": np.zeros(vocab_size, dtype),
    }


def one_hot(ids: np.ndarray, vocab_size: int, dtype: type = np.float32) -> np.ndarray:
    """Token ids as one-hot vectors: a 1 at the token's id, 0 elsewhere (adds a last axis).

    Multiplying a weight matrix by a one-hot vector picks the token's column of weights.
    """
    return np.eye(vocab_size, dtype=dtype)[ids]


@dataclass
class Forward:
    """What the forward pass computed, kept for the backward pass."""

    inputs: np.ndarray  # (batch, time) token ids
    hidden: np.ndarray  # (batch, time + 1, hidden): the given h_0, then h_1 .. h_T
    logits: np.ndarray  # (batch, time, vocab): the scores y_t of every next token


def forward(params: Params, inputs: np.ndarray, h: np.ndarray | None = None) -> Forward:
    """Read ``inputs`` (batch, time) one step at a time, from hidden state ``h`` (or zeros).

    The input part (Wxh x_t + bh) does not depend on the past, so it is computed for every
    step at once; only the memory part (Whh h_(t-1)) has to wait for the previous step.
    """
    Wxh, Whh, Why = params["Wxh"], params["Whh"], params["Why"]
    batch, time = inputs.shape
    from_inputs = one_hot(inputs, Wxh.shape[1], Wxh.dtype) @ Wxh.T + params["bh"]
    hidden = np.zeros((batch, time + 1, Whh.shape[0]), Whh.dtype)
    if h is not None:
        hidden[:, 0] = h
    for t in range(time):
        hidden[:, t + 1] = np.tanh(from_inputs[:, t] + hidden[:, t] @ Whh.T)
    logits = hidden[:, 1:] @ Why.T + params["by"]
    return Forward(inputs, hidden, logits)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Scores -> chances that add up to 1 (the largest score is subtracted first, which
    changes nothing but keeps exp() from overflowing)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def loss(logits: np.ndarray, targets: np.ndarray) -> float:
    """Cross-entropy: the mean of -log(chance given to the right next token), in nats.

    A model that guesses uniformly among V tokens scores log(V); a perfect one scores 0.
    Padding targets (PAD_ID, after the end of a short line) are left out.
    """
    counted = targets != PAD_ID
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_chances = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    right = np.take_along_axis(log_chances, targets[..., None], axis=-1)[..., 0]
    return float(-(right * counted).sum() / max(counted.sum(), 1))


def backward(params: Params, cache: Forward, targets: np.ndarray) -> Params:
    """Backpropagation through time: the gradient of `loss` for every weight.

    At the output the gradient of cross-entropy is simply (chances - 1 at the target).
    Going back in time, each step's hidden state gets gradient from its own output and
    from the next step; tanh lets through (1 - h^2) of it. Each weight adds up what it
    contributed at every step.
    """
    Whh, Why = params["Whh"], params["Why"]
    counted = targets != PAD_ID
    d_logits = softmax(cache.logits)
    sequence, step = np.indices(targets.shape)
    d_logits[sequence, step, targets] -= 1.0
    d_logits *= counted[..., None] / max(counted.sum(), 1)  # the mean over counted tokens

    hidden_after, hidden_before = cache.hidden[:, 1:], cache.hidden[:, :-1]
    d_hidden_from_output = d_logits @ Why
    d_raw = np.empty_like(hidden_after)  # gradient before tanh, at every step
    d_next = np.zeros_like(cache.hidden[:, 0])  # what the step after sends back
    for t in reversed(range(targets.shape[1])):
        d_h = d_hidden_from_output[:, t] + d_next
        d_raw[:, t] = d_h * (1.0 - hidden_after[:, t] ** 2)
        d_next = d_raw[:, t] @ Whh

    inputs = one_hot(cache.inputs, Why.shape[0], Why.dtype)
    return {
        "Wxh": _sum_outer(d_raw, inputs),
        "Whh": _sum_outer(d_raw, hidden_before),
        "Why": _sum_outer(d_logits, hidden_after),
        "bh": d_raw.sum(axis=(0, 1)),
        "by": d_logits.sum(axis=(0, 1)),
    }


def _sum_outer(d_out: np.ndarray, values_in: np.ndarray) -> np.ndarray:
    """Sum over batch and time of outer(d_out, values_in): a weight matrix's gradient."""
    return d_out.reshape(-1, d_out.shape[-1]).T @ values_in.reshape(-1, values_in.shape[-1])


def clip_gradients(grads: Params, max_norm: float) -> float:
    """Shrink all gradients together when their global length exceeds ``max_norm``.

    The direction is kept; a rare huge gradient (exploding through time) becomes a step of
    at most ``max_norm``. Returns the length before clipping. 0 means no clipping.
    """
    norm = float(np.sqrt(sum(float((g * g).sum()) for g in grads.values())))
    if max_norm and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads.values():
            g *= scale
    return norm


def adagrad_update(params: Params, grads: Params, memory: Params, learning_rate: float) -> None:
    """Adagrad: each weight moves against its gradient, divided by the root of the sum of
    its past squared gradients, so often-pushed weights take smaller and smaller steps.

    ``memory`` holds those sums (start: `zeros_like`). Updates in place.
    """
    for name in NAMES:
        memory[name] += grads[name] * grads[name]
        params[name] -= learning_rate * grads[name] / np.sqrt(memory[name] + 1e-8)


def zeros_like(params: Params) -> Params:
    """Arrays of zeros shaped like ``params`` (a fresh Adagrad memory)."""
    return {name: np.zeros_like(value) for name, value in params.items()}


def train_step(
    params: Params,
    memory: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    h: np.ndarray | None,
    learning_rate: float,
    max_norm: float = 5.0,
) -> tuple[float, np.ndarray]:
    """One step of learning: forward, loss, backward, clip, update.

    Returns the loss (before the update) and the last hidden state, which a text stream
    carries into its next window (the gradient stops there: truncated backpropagation).
    """
    cache = forward(params, inputs, h)
    value = loss(cache.logits, targets)
    grads = backward(params, cache, targets)
    clip_gradients(grads, max_norm)
    adagrad_update(params, grads, memory, learning_rate)
    return value, cache.hidden[:, -1].copy()


def sample(
    params: Params,
    start: list[int],
    length: int,
    temperature: float = 1.0,
    seed: int | None = None,
    stop: int | None = None,
) -> list[int]:
    """Write ``length`` token ids after reading ``start``, drawing each from the chances.

    Temperature divides the scores first: below 1 the likely tokens get likelier (safer,
    more repetitive), above 1 the chances even out (more surprising); 0 always takes the
    likeliest. Drawing ``stop`` (an end token) ends early. The same seed, the same sample.
    """
    if not start:
        raise ValueError("sampling starts from at least one token")
    rng = np.random.default_rng(seed)
    cache = forward(params, np.array([start]))
    logits, h = cache.logits[0, -1], cache.hidden[:, -1]
    written: list[int] = []
    for _ in range(length):
        if temperature == 0:
            token = int(logits.argmax())
        else:
            chances = softmax(logits.astype(np.float64) / temperature)
            token = int(rng.choice(len(chances), p=chances))
        written.append(token)
        if token == stop:
            break
        cache = forward(params, np.array([[token]]), h)
        logits, h = cache.logits[0, -1], cache.hidden[:, -1]
    return written


# ----- the app's model: the same network as a CharRNN (cell "rnn", one layer) -------------
def to_charrnn(params: Params, vocab_size: int | None = None) -> CharRNN:
    """The same network as a `CharRNN`, exactly: its embedding is the identity (so it
    passes one-hot vectors through), weight_ih = Wxh, bias_ih = bh, bias_hh = 0, and the
    head is Why, by. It keeps the dtype of ``params``; save it with `save_checkpoint`."""
    import torch

    from charrnn.core.model import CharRNN, ModelConfig

    hidden_size, size = params["Wxh"].shape
    if vocab_size is not None and vocab_size != size:
        raise ValueError(f"these weights are for {size} tokens, not {vocab_size}")
    config = ModelConfig(size, cell="rnn", embedding_size=size, hidden_size=hidden_size, layers=1)
    dtype = torch.float64 if params["Wxh"].dtype == np.float64 else torch.float32
    model = CharRNN(config).to(dtype)
    weights = {
        "embedding.weight": np.eye(size),
        "rnn.weight_ih_l0": params["Wxh"],
        "rnn.weight_hh_l0": params["Whh"],
        "rnn.bias_ih_l0": params["bh"],
        "rnn.bias_hh_l0": np.zeros(hidden_size),
        "head.weight": params["Why"],
        "head.bias": params["by"],
    }
    model.load_state_dict({k: torch.tensor(v, dtype=dtype) for k, v in weights.items()})
    return model


def from_charrnn(model: CharRNN, dtype: type = np.float32) -> Params:
    """The weights of a one-layer "rnn" `CharRNN` as NumPy arrays (inverse of `to_charrnn`).

    Any embedding folds into Wxh (embedding then weight_ih is one matrix on one-hot
    inputs), and the two biases add up; so every such model converts exactly.
    """
    config = model.config
    if config.cell != "rnn" or config.layers != 1:
        raise ValueError("only a one-layer vanilla RNN (cell 'rnn') converts to NumPy")
    weights = {k: v.detach().cpu().double().numpy() for k, v in model.state_dict().items()}
    params = {
        "Wxh": weights["rnn.weight_ih_l0"] @ weights["embedding.weight"].T,
        "Whh": weights["rnn.weight_hh_l0"],
        "Why": weights["head.weight"],
        "bh": weights["rnn.bias_ih_l0"] + weights["rnn.bias_hh_l0"],
        "by": weights["head.bias"],
    }
    return {name: value.astype(dtype) for name, value in params.items()}
