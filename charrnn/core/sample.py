"""Sampling: many samples at once, with temperature, top-k, top-p, a prompt and a stop token.

Each sample carries its log-likelihood under the model (temperature 1, no truncation).
In the web process, requests are first fitted to a work budget (``bounded_config``).
"""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import asdict, dataclass, fields, replace

import torch

from charrnn.core.model import CharRNN, State, use_bfloat16
from charrnn.core.tokens import BOS_ID, EOS, EOS_ID, PAD_ID, Vocabulary
from charrnn.errors import SettingsError, UserError
from charrnn.limits import parameter_count


@dataclass(frozen=True)
class SampleConfig:
    temperature: float = 1.0  # 0 = greedy: always the most likely token
    top_k: int = 0  # keep only the k most likely tokens (0: all)
    top_p: float = 1.0  # keep the smallest set of tokens whose probability reaches p
    prompt: str = ""
    max_length: int = 200  # tokens generated after the prompt
    num_samples: int = 1
    seed: int | None = None
    precision: str = "auto"  # "float32", "bfloat16", or "auto": bfloat16 where the hardware has it

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise SettingsError("temperature cannot be negative")
        if self.top_k < 0 or not 0.0 < self.top_p <= 1.0:
            raise SettingsError("top-k must be 0 or more and top-p in (0, 1]")
        if self.max_length < 1 or self.num_samples < 1:
            raise SettingsError("length and number of samples must be at least 1")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SampleConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# ----- the web process's work budget -------------------------------------------------------
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


@dataclass(frozen=True)
class Sample:
    text: str  # the prompt followed by what the model wrote
    log_likelihood: float  # sum of log p of the generated tokens (and the end token)
    tokens: int  # generated tokens, the end token included
    finished: bool  # line corpora: the model ended the line itself


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set the logits of tokens outside top-k / top-p to -inf (rows are samples)."""
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probabilities = sorted_logits.softmax(-1)
        # Drop a token when the tokens before it already reach top_p; the first always stays.
        drop = probabilities.cumsum(-1) - probabilities >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


def shaped_probabilities(
    logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """The distribution `sample` draws the next token from (banned tokens already at -inf).

    Temperature 0 puts all the mass on the most likely token, as `sample` does.
    """
    if temperature == 0:
        one_hot = torch.zeros_like(logits)
        return one_hot.scatter(-1, logits.argmax(-1, keepdim=True), 1.0)
    return filter_logits(logits / temperature, top_k, top_p).softmax(-1)


def banned_tokens(vocabulary: Vocabulary) -> list[int]:
    """Tokens a sample may never contain: padding, begin, and the end of text corpora."""
    return [PAD_ID, BOS_ID] + ([] if vocabulary.line_based else [EOS_ID])


def prompt_ids(vocabulary: Vocabulary, prompt: str) -> list[int]:
    """The ids fed before sampling starts (UnknownCharacterError for unseen characters)."""
    ids = vocabulary.encode(prompt)
    if vocabulary.line_based:
        return [BOS_ID] + ids
    if ids:
        return ids
    for start in ("\n", " "):  # text without a prompt starts as if after a line break
        if start in vocabulary.tokens:
            return [vocabulary.id_of(start)]
    return [len(vocabulary.tokens) - 1]


def _select(state: State, keep: torch.Tensor) -> State:
    if isinstance(state, tuple):
        return tuple(s[:, keep] for s in state)  # type: ignore[return-value]
    return state[:, keep]


def lean(function):
    """Run ``function(model, ...)`` without PyTorch's oneDNN path on the CPU: it packs a copy
    of an LSTM's weights for every forward call (sampling the largest model added 43 MB that
    way and took twice as long). For sampling, a page's work; training keeps it."""

    @functools.wraps(function)
    def without_onednn(model: CharRNN, *args, **kwargs):
        if next(model.parameters()).device.type != "cpu":
            return function(model, *args, **kwargs)
        with torch.backends.mkldnn.flags(enabled=False):
            return function(model, *args, **kwargs)

    return without_onednn


