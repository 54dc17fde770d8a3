"""What the Train and Models pages read out of metrics: chart tables, progress, hints."""

from __future__ import annotations

import math

from charrnn.runs.report import (
    FLAT_HINT,
    OVERFIT_HINT,
    chem_frame,
    compare_frame,
    duration,
    escape_markdown,
    latest_progress,
    loss_frame,
    training_hint,
)


def curve(train: list[float], validation: list[float], every: int = 10) -> list[dict]:
    """Step events every 10 steps and an eval after each stretch of len(train)/len(validation)."""
    events, per_eval = [], len(train) // len(validation)
    for index, loss in enumerate(train, start=1):
        events.append({"kind": "step", "step": index * every, "train_loss": loss})
        if index % per_eval == 0:
            value = validation[index // per_eval - 1]
            events.append({"kind": "eval", "step": index * every, "validation_loss": value})
    return events


def test_loss_frame_has_both_curves():
    events = curve([3.0, 2.5, 2.0, 1.8], [2.6, 1.9])
    events.append({"kind": "eval", "step": 50, "validation_loss": float("nan")})  # skipped
    frame = loss_frame(events + [{"kind": "checkpoint", "step": 40}])
    assert list(frame.columns) == ["step", "loss", "curve"]
    assert (frame.curve == "training").sum() == 4 and (frame.curve == "validation").sum() == 2
    assert loss_frame([]).empty


def test_chem_frame_in_percent():
    events = [{"kind": "chem", "step": 100, "validity": 0.5, "uniqueness": 1.0, "novelty": 0.25}]
    frame = chem_frame(events + [{"kind": "step", "step": 100, "train_loss": 1.0}])
    assert sorted(frame.measure) == ["new", "unique", "valid"]
    assert frame.set_index("measure").percent["valid"] == 50.0


def test_compare_frame_one_line_per_run():
    frame = compare_frame({"a": curve([2, 1], [1.5, 1.2]), "b": curve([2, 1, 1], [1.4])})
    assert frame.groupby("run").size().to_dict() == {"a": 2, "b": 1}


def test_latest_progress():
    events = [
        {"kind": "step", "step": 10, "total_steps": 100, "progress": 0.1, "eta": 90.0,
         "tokens_per_second": 1000.0, "train_loss": 2.0},
        {"kind": "eval", "step": 10, "progress": 0.1, "validation_loss": 2.1, "samples": ["ab"]},
        {"kind": "step", "step": 20, "total_steps": 100, "progress": 0.2, "eta": 80.0,
         "tokens_per_second": 1100.0, "train_loss": 1.9},
    ]  # fmt: skip
    now = latest_progress(events)
    assert (now.step, now.total_steps, now.fraction, now.eta) == (20, 100, 0.2, 80.0)
    assert now.validation_loss == 2.1 and now.samples == ("ab",)
    done = latest_progress(events + [{"kind": "done", "step": 100, "progress": 1.0}])
    assert done.fraction == 1.0 and done.eta == 0.0
    assert latest_progress([]).fraction == 0.0


def test_rising_validation_loss_is_over_fitting():
    train = [3.0 - 0.1 * i for i in range(20)]  # keeps falling
    assert training_hint(curve(train, [2.5, 2.0, 1.8, 1.9, 2.1])) == OVERFIT_HINT


def test_both_flat_says_the_model_has_learned_what_it_can():
    train = [3.0, 2.0, 1.5] + [1.2] * 37
    assert training_hint(curve(train, [1.5, 1.21, 1.2, 1.2, 1.2])) == FLAT_HINT


def test_a_run_that_still_learns_gets_no_hint():
    train = [3.0 * math.exp(-0.05 * i) for i in range(40)]
    validation = [3.0 * math.exp(-0.4 * i) + 0.1 for i in range(5)]
    assert training_hint(curve(train, validation)) is None
    assert training_hint(curve(train[:4], validation[:2])) is None  # too early to tell


def test_duration_and_escaping():
    assert duration(45) == "45 s" and duration(185) == "3 min 5 s"
    assert duration(4800) == "1 h 20 min"
    assert duration(None) == "unknown"
    assert escape_markdown("a *b* [x](http://y) `c`") == r"a \*b\* \[x\]\(http\://y\) \`c\`"
