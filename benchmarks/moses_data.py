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