@lean
@torch.inference_mode()
def sample(
    model: CharRNN, vocabulary: Vocabulary, config: SampleConfig = SampleConfig()
) -> list[Sample]:
    """Draw ``config.num_samples`` samples in one batch; finished ones leave the batch."""
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed if config.seed is not None else torch.seed() % 2**63)
    autocast = torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=use_bfloat16(config.precision, device)
    )
    start = prompt_ids(vocabulary, config.prompt)
    count = config.num_samples
    with autocast:
        logits, state = model(torch.tensor([start], device=device))
    logits = logits[:, -1].expand(count, -1)
    state = _select(state, torch.zeros(count, dtype=torch.long, device=device))
    ban = torch.zeros(vocabulary.size, device=device)
    ban[banned_tokens(vocabulary)] = float("-inf")

    generated = torch.full((count, config.max_length), PAD_ID, dtype=torch.long, device=device)
    likelihood = torch.zeros(count, device=device)
    lengths = torch.zeros(count, dtype=torch.long, device=device)
    finished = torch.zeros(count, dtype=torch.bool, device=device)
    active = torch.arange(count, device=device)  # rows still writing; finished rows leave
    for position in range(config.max_length):
        logits = logits.float() + ban
        log_probabilities = logits.log_softmax(-1)
        if config.temperature == 0:
            tokens = logits.argmax(-1)
        elif config.temperature == 1 and not config.top_k and config.top_p == 1:
            tokens = torch.multinomial(log_probabilities.exp(), 1, generator=generator)[:, 0]
        else:
            shaped = shaped_probabilities(logits, config.temperature, config.top_k, config.top_p)
            tokens = torch.multinomial(shaped, 1, generator=generator)[:, 0]
        generated[active, position] = tokens
        likelihood[active] += log_probabilities.gather(1, tokens[:, None])[:, 0]
        lengths[active] += 1
        ended = tokens == EOS_ID
        if ended.any():
            finished[active[ended]] = True
            keep = ~ended
            if not keep.any():
                break
            active, tokens, state = active[keep], tokens[keep], _select(state, keep)
        if position + 1 < config.max_length:
            with autocast:
                step_logits, state = model(tokens[:, None], state)
            logits = step_logits[:, -1]
    return [
        Sample(
            text=config.prompt + vocabulary.decode(row[: int(n)].tolist()),
            log_likelihood=float(ll),
            tokens=int(n),
            finished=bool(done),
        )
        for row, n, ll, done in zip(
            generated.cpu(), lengths.cpu(), likelihood.cpu(), finished.cpu(), strict=True
        )
    ]


# ----- what the sampler is about to do (the app's "why these characters?" panel) ---------
READABLE_TOKENS = {"\n": "⏎ newline", " ": "␣ space", "\t": "⇥ tab", EOS: "⏹ end"}


def readable_token(token: str) -> str:
    """A token as a person can read it on screen: "⏎ newline", "␣ space", "⏹ end", ..."""
    if token in READABLE_TOKENS:
        return READABLE_TOKENS[token]
    if len(token) == 1 and unicodedata.category(token) in ("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"):
        return repr(token)[1:-1] if token.isascii() else f"U+{ord(token):04X}"
    return token


@lean
@torch.inference_mode()
def next_token_probabilities(
    model: CharRNN,
    vocabulary: Vocabulary,
    prompt: str,
    temperature: float,
    top_k: int,
    top_p: float,
    limit: int = 15,
    precision: str = "auto",
) -> list[tuple[str, float, float]]:
    """The likeliest next tokens after ``prompt``: (readable token, raw, shaped) probability.

    Raw is what the model learned (temperature 1, nothing cut off); shaped is what `sample`
    draws from with these settings. Tokens a sample may never contain are left out; the
    list is sorted by shaped, then raw probability, and holds at most ``limit`` tokens.
    UnknownCharacterError when the prompt has characters the model never saw.
    """
    SampleConfig(temperature=temperature, top_k=top_k, top_p=top_p)  # the same checks
    model.eval()
    device = next(model.parameters()).device
    autocast = torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=use_bfloat16(precision, device)
    )
    with autocast:
        logits, _ = model(torch.tensor([prompt_ids(vocabulary, prompt)], device=device))
    logits = logits[0, -1].float().cpu()
    banned = banned_tokens(vocabulary)
    logits[banned] = float("-inf")
    raw = logits.softmax(-1).tolist()
    shaped = shaped_probabilities(logits, temperature, top_k, top_p).tolist()
    allowed = [i for i in range(vocabulary.size) if i not in banned]
    allowed.sort(key=lambda i: (shaped[i], raw[i]), reverse=True)
    return [
        (readable_token(vocabulary.tokens[i]), raw[i], shaped[i]) for i in allowed[: max(limit, 0)]
    ]


def shaping_sentence(temperature: float, top_k: int, top_p: float, unit: str = "character") -> str:
    """One or two sentences for people: what these settings do to the next-token chances."""
    if temperature == 0:
        return (
            f"At temperature 0 the likeliest {unit} always wins (all the chance goes to it), "
            "so the same prompt always gives the same text."
        )
    if temperature < 1:
        sentence = (
            f"At temperature {temperature:g} the likeliest {unit}s get even likelier and the "
            "rare ones fade: safer text, but more repetitive."
        )
    elif temperature == 1:
        sentence = f"At temperature 1 each {unit} is drawn just as often as the model expects it."
    else:
        sentence = (
            f"At temperature {temperature:g} the other {unit}s catch up with the likeliest: "
            "more surprising text, and messier."
        )
    cuts = [f"top-k keeps only the {top_k} likeliest"] if top_k else []
    if top_p < 1:
        cuts.append(f"top-p keeps only the likeliest that together reach {top_p:.0%}")
    if cuts:
        sentence += f" Then {' and '.join(cuts)}; the others get no chance at all."
    return sentence
