"""What one molecule looks like to the chemistry metrics: its properties (weight, logP, QED,
SA, ...), Morgan fingerprint, BRICS fragments, scaffold, MOSES filters (charrnn.chem.filters) and
degenerate shapes."""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import QED, Crippen, rdFingerprintGenerator
from rdkit.Chem import rdMolDescriptors as descriptors
from rdkit.Chem.Scaffolds import MurckoScaffold

from charrnn.chem.filters import (
    has_hydrogen_atoms,
    passes_filters,  # noqa: F401 (re-exported: it was defined here)
    pattern_bits,
    queries,
    screened_passes_filters,
)
from charrnn.chem.smiles import parse_smiles


@dataclass(frozen=True)
class PropertyInfo:
    name: str  # plain-language name for tables and chart axes
    unit: str  # "" when the property has no unit
    meaning: str  # one sentence for a newcomer


PROPERTY_INFO: dict[str, PropertyInfo] = {
    "weight": PropertyInfo("Molecular weight", "Da", "How heavy the molecule is (RDKit MolWt)."),
    "logp": PropertyInfo(
        "logP", "", "How oily rather than watery the molecule is (Crippen's estimate)."
    ),
    "qed": PropertyInfo("QED", "", "Drug-likeness from 0 (unlike drugs) to 1 (like oral drugs)."),
    "sa": PropertyInfo(
        "SA score", "", "Synthetic accessibility from 1 (easy to make) to 10 (very hard)."
    ),
    "tpsa": PropertyInfo("TPSA", "Å²", "Polar surface area; high values cross membranes poorly."),
    "hbd": PropertyInfo("H-bond donors", "", "Number of hydrogen-bond donors (NH and OH)."),
    "hba": PropertyInfo("H-bond acceptors", "", "Number of hydrogen-bond acceptors."),
    "rings": PropertyInfo("Rings", "", "Number of rings (smallest set of smallest rings)."),
}
PROPERTY_NAMES = tuple(PROPERTY_INFO)


FINGERPRINT_BITS = 1024  # MOSES: Morgan radius 2, 1024 bits
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=FINGERPRINT_BITS)
# An unbranched, acyclic run of 8 aliphatic carbons: CCCCCCCC inside any molecule.
_CARBON_CHAIN = Chem.MolFromSmarts("~".join(["[C;!R;D1,D2]"] * 8))


@dataclass(frozen=True)
class MoleculeRecord:
    """Everything the metrics need from one valid SMILES, as plain data."""

    canonical: str
    fingerprint: bytes  # Morgan r=2, 1024 bits, np.packbits order
    fragments: tuple[str, ...]  # BRICS fragments, canonical SMILES (MOSES fragmenter)
    scaffold: str | None  # Bemis-Murcko scaffold with >= 2 rings, else None (MOSES)
    properties: tuple[float, ...]  # in PROPERTY_NAMES order; nan where RDKit failed
    passes_filters: bool | None  # None when not checked
    degenerate: bool


