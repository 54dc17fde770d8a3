"""The Fréchet ChemNet Distance: ChemNet's activations (fcd_torch) summed up as a Gaussian,
and the Fréchet distance of two Gaussians, as MOSES's FCD computes them.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import torch

from charrnn.chem.similarity import torch_threads, weights_or_ones

# fcd_torch's tokens: one-hot rows of 35 symbols, 350 rows a molecule (its SmilesDataset).
_SYMBOLS = "C N O H F Cl P B Br S I Si # ( ) + - 1 2 3 4 5 6 7 8 = [ ] @ c n o s X .".split()
_INDEX, _UNKNOWN, _END, _ROWS = {s: i for i, s in enumerate(_SYMBOLS)}, 33, 34, 350
BATCH = 512  # molecules per ChemNet batch (fcd_torch's own; 256 to 2048 run about as fast)
Progress = Callable[[int, int], None]  # (done, total)


@functools.cache
def _chemnet() -> torch.nn.Sequential:
    """ChemNet as fcd_torch loads it: two convolutions, then an LSTM read backwards, then
    one read forwards whose last output (512 numbers) is what FCD compares."""
    from fcd_torch import FCD  # imports scipy: only when FCD is asked for

    return FCD(device="cpu", n_jobs=1).model.eval()


def _symbols(smiles: str) -> list[int]:
    """fcd_torch's get_one_hot, as the indices of its ones: a letter followed by r, i or l
    is one symbol (Br, Cl, Si); the first "." ends the molecule; at most 350 rows."""
    text, symbols, start = smiles + ".", [], 0
    while True:
        width = 2 if text[start + 1] in "ril" else 1
        symbols.append(_INDEX.get(text[start : start + width], _UNKNOWN))
        start += width
        if text[start] == "." or len(symbols) == _ROWS - 1:
            return symbols + [_END]


def _one_hot(smiles: Sequence[str]) -> torch.Tensor:
    """ChemNet's input: one-hot rows (a one is 1/35, as fcd_torch scales it), float32, of
    shape (molecules, 35, rows). fcd_torch pads every molecule to 350 rows of zeros; here
    the zeros stop a few rows after the longest molecule (see _forward)."""
    rows = [_symbols(text) for text in smiles]
    lengths = torch.tensor([len(row) for row in rows])
    columns = torch.tensor([symbol for row in rows for symbol in row])
    molecule = torch.repeat_interleave(torch.arange(len(rows)), lengths)
    position = torch.arange(len(columns)) - torch.repeat_interleave(
        lengths.cumsum(0) - lengths, lengths
    )
    width = min(_ROWS, 4 * math.ceil((int(lengths.max()) + 8) / 4))
    features = torch.zeros(len(rows), len(_SYMBOLS), width)
    features[molecule, columns, position] = float(np.float64(1) / len(_SYMBOLS))
    return features


def _forward(network: torch.nn.Sequential, features: torch.Tensor) -> torch.Tensor:
    """ChemNet's output for a batch, as network(fcd_torch's 350 rows) computes it, with
    two shortcuts that rest on the padding being exactly zero: the convolutions (no bias;
    SELU(0) = 0; 1 column of zeros added on the left at any length) turn zeros into zeros,
    so they run on the rows up to the longest molecule and zeros fill up their 88 outputs;
    and the backward LSTM starts on those zeros, so that stretch is run once, on one row,
    and the batch starts from its state."""
    convolved = network[:6](features)  # (molecules, 32, rows / 4)
    steps = torch.zeros(len(features), 88, convolved.shape[1])
    steps[:, : convolved.shape[2]] = convolved.transpose(1, 2)
    backward, forward = network[8], network[11]
    used = steps.abs().amax(2) > 0  # positions with any input
    last = torch.where(used.any(1), steps.shape[1] - 1 - used.flip(1).int().argmax(1), -1)
    # zero steps every molecule starts with (one step at least is run from the state)
    padding = min(int(steps.shape[1] - 1 - last.max()), steps.shape[1] - 1)
    reversed_steps = steps.flip(1)
    if padding:
        zeros = torch.zeros(1, padding, steps.shape[2])
        padded, (hidden, cell) = backward(zeros)
        state = (
            hidden.expand(-1, len(steps), -1).contiguous(),
            cell.expand(-1, len(steps), -1).contiguous(),
        )
        rest, _ = backward(reversed_steps[:, padding:], state)
        outputs = torch.cat([padded.expand(len(steps), -1, -1), rest], 1)
    else:
        outputs, _ = backward(reversed_steps)
    return forward(outputs.flip(1))[0][:, -1]


def chemnet_activations(
    smiles: Sequence[str], batch: int = BATCH, progress: Progress | None = None
) -> np.ndarray:
    """ChemNet's activations (molecules, 512) of canonical SMILES, as fcd_torch's
    get_predictions gives them (to float rounding). Molecules are batched by length;
    progress, if given, hears (done, total) after each batch."""
    network = _chemnet()
    order = sorted(range(len(smiles)), key=lambda i: len(smiles[i]))
    activations = torch.zeros(len(smiles), 512)
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            activations[chosen] = _forward(network, _one_hot([smiles[i] for i in chosen]))
            if progress:
                progress(start + len(chosen), len(order))
    return activations.numpy()


def chemnet_statistics(
    canonical: Sequence[str], weights: np.ndarray | None = None, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and covariance of ChemNet's activations (MOSES's FCD precalc), None below 2."""
    weight = torch.from_numpy(weights_or_ones(weights, len(canonical))).long()
    if weight.sum() < 2:
        return None
    activations = chemnet_activations(list(canonical), progress=progress)
    return _gaussian(activations, weight)


def _gaussian(activations: np.ndarray, weight: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and covariance, a weight counting as that many repetitions."""
    rows = torch.from_numpy(activations).double()
    mean = (rows * weight[:, None]).sum(0) / weight.sum()
    return mean.numpy(), torch.cov(rows.T, fweights=weight).numpy()


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


def _totals(canonical_forms: Sequence[str], weights: np.ndarray) -> Counter:
    """How often each molecule occurs in all, its spellings added up."""
    total: Counter = Counter()
    for form, weight in zip(canonical_forms, weights, strict=True):
        total[form] += int(weight)
    return total


def chemnet_of(
    canonical_forms: Sequence[str],
    weights: np.ndarray,
    workers: int,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """chemnet_statistics with each molecule run once (weights add up its spellings)."""
    total = _totals(canonical_forms, weights)
    with torch_threads(workers):
        return chemnet_statistics(list(total), np.array(list(total.values())), progress)
