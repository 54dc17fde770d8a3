"""What a steering run is told (SteerConfig, kept in steer.json with its score and the model it
starts from) and what it reports (SteerEvent, one per line of metrics.jsonl).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Literal, get_args

from charrnn.core.sample import MAX_SEED  # each step samples with seed * 1_000_003 + step
from charrnn.errors import SettingsError, UserError

STEER_FILE = "steer.json"  # {"format", "start", "score", "settings"}: marks a steering run
STEER_STATE_FILE = "steer_state.json"  # replay memory, diversity filter, hits (to resume)
HITS_FILE = "hits.json"  # the best molecules so far with every component's value
BATCHES_FILE = "batches.json"  # the first and the latest batch's values (before vs after)
STEER_FORMAT = "charrnn-steer-1"
Method = Literal["reinvent", "hillclimb"]
METHODS: tuple[Method, ...] = get_args(Method)
FilterKind = Literal["scaffold", "molecule"]
FILTER_KINDS: tuple[FilterKind, ...] = get_args(FilterKind)
MAX_BATCH = 512
MAX_MINUTES = 24 * 60


class SteerError(UserError, ValueError):
    """A steering run that cannot start or go on; the message says what to do."""


def collapse_warning(uniqueness: float) -> str:
    """What a step's warning says when its molecules are mostly the same few."""
    return (
        f"Only {uniqueness:.0%} of this step's valid molecules are different from each other: "
        "the model is collapsing onto a few molecules. Stop, and steer again with a lower "
        "sigma or learning rate, or with the diversity filter on."
    )


@dataclass(frozen=True)
class SteerConfig:
    """How to steer. REINVENT: the agent's log-likelihood of each molecule is pulled toward
    the prior's plus ``sigma`` times its reward. Hill climbing: the agent is fine-tuned on the
    ``keep_best`` best molecules found so far (GuacaMol's smiles_lstm_hc)."""

    method: Method = "reinvent"
    steps: int | None = None  # stop after this many steps (None: only the time limit)
    minutes: float | None = 5.0  # stop after this much steering time
    batch_size: int = 64  # molecules sampled each step
    sigma: float = 60.0  # REINVENT: how much the score counts against the prior
    learning_rate: float = 5e-4
    replay_size: int = 100  # best molecules remembered (0: no experience replay)
    replay_samples: int = 10  # REINVENT: remembered molecules added to each step's batch
    diversity_bucket: int = 25  # molecules per scaffold that earn a reward (0: no filter)
    diversity_threshold: float = 0.4  # the score from which a molecule counts in its bucket
    diversity_by: FilterKind = "scaffold"  # "molecule": only exact repeats earn nothing
    keep_best: int = 32  # hill climbing: the best molecules trained on each step
    max_length: int = 100  # tokens per molecule
    gradient_clip: float = 5.0
    seed: int = 0
    threads: int | None = None  # torch threads (None: leave as is)
    checkpoint_every: int = 50  # steps between saves of the steered model
    hits: int = 100  # best molecules kept (hits.json)
    collapse_uniqueness: float = 0.5  # below this share of distinct molecules: a warning

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SettingsError(f"the method must be one of {', '.join(METHODS)}")
        if self.diversity_by not in FILTER_KINDS:
            raise SettingsError(f"the diversity filter works by {' or '.join(FILTER_KINDS)}")
        if self.steps is None and self.minutes is None:
            raise SettingsError("give a number of steps or minutes (or both)")
        if self.steps is not None and self.steps < 1:
            raise SettingsError("the number of steps must be at least 1")
        if self.minutes is not None and not 0 < self.minutes <= MAX_MINUTES:
            raise SettingsError(f"the minutes must be above 0 and at most {MAX_MINUTES}")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise SettingsError(f"the batch size must be between 1 and {MAX_BATCH}")
        whole = isinstance(self.seed, int) and not isinstance(self.seed, bool)
        if not whole or not 0 <= self.seed <= MAX_SEED:
            raise SettingsError(f"the seed must be a whole number from 0 to {MAX_SEED}")
        if not (math.isfinite(self.sigma) and 0 <= self.sigma <= 1000):
            raise SettingsError("sigma must be between 0 and 1000")
        if not 0 < self.learning_rate <= 0.1:
            raise SettingsError("the learning rate must be above 0 and at most 0.1")
        for name in ("replay_size", "replay_samples", "diversity_bucket", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name.replace('_', ' ')} must be 0 or more")
        if self.keep_best < 1 or self.hits < 1 or not 1 <= self.max_length <= 1000:
            raise SettingsError("keep best and hits must be at least 1, length 1 to 1000")
        if not 0 <= self.diversity_threshold <= 1 or not 0 <= self.collapse_uniqueness <= 1:
            raise SettingsError("the diversity threshold and collapse share are from 0 to 1")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SteerConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class SteerEvent:
    """One line of a steering run's metrics.jsonl (kind "step" for each step; "checkpoint",
    "paused", "resumed", "done" as training's). Shares are of the step's sampled batch."""

    kind: str
    step: int
    elapsed: float  # seconds of steering (pauses excluded)
    total_steps: int | None = None
    progress: float | None = None  # 0..1
    eta: float | None = None  # seconds left
    mean_score: float | None = None  # invalid molecules count as 0
    best_score: float | None = None  # the best of this step's batch
    best_so_far: float | None = None
    mean_reward: float | None = None  # after the diversity filter
    validity: float | None = None
    uniqueness: float | None = None  # distinct molecules among the valid ones
    scaffolds: int | None = None  # distinct Murcko scaffolds among the valid ones
    pass_rates: dict[str, float] | None = None  # each component (ScoreSpec.names): share met
    all_pass: float | None = None  # share meeting every component
    loss: float | None = None
    full_scaffolds: int | None = None  # scaffolds the diversity filter stopped rewarding
    warning: str | None = None  # in plain words, e.g. when uniqueness collapses
    status: str | None = None  # with "done": "finished" or "stopped"

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}
