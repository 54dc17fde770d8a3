"""RDKit chemistry for SMILES: parsing, plain-English reasons for invalid strings,
canonical and randomized spellings, and MOSES-style validity/uniqueness/novelty."""

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rdkit import Chem, rdBase

from charrnn.chem.syntax import invalid_smiles_reason
from charrnn.limits import MAX_SMILES_LENGTH

_WHITESPACE = re.compile(r"\s")


# ---------------------------------------------------------------- parsing


def _clean(smiles: str) -> str | None:
    """The SMILES without surrounding whitespace, or None if empty, too long for RDKit to
    be asked (limits.MAX_SMILES_LENGTH) or has inner spaces.

    RDKit stops reading at the first space ("C C" would parse as "C"), so a string
    with inner whitespace is not a SMILES of what was written.
    """
    text = smiles.strip()
    if not text or len(text) > MAX_SMILES_LENGTH or _WHITESPACE.search(text):
        return None
    return text


def parse_smiles(smiles: str) -> Chem.Mol | None:
    """RDKit molecule (parsed and sanitised), or None if the SMILES is invalid or empty."""
    text = _clean(smiles)
    if text is None:
        return None
    with rdBase.BlockLogs():
        return Chem.MolFromSmiles(text)


def canonical_smiles(smiles: str) -> str | None:
    """RDKit's canonical isomeric SMILES, or None if invalid."""
    mol = parse_smiles(smiles)
    return None if mol is None else Chem.MolToSmiles(mol)


def canonical_set(smiles: Iterable[str]) -> frozenset[str]:
    """Canonical forms of the valid SMILES (invalid ones are left out)."""
    forms = (canonical_smiles(text) for text in smiles)
    return frozenset(form for form in forms if form is not None)


def randomized_smiles(smiles: str, rng: random.Random) -> str:
    """A random spelling of the same molecule (SMILES augmentation).

    Atoms are shuffled with `rng` and written in that order, so a seeded rng gives the
    same spelling again. Tries a few times to differ from the input; a molecule with
    one spelling only (e.g. "C") comes back as it is. Invalid input is returned unchanged.
    """
    mol = parse_smiles(smiles)
    if mol is None:
        return smiles
    order = list(range(mol.GetNumAtoms()))
    spelling = smiles
    for _ in range(10):
        rng.shuffle(order)
        spelling = Chem.MolToSmiles(Chem.RenumberAtoms(mol, order), canonical=False)
        if spelling != smiles.strip():
            break
    return spelling


# ---------------------------------------------------------------- reasons


def smiles_problem(smiles: str) -> str | None:
    """None when the SMILES is valid, else why not, in plain English.

    Valid strings take the fast path (one parse); only invalid ones are diagnosed.
    """
    if parse_smiles(smiles) is not None:
        return None
    return invalid_smiles_reason(smiles)


# ---------------------------------------------------------------- metrics


@dataclass(frozen=True)
class BasicMetrics:
    """Validity, uniqueness and novelty of generated SMILES, as MOSES defines them."""

    samples: int  # how many generated strings
    valid: int  # how many RDKit parses
    validity: float  # valid / samples
    unique: int  # distinct canonical SMILES among the valid ones
    uniqueness: float  # unique / valid
    novel: int  # distinct valid ones not in the training set
    novelty: float  # novel / unique


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def basic_metrics(
    generated: Sequence[str], training_canonical: set[str] | frozenset[str]
) -> BasicMetrics:
    """MOSES validity, uniqueness and novelty; `training_canonical` from `canonical_set`."""
    forms = [canonical_smiles(text) for text in generated]
    valid_forms = [form for form in forms if form is not None]
    distinct = set(valid_forms)
    novel = len(distinct - training_canonical)
    return BasicMetrics(
        samples=len(generated),
        valid=len(valid_forms),
        validity=_fraction(len(valid_forms), len(generated)),
        unique=len(distinct),
        uniqueness=_fraction(len(distinct), len(valid_forms)),
        novel=novel,
        novelty=_fraction(novel, len(distinct)),
    )
