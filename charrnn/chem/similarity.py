"""Similarity maths of MOSES's set metrics: Tanimoto similarity of packed Morgan fingerprints
(IntDiv, SNN), cosine similarity of counts (Frag, Scaf) and the 1-D Wasserstein distance.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the body with `threads` torch threads, then put the number back."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


def weights_or_ones(weights: Sequence[float] | np.ndarray | None, count: int) -> np.ndarray:
    """The weights as float64, or `count` ones when there are none."""
    return np.ones(count) if weights is None else np.asarray(weights, dtype=np.float64)


def internal_diversity(
    fingerprints: np.ndarray, weights: np.ndarray | None = None, p: int = 1
) -> float | None:
    """MOSES IntDiv_p: 1 - mean over molecules x of (mean over y of T(x, y)^p)^(1/p), all
    pairs of the set including each molecule with itself; T is the Tanimoto similarity."""
    return internal_diversities(fingerprints, weights, (p,))[0]


def internal_diversities(
    fingerprints: np.ndarray, weights: np.ndarray | None, powers: Sequence[int], block: int = 1024
) -> list[float | None]:
    """IntDiv_p for each p in powers, from one pass over the pairs."""
    if len(fingerprints) == 0:
        return [None] * len(powers)
    bits = _unpack(fingerprints)
    counts = bits.sum(1, dtype=torch.int32)
    weight = torch.from_numpy(weights_or_ones(weights, len(bits))).float()
    row_means = {p: [] for p in powers}
    columns = bits.T.contiguous()
    for start in range(0, len(bits), block):
        shared = _shared_bits(bits[start : start + block], columns)
        union = (counts[start : start + block, None] + counts[None, :]).sub_(shared)
        similarity = shared.float().div_(union).nan_to_num_(nan=1.0)  # MOSES: 0/0 = 1
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
    weight = weights_or_ones(weights, len(bits))
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
    weights = weights_or_ones(weights, len(values))
    other_weights = weights_or_ones(other_weights, len(other))
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
