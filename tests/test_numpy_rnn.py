"""Tests for charrnn.core.numpy_rnn: the NumPy vanilla RNN computes what PyTorch computes.

Gradients match autograd's and finite differences, the loss falls on a toy corpus, sampling
is reproducible, and the CharRNN conversion is exact both ways.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from charrnn.core import numpy_rnn
from charrnn.core.model import CharRNN, ModelConfig
from charrnn.core.numpy_rnn import (
    NAMES,
    adagrad_update,
    backward,
    clip_gradients,
    forward,
    from_charrnn,
    init_params,
    loss,
    sample,
    to_charrnn,
    train_step,
    zeros_like,
)
from charrnn.core.tokens import PAD_ID

VOCAB, HIDDEN = 7, 5


def random_params(seed: int = 0) -> dict[str, np.ndarray]:
    """Float64 weights large enough that every gradient is far from zero."""
    rng = np.random.default_rng(seed)
    params = init_params(VOCAB, HIDDEN, dtype=np.float64)
    return {name: rng.standard_normal(value.shape) * 0.5 for name, value in params.items()}


def random_batch(seed: int = 1, pad: bool = False):
    rng = np.random.default_rng(seed)
    inputs = rng.integers(1, VOCAB, (3, 6))
    targets = rng.integers(1, VOCAB, (3, 6))
    if pad:  # a line that ends early: its last targets are padding
        targets[0, 4:] = PAD_ID
    h = rng.standard_normal((3, HIDDEN)) * 0.3
    return inputs, targets, h


def test_numpy_rnn_needs_no_torch():
    source = open(numpy_rnn.__file__, encoding="utf-8").read()
    top_level = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert not any("torch" in line for line in top_level)


@pytest.mark.parametrize("pad", [False, True])
def test_gradients_equal_pytorch_autograd(pad):
    params = random_params()
    inputs, targets, h = random_batch(pad=pad)
    cache = forward(params, inputs, h)
    grads = backward(params, cache, targets)

    model = to_charrnn(params)
    assert next(model.parameters()).dtype == torch.float64
    logits, _ = model(torch.tensor(inputs), torch.tensor(h)[None])
    torch_loss = nn.functional.cross_entropy(
        logits.flatten(0, 1), torch.tensor(targets).flatten(), ignore_index=PAD_ID
    )
    torch_loss.backward()
    assert loss(cache.logits, targets) == pytest.approx(torch_loss.item(), abs=1e-12)
    torch_grads = {
        "Wxh": model.rnn.weight_ih_l0.grad,
        "Whh": model.rnn.weight_hh_l0.grad,
        "Why": model.head.weight.grad,
        "bh": model.rnn.bias_ih_l0.grad,
        "by": model.head.bias.grad,
    }
    for name in NAMES:
        np.testing.assert_allclose(grads[name], torch_grads[name].numpy(), rtol=0, atol=1e-6)


def test_gradients_equal_finite_differences():
    params = random_params(seed=2)
    inputs, targets, h = random_batch(seed=3, pad=True)
    grads = backward(params, forward(params, inputs, h), targets)
    rng, epsilon = np.random.default_rng(4), 1e-6
    for name in NAMES:
        for _ in range(5):  # a few entries of every weight
            index = tuple(rng.integers(0, size) for size in params[name].shape)
            kept = params[name][index]
            params[name][index] = kept + epsilon
            above = loss(forward(params, inputs, h).logits, targets)
            params[name][index] = kept - epsilon
            below = loss(forward(params, inputs, h).logits, targets)
            params[name][index] = kept
            numeric = (above - below) / (2 * epsilon)
            assert grads[name][index] == pytest.approx(numeric, abs=1e-7)


def test_clipping_keeps_the_direction_and_bounds_the_length():
    grads = {"a": np.array([3.0, 4.0]), "b": np.array([12.0])}
    assert clip_gradients(grads, 6.5) == pytest.approx(13.0)
    np.testing.assert_allclose(grads["a"], [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(grads["b"], [6.0], rtol=1e-6)
    small = {"a": np.array([0.3, 0.4])}
    clip_gradients(small, 5.0)
    np.testing.assert_array_equal(small["a"], [0.3, 0.4])


def test_adagrad_steps_shrink_for_a_steady_gradient():
    params, grads = {n: np.ones(1) for n in NAMES}, {n: np.ones(1) for n in NAMES}
    memory, before, steps = zeros_like(params), 1.0, []
    for _ in range(3):
        adagrad_update(params, grads, memory, 0.1)
        steps.append(before - params["Wxh"][0])
        before = params["Wxh"][0]
    assert steps[0] == pytest.approx(0.1) and steps[0] > steps[1] > steps[2]


def abc_stream(length: int = 600) -> np.ndarray:
    """Ids of "abcabc...": after a comes b, after b comes c, after c comes a."""
    return np.array([3 + i % 3 for i in range(length + 1)])


def test_loss_falls_on_abcabc():
    params = init_params(6, 16, seed=0, dtype=np.float64)
    memory, stream, h, losses = zeros_like(params), abc_stream(), None, []
    for start in range(0, 600, 20):  # windows of 20, the state carried along
        inputs, targets = stream[None, start : start + 20], stream[None, start + 1 : start + 21]
        value, h = train_step(params, memory, inputs, targets, h, learning_rate=0.1)
        losses.append(value)
    assert losses[0] == pytest.approx(np.log(6), abs=0.01)  # guessing among 6 tokens
    assert losses[-1] < 0.05
    assert sample(params, [3], 9, temperature=0) == [4, 5, 3, 4, 5, 3, 4, 5, 3]


def test_sampling_is_deterministic_with_a_seed():
    params = random_params()
    first = sample(params, [1, 2], 30, temperature=0.8, seed=7)
    assert sample(params, [1, 2], 30, temperature=0.8, seed=7) == first
    assert sample(params, [1, 2], 30, temperature=0.8, seed=8) != first
    assert len(first) == 30 and all(0 <= t < VOCAB for t in first)
    greedy = sample(params, [1, 2], 10, temperature=0, seed=1)
    assert greedy == sample(params, [1, 2], 10, temperature=0, seed=2)
    stopped = sample(params, [1], 200, seed=3, stop=greedy[0])
    assert stopped[-1] == greedy[0] and len(stopped) < 200


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_to_charrnn_gives_the_same_logits(dtype, tolerance):
    params = {k: v.astype(dtype) for k, v in random_params().items()}
    inputs, _, h = random_batch()
    model = to_charrnn(params, VOCAB)
    assert (model.config.cell, model.config.layers, model.config.embedding_size) == ("rnn", 1, 7)
    with torch.no_grad():
        logits, state = model(torch.tensor(inputs), torch.tensor(h.astype(dtype))[None])
    cache = forward(params, inputs, h.astype(dtype))
    np.testing.assert_allclose(logits.numpy(), cache.logits, atol=tolerance)
    np.testing.assert_allclose(state[0].numpy(), cache.hidden[:, -1], atol=tolerance)
    with pytest.raises(ValueError):
        to_charrnn(params, VOCAB + 1)


def test_round_trip_through_charrnn():
    params = random_params()
    back = from_charrnn(to_charrnn(params), dtype=np.float64)
    for name in NAMES:
        np.testing.assert_array_equal(back[name], params[name])


def test_any_one_layer_rnn_converts_exactly():
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(VOCAB, cell="rnn", embedding_size=3, hidden_size=HIDDEN, layers=1))
    model.double()
    params = from_charrnn(model, dtype=np.float64)  # the embedding folds into Wxh
    inputs, _, h = random_batch()
    with torch.no_grad():
        logits, _ = model(torch.tensor(inputs), torch.tensor(h)[None])
    np.testing.assert_allclose(forward(params, inputs, h).logits, logits.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="one-layer vanilla RNN"):
        from_charrnn(CharRNN(ModelConfig(VOCAB, cell="gru", layers=1)))
