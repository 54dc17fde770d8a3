"""Tests for charrnn.chem.export: the CSV reads back with pandas and is safe in a
spreadsheet; the SDF reads back with RDKit, properties included, invalid SMILES left out.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from rdkit import Chem

from charrnn.chem import export
from charrnn.chem.export import ExportError, export_csv, export_sdf, spreadsheet_safe

MOLECULES = [("OCC", -3.25), ("c1ccccc1O", -7.5), ("C1CC", -2.0), ("CC(=O)N", None)]


def test_csv_round_trips_with_pandas():
    table = pd.read_csv(io.StringIO(export_csv(MOLECULES)))
    assert list(table["SMILES"]) == ["OCC", "c1ccccc1O", "C1CC", "CC(=O)N"]
    assert list(table["valid"]) == [True, True, False, True]
    assert "ring" in table.loc[2, "reason if invalid"]
    assert list(table["log_likelihood"][:3]) == [-3.25, -7.5, -2.0]
    assert pd.isna(table.loc[3, "log_likelihood"])  # not known
    phenol = table.loc[1]
    assert phenol["MW"] == pytest.approx(94.113, abs=0.01)
    assert (phenol["rings"], phenol["HBD"], phenol["HBA"]) == (1, 1, 1)
    assert 0 < phenol["QED"] < 1 and 1 <= phenol["SA"] <= 10
    assert pd.isna(table.loc[2, "MW"])  # no properties for what is not a molecule


def test_csv_cells_are_spreadsheet_safe():
    text = export_csv([("=HYPERLINK(1)", -1.0), ("@SUM(A1)", None), ("+C", None), ("-C", None)])
    table = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert all(cell.startswith("'") for cell in table["SMILES"])
    assert spreadsheet_safe("CCO") == "CCO"


def test_sdf_reads_back_with_its_properties():
    result = export_sdf(MOLECULES)
    assert (result.written, result.skipped) == (3, 1)
    supplier = Chem.ForwardSDMolSupplier(io.BytesIO(result.text.encode("utf-8")))
    mols = [mol for mol in supplier]
    assert all(mol is not None for mol in mols) and len(mols) == 3
    assert [mol.GetProp("SMILES") for mol in mols] == ["CCO", "Oc1ccccc1", "CC(N)=O"]
    assert [Chem.MolToSmiles(mol) for mol in mols] == ["CCO", "Oc1ccccc1", "CC(N)=O"]
    assert mols[0].GetProp("_Name") == "sample 1"
    assert float(mols[1].GetProp("log_likelihood")) == -7.5
    assert not mols[2].HasProp("log_likelihood")  # not known
    assert float(mols[1].GetProp("MW")) == pytest.approx(94.113, abs=0.01)
    assert int(mols[1].GetProp("rings")) == 1
    for name in export.FIELDS.values():
        assert mols[0].HasProp(name)


def test_too_many_molecules_are_refused(monkeypatch):
    monkeypatch.setattr(export, "MAX_EXPORT_MOLECULES", 2)
    with pytest.raises(ExportError):
        export_sdf(MOLECULES)
    with pytest.raises(ExportError):
        export_csv(MOLECULES)
