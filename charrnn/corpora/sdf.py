"""Corpora: the molecules of an SDF file, each record written as one SMILES line.

Records are counted and their sizes checked before RDKit reads any; a record RDKit cannot
read is reported by its number (1-based), never dropped silently.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from charrnn.corpora.decoding import CorpusError
from charrnn.limits import MAX_SMILES_LENGTH

MAX_SDF_RECORDS = 200_000  # molecules in one file; past it the file is refused unread
MAX_SDF_RECORD_BYTES = 256 * 1024  # one record; a larger one is reported, never parsed
SHOWN_BROKEN_RECORDS = 5  # how many broken records a message names
_END = re.compile(r"^\$\$\$\$[ \t]*$", re.MULTILINE)
_LINE_NUMBER = re.compile(r"\s*(on|ending on) line\s*\d+")  # lines of one record, not the file's
_TIMESTAMP = re.compile(r"^\[\d\d:\d\d:\d\d\]\s*(ERROR:\s*)?")
# RDKit sets memory aside for the atoms a V3000 counts line announces before it reads them
# (about 30 bytes each: 100 million took 3 GB and 10 seconds), so they are checked first
_V3000_ATOMS = re.compile(r"^M  V30[ \t]+COUNTS[ \t]+(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class BrokenRecord:
    """A record of an SDF file RDKit cannot read, its number (1-based) and why."""

    number: int
    reason: str


@dataclass(frozen=True)
class SdfReading:
    """What an SDF file held: (record number, SMILES) of each molecule read, and the rest."""

    molecules: tuple[tuple[int, str], ...]
    broken: tuple[BrokenRecord, ...]
    record_count: int

    def broken_text(self) -> str:
        """The broken records in one sentence: how many, and the first few by number."""
        count = len(self.broken)
        if not count:
            return f"All {self.record_count:,} records were read."
        shown = "; ".join(
            f"record {record.number}: {record.reason}"
            for record in self.broken[:SHOWN_BROKEN_RECORDS]
        )
        more = " …" if count > SHOWN_BROKEN_RECORDS else ""
        are = "is not a molecule" if count == 1 else "are not molecules"
        return (
            f"{count:,} of the {self.record_count:,} records {are} RDKit can read ({shown}{more})."
        )


def sdf_records(text: str, max_records: int = MAX_SDF_RECORDS) -> list[str]:
    """The records of an SDF text (each ends with a "$$$$" line; a last one may not).

    More than max_records is a CorpusError, found before any record is kept.
    """
    ends = [match.end() for match in _END.finditer(text)]
    starts = [0, *(end + 1 for end in ends)]
    tail = text[starts[-1] :] if starts[-1] < len(text) else ""
    count = len(ends) + (1 if tail.strip() else 0)
    if count > max_records:
        raise CorpusError(
            f"The file has {count:,} molecules (records); this app reads at most "
            f"{max_records:,} from one file. Upload the first {max_records:,}."
        )
    records = [text[start:end] for start, end in zip(starts, ends, strict=False)]
    return records + ([tail] if tail.strip() else [])


def read_sdf(text: str, max_records: int = MAX_SDF_RECORDS) -> SdfReading:
    """Each record of an SDF text read by RDKit (ForwardSDMolSupplier) and written as SMILES.

    A record past MAX_SDF_RECORD_BYTES, one announcing more atoms than it has lines, one
    RDKit cannot read, one without atoms or one whose SMILES is past
    limits.MAX_SMILES_LENGTH is a BrokenRecord. A file without any molecule is a CorpusError.
    """
    records = sdf_records(text, max_records)
    if not records:
        raise CorpusError("The SDF file has no molecules. Upload a file with some records.")
    molecules, broken = [], []
    for number, record in enumerate(records, start=1):
        smiles, reason = _record_smiles(record)
        if smiles is None:
            broken.append(BrokenRecord(number, reason))
        else:
            molecules.append((number, smiles))
    reading = SdfReading(tuple(molecules), tuple(broken), len(records))
    if not molecules:
        raise CorpusError(
            f"No record of this SDF file is a molecule RDKit can read. {reading.broken_text()} "
            "Save the file again from your chemistry program, or upload SMILES (.smi) instead."
        )
    return reading


def _record_smiles(record: str) -> tuple[str | None, str]:
    """One record's SMILES, or None and why RDKit cannot read it."""
    from rdkit import Chem, rdBase  # lazily: reading text needs no RDKit

    size = len(record.encode("utf-8"))
    if size > MAX_SDF_RECORD_BYTES:
        most = MAX_SDF_RECORD_BYTES
        return None, f"too large: {_size(size)} (this app reads records of at most {_size(most)})"
    lines = record.count("\n") + 1
    for counts in _V3000_ATOMS.finditer(record):
        atoms = counts[1].lstrip("0") or "0"  # digits: int() refuses more than 4,300
        if len(atoms) > len(str(lines)) or int(atoms) > lines:  # an atom takes a line
            shown = f"{int(atoms):,}" if len(atoms) < 16 else "more than a million billion"
            return None, (
                f"its counts line announces {shown} atoms, but the record has only {lines:,} lines"
            )
    block = (record.rstrip("\n") + "\n$$$$\n").encode("utf-8")
    mol, messages = _supplied(block, sanitize=True)
    if mol is None:
        unsanitized, _ = _supplied(block, sanitize=False)
        if unsanitized is not None:
            with rdBase.BlockLogs():
                problems = Chem.DetectChemistryProblems(unsanitized)
            if problems:
                return None, f"RDKit: {problems[0].Message()}"
        return None, _reason(messages)
    if mol.GetNumAtoms() == 0:
        return None, "it has no atoms"
    smiles = Chem.MolToSmiles(mol)
    if len(smiles) > MAX_SMILES_LENGTH:
        return None, f"its SMILES is longer than {MAX_SMILES_LENGTH:,} characters"
    return smiles, ""


def _size(count: int) -> str:
    return f"{count / 1024:,.0f} KB" if count >= 10 * 1024 else f"{count:,} bytes"


def _supplied(block: bytes, sanitize: bool):
    """The first molecule RDKit's ForwardSDMolSupplier reads from block (or None), and
    RDKit's error messages."""
    from rdkit import Chem, rdBase

    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
        supplier = Chem.ForwardSDMolSupplier(io.BytesIO(block), sanitize=sanitize)
        try:
            mol = next(supplier, None)
        except (RuntimeError, ValueError):  # RDKit raises on some damaged counts lines
            mol = None
    return mol, capture.messages


def _reason(messages: str) -> str:
    """RDKit's first error message about a record, without its time and stack trace."""
    for line in (messages or "").splitlines():
        line = _TIMESTAMP.sub("", line.strip()).strip()
        skip = ("*", "Stacktrace", "Failed", "-", "Violation", "moving to the beginning")
        if line and not line.startswith(skip) and "Violation" not in line and "#" not in line:
            return f"RDKit: {_LINE_NUMBER.sub('', line)[:200]}"
    return "RDKit cannot read it"
