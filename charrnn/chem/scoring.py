"""What a steering score asks of a molecule: components (QED, SA, property windows, similarity,
substructures), each turned into a desirability from 0 to 1 and weighed (ScoreSpec, score.json).

The numbers themselves are computed by charrnn.chem.scorer; this module is plain data and maths.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal, get_args

from charrnn.errors import UserError

SCORE_FORMAT = "charrnn-score-1"
ComponentKind = Literal[
    "qed", "sa", "logp", "weight", "tpsa", "hbd", "hba", "rings", "similarity", "contains",
    "excludes",
]  # fmt: skip
COMPONENT_KINDS: tuple[ComponentKind, ...] = get_args(ComponentKind)
Shape = Literal["window", "higher", "lower"]
SHAPES: tuple[Shape, ...] = get_args(Shape)
SUBSTRUCTURE_KINDS = ("contains", "excludes")
MAX_COMPONENTS = 12
MAX_PATTERN_LENGTH = 200  # characters of a SMILES or SMARTS given by a user
MAX_WEIGHT = 100.0
MAX_SCORE_FILE_BYTES = 64 * 1024
SOFT_FLOOR = 0.01  # the least a component that is not a hard constraint counts in the mean

TITLES: dict[str, str] = {
    "qed": "QED (drug-likeness)",
    "sa": "SA score (ease of making)",
    "logp": "logP",
    "weight": "Molecular weight",
    "tpsa": "TPSA",
    "hbd": "H-bond donors",
    "hba": "H-bond acceptors",
    "rings": "Rings",
    "similarity": "Similarity",
    "contains": "Contains",
    "excludes": "Does not contain",
}
# Each kind's shape and bounds when a score file leaves them out: (shape, low, high, soft).
DEFAULTS: dict[str, tuple[Shape, float | None, float | None, float]] = {
    "qed": ("higher", 0.0, 1.0, 0.1),  # desirability = QED
    "sa": ("lower", 2.0, 6.0, 1.0),  # 1 up to SA 2 (easy), 0 from SA 6 (hard) on
    "logp": ("window", 1.0, 3.0, 1.0),
    "weight": ("window", 200.0, 500.0, 50.0),
    "tpsa": ("window", 20.0, 120.0, 20.0),
    "hbd": ("window", 0.0, 5.0, 1.0),
    "hba": ("window", 0.0, 10.0, 1.0),
    "rings": ("window", 1.0, 4.0, 1.0),
    "similarity": ("higher", 0.0, 1.0, 0.1),  # desirability = Tanimoto similarity
    "contains": ("higher", 0.0, 1.0, 0.1),  # value 1 when the molecule has it, else 0
    "excludes": ("higher", 0.0, 1.0, 0.1),  # value 1 when the molecule lacks it, else 0
}


class ScoreError(UserError, ValueError):
    """A score (or score file) that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Component:
    """One part of a score. ``shape`` turns the molecule's value into a desirability:

    - "window": 1 from ``low`` to ``high`` (either may be left open: None); outside, it
      halves every ``soft`` units away (0.5 at ``soft``, 0.06 at twice that).
    - "higher": 0 at ``low`` or below, rising in a straight line to 1 at ``high``.
    - "lower": 1 at ``low`` or below, falling in a straight line to 0 at ``high``.

    ``target`` is the molecule to be similar to (similarity) or the substructure, as SMILES
    or SMARTS (contains / excludes). A ``hard`` component at 0 makes the whole score 0;
    substructures are always hard.
    """

    kind: ComponentKind
    weight: float = 1.0
    shape: Shape | None = None  # None: the kind's default (DEFAULTS)
    low: float | None = None
    high: float | None = None
    soft: float | None = None
    target: str = ""
    hard: bool = False

    def __post_init__(self) -> None:
        if self.kind not in COMPONENT_KINDS:
            kinds = ", ".join(COMPONENT_KINDS)
            raise ScoreError(
                f"Unknown score component {str(self.kind)[:30]!r}; use one of {kinds}."
            )
        shape, low, high, soft = DEFAULTS[self.kind]
        bounds = self.low is not None or self.high is not None
        if self.kind in SUBSTRUCTURE_KINDS or (self.shape in (None, shape) and not bounds):
            self._set(shape=shape, low=low, high=high)  # the kind's own (a substructure's)
        elif self.shape is None:
            self._set(shape="window")  # bounds without a shape make a window
        if self.soft is None:
            self._set(soft=soft)
        if self.kind in SUBSTRUCTURE_KINDS:
            self._set(hard=True)
        self._check()

    def _set(self, **values) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _check(self) -> None:
        title = TITLES[self.kind]
        if self.shape not in SHAPES:
            raise ScoreError(f"{title}: the shape must be one of {', '.join(SHAPES)}.")
        for name in ("weight", "low", "high", "soft"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise ScoreError(f"{title}: {name} must be a number, not {str(value)[:30]!r}.")
        if not isinstance(self.hard, bool):
            raise ScoreError(f"{title}: hard is true or false, not {str(self.hard)[:30]!r}.")
        if not 0 < self.weight <= MAX_WEIGHT:
            raise ScoreError(f"{title}: the weight must be above 0 and at most {MAX_WEIGHT:g}.")
        if self.soft <= 0:
            raise ScoreError(f"{title}: the soft edge must be wider than 0.")
        if self.shape == "window" and self.low is None and self.high is None:
            raise ScoreError(f"{title}: a window needs a lower bound, an upper bound or both.")
        if self.shape != "window" and (self.low is None or self.high is None):
            raise ScoreError(f"{title}: '{self.shape} is better' needs both low and high.")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ScoreError(f"{title}: low ({self.low:g}) must be below high ({self.high:g}).")
        if not isinstance(self.target, str):
            raise ScoreError(f"{title}: give the molecule or pattern as text (a SMILES or SMARTS).")
        if len(self.target) > MAX_PATTERN_LENGTH:
            raise ScoreError(
                f"{title}: the molecule or pattern is longer than {MAX_PATTERN_LENGTH} "
                "characters. Give a shorter SMILES or SMARTS."
            )
        needs_target = self.kind == "similarity" or self.kind in SUBSTRUCTURE_KINDS
        if needs_target and not self.target.strip():
            what = "molecule to be similar to" if self.kind == "similarity" else "substructure"
            raise ScoreError(f"{title}: give the {what} as SMILES or SMARTS.")

    @property
    def title(self) -> str:
        return f"{TITLES[self.kind]} {self.target}".strip()

    def desirability(self, value: float) -> float:
        """How much this component likes ``value``: from 0 to 1 (nan counts as 0)."""
        return desirability(value, self.shape, self.low, self.high, self.soft)

    def passes(self, value: float) -> bool:
        """Whether ``value`` meets the component: inside a window, at least halfway up a
        "higher" or "lower" line; a substructure present (contains) or absent (excludes)."""
        wanted = self.desirability(value)
        return wanted >= 1.0 if self.shape == "window" else wanted >= 0.5

    def sentence(self) -> str:
        """The component in plain words, for a page or a report."""
        weight = f" (weight {self.weight:g})" if self.weight != 1 else ""
        hard = " A hard constraint: failing it scores the molecule 0." if self.hard else ""
        if self.kind == "contains":
            return f"Must contain {self.target}.{hard}"
        if self.kind == "excludes":
            return f"Must not contain {self.target}.{hard}"
        name = TITLES[self.kind] + (f" to {self.target}" if self.kind == "similarity" else "")
        if self.shape == "higher":
            rule = f"higher is better, from {self.low:g} (0) to {self.high:g} (full marks)"
        elif self.shape == "lower":
            rule = f"lower is better, full marks up to {self.low:g}, none from {self.high:g}"
        elif self.high is None:
            rule = f"at least {self.low:g} (halving every {self.soft:g} below)"
        elif self.low is None:
            rule = f"at most {self.high:g} (halving every {self.soft:g} above)"
        else:
            rule = f"between {self.low:g} and {self.high:g} (halving every {self.soft:g} outside)"
        return f"{name}: {rule}{weight}.{hard}"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> Component:
        if not isinstance(data, dict) or "kind" not in data:
            raise ScoreError("Each score component is an object with a 'kind'.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(key)[:30] for key in data if key not in known)
        if unknown:
            raise ScoreError(f"Unknown field(s) in a score component: {', '.join(unknown)}.")
        try:
            return cls(**data)
        except TypeError as error:
            raise ScoreError(f"A score component is not valid ({error}).") from None


def desirability(
    value: float, shape: Shape, low: float | None, high: float | None, soft: float
) -> float:
    """The desirability of ``value`` under a shape (see Component): from 0 to 1."""
    if value is None or not math.isfinite(value):
        return 0.0
    if shape == "higher":
        return min(1.0, max(0.0, (value - low) / (high - low)))
    if shape == "lower":
        return min(1.0, max(0.0, (high - value) / (high - low)))
    below = low - value if low is not None else 0.0
    above = value - high if high is not None else 0.0
    distance = max(below, above, 0.0)
    return 0.5 ** ((distance / soft) ** 2)


def combine(components: Sequence[Component], desirabilities: Sequence[float]) -> float:
    """The weighted geometric mean of the desirabilities: a hard component at 0 makes it 0;
    any other counts at least SOFT_FLOOR, so one poor property lowers the score but does
    not erase what the others give."""
    total_weight, log_sum = 0.0, 0.0
    for component, value in zip(components, desirabilities, strict=True):
        if component.hard and value <= 0.0:
            return 0.0
        log_sum += component.weight * math.log(max(value, SOFT_FLOOR))
        total_weight += component.weight
    return math.exp(log_sum / total_weight) if total_weight else 0.0


@dataclass(frozen=True)
class ScoreSpec:
    """A whole score: its components, combined by `combine`. score.json holds one."""

    components: tuple[Component, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", tuple(self.components))
        if not self.components:
            raise ScoreError("A score needs at least one component.")
        if len(self.components) > MAX_COMPONENTS:
            raise ScoreError(f"A score has at most {MAX_COMPONENTS} components.")

    @property
    def names(self) -> tuple[str, ...]:
        """A short unique key per component (its kind, numbered when it repeats)."""
        names, seen = [], {}
        for component in self.components:
            seen[component.kind] = seen.get(component.kind, 0) + 1
            count = seen[component.kind]
            names.append(component.kind if count == 1 else f"{component.kind}_{count}")
        return tuple(names)

    def sentence(self) -> str:
        """How the score is made, in words."""
        parts = " ".join(f"({i}) {c.sentence()}" for i, c in enumerate(self.components, 1))
        return (
            "Each molecule gets a score from 0 to 1: the weighted geometric mean of how well "
            f"it meets each part. {parts} Molecules RDKit cannot read score 0."
        )

    def with_component(self, component: Component) -> ScoreSpec:
        return replace(self, components=self.components + (component,))

    def to_json(self) -> dict:
        return {"format": SCORE_FORMAT, "components": [c.to_json() for c in self.components]}

    @classmethod
    def from_json(cls, data: object) -> ScoreSpec:
        if not isinstance(data, dict) or not isinstance(data.get("components"), list):
            raise ScoreError("A score file is a JSON object with a list of 'components'.")
        if data.get("format", SCORE_FORMAT) != SCORE_FORMAT:
            raise ScoreError(f"This score file's format is not {SCORE_FORMAT!r}.")
        if len(data["components"]) > MAX_COMPONENTS:
            raise ScoreError(f"A score has at most {MAX_COMPONENTS} components.")
        return cls(tuple(Component.from_json(item) for item in data["components"]))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def loads(cls, text: str | bytes) -> ScoreSpec:
        """A ScoreSpec from score.json's text; ScoreError when it is not one."""
        if len(text) > MAX_SCORE_FILE_BYTES:
            raise ScoreError(f"A score file is at most {MAX_SCORE_FILE_BYTES // 1024} KB.")
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ScoreError(f"The score file is not valid JSON ({error}).") from None
        except RecursionError:  # [[[[...: Python's JSON reader gives up on deep nesting
            raise ScoreError(
                "The score file is nested too deeply to be a score: a score is a list of "
                "components, each a flat object of names and values."
            ) from None
        return cls.from_json(data)
