"""What one molecule looks like to the chemistry metrics: its properties (weight, logP, QED,
SA, ...), Morgan fingerprint, BRICS fragments, scaffold, MOSES filters and degenerate shapes."""

from __future__ import annotations

import csv
import functools
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, DataStructs, RDConfig, rdBase
from rdkit.Chem import QED, Crippen, rdFingerprintGenerator
from rdkit.Chem import rdMolDescriptors as descriptors
from rdkit.Chem.Scaffolds import MurckoScaffold

from charrnn.chem import parse_smiles


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

# MOSES's medicinal-chemistry filters: the rows of mcf.csv that moses/metrics/utils.py loads
# (molecularsets/moses, MIT licence; read from mnist4molecules/metrics/mcf.csv there).
# The Kekulé FURAN, THIOPHENE and ANILINE rows never match aromatic rings; kept as MOSES has them.
MCF_SMARTS: tuple[tuple[str, str], ...] = (
    ("AMINAL", "[#7]-&!@[#6&!H0&!H1]-&!@[#7]"),
    ("MICHAEL1", "[#6]=&!@[#6]-[#6]#[#7]"),
    ("ACETAL", "[#6&!H0](-&!@[#8])-&!@[#8]"),
    ("DISULFIDE", "[#16]~[#16]"),
    ("ISOCYANATE", "[#6]-[#7]=[#6]=[#8]"),
    ("IMINE", "[#6](=&!@[#7&!H0])-&!@[#6,#7,#8,#16]"),
    ("HYDRAZINE", "[#6]~&!@[#7]~&!@[#7]~&!@[#6]"),
    ("ALDEHYDE", "[#6&!H0]=[#8]"),
    ("AZO", "[#7]=&!@[#7]"),
    ("AZIRIDINE", "[#6]1-[#7]-[#6]-1"),
    ("EPOXIDE", "[#6]1-[#8]-[#6]-1"),
    (">2 Br", "[#35].[#35].[#35]"),
    (">3 Cl", "[#17].[#17].[#17].[#17]"),
    (">6 F", "[#9].[#9].[#9].[#9].[#9].[#9].[#9]"),
    ("AZIDE", "[#7]~&!@[#7]~&!@[#7]"),
    ("MICHAEL2", "[#6]=&!@[#6]-[#16](=[#8])=[#8]"),
    ("MICHAEL6", "[#6]=&!@[#6&!H0]-&!@[#6](=[#8])-&!@[#7]"),
    ("FURAN", "[H][#6]-1=[#6]([H])-[#6]=[#6](-*)-[#8]-1"),
    ("THIOPHENE", "[H][#6]-1=[#6]([H])-[#6]=[#6](-*)-[#16]-1"),
    ("ALKYLHALIDE", "[H]C([H])([#6])[F,Cl,Br,I]"),
    ("ANILINE", "[H][#7]([H])-[#6]-1=[#6]-[#6]=[#6]-[#6]=[#6]-1"),
    ("ARO_HALO", "[#17,#35,#53]-c(:*):[!#1!#6]:*"),
)
ALLOWED_ATOMS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})
_CHARGED = Chem.MolFromSmarts("[!+0]")
_NOT_ALLOWED = Chem.MolFromSmarts("[!#6;!#7;!#16;!#8;!#9;!#17;!#35;!#1]")  # not ALLOWED_ATOMS

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


# ---------------------------------------------------------------- substructure screen


class _Queries:
    """SMARTS queries with pattern fingerprints: a query can only match a molecule whose
    pattern fingerprint holds all of the query's bits, so most matches are never tried."""

    def __init__(self, groups: dict[str, Sequence[Chem.Mol]]):
        self.ranges: dict[str, range] = {}
        self.mols: list[Chem.Mol] = []
        for group, mols in groups.items():
            self.ranges[group] = range(len(self.mols), len(self.mols) + len(mols))
            self.mols.extend(mols)
        self.bits = np.stack([_pattern_bits(query) for query in self.mols])

    def candidates(self, mol_bits: np.ndarray) -> np.ndarray:
        """Indices of the queries that may match a molecule with these pattern bits."""
        return np.flatnonzero(~np.any(self.bits & ~mol_bits, axis=1))

    def matching(self, group: str, mol: Chem.Mol, candidates: np.ndarray) -> list[Chem.Mol]:
        span = self.ranges[group]
        chosen = candidates[(candidates >= span.start) & (candidates < span.stop)]
        return [self.mols[i] for i in chosen.tolist() if mol.HasSubstructMatch(self.mols[i])]


def _pattern_bits(mol: Chem.Mol) -> np.ndarray:
    text = DataStructs.BitVectToFPSText(Chem.PatternFingerprint(mol))
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint64)


def _pains_smarts() -> list[str]:
    """The 480 PAINS SMARTS of RDKit's FilterCatalog (PAINS A, B and C), from RDKit's
    wehi_pains.csv. MOSES ships an older copy of the same file; RDKit has since corrected
    a few SMARTS (e.g. anil_di_alk_D), so a rare molecule may be judged differently."""
    with open(os.path.join(RDConfig.RDDataDir, "Pains", "wehi_pains.csv"), newline="") as file:
        return [row[0] for row in csv.reader(file) if row]


