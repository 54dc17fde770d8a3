"""The MOSES training file of ../shared/data, read without importing torch (benchmarks that
start RDKit worker processes keep them light)."""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

DATA = Path(
    os.environ.get("CHARRNN_BENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def load_smiles() -> list[str]:
    """Every SMILES of moses_train.csv.gz, in the file's order."""
    with gzip.open(DATA / "moses_train.csv.gz", "rt", newline="") as handle:
        return [row["SMILES"] for row in csv.DictReader(handle)]


def heldout_split(smiles: list[str], count: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """(training, held-out): ``count`` molecules drawn at random (``seed``) are held out; the
    rest, in the file's order, are for training. The shipped prior and its benchmark both
    split the file this way, so the benchmark scores on molecules the prior never saw."""
    import random

    chosen = set(random.Random(seed).sample(range(len(smiles)), min(count, len(smiles))))
    training = [s for i, s in enumerate(smiles) if i not in chosen]
    return training, [smiles[i] for i in sorted(chosen)]
