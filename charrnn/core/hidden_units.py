"""Which hidden units follow what, in a trace: their correlation with simple detectors
(quotes, brackets, rings ...), one unit's colours over the text, and the toy pattern's cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn.core.detectors import Detector
from charrnn.core.inside import InsideError, Trace


@dataclass(frozen=True)
class UnitMatch:
    unit: int  # index of the hidden unit
    detector: str  # the detector's name
    correlation: float  # Pearson r over the text's positions, -1 to 1


@dataclass(frozen=True, eq=False)
class UnitCorrelations:
    detectors: list[str]  # the detectors compared (those that change over the text)
    correlations: np.ndarray  # (units, detectors) Pearson r; 0 for a unit that never changes
    ranked: list[UnitMatch]  # the strongest (unit, detector) pairs by |r|, at most `top`
    best: list[UnitMatch]  # the best unit of each detector, strongest first
    skipped: list[str]  # detectors that do not change over this text (no correlation)


def interpretable_units(trace: Trace, detectors: list[Detector], top: int = 20) -> UnitCorrelations:
    """Which hidden units follow which detector: Pearson r of each unit with each detector.

    Each position is compared with the detector's value at the last character of the token
    it read; the begin token's position is left out.
    """
    if any(len(detector.values) != len(trace.text) for detector in detectors):
        raise InsideError("The detectors were computed on a different text than the trace.")
    read = trace.char_ends >= 0
    signals = np.zeros((int(read.sum()), len(detectors)))
    for column, detector in enumerate(detectors):
        signals[:, column] = detector.values[trace.char_ends[read]]
    changing = np.ptp(signals, axis=0) > 0 if len(signals) > 1 else np.zeros(len(detectors), bool)
    correlations = _pearson(trace.hidden[read].astype(np.float64), signals[:, changing])
    names = [d.name for d, keep in zip(detectors, changing, strict=True) if keep]
    pairs = [
        UnitMatch(int(unit), names[column], float(correlations[unit, column]))
        for unit, column in np.ndindex(correlations.shape)
    ]
    pairs.sort(key=lambda match: abs(match.correlation), reverse=True)
    best = {}
    for match in pairs:
        best.setdefault(match.detector, match)
    skipped = [d.name for d, keep in zip(detectors, changing, strict=True) if not keep]
    return UnitCorrelations(names, correlations, pairs[:top], list(best.values()), skipped)


def _pearson(units: np.ndarray, signals: np.ndarray) -> np.ndarray:
    """Pearson r between every column of ``units`` and of ``signals``; 0 where a unit is
    constant (no division by zero, no warnings)."""
    if len(units) < 2 or not signals.size:
        return np.zeros((units.shape[1], signals.shape[1]))
    units, signals = units - units.mean(axis=0), signals - signals.mean(axis=0)
    unit_norms = np.sqrt((units**2).sum(axis=0))
    signal_norms = np.sqrt((signals**2).sum(axis=0))
    scale = np.outer(unit_norms, signal_norms)
    valid = np.outer(unit_norms > 1e-9 * np.sqrt(len(units)), signal_norms > 0)
    correlations = np.zeros(scale.shape)
    np.divide(units.T @ signals, scale, out=correlations, where=valid)
    return np.clip(correlations, -1.0, 1.0)


# ----- the toy pattern: predictions and a hidden state that settles into a cycle ----------
@dataclass(frozen=True, eq=False)
class CycleView:
    targets: list[str]  # the true next token of each position (readable)
    predicted: list[str]  # the model's likeliest next token (readable)
    correct: np.ndarray  # (positions,) bool
    accuracy: float  # share of positions predicted right
    period: int  # the text's repeat length, estimated from its tokens
    period_agreement: float  # share of positions t with token t == token t - period
    distance_positions: np.ndarray  # positions t = period, period + 1, ...
    distances: np.ndarray  # |h_t - h_(t - period)|: falls toward 0 as the state settles


def cycle_view(trace: Trace) -> CycleView:
    """Predicted vs true next token, and how far the hidden state is from one period ago."""
    predicted_ids = trace.logits.argmax(axis=-1)
    correct = predicted_ids == trace.target_ids
    period, agreement = _period(trace.input_ids)
    hidden = trace.hidden.astype(np.float64)
    distances = np.linalg.norm(hidden[period:] - hidden[:-period], axis=-1)
    return CycleView(
        targets=trace.targets,
        predicted=[trace.labels[i] for i in predicted_ids],
        correct=correct,
        accuracy=float(correct.mean()),
        period=period,
        period_agreement=agreement,
        distance_positions=np.arange(period, period + len(distances)),
        distances=distances,
    )


def _period(ids: np.ndarray, most: float = 0.8) -> tuple[int, float]:
    """The smallest p with ids[t] == ids[t - p] for ``most`` positions (else the best p),
    and that share; p is at most half the length."""
    shares = {p: float((ids[p:] == ids[:-p]).mean()) for p in range(1, len(ids) // 2 + 1)}
    if not shares:
        return 1, 0.0
    period = next((p for p, share in shares.items() if share >= most), None)
    period = period or max(shares, key=shares.get)
    return period, shares[period]


def unit_colours(trace: Trace, unit: int, state: str = "hidden") -> np.ndarray:
    """One unit's activation at each position scaled to [-1, 1] (0 stays 0, sign kept), for
    colouring ``trace.pieces``; state "cell" uses an LSTM's cell state instead of h."""
    if state not in ("hidden", "cell"):
        raise ValueError(f"state must be 'hidden' or 'cell', not {state!r}")
    if state == "cell" and trace.cells is None:
        raise InsideError("Only an LSTM has a cell state; colour by the hidden state instead.")
    activations = trace.hidden if state == "hidden" else trace.cells
    if not 0 <= unit < activations.shape[1]:
        raise InsideError(f"unit must be between 0 and {activations.shape[1] - 1}")
    values = activations[:, unit].astype(np.float64)
    scale = np.abs(values).max(initial=0.0)
    return values / scale if scale > 0 else np.zeros_like(values)
