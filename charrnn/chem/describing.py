"""Describing many molecules for the metrics: one record per distinct SMILES string with
how often it occurs, over a pool of worker processes when there is enough work.
"""

from __future__ import annotations

import math
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice

import numpy as np

from charrnn.chem.properties import PROPERTY_NAMES, MoleculeRecord, describe_each, describe_many

POOL_MINIMUM = 1500  # fewer molecules than this are described in this process
PARTS_PER_WORKER = 8  # pieces of work per process: early first results, an even finish
PART_HERE = 250  # molecules per piece when they are described in this process


def described_parts(
    smiles: list[str], filters: bool, workers: int
) -> Iterator[list[MoleculeRecord | None]]:
    """describe_many's records piece by piece, in order: from `workers` fresh processes
    when there is enough work, else from this one."""
    if workers < 2 or len(smiles) < POOL_MINIMUM:
        records = describe_each(smiles, filters)
        while part := list(islice(records, PART_HERE)):
            yield part
        return
    size = math.ceil(len(smiles) / (workers * PARTS_PER_WORKER))
    chunks = [smiles[start : start + size] for start in range(0, len(smiles), size)]
    done = 0
    context = multiprocessing.get_context("spawn")  # never fork a process that has threads
    try:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for part in pool.map(describe_many, chunks, [filters] * len(chunks)):
                done += 1
                yield part
    except (BrokenProcessPool, OSError):
        # Workers could not start, e.g. a script without `if __name__ == "__main__":`.
        for chunk in chunks[done:]:
            yield describe_many(chunk, filters)


@dataclass
class Described:
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


def describe_sample(
    smiles: Sequence[str],
    filters: bool,
    workers: int,
    each_part: Callable[[list[MoleculeRecord | None], int], None] | None = None,
) -> Described:
    """The records of a sample's distinct strings, weighted by their counts. each_part, if
    given, sees each piece of records as it arrives and how many strings there are."""
    occurrences = Counter(smiles)
    texts = list(occurrences)
    described: list[MoleculeRecord | None] = []
    for part in described_parts(texts, filters, workers):
        described += part
        if each_part:
            each_part(part, len(texts))
    pairs = list(zip(texts, described, strict=True))
    valid = [(record, occurrences[text]) for text, record in pairs if record]
    return Described(
        records=[record for record, _ in valid],
        weights=np.array([count for _, count in valid], dtype=np.float64),
        canonical_by_text={text: record.canonical if record else None for text, record in pairs},
    )
