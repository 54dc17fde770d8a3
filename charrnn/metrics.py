"""Did the model learn chemistry? MOSES's metrics of generated SMILES against a training set:
validity, uniqueness, novelty, IntDiv, SNN, Frag, Scaf, filters, FCD and property distances.

Each metric follows its definition in MOSES (molecularsets/moses, moses/metrics/metrics.py
and utils.py), so figures compare with MOSES's table. Differences: SNN, Frag, Scaf and FCD
are measured against the training set (MOSES: its test set); properties are compared with
the Wasserstein-1 distance (MOSES's plots; its table has a Fréchet distance); a SMILES with
inner spaces is invalid (charrnn.chem), where RDKit reads "C C" as "C"; PAINS are RDKit's
current SMARTS (see charrnn.properties); FCD's matrix square root is taken by eigenvalues.
Work is done once per distinct SMILES string and weighted by how often it occurs, which
gives MOSES's numbers over all valid samples, duplicates included.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import multiprocessing
import os
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import rdkit
import torch

from charrnn.properties import PROPERTY_INFO, PROPERTY_NAMES, MoleculeRecord, describe_many

CACHE_VERSION = 1
POOL_MINIMUM = 1500  # fewer molecules than this are described in this process
UNIQUE_AT = (1000, 10000)


# ---------------------------------------------------------------- similarity kernels


def _unpack(packed: np.ndarray) -> torch.Tensor:
    """Packed fingerprints (n, 128) uint8 -> (n, 1024) int8 of 0/1."""
    bits = np.unpackbits(np.ascontiguousarray(packed, dtype=np.uint8), axis=1)
    return torch.from_numpy(bits).view(torch.int8)


def _shared_bits(rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """Bits set in both, for every pair: (n, 1024) x (1024, m) int8 -> (n, m) int32."""
    try:
        return torch._int_mm(rows, columns)
    except RuntimeError:  # a build without int8 matmul: float32 counts are exact up to 2**24
        return (rows.float() @ columns.float()).int()


def _weights(weights: Sequence[float] | np.ndarray | None, count: int) -> np.ndarray:
    return np.ones(count) if weights is None else np.asarray(weights, dtype=np.float64)


def internal_diversity(
    fingerprints: np.ndarray, weights: np.ndarray | None = None, p: int = 1
) -> float | None:
    """MOSES IntDiv_p: 1 - mean over molecules x of (mean over y of T(x, y)^p)^(1/p), all
    pairs of the set including each molecule with itself; T is the Tanimoto similarity."""
    return _internal_diversities(fingerprints, weights, (p,))[0]


def _internal_diversities(
    fingerprints: np.ndarray, weights: np.ndarray | None, powers: Sequence[int], block: int = 1024
) -> list[float | None]:
    if len(fingerprints) == 0:
        return [None] * len(powers)
    bits = _unpack(fingerprints)
    counts = bits.sum(1, dtype=torch.int32)
    weight = torch.from_numpy(_weights(weights, len(bits))).float()
    row_means = {p: [] for p in powers}
    columns = bits.T.contiguous()
    for start in range(0, len(bits), block):
        shared = _shared_bits(bits[start : start + block], columns).float()
        union = counts[start : start + block, None] + counts[None, :] - shared
        similarity = torch.where(union > 0, shared / union.clamp(min=1), 1.0)  # MOSES: 0/0 = 1
        for p in powers:
            mean = (similarity if p == 1 else similarity**p) @ weight / weight.sum()
            row_means[p].append(mean.double() ** (1 / p))
    weight = weight.double()
    return [float(1 - (torch.cat(row_means[p]) * weight).sum() / weight.sum()) for p in powers]


def nearest_neighbour_similarity(
    fingerprints: np.ndarray,
    reference: np.ndarray,
    weights: np.ndarray | None = None,
    block: int = 1024,
    chunk: int = 4096,
) -> float | None:
    """MOSES SNN: the mean over molecules of the highest Tanimoto similarity to any reference.

    Reference molecules are taken one bit count at a time: for a fixed pair of bit counts
    the similarity grows with the shared bits, so the most shared bits in the group give
    the group's best similarity exactly, with one pass over the counts.
    """
    if len(fingerprints) == 0 or len(reference) == 0:
        return None
    bits = _unpack(fingerprints)
    counts = bits.sum(1, dtype=torch.int32).double()
    reference_bits = _unpack(reference)
    reference_counts = reference_bits.sum(1, dtype=torch.int32).numpy()
    order = np.argsort(reference_counts, kind="stable")
    reference_bits, reference_counts = reference_bits[order], reference_counts[order]
    edges = [0, *np.flatnonzero(np.diff(reference_counts)) + 1, len(order)]
    best = torch.zeros(len(bits), dtype=torch.float64)
    for group_start, group_stop in zip(edges[:-1], edges[1:], strict=True):
        size = int(reference_counts[group_start])
        for start in range(group_start, group_stop, chunk):
            columns = reference_bits[start : min(start + chunk, group_stop)].T.contiguous()
            for row in range(0, len(bits), block):
                shared = _shared_bits(bits[row : row + block], columns).amax(1).double()
                union = counts[row : row + block] + size - shared
                similarity = torch.where(union > 0, shared / union.clamp(min=1), 1.0)
                torch.maximum(best[row : row + block], similarity, out=best[row : row + block])
    weight = _weights(weights, len(bits))
    return float(np.dot(best.numpy(), weight) / weight.sum())


def cosine_similarity(counts: Mapping[str, float], other: Mapping[str, float]) -> float | None:
    """MOSES's Frag/Scaf: cosine of two count vectors over the union of their keys."""
    if not counts or not other:
        return None
    dot = sum(value * other[key] for key, value in counts.items() if key in other)
    norm = math.sqrt(sum(v * v for v in counts.values()) * sum(v * v for v in other.values()))
    return dot / norm if norm else None


