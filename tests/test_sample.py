"""Tests for charrnn.core.sample: greedy, top-k, top-p, prompts, end tokens and log-likelihoods.

The "why these characters?" helpers (core/next_token.py) too. The models are tiny and
briefly trained (shared fixtures in conftest.py).
"""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from charrnn.core.next_token import next_token_probabilities, readable_token, shaping_sentence
from charrnn.core.sample import SampleConfig, banned_tokens, filter_logits, prompt_ids, sample
from charrnn.core.tokens import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UnknownCharacterError


def texts(results):
    return [r.text for r in results]


@pytest.fixture(params=["text", "lines"])
def model_and_vocabulary(request, trained_text_model, trained_line_model):
    model, data = trained_text_model if request.param == "text" else trained_line_model
    return model, data.vocabulary


def recomputed_log_likelihood(model, vocabulary, prompt, result) -> float:
    """Run the model over prompt + sample and add up the log-probability of each token."""
    start = prompt_ids(vocabulary, prompt)
    generated = vocabulary.encode(result.text[len(prompt) :])
    generated += [EOS_ID] if result.finished else []
    assert len(generated) == result.tokens
    ids = torch.tensor([start + generated])
    model.eval()
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    logits = logits[0, len(start) - 1 :]
    logits = logits.index_fill(-1, torch.tensor(banned_tokens(vocabulary)), float("-inf"))
    log_probabilities = logits.log_softmax(-1)
    return float(log_probabilities.gather(1, torch.tensor(generated)[:, None]).sum())


