"""The server's model limits: worked out without building a network, and checked first."""

import pytest

from charrnn.core.model import PRESETS, CharRNN, ModelConfig
from charrnn.core.model import parameter_count as built_count
from charrnn.limits import (
    MAX_PARAMETERS,
    budget_text,
    memory_budget,
    model_problem,
    parameter_count,
    run_budget,
    training_memory,
)


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


# ----- a run's budget ----------------------------------------------------------------------
DEFAULT_BUDGET = memory_budget(4096)  # the default worker memory, less the worker itself


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_fits_the_default_budget(preset):
    budget = run_budget({**PRESETS[preset], "vocab_size": 100}, 32, 64, DEFAULT_BUDGET)
    assert budget.problem is None and budget.memory < DEFAULT_BUDGET
    assert "of memory while training" in budget_text(budget)


def test_the_largest_run_the_page_allowed_is_refused_with_what_fits():
    model = dict(cell="lstm", vocab_size=100, embedding_size=128, hidden_size=512, layers=3)
    budget = run_budget(model, 512, 512, DEFAULT_BUDGET)
    assert "3.0 GB" in budget.problem and "a batch size of at most" in budget.problem
    fits = int(budget.problem.split("at most ")[1].split(" ")[0].replace(",", ""))
    assert run_budget(model, fits, 512, DEFAULT_BUDGET).problem is None
    assert run_budget(model, fits + 1, 512, DEFAULT_BUDGET).problem is not None
    huge = dict(model, hidden_size=2048, layers=6, embedding_size=1024)
    assert "Lower the hidden size" in run_budget(huge, 32, 64, DEFAULT_BUDGET).problem


def test_a_large_corpus_counts_and_no_limit_checks_only_the_model():
    model = {**PRESETS["medium"], "vocab_size": 100}
    small = run_budget(model, 32, 64, DEFAULT_BUDGET).memory
    assert run_budget(model, 32, 64, DEFAULT_BUDGET, 10_000_000).memory > small + 200 * 2**20
    assert run_budget(model, 4096, 512, memory_budget(0)).problem is None
    assert memory_budget(0) is None


def test_the_estimate_grows_with_every_size():
    base = training_memory("lstm", 50, 64, 256, 2, 32, 64)
    for bigger in (
        training_memory("lstm", 50, 64, 512, 2, 32, 64),
        training_memory("lstm", 50, 64, 256, 3, 32, 64),
        training_memory("lstm", 50, 64, 256, 2, 64, 64),
        training_memory("lstm", 50, 64, 256, 2, 32, 128),
        training_memory("lstm", 500, 64, 256, 2, 32, 64),
    ):
        assert bigger > base
    assert training_memory("rnn", 50, 64, 256, 2, 32, 64) < base