def wasserstein_distance(
    values: np.ndarray,
    other: np.ndarray,
    weights: np.ndarray | None = None,
    other_weights: np.ndarray | None = None,
) -> float | None:
    """1-D Wasserstein-1 distance: the area between the two cumulative distributions."""
    values, other = np.asarray(values, dtype=np.float64), np.asarray(other, dtype=np.float64)
    weights, other_weights = _weights(weights, len(values)), _weights(other_weights, len(other))
    keep, keep_other = np.isfinite(values), np.isfinite(other)
    values, weights = values[keep], weights[keep]
    other, other_weights = other[keep_other], other_weights[keep_other]
    if weights.sum() <= 0 or other_weights.sum() <= 0:
        return None
    grid = np.sort(np.concatenate([values, other]))
    widths = np.diff(grid)

    def cdf(sample: np.ndarray, sample_weights: np.ndarray) -> np.ndarray:
        order = np.argsort(sample, kind="stable")
        cumulative = np.concatenate([[0.0], np.cumsum(sample_weights[order])])
        return cumulative[np.searchsorted(sample[order], grid[:-1], "right")] / cumulative[-1]

    return float(np.sum(np.abs(cdf(values, weights) - cdf(other, other_weights)) * widths))


# ---------------------------------------------------------------- Fréchet ChemNet Distance


@functools.cache
def _chemnet():
    from fcd_torch import FCD  # imports scipy: only when FCD is asked for

    # canonize=False: callers pass RDKit canonical SMILES, which is what FCD would make.
    return FCD(device="cpu", n_jobs=1, batch_size=512, canonize=False)


