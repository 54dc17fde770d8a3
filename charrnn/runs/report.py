"""What a run's metrics say, for people: chart tables, the latest progress, plain-language hints.

Functions take the event dicts of metrics.jsonl (see TrainEvent) and return plain data.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

import pandas as pd

CHEM_MEASURES = {"validity": "valid", "uniqueness": "unique", "novelty": "new"}
OVERFIT_HINT = (
    "The validation loss has started to rise while the training loss keeps falling: the "
    "model is memorising its corpus instead of learning patterns that carry over to new "
    "text (over-fitting). Stop here, or train again with a smaller size, more dropout or a "
    "larger corpus."
)
FLAT_HINT = (
    "Both losses have stopped falling for a while: the model has learned what it can with "
    "these settings. You can stop now; to do better, try a larger size, a larger corpus or "
    "a higher learning rate."
)


@dataclass(frozen=True)
class Progress:
    """The latest position of a run, from its last events."""

    step: int = 0
    total_steps: int | None = None
    fraction: float = 0.0  # 0..1
    eta: float | None = None  # seconds left
    tokens_per_second: float | None = None
    train_loss: float | None = None
    validation_loss: float | None = None
    samples: tuple[str, ...] = ()


def loss_frame(events: list[dict]) -> pd.DataFrame:
    """Columns step, loss, curve ("training" or "validation"): one row per logged value."""
    rows = [
        (event.get("step", 0), event[field], curve)
        for event in events
        for field, curve in (("train_loss", "training"), ("validation_loss", "validation"))
        if event.get("kind") in ("step", "eval") and _number(event.get(field))
    ]
    return pd.DataFrame(rows, columns=["step", "loss", "curve"])


def chem_frame(events: list[dict]) -> pd.DataFrame:
    """Columns step, percent, measure (valid / unique / new) from the chemistry checks."""
    rows = [
        (event.get("step", 0), 100.0 * event[field], label)
        for event in events
        if event.get("kind") == "chem"
        for field, label in CHEM_MEASURES.items()
        if _number(event.get(field))
    ]
    return pd.DataFrame(rows, columns=["step", "percent", "measure"])


def compare_frame(curves: dict[str, list[dict]]) -> pd.DataFrame:
    """Columns step, validation_loss, run: the validation curve of each named run."""
    rows = [
        (event.get("step", 0), event["validation_loss"], name)
        for name, events in curves.items()
        for event in events
        if event.get("kind") == "eval" and _number(event.get("validation_loss"))
    ]
    return pd.DataFrame(rows, columns=["step", "validation_loss", "run"])


def latest_progress(events: list[dict]) -> Progress:
    """Where the run stands: its last step event, last validation loss and last samples."""
    values: dict = {}
    for event in events:
        if event.get("kind") == "step":
            values.update(
                step=int(event.get("step", 0)),
                total_steps=event.get("total_steps"),
                fraction=float(event.get("progress") or 0.0),
                eta=event.get("eta"),
                tokens_per_second=event.get("tokens_per_second"),
                train_loss=event.get("train_loss"),
            )
        elif event.get("kind") in ("eval", "done", "checkpoint"):
            values.update(step=int(event.get("step", 0)), fraction=event.get("progress") or 0.0)
            if event.get("kind") == "done":
                values["eta"] = 0.0
            if _number(event.get("validation_loss")):
                values["validation_loss"] = event["validation_loss"]
            if event.get("samples"):
                values["samples"] = tuple(str(sample) for sample in event["samples"])
    values["fraction"] = min(1.0, max(0.0, float(values.get("fraction", 0.0))))
    return Progress(**values)


def training_hint(events: list[dict]) -> str | None:
    """A plain-language hint when the curves show over-fitting or no more learning."""
    evals = [e for e in events if e.get("kind") == "eval" and _number(e.get("validation_loss"))]
    steps = [e for e in events if e.get("kind") == "step" and _number(e.get("train_loss"))]
    if len(evals) < 3 or len(steps) < 8:
        return None
    validation = [e["validation_loss"] for e in evals]
    best = min(validation)
    recent_train = _mean([e["train_loss"] for e in steps[-max(3, len(steps) // 10) :]])
    rising = validation[-1] > best * 1.03 and validation[-1] > validation[-2] >= best
    if rising and validation[-1] > recent_train * 1.05:
        return OVERFIT_HINT
    if len(evals) >= 4 and len(steps) >= 20:
        half = len(steps) // 2
        quarter = max(1, half // 2)
        earlier = _mean([e["train_loss"] for e in steps[half - quarter : half]])
        later = _mean([e["train_loss"] for e in steps[-quarter:]])
        train_flat = later > earlier * 0.99
        validation_flat = min(validation[-2:]) > min(validation[:-2]) * 0.99
        if train_flat and validation_flat:
            return FLAT_HINT
    return None


def duration(seconds: float | None) -> str:
    """A short time for people: "45 s", "3 min 5 s", "1 h 20 min"."""
    if seconds is None or not _number(seconds):
        return "unknown"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def run_labels(runs) -> dict[str, str]:
    """A select box label for each run (objects with .id and .name), keyed by run id.

    Labels are unique (a repeated name gets the end of the run's id) and do not change while
    a page is open (no status icon): a select box sends back the label shown, and a label
    that changed reads as a different, unknown choice.
    """
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.name] = counts.get(run.name, 0) + 1
    return {
        run.id: run.name if counts[run.name] == 1 else f"{run.name} ({run.id[-6:]})" for run in runs
    }


def escape_markdown(text: str) -> str:
    """Text a user wrote (a run name), safe to put in Streamlit markdown: shown as typed."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:])", r"\\\1", " ".join(str(text).split()))


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _mean(values: list[float]) -> float:
    return sum(values) / max(1, len(values))


def text_html(pieces: list[str], values=None, current: int | None = None) -> str:
    """A text as HTML, every piece escaped: coloured by ``values`` in [-1, 1] (blue below 0,
    orange above), or with the piece at ``current`` marked and the next one underlined."""
    spans = []
    for index, piece in enumerate(pieces):
        shown = html.escape(piece).replace("\n", "↵<br>") or "▶"
        style = "padding:1px 0;border-radius:2px;"
        if values is not None:
            value = float(values[index])
            colour = "228,87,46" if value > 0 else "46,134,228"
            style += f"background:rgba({colour},{abs(value):.2f});"
        if current is not None and index == current:
            style += "background:#ffd166;outline:2px solid #e4572e;"
        elif current is not None and index > current:
            style += "color:#9aa5b1;"
        spans.append(f'<span style="{style}">{shown}</span>')
    font = "font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;"
    return f'<div style="{font}line-height:1.9;white-space:pre-wrap;">{"".join(spans)}</div>'
