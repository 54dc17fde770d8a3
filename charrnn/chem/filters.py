"""MOSES's medicinal-chemistry filters (allowed atoms, charges, large rings, MCF and PAINS)
and the SMARTS queries they and QED match, screened by pattern fingerprints first.
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Sequence

import numpy as np
from rdkit import Chem, DataStructs, RDConfig, rdBase
from rdkit.Chem import QED

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


class Queries:
    """SMARTS queries with pattern fingerprints: a query can only match a molecule whose
    pattern fingerprint holds all of the query's bits, so most matches are never tried."""

    def __init__(self, groups: dict[str, Sequence[Chem.Mol]]):
        self.ranges: dict[str, range] = {}
        self.mols: list[Chem.Mol] = []
        for group, mols in groups.items():
            self.ranges[group] = range(len(self.mols), len(self.mols) + len(mols))
            self.mols.extend(mols)
        self.bits = np.stack([pattern_bits(query) for query in self.mols])

    def candidates(self, mol_bits: np.ndarray) -> np.ndarray:
        """Indices of the queries that may match a molecule with these pattern bits."""
        return np.flatnonzero(~np.any(self.bits & ~mol_bits, axis=1))

    def _chosen(self, group: str, candidates: np.ndarray) -> list[Chem.Mol]:
        span = self.ranges[group]
        chosen = candidates[(candidates >= span.start) & (candidates < span.stop)]
        return [self.mols[i] for i in chosen.tolist()]

    def matching(self, group: str, mol: Chem.Mol, candidates: np.ndarray) -> list[Chem.Mol]:
        return [query for query in self._chosen(group, candidates) if mol.HasSubstructMatch(query)]

    def any_match(self, group: str, mol: Chem.Mol, candidates: np.ndarray) -> bool:
        return any(mol.HasSubstructMatch(query) for query in self._chosen(group, candidates))


def pattern_bits(mol: Chem.Mol) -> np.ndarray:
    """RDKit's pattern fingerprint (2,048 bits) as 32 uint64 words."""
    text = DataStructs.BitVectToFPSText(Chem.PatternFingerprint(mol))
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint64)


def _pains_smarts() -> list[str]:
    """The 480 PAINS SMARTS of RDKit's FilterCatalog (PAINS A, B and C), from RDKit's
    wehi_pains.csv. MOSES ships an older copy of the same file; RDKit has since corrected
    a few SMARTS (e.g. anil_di_alk_D), so a rare molecule may be judged differently."""
    with open(os.path.join(RDConfig.RDDataDir, "Pains", "wehi_pains.csv"), newline="") as file:
        return [row[0] for row in csv.reader(file) if row]


@functools.cache
def queries() -> Queries:
    """MCF and PAINS read with merged hydrogens and matched on the molecule as parsed (as
    FilterCatalog does), and QED's own alerts and acceptors. On 6,000 molecules of RDKit's
    NCI, WEHI and PAINS test sets (1,550 failing) every MCF and PAINS verdict was the same
    as MOSES's matching on the molecule with explicit hydrogens, and as FilterCatalog's."""
    filters = [smarts for _, smarts in MCF_SMARTS] + _pains_smarts()
    return Queries(
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


def has_hydrogen_atoms(mol: Chem.Mol) -> bool:
    """Whether the molecule holds H atoms of its own (e.g. [2H]), not only implicit ones."""
    return mol.GetNumAtoms() != mol.GetNumHeavyAtoms()


def screened_passes_filters(mol: Chem.Mol, candidates: np.ndarray) -> bool:
    """passes_filters, with the queries that may match (Queries.candidates) known."""
    if any(len(ring) >= 8 for ring in mol.GetRingInfo().AtomRings()):
        return False
    if mol.HasSubstructMatch(_CHARGED) or mol.HasSubstructMatch(_NOT_ALLOWED):
        return False
    if has_hydrogen_atoms(mol):
        with_h = Chem.AddHs(mol)
        if any(with_h.HasSubstructMatch(query) for query in _moses_filter_queries()):
            return False
    elif queries().any_match("filters", mol, candidates):
        return False
    smiles = Chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(smiles) and Chem.MolFromSmiles(smiles) is not None


def passes_filters(mol: Chem.Mol) -> bool:
    """MOSES's mol_passes_filters: only C, N, S, O, F, Cl, Br, H; no charges; no ring of 8 or
    more atoms; no MCF or PAINS match; and the SMILES without stereo reads back."""
    with rdBase.BlockLogs():
        return screened_passes_filters(mol, queries().candidates(pattern_bits(mol)))
