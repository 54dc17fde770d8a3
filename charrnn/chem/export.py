"""Molecules as files to take away: a CSV table (safe to open in a spreadsheet) and an SDF
(RDKit's SDWriter), each molecule with its properties and, when known, its log-likelihood.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from rdkit import Chem, rdBase
from rdkit.Chem import rdDepictor

from charrnn.chem.properties import molecule_properties
from charrnn.chem.smiles import parse_smiles, smiles_problem
from charrnn.errors import UserError

MAX_EXPORT_MOLECULES = 10_000  # rows in one file; the properties are worked out for each
# Column and SD field names of the properties (keys of properties.PROPERTY_INFO).
FIELDS = {
    "weight": "MW",
    "logp": "logP",
    "qed": "QED",
    "sa": "SA",
    "tpsa": "TPSA",
    "hbd": "HBD",
    "hba": "HBA",
    "rings": "rings",
}
COUNTS = ("hbd", "hba", "rings")  # whole numbers
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula

Molecule = tuple[str, float | None]  # a SMILES and its log-likelihood (None: not known)


class ExportError(UserError, ValueError):
    """Too many molecules to put in one file."""


@dataclass(frozen=True)
class SdfExport:
    text: str  # the SD file
    written: int  # molecules in it
    skipped: int  # SMILES RDKit could not read, left out


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet shows as it is: a leading = + - @ (a formula) gets a quote first."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _check_size(molecules: Sequence[Molecule]) -> None:
    if len(molecules) > MAX_EXPORT_MOLECULES:
        raise ExportError(
            f"{len(molecules):,} molecules are too many for one file here; export at most "
            f"{MAX_EXPORT_MOLECULES:,} at a time."
        )


def property_values(mol: Chem.Mol) -> dict[str, float | int]:
    """The properties by field name, rounded; ones RDKit could not work out are left out."""
    values: dict[str, float | int] = {}
    for key, value in molecule_properties(mol).items():
        if not math.isnan(value):
            values[FIELDS[key]] = int(value) if key in COUNTS else round(value, 3)
    return values


def _log_likelihood(value: float | None) -> float | str:
    return "" if value is None else round(float(value), 3)


def export_csv(molecules: Sequence[Molecule]) -> str:
    """A CSV with one row a SMILES: valid or not (and why), log-likelihood, properties."""
    _check_size(molecules)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ["SMILES", "valid", "reason if invalid", "log_likelihood", *FIELDS.values()]
    writer.writerow(columns)
    for smiles, log_likelihood in molecules:
        mol = parse_smiles(smiles)
        reason = "" if mol is not None else smiles_problem(smiles) or ""
        values = property_values(mol) if mol is not None else {}
        writer.writerow(
            [
                spreadsheet_safe(smiles),
                mol is not None,
                spreadsheet_safe(reason),
                _log_likelihood(log_likelihood),
                *(values.get(name, "") for name in FIELDS.values()),
            ]
        )
    return out.getvalue()


def export_sdf(molecules: Sequence[Molecule]) -> SdfExport:
    """An SD file of the valid molecules (2D coordinates), each named "sample N" with SD
    fields SMILES, log_likelihood (when known) and the properties; invalid ones skipped."""
    _check_size(molecules)
    out = io.StringIO()
    written = skipped = 0
    with rdBase.BlockLogs():
        writer = Chem.SDWriter(out)
        for number, (smiles, log_likelihood) in enumerate(molecules, start=1):
            mol = parse_smiles(smiles)
            if mol is None:
                skipped += 1
                continue
            rdDepictor.Compute2DCoords(mol)
            mol.SetProp("_Name", f"sample {number}")
            mol.SetProp("SMILES", Chem.MolToSmiles(mol))
            if log_likelihood is not None:
                mol.SetProp("log_likelihood", str(_log_likelihood(log_likelihood)))
            for name, value in property_values(mol).items():
                mol.SetProp(name, str(value))
            writer.write(mol)
            written += 1
        writer.close()
    return SdfExport(out.getvalue(), written, skipped)