@functools.cache
def _queries() -> _Queries:
    """MCF and PAINS read with merged hydrogens and matched on the molecule as parsed (as
    FilterCatalog does), and QED's own alerts and acceptors. On 6,000 molecules of RDKit's
    NCI, WEHI and PAINS test sets (1,550 failing) every MCF and PAINS verdict was the same
    as MOSES's matching on the molecule with explicit hydrogens, and as FilterCatalog's."""
    filters = [smarts for _, smarts in MCF_SMARTS] + _pains_smarts()
    return _Queries(
        {
            "filters": [Chem.MolFromSmarts(smarts, mergeHs=True) for smarts in filters],
            "alerts": QED.StructuralAlerts,
            "acceptors": QED.Acceptors,
        }
    )


@functools.cache
def _moses_filter_queries() -> list[Chem.Mol]:
    """MOSES's own matching (explicit hydrogens), for the rare molecule that has H atoms."""
    return [Chem.MolFromSmarts(smarts) for _, smarts in MCF_SMARTS] + [
        Chem.MolFromSmarts(smarts) for smarts in _pains_smarts()
    ]


@functools.cache
def _sascorer():
    """RDKit Contrib's SA score module, loaded from its file (no sys.path change)."""
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("charrnn_sascorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.readFragmentScores()
    return module


# ---------------------------------------------------------------- one molecule


def _has_hydrogen_atoms(mol: Chem.Mol) -> bool:
    return mol.GetNumAtoms() != mol.GetNumHeavyAtoms()


def _qed(mol: Chem.Mol, logp: float, candidates: np.ndarray) -> float:
    """RDKit's QED.qed(mol), with its alert and acceptor matches screened first."""
    queries = _queries()
    properties = QED.QEDproperties(
        MW=descriptors._CalcMolWt(mol),
        ALOGP=logp,
        HBA=sum(
            len(mol.GetSubstructMatches(query))
            for query in queries.matching("acceptors", mol, candidates)
        ),
        HBD=descriptors.CalcNumHBD(mol),
        PSA=descriptors.CalcTPSA(mol),
        ROTB=descriptors.CalcNumRotatableBonds(mol, descriptors.NumRotatableBondsOptions.Strict),
        AROM=len(Chem.GetSSSR(Chem.DeleteSubstructs(Chem.Mol(mol), QED.AliphaticRings))),
        ALERTS=len(queries.matching("alerts", mol, candidates)),
    )
    return QED.qed(mol, qedProperties=properties)


def _properties(mol: Chem.Mol, bits: np.ndarray | None = None) -> tuple[float, ...]:
    """The PROPERTY_NAMES values; `bits` is the molecule's pattern fingerprint if known."""
    logp = Crippen.MolLogP(mol)
    qed_mol, qed_logp = mol, logp
    if _has_hydrogen_atoms(mol):  # QED reads the molecule without H atoms, as RDKit's does
        qed_mol = Chem.RemoveHs(mol)
        qed_logp, bits = Crippen.MolLogP(qed_mol), None
    if bits is None:
        bits = _pattern_bits(qed_mol)
    try:
        qed = _qed(qed_mol, qed_logp, _queries().candidates(bits))
    except (ValueError, RuntimeError):
        qed = float("nan")
    sa = _sascorer().calculateScore(mol)
    return (
        descriptors._CalcMolWt(mol),
        logp,
        qed,
        float("nan") if sa is None else sa,
        descriptors.CalcTPSA(mol),
        float(descriptors.CalcNumHBD(mol)),
        float(descriptors.CalcNumHBA(mol)),
        float(mol.GetRingInfo().NumRings()),
    )


def molecule_properties(mol: Chem.Mol) -> dict[str, float]:
    """Weight, logP, QED, SA, TPSA, donors, acceptors and rings (keys of PROPERTY_INFO)."""
    with rdBase.BlockLogs():
        return dict(zip(PROPERTY_NAMES, _properties(mol), strict=True))


def _passes_filters(mol: Chem.Mol, candidates: np.ndarray) -> bool:
    if any(len(ring) >= 8 for ring in mol.GetRingInfo().AtomRings()):
        return False
    if mol.HasSubstructMatch(_CHARGED) or mol.HasSubstructMatch(_NOT_ALLOWED):
        return False
    if _has_hydrogen_atoms(mol):
        with_h = Chem.AddHs(mol)
        if any(with_h.HasSubstructMatch(query) for query in _moses_filter_queries()):
            return False
    elif _queries().matching("filters", mol, candidates):
        return False
    smiles = Chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(smiles) and Chem.MolFromSmiles(smiles) is not None


def passes_filters(mol: Chem.Mol) -> bool:
    """MOSES's mol_passes_filters: only C, N, S, O, F, Cl, Br, H; no charges; no ring of 8 or
    more atoms; no MCF or PAINS match; and the SMILES without stereo reads back."""
    with rdBase.BlockLogs():
        return _passes_filters(mol, _queries().candidates(_pattern_bits(mol)))


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
    mol = parse_smiles(smiles)
    if mol is None:
        return None
    with rdBase.BlockLogs():
        bits = _pattern_bits(mol)
        passes = None
        if filters:
            passes = _passes_filters(mol, _queries().candidates(bits))
        return MoleculeRecord(
            canonical=Chem.MolToSmiles(mol),
            fingerprint=np.packbits(fingerprint_bits(mol)).tobytes(),
            fragments=fragments(mol),
            scaffold=scaffold(mol),
            properties=_properties(mol, bits),
            passes_filters=passes,
            degenerate=is_degenerate(mol),
        )


def describe_many(smiles: Sequence[str], filters: bool = True) -> list[MoleculeRecord | None]:
    """`describe` for each SMILES (the unit of work a worker process gets)."""
    return [describe(text, filters=filters) for text in smiles]