@functools.cache
def _sascorer():
    """RDKit Contrib's SA score module, loaded from its file (no sys.path change)."""
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("charrnn_sascorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.readFragmentScores()
    return module


def sa_score(mol: Chem.Mol) -> float:
    """The synthetic accessibility score of RDKit Contrib: 1 (easy to make) to 10 (very
    hard); nan where it cannot be computed."""
    value = _sascorer().calculateScore(mol)
    return float("nan") if value is None else float(value)


# ---------------------------------------------------------------- one molecule


def _qed(mol: Chem.Mol, logp: float, candidates: np.ndarray, known: dict | None = None) -> float:
    """RDKit's QED.qed(mol), with its alert and acceptor matches screened first; `known`
    holds MW, HBD and PSA when they were computed for this same molecule already."""
    screen = queries()
    known = known or {
        "MW": descriptors._CalcMolWt(mol),
        "HBD": descriptors.CalcNumHBD(mol),
        "PSA": descriptors.CalcTPSA(mol),
    }
    properties = QED.QEDproperties(
        MW=known["MW"],
        ALOGP=logp,
        HBA=sum(
            len(mol.GetSubstructMatches(query))
            for query in screen.matching("acceptors", mol, candidates)
        ),
        HBD=known["HBD"],
        PSA=known["PSA"],
        ROTB=descriptors.CalcNumRotatableBonds(mol, descriptors.NumRotatableBondsOptions.Strict),
        AROM=len(Chem.GetSSSR(Chem.DeleteSubstructs(Chem.Mol(mol), QED.AliphaticRings))),
        ALERTS=len(screen.matching("alerts", mol, candidates)),
    )
    return QED.qed(mol, qedProperties=properties)


def _properties(mol: Chem.Mol, candidates: np.ndarray | None = None) -> tuple[float, ...]:
    """The PROPERTY_NAMES values; `candidates` are the queries that may match the molecule
    (_Queries.candidates), when they are known already."""
    weight, tpsa = descriptors._CalcMolWt(mol), descriptors.CalcTPSA(mol)
    donors = descriptors.CalcNumHBD(mol)
    logp = Crippen.MolLogP(mol)
    qed_mol, qed_logp, known = mol, logp, {"MW": weight, "HBD": donors, "PSA": tpsa}
    if has_hydrogen_atoms(mol):  # QED reads the molecule without H atoms, as RDKit's does
        qed_mol = Chem.RemoveHs(mol)
        qed_logp, candidates, known = Crippen.MolLogP(qed_mol), None, None
    if candidates is None:
        candidates = queries().candidates(pattern_bits(qed_mol))
    try:
        qed = _qed(qed_mol, qed_logp, candidates, known)
    except (ValueError, RuntimeError):
        qed = float("nan")
    sa = _sascorer().calculateScore(mol)
    return (
        weight,
        logp,
        qed,
        float("nan") if sa is None else sa,
        tpsa,
        float(donors),
        float(descriptors.CalcNumHBA(mol)),
        float(mol.GetRingInfo().NumRings()),
    )


def molecule_properties(mol: Chem.Mol) -> dict[str, float]:
    """Weight, logP, QED, SA, TPSA, donors, acceptors and rings (keys of PROPERTY_INFO)."""
    with rdBase.BlockLogs():
        return dict(zip(PROPERTY_NAMES, _properties(mol), strict=True))


def is_degenerate(mol: Chem.Mol) -> bool:
    """A shape a model falls into when it has not learned chemistry: an unbranched acyclic
    chain of 8 or more aliphatic carbons, or a ring-free molecule made of one element."""
    if mol.HasSubstructMatch(_CARBON_CHAIN):
        return True
    if mol.GetRingInfo().NumRings():
        return False
    return len({atom.GetAtomicNum() for atom in mol.GetAtoms()}) == 1


def fragments(mol: Chem.Mol) -> tuple[str, ...]:
    """MOSES's fragmenter: break the BRICS bonds, one canonical SMILES per piece."""
    return tuple(Chem.MolToSmiles(Chem.FragmentOnBRICSBonds(mol)).split("."))


def scaffold(mol: Chem.Mol, min_rings: int = 2) -> str | None:
    """MOSES's compute_scaffold: the Bemis-Murcko scaffold, None when it has fewer than
    `min_rings` rings (MOSES's ScafMetric uses its default of 2) or cannot be made."""
    try:
        frame = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    text = Chem.MolToSmiles(frame)
    if not text or frame.GetRingInfo().NumRings() < min_rings:
        return None
    return text


def fingerprint_bits(mol: Chem.Mol) -> np.ndarray:
    """MOSES's fingerprint: Morgan radius 2, 1024 bits, as 0/1 uint8."""
    return _MORGAN.GetFingerprintAsNumPy(mol).astype(np.uint8)


def describe(smiles: str, *, filters: bool = True) -> MoleculeRecord | None:
    """The record of one SMILES, or None if RDKit cannot read it."""
    return describe_many([smiles], filters)[0]


def _describe(mol: Chem.Mol, canonical: str, filters: bool) -> MoleculeRecord:
    candidates = queries().candidates(pattern_bits(mol))
    passes = None
    if filters:
        passes = screened_passes_filters(mol, candidates)
    return MoleculeRecord(
        canonical=canonical,
        fingerprint=np.packbits(fingerprint_bits(mol)).tobytes(),
        fragments=fragments(mol),
        scaffold=scaffold(mol),
        properties=_properties(mol, candidates),
        passes_filters=passes,
        degenerate=is_degenerate(mol),
    )


def describe_each(smiles: Iterable[str], filters: bool = True) -> Iterator[MoleculeRecord | None]:
    """`describe` for each SMILES, one at a time. Spellings of a molecule seen before share
    its record: each molecule is described once."""
    by_canonical: dict[str, MoleculeRecord] = {}
    for text in smiles:
        record = None
        with rdBase.BlockLogs():
            mol = parse_smiles(text)
            if mol is not None:
                canonical = Chem.MolToSmiles(mol)
                if canonical not in by_canonical:
                    by_canonical[canonical] = _describe(mol, canonical, filters)
                record = by_canonical[canonical]
        yield record


def describe_many(smiles: Sequence[str], filters: bool = True) -> list[MoleculeRecord | None]:
    """`describe_each` as a list (the unit of work a worker process gets)."""
    return list(describe_each(smiles, filters))
