"""The server's model limits: worked out without building a network, and checked first."""

import pytest

from charrnn.limits import MAX_PARAMETERS, model_problem, parameter_count
from charrnn.model import CharRNN, ModelConfig
from charrnn.model import parameter_count as built_count


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 3])
def test_parameter_count_matches_the_built_network(cell, layers):
    config = ModelConfig(vocab_size=37, cell=cell, embedding_size=12, hidden_size=20, layers=layers)
    expected = built_count(CharRNN(config))
    assert parameter_count(cell, 37, 12, 20, layers) == expected
    assert model_problem(config.to_json()) is None


def test_a_huge_description_is_refused_before_anything_is_built():
    huge = dict(vocab_size=100, cell="lstm", embedding_size=1024, hidden_size=2048, layers=6)
    problem = model_problem(huge)
    assert problem is not None and f"{MAX_PARAMETERS:,}" in problem


@pytest.mark.parametrize(
    "change",
    [
        {"hidden_size": 4096},
        {"layers": 60},
        {"vocab_size": 10**7},
        {"embedding_size": -1},
        {"hidden_size": "512"},
        {"layers": True},
        {"cell": "transformer"},
    ],
)
def test_each_bad_field_is_named(change):
    description = dict(vocab_size=40, cell="lstm", embedding_size=32, hidden_size=128, layers=1)
    assert model_problem({**description, **change})
