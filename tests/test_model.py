"""Tests for charrnn.core.model: shapes of every cell, the config, the presets, growing a
vocabulary, the "auto" precision rule.

Models are tiny; only the presets are built at their real sizes.
"""

from __future__ import annotations

import json

import pytest
import torch

from charrnn.core.model import (
    PRESETS,
    CharRNN,
    ModelConfig,
    detach_state,
    parameter_count,
    preset_config,
    use_bfloat16,
)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2])
def test_forward_shapes(cell, layers):
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=11, cell=cell, embedding_size=8, hidden_size=16, layers=layers)
    model = CharRNN(config)
    tokens = torch.randint(0, 11, (3, 7))
    logits, state = model(tokens)
    assert logits.shape == (3, 7, 11)
    parts = state if cell == "lstm" else (state,)
    assert len(parts) == (2 if cell == "lstm" else 1)
    assert all(part.shape == (layers, 3, 16) for part in parts)
    assert model.hidden_states(tokens).shape == (3, 7, 16)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_carried_state_continues_the_sequence(cell):
    """Reading a text in two windows with the state carried equals reading it at once."""
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=9, cell=cell, embedding_size=8, hidden_size=16))
    tokens = torch.randint(0, 9, (2, 10))
    whole, _ = model(tokens)
    first, state = model(tokens[:, :4])
    second, _ = model(tokens[:, 4:], detach_state(state))
    torch.testing.assert_close(torch.cat([first, second], 1), whole)


def test_config_json_round_trip():
    config = ModelConfig(vocab_size=40, cell="gru", embedding_size=12, hidden_size=24, layers=3)
    again = ModelConfig.from_json(json.loads(json.dumps(config.to_json())))
    assert again == config
    # A config written by a newer version with an extra field still loads.
    assert ModelConfig.from_json({**config.to_json(), "comment": "later"}) == config


@pytest.mark.parametrize(
    "bad",
    [
        dict(cell="transformer"),
        dict(vocab_size=0),
        dict(hidden_size=-4),
        dict(embedding_size=0),
        dict(layers=0),
        dict(layers=1.5),
        dict(hidden_size="64"),
        dict(dropout=1.0),
        dict(dropout=-0.1),
    ],
)
def test_config_validation(bad):
    values = {"vocab_size": 10, **bad}
    with pytest.raises(ValueError) as caught:
        ModelConfig(**values)
    assert next(iter(bad)) in str(caught.value)


@pytest.mark.parametrize("preset", ["tiny", "small", "medium"])
def test_presets_build(preset):
    assert preset in PRESETS
    config = preset_config(preset, vocab_size=30)
    model = CharRNN(config)
    logits, _ = model(torch.zeros(1, 3, dtype=torch.long))
    assert logits.shape == (1, 3, 30)
    assert parameter_count(model) > 0


def test_presets_grow_in_size():
    sizes = [parameter_count(CharRNN(preset_config(p, vocab_size=30))) for p in PRESETS]
    assert list(PRESETS) == ["tiny", "small", "medium"]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3


def test_preset_overrides_and_unknown_preset():
    assert preset_config("tiny", vocab_size=30, cell="gru").cell == "gru"
    with pytest.raises(ValueError, match="huge"):
        preset_config("huge", vocab_size=30)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_resize_vocabulary_keeps_what_was_learned(cell):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=10, cell=cell, embedding_size=8, hidden_size=16))
    tokens = torch.randint(0, 10, (4, 12))
    with torch.no_grad():
        before, _ = model(tokens)
        hidden_before = model.hidden_states(tokens)
    model.resize_vocabulary(14)
    assert model.config.vocab_size == 14
    assert model.embedding.num_embeddings == 14 and model.head.out_features == 14
    with torch.no_grad():
        after, _ = model(tokens)
        assert after.shape == (4, 12, 14)
        assert torch.equal(model.hidden_states(tokens), hidden_before)
        # The same numbers up to float rounding (a wider matrix product sums in another order).
        torch.testing.assert_close(after[..., :10], before, rtol=0, atol=1e-6)
        assert torch.isfinite(after).all()
        model(torch.tensor([[13, 12, 0]]))  # the new tokens can be read as input
    model.resize_vocabulary(14)  # same size: nothing happens
    assert model.config.vocab_size == 14
    with pytest.raises(ValueError):
        model.resize_vocabulary(9)


def test_new_symbols_barely_change_what_a_model_writes():
    """65 new symbols once took one sample in four of the untouched MOSES prior: a model
    given symbols it never saw must still write as before until it learns them."""
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=20, cell="lstm", embedding_size=8, hidden_size=32))
    with torch.no_grad():
        model.head.weight.mul_(20)  # confident, as a trained model is
    tokens = torch.randint(0, 20, (8, 30))
    model.resize_vocabulary(20 + 65)
    with torch.no_grad():
        chances = model(tokens)[0].softmax(-1)
    new_share = chances[..., 20:].sum(-1)
    assert new_share.max() < 1e-2  # per character; over a whole molecule a few percent
    assert torch.equal(model.head.weight[20:], torch.zeros(65, 32))


def test_resize_vocabulary_trains_new_rows():
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=5, cell="gru", embedding_size=4, hidden_size=8))
    model.resize_vocabulary(7)
    assert all(p.requires_grad for p in model.parameters())
    logits, _ = model(torch.tensor([[6, 5, 1]]))
    logits.sum().backward()
    assert model.embedding.weight.grad[5:].abs().sum() > 0


def _native_bfloat16(monkeypatch, native: bool) -> None:
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_on_cpu_is_bfloat16_only_where_faster(monkeypatch, native):
    _native_bfloat16(monkeypatch, native)
    cpu = torch.device("cpu")
    with torch.backends.mkldnn.flags(enabled=True):  # training: oneDNN's bfloat16 is fast
        assert use_bfloat16("auto", cpu) is native
    with torch.backends.mkldnn.flags(enabled=False):  # sampling: bfloat16 was 1.3-5x slower
        assert use_bfloat16("auto", cpu) is False
        assert use_bfloat16("bfloat16", cpu) is True  # asked for: always
    assert use_bfloat16("float32", cpu) is False


@pytest.mark.parametrize("supported", [True, False])
def test_auto_precision_on_cuda_follows_the_gpu(monkeypatch, supported):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: supported)
    with torch.backends.mkldnn.flags(enabled=False):
        assert use_bfloat16("auto", torch.device("cuda")) is supported


def test_auto_precision_samples_as_float32_on_cpu(monkeypatch):
    """Sampling switches oneDNN off, so "auto" writes exactly what float32 writes."""
    _native_bfloat16(monkeypatch, True)
    from charrnn.core.sample import SampleConfig, sample
    from charrnn.core.tokens import build_vocabulary

    torch.manual_seed(0)
    vocabulary = build_vocabulary(["the quick brown fox\n"])
    model = CharRNN(ModelConfig(vocab_size=vocabulary.size, hidden_size=32, layers=1))
    texts = {
        precision: [
            s.text
            for s in sample(
                model,
                vocabulary,
                SampleConfig(num_samples=4, max_length=30, seed=3, precision=precision),
            )
        ]
        for precision in ("auto", "float32")
    }
    assert texts["auto"] == texts["float32"]
