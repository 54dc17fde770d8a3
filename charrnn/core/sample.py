"""Sampling: many samples at once, with temperature, top-k, top-p, a prompt and a stop token.

Each sample carries its log-likelihood under the model (temperature 1, no truncation).
In the web process, requests are first fitted to a work budget (sampling_budget.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import torch

from charrnn.core.model import CharRNN, State, use_bfloat16
from charrnn.core.tokens import BOS_ID, EOS_ID, PAD_ID, Vocabulary
from charrnn.errors import SettingsError

MAX_SEED = 2**31 - 1  # the largest seed a page or a run's settings offers


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
    min_length: int = 0  # tokens written before the end token may come (a decoration's group)

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise SettingsError("temperature cannot be negative")
        if self.top_k < 0 or not 0.0 < self.top_p <= 1.0:
            raise SettingsError("top-k must be 0 or more and top-p in (0, 1]")
        if self.max_length < 1 or self.num_samples < 1:
            raise SettingsError("length and number of samples must be at least 1")
        if self.min_length < 0:
            raise SettingsError("the shortest length cannot be negative")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SampleConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


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


def _concatenated(states: list[State]) -> State:
    if isinstance(states[0], tuple):
        parts = zip(*states, strict=True)
        return tuple(torch.cat(layer, dim=1) for layer in parts)  # type: ignore[return-value]
    return torch.cat(states, dim=1)


def _read_prompts(
    model: CharRNN, vocabulary: Vocabulary, prompts: Sequence[str], device: torch.device
) -> tuple[torch.Tensor, State]:
    """The next-token logits and the state after each prompt, one row per prompt: each
    different prompt is read once, prompts of the same length in one batch."""
    distinct = list(dict.fromkeys(prompts))
    encoded = [prompt_ids(vocabulary, prompt) for prompt in distinct]
    by_length: dict[int, list[int]] = {}
    for index, ids in enumerate(encoded):
        by_length.setdefault(len(ids), []).append(index)
    read_order: list[int] = []
    logits_parts, states = [], []
    for indices in by_length.values():
        batch = torch.tensor([encoded[index] for index in indices], device=device)
        logits, state = model(batch)
        logits_parts.append(logits[:, -1])
        states.append(state)
        read_order += indices
    position = {distinct[index]: row for row, index in enumerate(read_order)}
    rows = torch.tensor([position[prompt] for prompt in prompts], device=device)
    return torch.cat(logits_parts)[rows], _select(_concatenated(states), rows)


@lean
@torch.inference_mode()
def sample(
    model: CharRNN, vocabulary: Vocabulary, config: SampleConfig = SampleConfig()
) -> list[Sample]:
    """Draw ``config.num_samples`` samples in one batch; finished ones leave the batch."""
    return _write(model, vocabulary, config, [config.prompt] * config.num_samples)


@lean
@torch.inference_mode()
def sample_each(
    model: CharRNN, vocabulary: Vocabulary, prompts: Sequence[str], config: SampleConfig
) -> list[Sample]:
    """One sample after each of ``prompts``, in one batch (``config``'s prompt and number of
    samples are not used): how a scaffold is decorated, one molecule per try."""
    return _write(model, vocabulary, config, list(prompts)) if prompts else []


def _write(
    model: CharRNN, vocabulary: Vocabulary, config: SampleConfig, prompts: list[str]
) -> list[Sample]:
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed if config.seed is not None else torch.seed() % 2**63)
    autocast = torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=use_bfloat16(config.precision, device)
    )
    count = len(prompts)
    with autocast:
        logits, state = _read_prompts(model, vocabulary, prompts, device)
    ban = torch.zeros(vocabulary.size, device=device)
    ban[banned_tokens(vocabulary)] = float("-inf")
    too_short = ban.clone()
    too_short[EOS_ID] = float("-inf")  # before min_length tokens, the end cannot come

    generated = torch.full((count, config.max_length), PAD_ID, dtype=torch.long, device=device)
    likelihood = torch.zeros(count, device=device)
    lengths = torch.zeros(count, dtype=torch.long, device=device)
    finished = torch.zeros(count, dtype=torch.bool, device=device)
    active = torch.arange(count, device=device)  # rows still writing; finished rows leave
    for position in range(config.max_length):
        logits = logits.float() + (too_short if position < config.min_length else ban)
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
            text=prompt + vocabulary.decode(row[: int(n)].tolist()),
            log_likelihood=float(ll),
            tokens=int(n),
            finished=bool(done),
        )
        for prompt, row, n, ll, done in zip(
            prompts, generated.cpu(), lengths.cpu(), likelihood.cpu(), finished.cpu(), strict=True
        )
    ]
