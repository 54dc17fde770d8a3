"""Clean a corpus of molecules with RDKit's rdMolStandardize: the largest fragment, neutral,
canonical, without duplicates and (optionally) without stereo, with a report of what changed.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rdkit import Chem, rdBase
from rdkit.Chem.MolStandardize import rdMolStandardize

from charrnn.chem.smiles import parse_smiles
from charrnn.errors import UserError

MAX_CLEAN_LINES = 100_000  # molecules cleaned in one go (under a minute on one core)
MAX_CLEAN_SECONDS = 150.0  # then the user is asked for a smaller file
MAX_EXAMPLES = 8  # before -> after pairs in a report
MAX_UNREADABLE_SHOWN = 20  # line numbers of unreadable lines in a report
CHANGES = {  # each kind of change, as a report names it, in the order it is shown
    "fragments": "salts and solvents stripped (the largest fragment kept)",
    "charges": "charges neutralised",
    "stereo": "stereo removed",
    "spellings": "rewritten as canonical SMILES",
    "duplicates": "duplicates removed",
    "unreadable": "unreadable lines left out",
}


class CleaningError(UserError):
    """A corpus that cannot be cleaned: too large, too slow, or without any molecule."""


@dataclass(frozen=True)
class CleaningExample:
    """One molecule before and after cleaning, the line it was on, and what changed (keys
    of CHANGES); a duplicate names the line of the molecule it repeats."""

    line_number: int
    before: str
    after: str
    changes: tuple[str, ...]
    duplicate_of: int = 0


@dataclass(frozen=True)
class CleaningReport:
    """What cleaning did to a corpus: lines in, molecules out, a count per kind of change (a
    molecule can count under several), a few examples and the unreadable lines' numbers."""

    lines_read: int
    molecules_kept: int
    counts: dict[str, int]  # keys of CHANGES
    examples: tuple[CleaningExample, ...]
    unreadable_lines: tuple[int, ...]  # the first MAX_UNREADABLE_SHOWN line numbers
    remove_stereo: bool

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> CleaningReport:
        values = dict(data)
        values["examples"] = tuple(
            CleaningExample(**{**example, "changes": tuple(example["changes"])})
            for example in data["examples"]
        )
        values["unreadable_lines"] = tuple(data["unreadable_lines"])
        return cls(**values)


@dataclass(frozen=True)
class CleanedCorpus:
    """The cleaned molecules (one canonical SMILES each, first-seen order) and the report."""

    lines: tuple[str, ...]
    report: CleaningReport

    def text(self) -> str:
        """The cleaned corpus as a .smi file: one SMILES a line."""
        return "".join(f"{line}\n" for line in self.lines)


@functools.cache
def _standardizers() -> tuple:
    """RDKit's fragment chooser and uncharger, made once (making them costs as much as
    using them)."""
    chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
    return chooser, rdMolStandardize.Uncharger()


def _charges(mol: Chem.Mol) -> list[int]:
    return [atom.GetFormalCharge() for atom in mol.GetAtoms()]


def clean_molecule(smiles: str, remove_stereo: bool = False) -> tuple[str, tuple[str, ...]] | None:
    """One SMILES cleaned: its canonical SMILES and the kinds of change (keys of CHANGES,
    duplicates aside), or None when RDKit cannot read it."""
    mol = parse_smiles(smiles)
    if mol is None:
        return None
    chooser, uncharger = _standardizers()
    changes = []
    canonical = Chem.MolToSmiles(mol)
    with rdBase.BlockLogs():
        if len(Chem.GetMolFrags(mol)) > 1:
            mol = chooser.choose(mol)
            changes.append("fragments")
        charges = _charges(mol)
        if any(charges):
            mol = uncharger.uncharge(mol)
            if _charges(mol) != charges:
                changes.append("charges")
        if changes:
            canonical = Chem.MolToSmiles(mol)
        if remove_stereo:
            flat = Chem.Mol(mol)
            Chem.RemoveStereochemistry(flat)
            flat_smiles = Chem.MolToSmiles(flat)
            if flat_smiles != canonical:
                changes.append("stereo")
                canonical = flat_smiles
    if not changes and canonical != smiles.strip():
        changes.append("spellings")
    return canonical, tuple(changes)


def clean_lines(
    lines: Sequence[str],
    *,
    remove_stereo: bool = False,
    line_numbers: Sequence[int] | None = None,
    max_lines: int = MAX_CLEAN_LINES,
    max_seconds: float = MAX_CLEAN_SECONDS,
) -> CleanedCorpus:
    """Every line cleaned (clean_molecule), duplicates after cleaning removed, with a report.

    More than max_lines, or more than max_seconds of work, is a CleaningError. Lines RDKit
    cannot read are left out and counted; line_numbers (default 1, 2, ...) are the lines'
    numbers in the user's file, for the report.
    """
    if len(lines) > max_lines:
        raise CleaningError(
            f"The corpus has {len(lines):,} molecules; this app cleans at most {max_lines:,} "
            "at a time. Upload the first part of the file and clean that."
        )
    numbers = line_numbers if line_numbers is not None else range(1, len(lines) + 1)
    deadline = time.monotonic() + max_seconds
    counts = dict.fromkeys(CHANGES, 0)
    kept: dict[str, int] = {}  # cleaned SMILES -> the line it was first on
    examples: list[CleaningExample] = []
    unreadable: list[int] = []
    for index, (number, line) in enumerate(zip(numbers, lines, strict=True)):
        if index % 500 == 499 and time.monotonic() > deadline:
            raise CleaningError(
                f"Cleaning took longer than {max_seconds:.0f} seconds (it had reached line "
                f"{number:,}). Upload a smaller file, for example the first part of this one."
            )
        cleaned = clean_molecule(line, remove_stereo)
        if cleaned is None:
            counts["unreadable"] += 1
            if len(unreadable) < MAX_UNREADABLE_SHOWN:
                unreadable.append(number)
            continue
        smiles, changes = cleaned
        first = kept.setdefault(smiles, number)
        if first != number:
            changes = (*changes, "duplicates")
        for change in changes:
            counts[change] += 1
        if changes:
            example = CleaningExample(
                number, line.strip(), smiles, changes, first if first != number else 0
            )
            _add_example(examples, example)
    if not kept:
        raise CleaningError(
            "None of the lines is a molecule RDKit can read, so there is nothing to clean."
        )
    report = CleaningReport(
        lines_read=len(lines),
        molecules_kept=len(kept),
        counts=counts,
        examples=tuple(examples),
        unreadable_lines=tuple(unreadable),
        remove_stereo=remove_stereo,
    )
    return CleanedCorpus(tuple(kept), report)


def _add_example(examples: list[CleaningExample], example: CleaningExample) -> None:
    """Keep the first example of each kind of change, and any other while there are fewer
    than half of MAX_EXAMPLES: up to MAX_EXAMPLES in all, in line order."""
    shown = {change for kept in examples for change in kept.changes}
    new_kind = not set(example.changes) <= shown
    if len(examples) < MAX_EXAMPLES and (new_kind or len(examples) < MAX_EXAMPLES // 2):
        examples.append(example)
