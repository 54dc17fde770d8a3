"""The Train page's numbers in one place: each one's label and range (lowest, highest, step).

Its widgets are drawn from here, and recipe links are checked against the same ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

from charrnn.limits import MAX_EMBEDDING, MAX_HIDDEN, MAX_LAYERS

DEFAULT_MOST_MINUTES = 600.0  # the longest run in minutes where the server sets no time cap


@dataclass(frozen=True)
class NumberRange:
    """One number of the Train page: whole numbers where ``lowest`` is an int."""

    label: str
    lowest: int | float
    highest: int | float
    step: int | float

    def holds(self, value: int | float) -> bool:
        return self.lowest <= value <= self.highest

    @property
    def whole(self) -> bool:
        return isinstance(self.lowest, int)


MODEL_NUMBERS = {  # ModelConfig's fields
    "layers": NumberRange("Layers", 1, MAX_LAYERS, 1),
    "hidden_size": NumberRange("Hidden size", 8, MAX_HIDDEN, 32),
    "embedding_size": NumberRange("Embedding size", 4, MAX_EMBEDDING, 16),
    "dropout": NumberRange("Dropout", 0.0, 0.8, 0.05),
}
TRAIN_NUMBERS = {  # TrainConfig's fields
    "sequence_length": NumberRange("Sequence length", 8, 512, 8),
    "batch_size": NumberRange("Batch size", 1, 512, 8),
    "learning_rate": NumberRange("Learning rate", 1e-5, 1.0, 1e-4),
    "weight_decay": NumberRange("Weight decay", 0.0, 1.0, 0.05),
    "steps": NumberRange("Steps", 10, 200_000, 100),
    "chem_every": NumberRange("Check the chemistry every ... steps", 0, 100_000, 50),
    "freeze_layers": NumberRange("Frozen layers", 0, 8, 1),
}


def minutes_range(job_minutes: float | None) -> NumberRange:
    """Training time in minutes: up to the server's time cap (``job_minutes``), if it has one."""
    most = float(job_minutes or DEFAULT_MOST_MINUTES)
    return NumberRange("Minutes", min(0.5, most), most, 0.01)


def default_minutes(job_minutes: float | None) -> float:
    return min(5.0, float(job_minutes or DEFAULT_MOST_MINUTES))
