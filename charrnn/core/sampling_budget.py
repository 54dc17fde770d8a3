"""Sampling's work budget in the web process: how much work a request is, and a request
fitted to it (samples shortened, saying so) or refused with a sentence saying why.
"""

from __future__ import annotations

import math
from dataclasses import replace

from charrnn.core.model import CharRNN
from charrnn.core.sample import SampleConfig, prompt_ids
from charrnn.core.tokens import Vocabulary
from charrnn.errors import UserError
from charrnn.limits import parameter_count

# Work is counted in parameter-steps: one step of a batch costs about as much as
# BATCH_EQUIVALENT more samples in it (reading the weights dominates), and a prompt token
# about a tenth of a step (read in one pass). Measured on a 2-core server: 300 steps of a
# 13.8M-parameter LSTM took 3.5 s with 1 sample and 6.9 s with 100.
BATCH_EQUIVALENT = 100
PROMPT_TOKEN = 10  # parameter-steps per parameter for each prompt token
WORK_BUDGET = 2e11  # parameter-steps for one request: 2-4 s on that server
CHART_BUDGET = WORK_BUDGET / 10  # redrawn on every rerun of the Generate page
SHORTEST = 10  # a sample trimmed below this length is refused instead


class SamplingTooBigError(UserError, ValueError):
    """This model is too big to write that much in the web server; the message says why."""


def model_parameters(model: CharRNN) -> int:
    """The model's parameter count, from its description (limits.parameter_count)."""
    config = model.config
    return parameter_count(
        config.cell, config.vocab_size, config.embedding_size, config.hidden_size, config.layers
    )


def sampling_work(parameters: int, num_samples: int, length: int, prompt_tokens: int = 0) -> float:
    """Parameter-steps to read a prompt and write ``num_samples`` samples of ``length``."""
    steps = length * (num_samples + BATCH_EQUIVALENT) + prompt_tokens * PROMPT_TOKEN
    return float(parameters) * steps


def prompt_problem(
    model: CharRNN, vocabulary: Vocabulary, prompt: str, budget: float = WORK_BUDGET
) -> str | None:
    """Why reading this prompt with this model is too much work here, or None."""
    parameters, tokens = model_parameters(model), len(prompt_ids(vocabulary, prompt))
    if sampling_work(parameters, 0, 0, tokens) <= budget:
        return None
    most = int(budget / (parameters * PROMPT_TOKEN))
    return (
        f"This model is large ({parameters:,} parameters), so the server reads prompts of "
        f"at most {most:,} characters with it. Shorten the prompt."
    )


def bounded_config(
    model: CharRNN, vocabulary: Vocabulary, config: SampleConfig, budget: float = WORK_BUDGET
) -> tuple[SampleConfig, str | None]:
    """``config`` fitted to the web process's work budget: samples shortened if need be,
    with a sentence saying so (else None). SamplingTooBigError when even short ones would
    not fit; UnknownCharacterError for a prompt the model cannot read."""
    parameters, tokens = model_parameters(model), len(prompt_ids(vocabulary, config.prompt))
    if sampling_work(parameters, config.num_samples, config.max_length, tokens) <= budget:
        return config, None
    left = budget / parameters - tokens * PROMPT_TOKEN
    length = math.floor(left / (config.num_samples + BATCH_EQUIVALENT))
    if length < SHORTEST:
        problem = prompt_problem(model, vocabulary, config.prompt, budget)
        raise SamplingTooBigError(
            problem
            or f"This model is large ({parameters:,} parameters): writing "
            f"{config.num_samples} sample{'s' if config.num_samples != 1 else ''} with it is "
            "too much work for the shared server. Ask for fewer samples."
        )
    note = (
        f"This model is large ({parameters:,} parameters), so on the shared server each "
        f"sample is at most {length:,} long here (shortened from {config.max_length:,})."
    )
    return replace(config, max_length=length), note


GROWING_BATCHES = 4  # the small first batches of sample-until-unique (runs.unique), counted


def bounded_tries(
    model: CharRNN,
    vocabulary: Vocabulary,
    config: SampleConfig,
    max_tries: int,
    batch_size: int,
    budget: float = WORK_BUDGET,
) -> tuple[SampleConfig, int, str | None]:
    """A sample-until-unique request fitted to the work budget: its samples shortened as
    bounded_config does for one batch, then at most as many tries (samples in all, in
    batches of ``batch_size``) as the budget allows, with a sentence saying what was cut."""
    batch = min(batch_size, max_tries)
    config, note = bounded_config(model, vocabulary, replace(config, num_samples=batch), budget)
    parameters, tokens = model_parameters(model), len(prompt_ids(vocabulary, config.prompt))
    one_batch = sampling_work(parameters, batch, config.max_length, tokens)
    overhead = sampling_work(parameters, 0, config.max_length, tokens)
    batches = max(1, math.floor((budget - GROWING_BATCHES * overhead) / one_batch))
    most = batches * batch
    if most >= max_tries:
        return config, max_tries, note
    cut = (
        f"This model has {parameters:,} parameters, so the shared server draws at most "
        f"{most:,} samples per request with it (not {max_tries:,})."
    )
    return config, most, cut if note is None else f"{note} {cut}"
