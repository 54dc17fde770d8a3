"""Did the model learn chemistry? MOSES's metrics of generated SMILES against a training set:
validity, uniqueness, novelty, IntDiv, SNN, Frag, Scaf, filters, FCD and property distances.

Each metric follows its definition in MOSES (molecularsets/moses, moses/metrics/metrics.py
and utils.py), so figures compare with MOSES's table. Differences: SNN, Frag, Scaf and FCD
are measured against the training set (MOSES: its test set); properties are compared with
the Wasserstein-1 distance (MOSES's plots; its table has a Fréchet distance); a SMILES with
inner spaces is invalid (charrnn.chem.smiles), where RDKit reads "C C" as "C"; PAINS are RDKit's
current SMARTS (see charrnn.chem.properties); FCD's matrix square root is taken by eigenvalues.
Work is done once per distinct SMILES string and weighted by how often it occurs, which
gives MOSES's numbers over all valid samples, duplicates included.

This module is the public entry point: evaluate_molecules, metrics_table and the names of
the modules it builds on (similarity, chemnet, describing, trainingset, metric_results).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence

import numpy as np

# Names marked "re-exported" live in the modules this one builds on; importing them from
# here keeps working.
from charrnn.chem.chemnet import (
    chemnet_of,
    chemnet_statistics,  # noqa: F401 (re-exported)
    frechet_distance,
)
from charrnn.chem.describing import Described, describe_sample
from charrnn.chem.metric_results import (
    MetricResult,
    metric_result,
    metrics_table,  # noqa: F401 (re-exported)
    to_json,  # noqa: F401 (re-exported)
)
from charrnn.chem.properties import PROPERTY_INFO, PROPERTY_NAMES
from charrnn.chem.similarity import (
    cosine_similarity,
    internal_diversities,
    internal_diversity,  # noqa: F401 (re-exported)
    nearest_neighbour_similarity,
    torch_threads,
    wasserstein_distance,
)
from charrnn.chem.trainingset import (
    TrainingStats,
    default_cache_dir,  # noqa: F401 (re-exported)
    training_stats,  # noqa: F401 (re-exported)
)

UNIQUE_AT = (1000, 10000)


# ---------------------------------------------------------------- evaluation


def _property_results(sample: Described, stats: TrainingStats) -> list[MetricResult]:
    values = sample.property_array()
    results = []
    for column, key in enumerate(PROPERTY_NAMES):
        info = PROPERTY_INFO[key]
        unit = f" {info.unit}" if info.unit else ""
        reference = stats.properties[:, column]
        finite = np.isfinite(reference)
        spread = (
            math.sqrt(np.cov(reference[finite], aweights=stats.weights[finite]))
            if finite.sum() > 1
            else float("nan")
        )
        distance = wasserstein_distance(values[:, column], reference, sample.weights, stats.weights)
        results.append(
            MetricResult(
                key=f"wasserstein_{key}",
                name=f"{info.name} distance",
                value=distance,
                explanation=f"Wasserstein distance between the {info.name} of samples and "
                f"training set{f' (in{unit})' if unit else ''}: how far the histograms are apart.",
                good=f"Small next to the training spread (standard deviation {spread:.3g}{unit}).",
            )
        )
    return results


def evaluate_molecules(
    generated: Sequence[str],
    stats: TrainingStats,
    *,
    fcd: bool = True,
    workers: int | None = None,
    timings: dict[str, float] | None = None,
    described: Described | None = None,
) -> list[MetricResult]:
    """MOSES's metrics of `generated` against the training set behind `stats`.

    workers: processes and torch threads (default: the number of cores; pass fewer when
    other jobs share the machine). timings, if given, receives each stage's seconds.
    described: `describe_sample(generated, filters=True, ...)` when the caller has it already.
    Scripts that call this need the `if __name__ == "__main__":` guard of multiprocessing.
    """
    workers = workers or os.cpu_count() or 1
    timings = {} if timings is None else timings
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        timings[stage] = time.perf_counter() - clock
        clock = time.perf_counter()

    generated = list(generated)
    sample = described or describe_sample(generated, filters=True, workers=workers)
    lap("describe")
    results = _counting_results(generated, sample, stats)
    lap("uniqueness_novelty")
    if fcd:
        results.append(_fcd_result(sample, stats, workers))
        lap("fcd")
    with torch_threads(workers):
        fingerprints = sample.fingerprints
        intdiv1, intdiv2 = internal_diversities(fingerprints, sample.weights, (1, 2))
        lap("intdiv")
        snn = nearest_neighbour_similarity(fingerprints, stats.fingerprints, sample.weights)
        lap("snn")
    share = _share_of_valid(sample)
    degenerate = share("degenerate")
    results += [
        metric_result("snn", snn),
        metric_result("frag", cosine_similarity(sample.counts("fragments"), stats.fragment_counts)),
        metric_result("scaf", cosine_similarity(sample.counts("scaffold"), stats.scaffold_counts)),
        metric_result("intdiv1", intdiv1),
        metric_result("intdiv2", intdiv2),
        metric_result("filters", share("passes_filters")),
        metric_result(
            "degenerate",
            degenerate,
            f"{degenerate:.0%} of valid samples are bare chains or "
            "one-element molecules; the model has not learned drug-like structure yet."
            if degenerate is not None and degenerate >= 0.05
            else None,
        ),
        *_property_results(sample, stats),
    ]
    lap("frag_scaf_filters_properties")
    return results


def _share_of_valid(sample: Described):
    """share(field): the weighted share of valid samples whose record has `field` true."""
    valid = sample.weights.sum()

    def share(field: str) -> float | None:
        flags = np.array([bool(getattr(record, field)) for record in sample.records], float)
        return float(flags @ sample.weights / valid) if valid else None

    return share


def _counting_results(
    generated: list[str], sample: Described, stats: TrainingStats
) -> list[MetricResult]:
    """Validity, unique@k and novelty: MOSES's counts of canonical SMILES."""
    validity = sample.weights.sum() / len(generated) if generated else None
    results = [
        metric_result(
            "valid",
            validity,
            "Most samples are not molecules: train longer or lower the temperature."
            if validity is not None and validity < 0.5
            else None,
            "" if generated else " There are no samples.",
        )
    ]
    valid_forms = [sample.canonical_by_text[text] for text in generated]
    valid_forms = [form for form in valid_forms if form is not None]
    for k in UNIQUE_AT:
        first = valid_forms[:k]  # MOSES: the first k valid samples
        unique = len(set(first)) / len(first) if first else None
        note = f" Only {len(first):,} valid samples: measured on those." if len(first) < k else ""
        flag = None
        if k == UNIQUE_AT[0] and unique is not None and unique < 0.5 and validity >= 0.5:
            flag = "The model repeats itself: under half its valid samples are different."
        results.append(metric_result(f"unique@{k}", unique, flag, note))
    distinct = set(valid_forms)
    novelty = len(distinct - stats.canonical) / len(distinct) if distinct else None
    memorised = novelty is not None and novelty < 0.5
    flag = "Memorised the training set: most samples are copies." if memorised else None
    return results + [metric_result("novelty", novelty, flag)]


def _fcd_result(sample: Described, stats: TrainingStats, workers: int) -> MetricResult:
    if stats.fcd_mean is None:
        return metric_result(
            "fcd", None, note=" Not measured: the training statistics have no FCD."
        )
    canonical_forms = [record.canonical for record in sample.records]
    try:
        generated = chemnet_of(canonical_forms, sample.weights, workers)
    except ImportError:
        return metric_result("fcd", None, note=" Not measured: fcd_torch is not installed.")
    if generated is None:
        return metric_result("fcd", None, note=" Not measured: it needs 2 or more valid samples.")
    with torch_threads(workers):
        distance = frechet_distance((stats.fcd_mean, stats.fcd_covariance), generated)
    return metric_result("fcd", distance)