def test_greedy_ignores_the_seed(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    runs = [
        texts(sample(model, vocabulary, SampleConfig(temperature=0, num_samples=3, seed=seed)))
        for seed in (0, 1, None)
    ]
    assert runs[0] == runs[1] == runs[2]
    assert len(set(runs[0])) == 1


def test_top_k_1_and_tiny_top_p_are_greedy(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    greedy = sample(model, vocabulary, SampleConfig(temperature=0, max_length=60))[0].text
    for seed in range(3):
        for options in (dict(top_k=1), dict(top_p=1e-6)):
            config = SampleConfig(temperature=1.5, max_length=60, num_samples=4, seed=seed)
            config = SampleConfig(**{**config.to_json(), **options})
            assert texts(sample(model, vocabulary, config)) == [greedy] * 4


def test_filter_logits_keeps_the_smallest_set_reaching_p():
    probabilities = torch.tensor([[0.05, 0.5, 0.15, 0.3], [0.4, 0.1, 0.2, 0.3]])
    logits = probabilities.log()

    def kept(**options):
        filtered = filter_logits(logits, **options)
        return [torch.isfinite(row).nonzero().flatten().tolist() for row in filtered]

    assert kept(top_p=0.7) == [[1, 3], [0, 3]]
    assert kept(top_p=0.9) == [[1, 2, 3], [0, 2, 3]]
    assert kept(top_p=0.01) == [[1], [0]]
    assert kept(top_p=1.0) == [[0, 1, 2, 3]] * 2
    assert kept(top_k=2) == [[1, 3], [0, 3]]
    assert kept(top_k=3, top_p=0.5) == [[1], [0, 3]]
    filtered = filter_logits(logits, top_p=0.7)
    assert torch.equal(filtered[0, [1, 3]], logits[0, [1, 3]])  # kept logits are unchanged


@pytest.mark.parametrize("count", [1, 5])
def test_prompt_and_number_of_samples(model_and_vocabulary, count):
    model, vocabulary = model_and_vocabulary
    prompt = "abc ab" if not vocabulary.line_based else "CC(Cl)"
    results = sample(model, vocabulary, SampleConfig(prompt=prompt, num_samples=count, seed=1))
    assert len(results) == count
    assert all(r.text.startswith(prompt) and len(r.text) > len(prompt) for r in results)


def test_line_samples_stop_at_the_end_token(trained_line_model):
    model, data = trained_line_model
    vocabulary = data.vocabulary
    config = SampleConfig(temperature=0.8, num_samples=20, max_length=80, seed=0)
    results = sample(model, vocabulary, config)
    finished = [r for r in results if r.finished]
    assert len(finished) >= 15  # the model has learned that molecules end
    for result in results:
        assert not any(special in result.text for special in SPECIALS)
        written = len(vocabulary.encode(result.text))
        assert result.tokens == (written + 1 if result.finished else written)
        assert result.finished or result.tokens == 80


def test_a_model_that_always_ends_writes_nothing(trained_line_model):
    model, data = trained_line_model
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.head.bias[EOS_ID] = 100.0
    results = sample(model, data.vocabulary, SampleConfig(prompt="CC", num_samples=3, seed=0))
    assert [(r.text, r.tokens, r.finished) for r in results] == [("CC", 1, True)] * 3


@pytest.mark.parametrize("corpus", ["text", "lines"])
def test_special_tokens_are_never_written(corpus, trained_text_model, trained_line_model):
    """Even a model that prefers padding and begin tokens writes ordinary text."""
    model, data = trained_text_model if corpus == "text" else trained_line_model
    vocabulary = data.vocabulary
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.head.bias[PAD_ID] = model.head.bias[BOS_ID] = 100.0
        if corpus == "text":
            model.head.bias[EOS_ID] = 100.0  # text has no end: it is banned too
    results = sample(model, vocabulary, SampleConfig(num_samples=4, max_length=30, seed=0))
    for result in results:
        written = len(vocabulary.encode(result.text))
        assert written == result.tokens - result.finished > 0
        if corpus == "text":
            assert not result.finished and result.tokens == 30


@pytest.mark.parametrize("temperature", [0, 1.0, 0.7])
def test_log_likelihood_is_the_models_probability(model_and_vocabulary, temperature):
    model, vocabulary = model_and_vocabulary
    prompt = "ab" if not vocabulary.line_based else "C"
    config = SampleConfig(
        temperature=temperature, prompt=prompt, max_length=40, num_samples=3, precision="float32"
    )
    for result in sample(model, vocabulary, SampleConfig(**{**config.to_json(), "seed": 5})):
        assert result.log_likelihood <= 0
        expected = recomputed_log_likelihood(model, vocabulary, prompt, result)
        assert result.log_likelihood == pytest.approx(expected, abs=1e-4)


def test_greedy_is_the_most_likely_next_token(trained_text_model):
    model, data = trained_text_model
    (result,) = sample(model, data.vocabulary, SampleConfig(temperature=0, max_length=20))
    # Each greedy token had probability of at least 1 / vocabulary size.
    assert result.log_likelihood >= 20 * -math.log(data.vocabulary.size)


def test_same_seed_same_samples(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    config = SampleConfig(temperature=1.0, num_samples=4, max_length=50, seed=42)
    first = texts(sample(model, vocabulary, config))
    assert texts(sample(model, vocabulary, config)) == first
    other = SampleConfig(**{**config.to_json(), "seed": 43})
    assert texts(sample(model, vocabulary, other)) != first
    assert len(set(first)) > 1  # samples of one batch differ from each other


def test_unknown_prompt_character(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    with pytest.raises(UnknownCharacterError, match="'🚀'"):
        sample(model, vocabulary, SampleConfig(prompt="ab🚀"))


def test_sample_config_round_trip_and_validation():
    config = SampleConfig(temperature=0.5, top_k=5, top_p=0.9, prompt="é", seed=3)
    assert SampleConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    for bad in (
        dict(temperature=-1),
        dict(top_k=-1),
        dict(top_p=0),
        dict(top_p=1.5),
        dict(max_length=0),
        dict(num_samples=0),
    ):
        with pytest.raises(ValueError):
            SampleConfig(**bad)


# ----- next_token_probabilities: what the "why these characters?" panel shows ---------------
def entropy(probabilities) -> float:
    return -sum(p * math.log(p) for p in probabilities if p > 0)


def next_tokens(model, vocabulary, prompt="", temperature=1.0, top_k=0, top_p=1.0):
    """Every allowed next token (no limit), as next_token_probabilities gives them."""
    return next_token_probabilities(
        model, vocabulary, prompt, temperature, top_k, top_p, vocabulary.size, "float32"
    )


@pytest.mark.parametrize(
    "settings", [dict(), dict(temperature=0.5), dict(temperature=1.7, top_k=3, top_p=0.8)]
)
def test_next_token_probabilities_sum_to_one(model_and_vocabulary, settings):
    model, vocabulary = model_and_vocabulary
    prompt = "ab" if not vocabulary.line_based else "C"
    rows = next_tokens(model, vocabulary, prompt, **settings)
    assert len(rows) == vocabulary.size - len(banned_tokens(vocabulary))  # banned left out
    assert sum(raw for _, raw, _ in rows) == pytest.approx(1.0, abs=1e-5)
    assert sum(shaped for _, _, shaped in rows) == pytest.approx(1.0, abs=1e-5)
    shaped = [s for _, _, s in rows]
    assert shaped == sorted(shaped, reverse=True)
    assert len(next_token_probabilities(model, vocabulary, prompt, 1.0, 0, 1.0)) == min(
        15, len(rows)
    )
    assert len(next_token_probabilities(model, vocabulary, prompt, 1.0, 0, 1.0, limit=4)) == 4


@pytest.mark.parametrize("settings", [dict(top_k=1), dict(temperature=0), dict(top_p=1e-6)])
def test_greedy_settings_put_everything_on_the_likeliest(model_and_vocabulary, settings):
    model, vocabulary = model_and_vocabulary
    rows = next_tokens(model, vocabulary, **{"temperature": 1.3, **settings})
    assert [shaped for _, _, shaped in rows if shaped > 0] == [1.0]
    likeliest = max(rows, key=lambda row: row[1])
    assert rows[0] == likeliest  # the token that gets it all is the model's favourite


def test_higher_temperature_flattens(model_and_vocabulary):
    model, vocabulary = model_and_vocabulary
    entropies = [
        entropy(s for _, _, s in next_tokens(model, vocabulary, temperature=t))
        for t in (0.3, 0.7, 1.0, 1.5, 2.0)
    ]
    assert entropies == sorted(entropies) and entropies[0] < entropies[-1]
    rows = next_tokens(model, vocabulary, temperature=1.0)
    assert all(raw == pytest.approx(shaped, abs=1e-6) for _, raw, shaped in rows)


def test_next_token_probabilities_are_what_sample_draws_from(trained_line_model):
    """The first token of many samples lands as often as the shaped probabilities say."""
    model, data = trained_line_model
    vocabulary = data.vocabulary
    settings = dict(temperature=1.4, top_k=6, top_p=0.9)
    rows = next_tokens(model, vocabulary, "C", **settings)
    config = SampleConfig(
        prompt="C", max_length=1, num_samples=4000, seed=0, precision="float32", **settings
    )
    firsts = [result.text[1:] or "</s>" for result in sample(model, vocabulary, config)]
    for token, _, shaped in rows:
        seen = firsts.count("</s>" if token == "⏹ end" else token) / len(firsts)
        assert seen == pytest.approx(shaped, abs=0.03)
        if shaped == 0:
            assert seen == 0


def test_tokens_are_shown_readably(trained_text_model, trained_line_model):
    model, data = trained_text_model
    tokens = [token for token, _, _ in next_tokens(model, data.vocabulary)]
    assert "⏎ newline" in tokens and "␣ space" in tokens
    assert "\n" not in tokens and " " not in tokens and "⏹ end" not in tokens  # text never ends
    model, data = trained_line_model
    tokens = [token for token, _, _ in next_tokens(model, data.vocabulary, "CC")]
    assert "⏹ end" in tokens and not set(tokens) & set(SPECIALS)
    assert readable_token("\x00") == "\\x00" and readable_token("Cl") == "Cl"
    assert readable_token("<pad>") == "∅ padding"  # not the jargon "<pad>"


def test_next_token_probabilities_refuses_unknown_characters(trained_text_model):
    model, data = trained_text_model
    with pytest.raises(UnknownCharacterError, match="'🚀'"):
        next_token_probabilities(model, data.vocabulary, "a🚀", 1.0, 0, 1.0)
    with pytest.raises(ValueError):
        next_token_probabilities(model, data.vocabulary, "a", -1.0, 0, 1.0)


def test_shaping_sentence_says_what_the_settings_do():
    assert "even likelier" in shaping_sentence(0.5, 0, 1.0)
    assert "catch up" in shaping_sentence(1.5, 0, 1.0, unit="symbol")
    assert "symbols" in shaping_sentence(1.5, 0, 1.0, unit="symbol")
    assert "always wins" in shaping_sentence(0, 5, 0.5)
    both = shaping_sentence(1.0, 5, 0.9)
    assert "only the 5 likeliest" in both and "90%" in both
    assert "top-" not in shaping_sentence(0.8, 0, 1.0)
