"""What a training run is told (TrainConfig) and what it reports (TrainEvent, one per line of
metrics.jsonl); Control is how a caller talks to a running trainer between steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

from charrnn.errors import SettingsError

PRECISIONS = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class TrainConfig:
    steps: int | None = 2000  # stop after this many steps (None: only the time limit)
    minutes: float | None = None  # stop after this much training time
    batch_size: int = 32
    sequence_length: int = 64  # text window length (tokens); the state carries across windows
    learning_rate: float = 3e-3
    warmup_steps: int = 30
    final_learning_rate: float = 0.05  # fraction of learning_rate at the end of the cosine
    schedule: str = "cosine"  # or "constant"
    gradient_clip: float = 5.0
    weight_decay: float = 0.0  # decoupled (AdamW) weight decay; 0 = plain Adam
    average: float = 0.0  # decay of a moving average of the weights shown for evaluations,
    # samples and checkpoints (e.g. 0.999: about the last 1,000 steps); 0 = no averaging
    validation_fraction: float = 0.1
    eval_every: int = 100  # steps between validation losses
    eval_tokens: int = 50_000  # at most this many validation tokens per evaluation
    log_every: int = 10  # steps between train-loss events
    checkpoint_every: int = 500
    preview_samples: int = 3  # samples shown at each evaluation (0: none)
    seed: int = 0
    threads: int | None = None  # torch threads (None: leave as is)
    precision: str = "auto"  # bfloat16 autocast where the hardware has it, else float32
    augment: bool = False  # SMILES corpora: train on random spellings of each molecule
    # SMILES corpora: train on each molecule's RDKit canonical spelling, the one the shipped
    # priors learned (fine-tuning's default: a prior reads other spellings as new patterns)
    canonical: bool = False
    chem_every: int = 0  # SMILES corpora: steps between chemistry checks (0: never)
    chem_samples: int = 100  # molecules sampled for each chemistry check
    freeze_layers: int = 0  # fine-tuning: the lowest recurrent layers kept as they were

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise SettingsError("give a number of steps or minutes (or both)")
        if self.precision not in PRECISIONS:
            raise SettingsError(f"precision must be one of {PRECISIONS}")
        if self.schedule not in ("cosine", "constant"):
            raise SettingsError("schedule must be 'cosine' or 'constant'")
        if self.steps is not None and self.steps < 1:
            raise SettingsError("the number of steps must be at least 1")
        if self.minutes is not None and self.minutes <= 0:
            raise SettingsError("the number of minutes must be more than 0")
        if self.batch_size < 1 or self.sequence_length < 1 or self.learning_rate <= 0:
            raise SettingsError("batch size, sequence length and learning rate must be positive")
        if self.weight_decay < 0:
            raise SettingsError("weight decay must be 0 (none) or more")
        if not 0.0 <= self.average < 1.0:
            raise SettingsError("the weight averaging decay must be 0 (none) or between 0 and 1")
        if self.chem_every < 0 or self.chem_samples < 1:
            raise SettingsError("chem_every must be 0 (never) or more, and chem_samples at least 1")
        if self.freeze_layers < 0:
            raise SettingsError("the number of frozen layers must be 0 (none) or more")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class TrainEvent:
    """One line of a run's metrics.jsonl and one call of the trainer's callback."""

    kind: str  # "step", "eval", "chem", "checkpoint", "paused", "resumed", "done"
    step: int
    elapsed: float  # seconds of training (pauses excluded)
    total_steps: int | None = None
    train_loss: float | None = None
    validation_loss: float | None = None
    learning_rate: float | None = None
    tokens_per_second: float | None = None
    eta: float | None = None  # seconds left
    progress: float | None = None  # 0..1
    epoch: float | None = None
    samples: list[str] | None = None
    status: str | None = None  # with "done": "finished", "stopped", "interrupted"
    validity: float | None = None  # with "chem": fractions of the sampled molecules
    uniqueness: float | None = None
    novelty: float | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


Control = Callable[[], dict | None]  # returns e.g. {"command": "pause"} or {"learning_rate": 1e-3}
