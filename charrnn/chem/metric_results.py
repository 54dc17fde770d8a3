"""What each metric means and how results are shown: MetricResult, the plain-language
explanation of every MOSES metric with what good looks like, and the table and JSON reports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class MetricResult:
    key: str  # stable id, e.g. "unique@1000"
    name: str  # what a table shows
    value: float | None  # None when it cannot be measured (e.g. no valid molecules)
    explanation: str  # one plain sentence
    good: str  # what good looks like, with MOSES's CharRNN figure where there is one
    flag: str | None = None  # a bad pattern worth a warning


# (name, explanation, good); CharRNN figures are MOSES's README table (against its test set).
_ABOUT = {
    "valid": (
        "Validity",
        "The share of samples RDKit can read as a molecule.",
        "Above 0.9; MOSES's CharRNN reaches 0.975.",
    ),
    "unique@1000": (
        "Uniqueness@1k",
        "Among the first 1,000 valid samples, the share that are different molecules.",
        "Close to 1.0; MOSES's CharRNN reaches 1.0.",
    ),
    "unique@10000": (
        "Uniqueness@10k",
        "Among the first 10,000 valid samples, the share that are different molecules.",
        "Close to 1.0; MOSES's CharRNN reaches 0.999.",
    ),
    "novelty": (
        "Novelty",
        "The share of distinct valid molecules that are not in the training set.",
        "About 0.8 to 0.95; MOSES's CharRNN reaches 0.842. Near 0 means copying.",
    ),
    "intdiv1": (
        "IntDiv1",
        "Internal diversity: 1 minus the mean Tanimoto similarity of all pairs of valid "
        "samples (Morgan fingerprints); higher means more varied molecules.",
        "Near the training set's own value (0.857 for MOSES data); CharRNN 0.856.",
    ),
    "intdiv2": (
        "IntDiv2",
        "Internal diversity with a root-mean-square average, which weighs near-copies more.",
        "Near the training set's own value (0.851 for MOSES data); CharRNN 0.850.",
    ),
    "snn": (
        "SNN",
        "Similarity to the nearest training molecule (Tanimoto), averaged over valid samples.",
        "About 0.5 to 0.7 (CharRNN: 0.601 against MOSES's test set); 1.0 means copies.",
    ),
    "frag": (
        "Frag",
        "Cosine similarity of how often each BRICS fragment occurs in samples and training set.",
        "Above 0.99; MOSES's CharRNN reaches 0.9998.",
    ),
    "scaf": (
        "Scaf",
        "Cosine similarity of how often each Bemis-Murcko scaffold (with 2 or more rings, as "
        "MOSES counts them) occurs in samples and training set.",
        "Above 0.9 for 10,000 samples (CharRNN 0.924); lower for small samples.",
    ),
    "filters": (
        "Filters",
        "The share of valid samples that pass MOSES's filters: C, N, S, O, F, Cl, Br, H only; "
        "no charges; no ring of 8+ atoms; no MCF or PAINS alert.",
        "Above 0.99 on MOSES data; MOSES's CharRNN reaches 0.994.",
    ),
    "fcd": (
        "FCD",
        "Fréchet ChemNet Distance: how far the samples are from the training set as seen by "
        "ChemNet, a network trained on bioactivity; lower is better.",
        "Below 1 is close (MOSES's CharRNN: 0.073); it grows for small samples.",
    ),
    "degenerate": (
        "Degenerate samples",
        "The share of valid samples that are bare carbon chains (8+ in a row, unbranched) or "
        "ring-free molecules made of one element.",
        "Near 0; flagged from 0.05.",
    ),
}


def metric_result(
    key: str, value: float | None, flag: str | None = None, note: str = ""
) -> MetricResult:
    """The result of metric `key` with its name and explanations (a note added to them)."""
    name, explanation, good = _ABOUT[key]
    if value is not None and not math.isfinite(value):
        value = None
    return MetricResult(key, name, value, explanation + note, good, flag)


def metrics_table(results: Sequence[MetricResult], explain: bool = False) -> str:
    """A plain-text table for the command line, warnings listed below it."""
    width = max([len(result.name) for result in results] + [6])
    lines = [f"{'Metric':<{width}}  {'Value':>9}  What good looks like"]
    for result in results:
        value = "n/a" if result.value is None else f"{result.value:.4f}"
        marker = " !" if result.flag else ""
        lines.append(f"{result.name:<{width}}  {value:>9}  {result.good}{marker}")
        if explain:
            lines.append(f"{'':<{width}}  {'':>9}  {result.explanation}")
    flags = [f"! {result.name}: {result.flag}" for result in results if result.flag]
    return "\n".join(lines + ([""] + flags if flags else []))


def to_json(results: Sequence[MetricResult]) -> str:
    return json.dumps([asdict(result) for result in results], indent=2, ensure_ascii=False)
