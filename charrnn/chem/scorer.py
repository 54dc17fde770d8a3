"""Scoring molecules with a ScoreSpec: each component's value, desirability and pass flag, and
the combined score, for a batch of SMILES (steering) or a table of hits (export).

Patterns and the similarity target are read once, when the Scorer is made (ScoreError there).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import QED, Crippen, Descriptors, rdFingerprintGenerator
from rdkit.Chem import rdMolDescriptors as descriptors

from charrnn.chem.properties import sa_score
from charrnn.chem.scoring import TITLES, Component, ScoreError, ScoreSpec, combine
from charrnn.chem.smiles import parse_smiles
from charrnn.chem.syntax import invalid_smiles_reason

SIMILARITY_BITS = 2048  # Morgan radius 2, as GuacaMol's similarity tasks
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=SIMILARITY_BITS)
CACHE_SIZE = 50_000  # molecules whose component values a Scorer remembers
# Atom pairs a substructure search may try per molecule. RDKit's search has no time limit, and
# a short SMARTS (a ring of 15 any-atoms) against a many-ringed molecule tries millions (seconds
# each); real patterns on drug-like molecules try under 2,000 (a Python call each, ~0.5 us).
MATCH_BUDGET = 10_000


class PatternError(ScoreError):
    """A substructure or a molecule to compare with that RDKit cannot read, and why."""


class _SearchTooLong(Exception):
    """A substructure search went past MATCH_BUDGET (raised inside RDKit's search)."""


@dataclass(frozen=True)
class ScoredMolecule:
    """One SMILES as the score sees it (``canonical`` is None when RDKit cannot read it)."""

    smiles: str
    canonical: str | None
    score: float
    values: tuple[float, ...]  # each component's raw value (nan for an invalid molecule)
    desirabilities: tuple[float, ...]
    passes: tuple[bool, ...]

    @property
    def valid(self) -> bool:
        return self.canonical is not None

    def row(self, names: Sequence[str]) -> dict:
        """A table row: smiles, valid, score, then each component's value and pass flag."""
        row: dict = {"smiles": self.smiles, "valid": self.valid, "score": round(self.score, 4)}
        for name, value, passed in zip(names, self.values, self.passes, strict=True):
            row[name] = None if math.isnan(value) else round(value, 4)
            row[f"{name}_pass"] = passed
        return row


def parse_pattern(text: str) -> Chem.Mol:
    """A substructure query from SMILES (tried first) or SMARTS; PatternError says why not.

    A SMILES with bracket atoms left without hydrogens ([N], [#7]) reads as radicals, and one
    with * as dummy atoms: both match nothing, so such text is read as SMARTS ([#7]: any
    nitrogen; *: any atom) when it is one."""
    text = text.strip()
    mol = parse_smiles(text)
    if mol is not None and not any(
        atom.GetNumRadicalElectrons() or atom.GetAtomicNum() == 0 for atom in mol.GetAtoms()
    ):
        return mol
    with rdBase.BlockLogs():
        query = Chem.MolFromSmarts(text)
    if query is None and mol is not None:
        return mol
    if query is None:
        raise PatternError(
            f"The substructure {text[:60]!r} is neither a SMILES RDKit can read "
            f"({invalid_smiles_reason(text)}) nor a SMARTS pattern. Check its brackets, ring "
            "numbers and atom symbols, e.g. S(=O)(=O)N for a sulfonamide or [OX2H] for an OH."
        )
    return query


def _target_fingerprint(text: str):
    mol = parse_smiles(text)
    if mol is None:
        raise PatternError(
            f"The molecule to be similar to, {text.strip()[:60]!r}, is not a SMILES RDKit can "
            f"read ({invalid_smiles_reason(text)}). Give it as SMILES, e.g. from PubChem."
        )
    return _MORGAN.GetFingerprint(mol)


def _substructure(query: Chem.Mol, wanted: bool) -> Callable[[Chem.Mol], float]:
    """1 when the molecule has ``query`` (contains) or lacks it (excludes), else 0; nan when
    the search would take longer than MATCH_BUDGET allows (counts as not met)."""

    def measure(mol: Chem.Mol) -> float:
        tried = 0

        def count(query_atom, atom) -> bool:  # called by RDKit, recursive SMARTS included
            nonlocal tried
            tried += 1
            if tried > MATCH_BUDGET:
                raise _SearchTooLong
            return True

        parameters = Chem.SubstructMatchParameters()
        parameters.setExtraAtomCheckFunc(count)
        try:
            return float(mol.HasSubstructMatch(query, parameters) == wanted)
        except _SearchTooLong:
            return math.nan

    return measure


def _measure(kind: str) -> Callable[[Chem.Mol], float]:
    return {
        "qed": QED.qed,
        "sa": sa_score,
        "logp": Crippen.MolLogP,
        "weight": Descriptors.MolWt,
        "tpsa": descriptors.CalcTPSA,
        "hbd": descriptors.CalcNumHBD,
        "hba": descriptors.CalcNumHBA,
        "rings": lambda mol: mol.GetRingInfo().NumRings(),
    }[kind]


class Scorer:
    """A ScoreSpec made ready to score: patterns parsed, the target's fingerprint made."""

    def __init__(self, spec: ScoreSpec):
        self.spec = spec
        self.names = spec.names
        self._measures = [self._measure_of(component) for component in spec.components]
        self._cache: OrderedDict[str, tuple[float, ...]] = OrderedDict()

    def _measure_of(self, component: Component) -> Callable[[Chem.Mol], float]:
        if component.kind == "similarity":
            target = _target_fingerprint(component.target)
            return lambda mol: DataStructs.TanimotoSimilarity(target, _MORGAN.GetFingerprint(mol))
        if component.kind in ("contains", "excludes"):
            return _substructure(parse_pattern(component.target), component.kind == "contains")
        return _measure(component.kind)

    def values(self, mol: Chem.Mol) -> tuple[float, ...]:
        """Each component's raw value for a molecule (nan where RDKit fails)."""
        found = []
        for measure in self._measures:
            try:
                found.append(float(measure(mol)))
            except (ValueError, RuntimeError, ZeroDivisionError):
                found.append(float("nan"))
        return tuple(found)

    def score_one(self, smiles: str) -> ScoredMolecule:
        mol = parse_smiles(smiles) if isinstance(smiles, str) else None
        components = self.spec.components
        if mol is None or mol.GetNumAtoms() == 0:
            nothing = tuple(float("nan") for _ in components)
            zeros = tuple(0.0 for _ in components)
            return ScoredMolecule(smiles, None, 0.0, nothing, zeros, tuple(False for _ in zeros))
        canonical = Chem.MolToSmiles(mol)
        values = self._cache.get(canonical)
        if values is None:
            with rdBase.BlockLogs():
                values = self.values(mol)
            self._cache[canonical] = values
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        wanted = tuple(c.desirability(v) for c, v in zip(components, values, strict=True))
        passes = tuple(c.passes(v) for c, v in zip(components, values, strict=True))
        score = combine(components, wanted)
        return ScoredMolecule(smiles, canonical, score, values, wanted, passes)

    def score(self, smiles: Sequence[str]) -> list[ScoredMolecule]:
        """Every SMILES scored, in order; invalid ones score 0 and pass nothing."""
        return [self.score_one(text) for text in smiles]

    def __call__(self, smiles: Sequence[str]) -> list[ScoredMolecule]:
        return self.score(smiles)


def score_table(spec: ScoreSpec, smiles: Sequence[str]) -> list[dict]:
    """One row per SMILES (for a table, CSV or SDF export): smiles, valid, score, and each
    component's value and pass flag under its name (ScoreSpec.names, name_pass)."""
    scorer = Scorer(spec)
    return [molecule.row(scorer.names) for molecule in scorer.score(smiles)]


def column_titles(spec: ScoreSpec) -> dict[str, str]:
    """What to call score_table's columns on screen."""
    titles = {"smiles": "SMILES", "valid": "Valid", "score": "Score"}
    for name, component in zip(spec.names, spec.components, strict=True):
        titles[name] = component.title if component.kind != "similarity" else TITLES["similarity"]
        titles[f"{name}_pass"] = f"{titles[name]}: met"
    return titles
