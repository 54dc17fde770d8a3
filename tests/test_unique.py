"""Tests for charrnn.runs.unique (sample until N unique) and the budget it runs under
(core.sampling_budget.bounded_tries): with a stub sampler and with tiny trained models.
"""

from __future__ import annotations

import itertools

import pytest
from conftest import tiny_config

from charrnn.chem.smiles import canonical_smiles
from charrnn.core.model import CharRNN
from charrnn.core.sample import Sample, SampleConfig
from charrnn.core.sampling_budget import bounded_tries, model_parameters, sampling_work
from charrnn.core.tokens import build_vocabulary
from charrnn.errors import UserError
from charrnn.runs.unique import line_of, sample_unique

SMILES_VOCABULARY = build_vocabulary(["CCOc1N"], tokenizer="smiles", line_based=True)
TEXT_VOCABULARY = build_vocabulary(["abc\n"])


def stub_writer(texts: list[str], drawn: list[int] | None = None):
    """A sampler that writes ``texts`` over and over, in order, whatever the model."""
    endless = itertools.cycle(texts)

    def write(model, vocabulary, config: SampleConfig) -> list[Sample]:
        if drawn is not None:
            drawn.append(config.num_samples)
        return [Sample(next(endless), -float(n), 3, True) for n in range(1, config.num_samples + 1)]

    return write


def test_finds_n_distinct_valid_molecules():
    # CCO and OCC are one molecule; C1CC is not a molecule.
    write = stub_writer(["CCO", "OCC", "C1CC", "c1ccccc1", "CCN", "CCO", "CC", "CCC"])
    result = sample_unique(None, SMILES_VOCABULARY, SampleConfig(), 4, 1000, write=write)
    molecules = [text for text, _ in result.found]
    assert molecules == ["CCO", "c1ccccc1", "CCN", "CC"]
    assert all(canonical_smiles(text) == text for text in molecules)
    assert not result.stopped_at_bound
    assert result.tries == 16  # one first batch was enough
    assert "Found 4 different valid molecules in 16 samples" in result.message


def test_stops_at_its_bound_and_says_so():
    drawn: list[int] = []
    write = stub_writer(["CCO", "OCC", "C1CC"], drawn)
    progress: list[tuple[int, int]] = []
    result = sample_unique(
        None,
        SMILES_VOCABULARY,
        SampleConfig(seed=5),
        10,
        50,
        write=write,
        progress=lambda found, tries: progress.append((found, tries)),
    )
    assert result.stopped_at_bound
    assert result.tries == 50 == sum(drawn)  # never past the bound
    assert [text for text, _ in result.found] == ["CCO"]
    assert "Stopped after 50 samples" in result.message and "1 of the 10" in result.message
    assert progress[-1] == (1, 50)


def test_batches_grow_and_seeds_change():
    seeds: list[int | None] = []

    def write(model, vocabulary, config):
        seeds.append(config.seed)
        return [Sample("CCO", -1.0, 3, True)] * config.num_samples

    sample_unique(None, SMILES_VOCABULARY, SampleConfig(seed=7), 2, 500, write=write)
    assert seeds[:3] == [7, 8, 9]


def test_text_gives_distinct_lines():
    write = stub_writer(["ab\nxyz", "ab", "  ", "c\nab", "abc"])
    config = SampleConfig(prompt="")
    result = sample_unique(None, TEXT_VOCABULARY, config, 3, 100, write=write)
    assert [text for text, _ in result.found] == ["ab", "c", "abc"]
    assert result.kind == "lines"
    assert line_of("xy\nab cd\nef", "xy\nab") == "ab cd"


def test_bad_requests_are_user_errors():
    with pytest.raises(UserError):
        sample_unique(None, SMILES_VOCABULARY, SampleConfig(), 0, 10, write=stub_writer(["C"]))


def test_a_trained_model_finds_distinct_valid_molecules(trained_line_model):
    model, data = trained_line_model
    config = SampleConfig(max_length=60, seed=1)
    result = sample_unique(model, data.vocabulary, config, 5, 2000)
    molecules = [text for text, _ in result.found]
    assert len(set(molecules)) == len(molecules) == 5
    assert all(canonical_smiles(text) == text for text in molecules)
    again = sample_unique(model, data.vocabulary, config, 5, 2000)
    assert again == result  # the same seed, the same molecules
    assert sample_unique(model, data.vocabulary, config, 10_000, 40).stopped_at_bound


def test_budget_bounds_the_tries():
    model = CharRNN(tiny_config(SMILES_VOCABULARY.size))
    config = SampleConfig(max_length=100)
    kept, tries, note = bounded_tries(model, SMILES_VOCABULARY, config, 300, 100)
    assert (kept.max_length, tries, note) == (100, 300, None)  # small: all of it
    parameters = model_parameters(model)
    budget = sampling_work(parameters, 100, 100) * 8  # room for a few batches only
    _, tries, note = bounded_tries(model, SMILES_VOCABULARY, config, 10_000, 100, budget)
    assert 100 <= tries < 800 and tries % 100 == 0
    assert f"at most {tries:,} samples" in note