def chemnet_statistics(
    canonical: Sequence[str], weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and covariance of ChemNet's activations (MOSES's FCD precalc), None below 2."""
    weight = torch.from_numpy(_weights(weights, len(canonical))).long()
    if weight.sum() < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fcd_torch uses np.row_stack
        activations = torch.from_numpy(_chemnet().get_predictions(list(canonical))).double()
    mean = (activations * weight[:, None]).sum(0) / weight.sum()
    return mean.numpy(), torch.cov(activations.T, fweights=weight).numpy()


def frechet_distance(
    one: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]
) -> float:
    """The Fréchet distance of two Gaussians (mean, covariance), as in MOSES's FCD:
    |mean1 - mean2|^2 + tr(cov1 + cov2 - 2 sqrt(cov1 cov2)).

    tr sqrt(cov1 cov2) is summed from the eigenvalues of the symmetric matrix
    sqrt(cov1) cov2 sqrt(cov1), which has the same ones; fcd_torch takes scipy's sqrtm of
    the product instead. Both agree to about 1e-9 on full-rank covariances; this way stays
    fast and stable when few samples make a covariance singular, and runs on torch's
    threads (OpenBLAS's own threads can stall for seconds on a busy machine).
    """
    mean, covariance = (torch.from_numpy(np.asarray(x, dtype=np.float64)) for x in one)
    other_mean, other_covariance = (
        torch.from_numpy(np.asarray(x, dtype=np.float64)) for x in other
    )
    values, vectors = torch.linalg.eigh(covariance)
    root = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
    product = torch.linalg.eigvalsh(root @ other_covariance @ root)
    trace_root = product.clamp(min=0).sqrt().sum()
    distance = (mean - other_mean).square().sum()
    distance += covariance.trace() + other_covariance.trace() - 2 * trace_root
    return float(distance)


# ---------------------------------------------------------------- describing many molecules


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _describe(smiles: list[str], filters: bool, workers: int) -> list[MoleculeRecord | None]:
    """describe_many, split over `workers` fresh processes when there is enough work."""
    if workers < 2 or len(smiles) < POOL_MINIMUM:
        return describe_many(smiles, filters)
    size = math.ceil(len(smiles) / (workers * 4))
    chunks = [smiles[start : start + size] for start in range(0, len(smiles), size)]
    context = multiprocessing.get_context("spawn")  # never fork a process that has threads
    try:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = pool.map(describe_many, chunks, [filters] * len(chunks))
            return [record for part in parts for record in part]
    except (BrokenProcessPool, OSError):
        # Workers could not start, e.g. a script without `if __name__ == "__main__":`.
        return describe_many(smiles, filters)


@dataclass
class _Described:
    """Valid molecules of a sample, one row per distinct SMILES string, with its count."""

    records: list[MoleculeRecord]
    weights: np.ndarray
    canonical_by_text: dict[str, str | None]

    @property
    def fingerprints(self) -> np.ndarray:
        rows = [np.frombuffer(record.fingerprint, dtype=np.uint8) for record in self.records]
        return np.stack(rows) if rows else np.zeros((0, 128), dtype=np.uint8)

    def counts(self, field: str) -> Counter:
        total: Counter = Counter()
        for record, weight in zip(self.records, self.weights, strict=True):
            value = getattr(record, field)
            for item in value if isinstance(value, tuple) else [value]:
                if item is not None:
                    total[item] += int(weight)
        return total

    def property_array(self) -> np.ndarray:
        rows = [record.properties for record in self.records]
        return np.array(rows, dtype=np.float64).reshape(len(rows), len(PROPERTY_NAMES))


def _describe_sample(smiles: Sequence[str], filters: bool, workers: int) -> _Described:
    occurrences = Counter(smiles)
    texts = list(occurrences)
    described = _describe(texts, filters, workers)
    pairs = list(zip(texts, described, strict=True))
    valid = [(record, occurrences[text]) for text, record in pairs if record]
    return _Described(
        records=[record for record, _ in valid],
        weights=np.array([count for _, count in valid], dtype=np.float64),
        canonical_by_text={text: record.canonical if record else None for text, record in pairs},
    )


# ---------------------------------------------------------------- training statistics


@dataclass(frozen=True)
class TrainingStats:
    """What the metrics need from a training set, computed once and cached on disk.

    Rows are the distinct valid SMILES strings of the training list; `weights` says how
    often each occurs, so duplicates count as often as MOSES would count them.
    """

    key: str
    molecules: int  # training SMILES given
    valid: int  # of which RDKit reads
    canonical_forms: tuple[str, ...]  # per row
    fingerprints: np.ndarray  # (rows, 128) packed Morgan bits
    weights: np.ndarray  # (rows,)
    properties: np.ndarray  # (rows, len(PROPERTY_NAMES))
    fragment_counts: dict[str, int]
    scaffold_counts: dict[str, int]
    fcd_mean: np.ndarray | None = None
    fcd_covariance: np.ndarray | None = None
    from_cache: bool = False

    @functools.cached_property
    def canonical(self) -> frozenset[str]:
        return frozenset(self.canonical_forms)


def _stats_key(smiles: Sequence[str]) -> str:
    digest = hashlib.sha256(f"v{CACHE_VERSION} rdkit {rdkit.__version__}\n".encode())
    for text in smiles:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()[:32]


def default_cache_dir() -> Path:
    """$CHARRNN_CACHE/stats, else ~/.cache/charrnn/stats."""
    root = os.environ.get("CHARRNN_CACHE") or Path.home() / ".cache" / "charrnn"
    return Path(root) / "stats"


def _save(path: Path, stats: TrainingStats) -> None:
    """np.savez with the text parts as one JSON document; written to a temp file, renamed."""
    document = {
        "key": stats.key,
        "molecules": stats.molecules,
        "valid": stats.valid,
        "canonical_forms": stats.canonical_forms,
        "fragments": stats.fragment_counts,
        "scaffolds": stats.scaffold_counts,
    }
    arrays = {
        "document": np.frombuffer(json.dumps(document).encode(), dtype=np.uint8),
        "fingerprints": stats.fingerprints,
        "weights": stats.weights,
        "properties": stats.properties,
    }
    if stats.fcd_mean is not None:
        arrays |= {"fcd_mean": stats.fcd_mean, "fcd_covariance": stats.fcd_covariance}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as file:
        np.savez(file, **arrays)
    os.replace(file.name, path)


def _load(path: Path, key: str) -> TrainingStats | None:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            document = json.loads(arrays["document"].tobytes())
            has_fcd = "fcd_mean" in arrays.files
            stats = TrainingStats(
                key=document["key"],
                molecules=document["molecules"],
                valid=document["valid"],
                canonical_forms=tuple(document["canonical_forms"]),
                fingerprints=arrays["fingerprints"],
                weights=arrays["weights"],
                properties=arrays["properties"],
                fragment_counts=document["fragments"],
                scaffold_counts=document["scaffolds"],
                fcd_mean=arrays["fcd_mean"] if has_fcd else None,
                fcd_covariance=arrays["fcd_covariance"] if has_fcd else None,
                from_cache=True,
            )
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # missing or damaged: computed again
    return stats if stats.key == key else None


def _chemnet_of(
    canonical_forms: Sequence[str], weights: np.ndarray, workers: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """chemnet_statistics with each molecule run once (weights add up its spellings)."""
    total: Counter = Counter()
    for form, weight in zip(canonical_forms, weights, strict=True):
        total[form] += int(weight)
    with _torch_threads(workers):
        return chemnet_statistics(list(total), np.array(list(total.values())))


def training_stats(
    smiles: Sequence[str],
    cache_dir: str | Path | None = None,
    *,
    fcd: bool = True,
    workers: int | None = None,
) -> TrainingStats:
    """Statistics of a training set, read from the cache when this exact list was seen.

    fcd=False skips ChemNet (the slow part: minutes for 100k molecules on a CPU); a later
    call with fcd=True adds it to the cached file. workers: processes and torch threads
    (default: the number of cores).
    """
    smiles = list(smiles)
    workers = workers or os.cpu_count() or 1
    key = _stats_key(smiles)
    path = Path(cache_dir or default_cache_dir()) / f"{key}.npz"
    stats = _load(path, key)
    if stats is None:
        sample = _describe_sample(smiles, filters=False, workers=workers)
        stats = TrainingStats(
            key=key,
            molecules=len(smiles),
            valid=int(sample.weights.sum()),
            canonical_forms=tuple(record.canonical for record in sample.records),
            fingerprints=sample.fingerprints,
            weights=sample.weights,
            properties=sample.property_array(),
            fragment_counts=dict(sample.counts("fragments")),
            scaffold_counts=dict(sample.counts("scaffold")),
        )
        _save(path, stats)
    if fcd and stats.fcd_mean is None and stats.valid >= 2:
        try:
            fcd_mean, fcd_covariance = _chemnet_of(stats.canonical_forms, stats.weights, workers)
        except ImportError:  # fcd_torch is not installed: FCD is reported as not measured
            return stats
        stats = replace(stats, fcd_mean=fcd_mean, fcd_covariance=fcd_covariance, from_cache=False)
        _save(path, stats)
    return stats


# ---------------------------------------------------------------- evaluation


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


def _result(key: str, value: float | None, flag: str | None = None, note: str = "") -> MetricResult:
    name, explanation, good = _ABOUT[key]
    if value is not None and not math.isfinite(value):
        value = None
    return MetricResult(key, name, value, explanation + note, good, flag)


def _property_results(sample: _Described, stats: TrainingStats) -> list[MetricResult]:
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
) -> list[MetricResult]:
    """MOSES's metrics of `generated` against the training set behind `stats`.

    workers: processes and torch threads (default: the number of cores; pass fewer when
    other jobs share the machine). timings, if given, receives each stage's seconds.
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
    sample = _describe_sample(generated, filters=True, workers=workers)
    lap("describe")
    results = _counting_results(generated, sample, stats)
    lap("uniqueness_novelty")
    with _torch_threads(workers):
        fingerprints = sample.fingerprints
        intdiv1, intdiv2 = _internal_diversities(fingerprints, sample.weights, (1, 2))
        lap("intdiv")
        snn = nearest_neighbour_similarity(fingerprints, stats.fingerprints, sample.weights)
        lap("snn")
    if fcd:
        results.append(_fcd_result(sample, stats, workers))
        lap("fcd")
    share = _share_of_valid(sample)
    degenerate = share("degenerate")
    results += [
        _result("snn", snn),
        _result("frag", cosine_similarity(sample.counts("fragments"), stats.fragment_counts)),
        _result("scaf", cosine_similarity(sample.counts("scaffold"), stats.scaffold_counts)),
        _result("intdiv1", intdiv1),
        _result("intdiv2", intdiv2),
        _result("filters", share("passes_filters")),
        _result(
            "degenerate",
            degenerate,
            f"Degenerate samples: {degenerate:.0%} of valid samples are bare chains or "
            "one-element molecules; the model has not learned drug-like structure yet."
            if degenerate is not None and degenerate >= 0.05
            else None,
        ),
        *_property_results(sample, stats),
    ]
    lap("frag_scaf_filters_properties")
    return results


def _share_of_valid(sample: _Described):
    """share(field): the weighted share of valid samples whose record has `field` true."""
    valid = sample.weights.sum()

    def share(field: str) -> float | None:
        flags = np.array([bool(getattr(record, field)) for record in sample.records], float)
        return float(flags @ sample.weights / valid) if valid else None

    return share


def _counting_results(
    generated: list[str], sample: _Described, stats: TrainingStats
) -> list[MetricResult]:
    """Validity, unique@k and novelty: MOSES's counts of canonical SMILES."""
    validity = sample.weights.sum() / len(generated) if generated else None
    results = [
        _result(
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
        results.append(_result(f"unique@{k}", unique, flag, note))
    distinct = set(valid_forms)
    novelty = len(distinct - stats.canonical) / len(distinct) if distinct else None
    memorised = novelty is not None and novelty < 0.5
    flag = "Memorised the training set: most samples are copies." if memorised else None
    return results + [_result("novelty", novelty, flag)]


def _fcd_result(sample: _Described, stats: TrainingStats, workers: int) -> MetricResult:
    if stats.fcd_mean is None:
        return _result("fcd", None, note=" Not measured: the training statistics have no FCD.")
    try:
        canonical_forms = [record.canonical for record in sample.records]
        generated = _chemnet_of(canonical_forms, sample.weights, workers)
    except ImportError:
        return _result("fcd", None, note=" Not measured: fcd_torch is not installed.")
    if generated is None:
        return _result("fcd", None, note=" Not measured: it needs 2 or more valid samples.")
    with _torch_threads(workers):
        distance = frechet_distance((stats.fcd_mean, stats.fcd_covariance), generated)
    return _result("fcd", distance)


# ---------------------------------------------------------------- reporting


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
