"""Steering hits as files to take away: CSV and SDF, each molecule with its score and every
component's value and pass flag (rows as charrnn.chem.scorer.score_table or hits.json give).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from rdkit import Chem

from charrnn.chem.smiles import parse_smiles


def _columns(rows: Sequence[dict]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def hits_csv(rows: Sequence[dict]) -> str:
    """The rows as CSV text, columns in the rows' order (smiles, score, each component...)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_columns(rows), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return out.getvalue()


def hits_sdf(rows: Sequence[dict]) -> str:
    """The valid molecules of the rows as an SD file, every other column a data field
    (RDKit draws 2D coordinates; invalid SMILES are left out)."""
    out = io.StringIO()
    writer = Chem.SDWriter(out)
    for row in rows:
        mol = parse_smiles(str(row.get("smiles", "")))
        if mol is None:
            continue
        mol.SetProp("_Name", str(row["smiles"]))
        for key, value in row.items():
            if key != "smiles":
                mol.SetProp(str(key), "" if value is None else str(value))
        writer.write(mol)
    writer.close()
    return out.getvalue()
