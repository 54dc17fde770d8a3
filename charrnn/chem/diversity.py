"""Keeping a steered model varied: a diversity filter (a scaffold found too often earns
nothing more), an experience replay of the best molecules found so far, and how varied and
how good a batch is (batch_summary).

Both hold plain data (canonical SMILES, scores) and round-trip through JSON, so a steering
run that pauses or is interrupted continues with the same memory.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass

from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from charrnn.chem.scorer import ScoredMolecule

ACYCLIC = ""  # the scaffold bucket of molecules without rings


def scaffold_of(canonical: str) -> str:
    """The Bemis-Murcko scaffold of a (valid) SMILES as canonical SMILES; "" without rings."""
    mol = Chem.MolFromSmiles(canonical)
    if mol is None:
        return ACYCLIC
    try:
        return Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(mol))
    except (ValueError, RuntimeError):
        return ACYCLIC


FILTER_KINDS = ("scaffold", "molecule")


class DiversityFilter:
    """A molecule met before earns 0. By "scaffold" (REINVENT's identical-Murcko-scaffold
    filter) a new one scoring at least ``threshold`` also joins its scaffold's bucket, and
    once a bucket holds more than ``bucket_size`` molecules, further molecules of that
    scaffold earn 0: the model is pushed to other ring systems. By "molecule" only repeats
    earn 0 (REINVENT's same-SMILES penalty), so close analogues of one target stay rewarded."""

    def __init__(self, bucket_size: int = 25, threshold: float = 0.4, by: str = "scaffold"):
        if by not in FILTER_KINDS:
            raise ValueError(f"a diversity filter works by {' or '.join(FILTER_KINDS)}")
        self.bucket_size, self.threshold, self.by = bucket_size, threshold, by
        self.buckets: dict[str, int] = {}  # scaffold -> molecules counted in it
        self.seen: set[str] = set()  # canonical SMILES already rewarded

    def rewards(self, molecules: Sequence[ScoredMolecule]) -> list[float]:
        """The reward of each molecule of a batch (its score, or 0), counting them in."""
        rewards = []
        for molecule in molecules:
            reward = molecule.score
            if not molecule.valid or molecule.canonical in self.seen:
                rewards.append(0.0)
                continue
            if reward >= self.threshold or self.by == "molecule":
                self.seen.add(molecule.canonical)
            if reward >= self.threshold and self.by == "scaffold":
                scaffold = scaffold_of(molecule.canonical)
                self.buckets[scaffold] = self.buckets.get(scaffold, 0) + 1
                if self.buckets[scaffold] > self.bucket_size:
                    reward = 0.0
            rewards.append(reward)
        return rewards

    def full_scaffolds(self) -> int:
        """How many scaffolds no longer earn anything."""
        return sum(count > self.bucket_size for count in self.buckets.values())

    def to_json(self) -> dict:
        return {"buckets": self.buckets, "seen": sorted(self.seen)}

    def restore(self, data: dict) -> None:
        self.buckets = {str(k): int(v) for k, v in dict(data.get("buckets", {})).items()}
        self.seen = {str(smiles) for smiles in data.get("seen", [])}


@dataclass(frozen=True)
class Remembered:
    """A molecule kept by a ReplayMemory: as the model wrote it (so it can be encoded again),
    its canonical form and the reward it earned."""

    smiles: str
    canonical: str
    score: float


class ReplayMemory:
    """The best ``size`` distinct molecules so far (by reward; one entry per canonical form)."""

    def __init__(self, size: int = 100):
        self.size = size
        self.entries: dict[str, Remembered] = {}

    def add(self, molecules: Sequence[ScoredMolecule], rewards: Sequence[float]) -> None:
        """Offer a batch; valid molecules with a reward above 0 compete for a place."""
        for molecule, reward in zip(molecules, rewards, strict=True):
            if not molecule.valid or reward <= 0:
                continue
            known = self.entries.get(molecule.canonical)
            if known is None or reward > known.score:
                self.entries[molecule.canonical] = Remembered(
                    molecule.smiles, molecule.canonical, float(reward)
                )
        if len(self.entries) > self.size:
            kept = self.best(self.size)
            self.entries = {entry.canonical: entry for entry in kept}

    def best(self, count: int) -> list[Remembered]:
        """The ``count`` best molecules, best first (ties: by canonical form, for repeats)."""
        return heapq.nsmallest(
            count, self.entries.values(), key=lambda entry: (-entry.score, entry.canonical)
        )

    def sample(self, count: int, rng: random.Random) -> list[Remembered]:
        """``count`` molecules drawn without repeats (all of them when there are fewer)."""
        entries = self.best(len(self.entries))
        return rng.sample(entries, min(count, len(entries)))

    def __len__(self) -> int:
        return len(self.entries)

    def to_json(self) -> list[list]:
        return [[e.smiles, e.canonical, e.score] for e in self.best(len(self.entries))]

    def restore(self, data: list) -> None:
        self.entries = {
            str(canonical): Remembered(str(smiles), str(canonical), float(score))
            for smiles, canonical, score in data
        }


def batch_summary(scored: Sequence[ScoredMolecule], names: Sequence[str]) -> dict:
    """What a batch of scored molecules looks like: mean and best score (invalid ones count
    as 0), validity, uniqueness (distinct among the valid), distinct Murcko scaffolds, each
    component's pass rate (by name) and the share meeting all of them, of the whole batch."""
    count = max(len(scored), 1)
    valid = [m for m in scored if m.valid]
    distinct = {m.canonical for m in valid}
    scores = [m.score for m in scored] or [0.0]
    return dict(
        mean_score=round(sum(scores) / count, 4),
        best_score=round(max(scores), 4),
        validity=round(len(valid) / count, 4),
        uniqueness=round(len(distinct) / len(valid), 4) if valid else 0.0,
        scaffolds=len({scaffold_of(smiles) for smiles in distinct}),
        pass_rates={
            name: round(sum(m.passes[i] for m in valid) / count, 4) for i, name in enumerate(names)
        },
        all_pass=round(sum(all(m.passes) for m in valid) / count, 4),
    )
