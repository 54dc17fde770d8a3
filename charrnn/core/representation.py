"""How a model of molecules writes them: as SMILES, or as SELFIES, where every string of
symbols spells a molecule. What a model writes becomes SMILES here, for RDKit and the pages.

A SELFIES model is a run whose tokenizer is "selfies": its corpus lines are written as
SELFIES before training (those SELFIES cannot write are left out, and reported), and each
sample is decoded back to SMILES wherever it becomes a molecule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import selfies as sf

from charrnn.core.tokens import Tokenizer, Vocabulary
from charrnn.errors import UserError

Representation = Literal["smiles", "selfies"]  # how molecules are written for the model
REPRESENTATIONS: tuple[Representation, ...] = get_args(Representation)
NAMES: dict[Representation, str] = {"smiles": "SMILES", "selfies": "SELFIES"}
NO_ATOM = "its SELFIES symbols spell no atom"  # why an empty decoded SELFIES is no molecule
SHOWN_UNWRITABLE = 5  # how many molecules SELFIES cannot write a report names
# SELFIES's default bond limits, plus limits for the common counter-ions and silicon, which
# it would otherwise allow 8 bonds (its "?"), so that every string of symbols decodes to a
# molecule RDKit also accepts. Set once for this process: encoding and decoding share them.
BOND_LIMITS = {
    **sf.get_preset_constraints("default"),
    **{ion: 0 for ion in ("F-1", "Cl-1", "Br-1", "I-1", "Li+1", "Na+1", "K+1", "Cs+1")},
    "Si": 4,
}
sf.set_semantic_constraints(BOND_LIMITS)


class SelfiesError(UserError, ValueError):
    """A molecule SELFIES cannot write (a prompt, a typed molecule)."""


@dataclass(frozen=True)
class Unwritable:
    """A corpus molecule SELFIES cannot write, and why (in the library's words, shortened)."""

    index: int  # its place among the lines given (0-based)
    smiles: str
    reason: str

    def describe(self) -> str:
        return f"{self.smiles} ({self.reason})"


def tokenizer_of(representation: Representation) -> Tokenizer:
    """The tokenizer a molecule model of this representation uses."""
    return "selfies" if representation == "selfies" else "smiles"


def representation_of(vocabulary: Vocabulary) -> Representation:
    """How this model writes molecules (text models count as SMILES: nothing to decode)."""
    return "selfies" if vocabulary.tokenizer == "selfies" else "smiles"


def writes_selfies(vocabulary: Vocabulary) -> bool:
    return vocabulary.tokenizer == "selfies"


_BONDS = re.compile(r"^\[(.+) with (\d+) bond\(s\) - a max\. of (\d+) bond\(s\) was specified\]$")


def _reason(error: Exception) -> str:
    """The library's reason in one line: the bond limit broken when it names one."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        found = _BONDS.match(line)
        if found:
            atom, bonds, most = found.groups()
            return f"{atom} has {bonds} bonds, SELFIES allows it {most}"
    if lines and lines[0] == "kekulization failed":
        return "an aromatic ring it cannot write with single and double bonds"
    return lines[0] if lines else "SELFIES cannot write it"


@functools.lru_cache(maxsize=1 << 17)
def _encoded(smiles: str) -> tuple[str | None, str]:
    try:
        return sf.encoder(smiles, strict=True), ""
    except sf.EncoderError as error:
        return None, _reason(error)


def selfies_of(smiles: str) -> str:
    """The SELFIES of a SMILES; SelfiesError says why when SELFIES cannot write it."""
    written, reason = _encoded(smiles)
    if written is None:
        raise SelfiesError(f"SELFIES cannot write {smiles}: {reason}.")
    return written


def selfies_lines(lines: Sequence[str]) -> tuple[list[str], list[Unwritable]]:
    """The SELFIES of each line SELFIES can write, and those it cannot (never dropped
    silently: the caller reports them)."""
    written: list[str] = []
    unwritable: list[Unwritable] = []
    for index, line in enumerate(lines):
        text, reason = _encoded(line)
        if text is None:
            unwritable.append(Unwritable(index, line, reason))
        else:
            written.append(text)
    return written, unwritable


def unwritable_sentence(count: int, examples: Sequence[str], total: int | None = None) -> str:
    """A sentence for people: how many molecules SELFIES cannot write, the first few, and
    that training leaves them out ("" when none)."""
    if not count:
        return ""
    of = f" of the {total:,}" if total else ""
    molecules = "molecule" if count == 1 else "molecules"
    shown = "; ".join(examples[:SHOWN_UNWRITABLE]) + ("; ..." if count > len(examples) else "")
    return (
        f"SELFIES cannot write {count:,}{of} {molecules} ({shown}), so training leaves "
        f"{'it' if count == 1 else 'them'} out. Write molecules as SMILES to keep "
        f"{'it' if count == 1 else 'them'}."
    )


def to_smiles(text: str, vocabulary: Vocabulary) -> str:
    """The SMILES a model's text spells: a SELFIES model's decoded ("" when it spells no
    atom), any other model's as it is."""
    if not writes_selfies(vocabulary):
        return text
    return selfies_to_smiles(text)


def selfies_to_smiles(text: str) -> str:
    """Decoded SELFIES ("" for symbols SELFIES does not know: no molecule)."""
    try:
        return sf.decoder(text) or ""
    except (sf.DecoderError, ValueError, KeyError, IndexError):
        return ""


def as_written(smiles: str, vocabulary: Vocabulary) -> str:
    """A molecule as this model writes it: SELFIES for a SELFIES model (SelfiesError when
    it cannot be written), else the SMILES as it is."""
    return selfies_of(smiles) if writes_selfies(vocabulary) else smiles
