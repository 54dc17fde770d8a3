"""Sampling in the web server is fitted to a work budget: big models write shorter samples
(saying so), too much is refused plainly, and the Inside page's traces stay small."""

from __future__ import annotations

import string
from types import SimpleNamespace

import pytest

from charrnn.core import inside
from charrnn.core.model import ModelConfig
from charrnn.core.sample import SampleConfig
from charrnn.core.sampling_budget import (
    CHART_BUDGET,
    WORK_BUDGET,
    SamplingTooBigError,
    bounded_config,
    model_parameters,
    prompt_problem,
    sampling_work,
)
from charrnn.core.tokens import build_vocabulary
from charrnn.limits import MAX_PARAMETERS

VOCABULARY = build_vocabulary([string.printable])


def described(**fields) -> SimpleNamespace:
    """A model as the budget sees it: its description only (nothing allocated)."""
    config = ModelConfig(vocab_size=VOCABULARY.size, embedding_size=256, **fields)
    return SimpleNamespace(config=config)


BIG = described(cell="lstm", hidden_size=736, layers=3)  # about 11.7M: near the server's most
SMALL = described(cell="gru", hidden_size=256, layers=2)


def test_the_biggest_model_is_one_the_server_accepts():
    assert 0.9 * MAX_PARAMETERS < model_parameters(BIG) <= MAX_PARAMETERS


def test_small_models_write_what_was_asked():
    for count, length in ((10, 2000), (100, 300)):
        asked = SampleConfig(num_samples=count, max_length=length)
        assert bounded_config(SMALL, VOCABULARY, asked) == (asked, None)


@pytest.mark.parametrize(("count", "length"), [(10, 2000), (100, 300), (1, 300)])
def test_a_big_model_writes_shorter_samples_and_says_so(count, length):
    asked = SampleConfig(num_samples=count, max_length=length, prompt="Once upon a time")
    fitted, note = bounded_config(BIG, VOCABULARY, asked)
    assert fitted.num_samples == count and 10 <= fitted.max_length < length
    assert "shortened" in note and "parameters" in note
    work = sampling_work(model_parameters(BIG), count, fitted.max_length, len(asked.prompt))
    assert work <= WORK_BUDGET


def test_a_prompt_too_long_for_a_big_model_is_refused_plainly():
    asked = SampleConfig(num_samples=3, max_length=300, prompt="a" * 2000)
    with pytest.raises(SamplingTooBigError, match="Shorten the prompt"):
        bounded_config(BIG, VOCABULARY, asked)
    assert "Shorten the prompt" in prompt_problem(BIG, VOCABULARY, "a" * 200, CHART_BUDGET)
    assert prompt_problem(SMALL, VOCABULARY, "a" * 200, CHART_BUDGET) is None


def test_a_trace_keeps_fewer_positions_for_a_huge_vocabulary():
    huge = ModelConfig(vocab_size=10_000, hidden_size=2048, layers=1)
    positions = inside.trace_positions(huge)
    assert 0 < positions < inside.MAX_TRACE_TOKENS
    assert positions * 4 * (2 * 10_000 + 2 * 2048) <= inside.TRACE_BYTES
    assert inside.trace_positions(SMALL.config) == inside.MAX_TRACE_TOKENS


def test_the_generate_page_says_when_a_big_model_writes_shorter_samples(monkeypatch, tmp_path):
    from charrnn.core import sampling_budget
    from charrnn.runs.workspace import Workspace, new_workspace
    from tests.test_app_generate import TEXT_CORPUS, finished_run, open_page

    home = tmp_path / "home"
    space = Workspace(new_workspace(home), home)
    reference = space.save_corpus(TEXT_CORPUS, "markup.txt", 10**6)
    run_id = finished_run(space, "tiny text", reference, "text", 20)
    monkeypatch.setattr(sampling_budget, "model_parameters", lambda model: model_parameters(BIG))
    at = open_page(monkeypatch, home, space.token, run_id)
    assert "The chart appears for a shorter prompt" not in " ".join(i.value for i in at.info)
    at.slider(key="generate_length_text").set_value(2000).run()
    at.button(key="generate_button").click().run()
    assert not at.exception
    assert any("shortened from 2,000" in info.value for info in at.info)
    assert at.session_state["generate_length_text"] == 2000  # the setting stays as chosen
