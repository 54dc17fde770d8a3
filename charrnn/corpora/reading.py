"""Corpora: read and check a user's text, SMILES, CSV or SDF file, or download one.

Every file from a user is untrusted: its size, content and encoding are checked first
(decoding.py); a CSV's SMILES column is found in tables.py.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from charrnn.corpora.decoding import DEFAULT_MAX_BYTES, CorpusError, decode_bytes, too_big
from charrnn.corpora.download import DownloadFailed, fetch
from charrnn.corpora.tables import csv_smiles, smiles_problems

CorpusKind = Literal["text", "smiles"]  # prose, or one molecule (SMILES) per line
KINDS: tuple[CorpusKind, ...] = get_args(CorpusKind)
TEXT_EXTENSIONS = (".txt", ".text", ".md")
SMILES_EXTENSIONS = (".smi", ".smiles")
CSV_EXTENSIONS = (".csv", ".tsv")
SDF_EXTENSIONS = (".sdf", ".sd")


@dataclass(frozen=True)
class InvalidLine:
    """A SMILES that RDKit cannot read, where it is in the file, and why."""

    line_number: int  # 1-based line in the original file
    text: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    """A text to learn from: one whole text, or SMILES lines (one molecule each)."""

    name: str
    kind: CorpusKind
    text: str = field(repr=False)
    lines: tuple[str, ...] = field(default=(), repr=False)
    invalid_lines: tuple[InvalidLine, ...] = field(default=(), repr=False)
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a corpus kind is one of {KINDS}, not {self.kind!r}")

    @property
    def is_line_based(self) -> bool:
        return self.kind == "smiles"

    def without_invalid(self) -> Corpus:
        """This corpus without the lines RDKit cannot read (the user's own choice)."""
        if not self.invalid_lines:
            return self
        # Validity depends on the text alone: equal lines are all invalid or all fine.
        invalid = {line.text for line in self.invalid_lines}
        lines = tuple(line for line in self.lines if line not in invalid)
        text = "\n".join(lines)
        return dataclasses.replace(self, text=text, lines=lines, invalid_lines=())

    def summary(self) -> dict:
        """Sizes for people: characters, lines, unique characters, invalid, bytes."""
        lines = len(self.lines) if self.is_line_based else len(self.text.splitlines())
        return {
            "characters": len(self.text),
            "lines": lines,
            "unique_characters": "".join(sorted(set(self.text))),
            "invalid": len(self.invalid_lines),
            "bytes": len(self.text.encode("utf-8")),
        }


def read_corpus(
    data: bytes | str | os.PathLike,
    filename: str | None = None,
    *,
    kind: CorpusKind | None = None,
    smiles_column: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    check_smiles: bool = True,
    name: str | None = None,
) -> Corpus:
    """Read an upload (bytes) or a file (a path) into a Corpus, or raise CorpusError.

    The format comes from filename's extension (for a path, by default its own name):
    .txt/.text/.md text, .smi/.smiles one SMILES per line, .csv/.tsv a table with a
    SMILES column, .sdf/.sd molecules read by RDKit; each may be .gz compressed. kind
    ("text" or "smiles") overrides the extension; bytes with neither are text.
    smiles_column picks the CSV column, else it is found by its name. With check_smiles,
    invalid SMILES are listed in invalid_lines and stay in lines until the caller asks for
    without_invalid().
    """
    if kind is not None and kind not in KINDS:
        raise CorpusError(f"The corpus kind is 'text' or 'smiles', not {kind!r}.")
    if isinstance(data, bytes | bytearray):
        raw = bytes(data)
    else:
        path = Path(data)
        if not path.is_file():
            raise CorpusError(f"There is no file at {path}. Check its name and folder.")
        filename = filename or path.name
        if path.stat().st_size > max_bytes:
            raise too_big(path.stat().st_size, max_bytes)
        raw = path.read_bytes()
    file_format = _format_of(filename, kind)
    text = decode_bytes(raw, max_bytes, gzipped=(filename or "").lower().endswith(".gz"))
    name = name or filename or "corpus"
    source = f"file:{filename}" if filename else ""
    if file_format == "text":
        return Corpus(name, "text", text, source=source)
    numbered = _numbered_smiles(text, file_format, filename, smiles_column)
    lines = tuple(smiles for _, smiles in numbered)
    invalid: tuple[InvalidLine, ...] = ()
    if check_smiles:
        problems = smiles_problems(lines)
        invalid = tuple(InvalidLine(n, s, problems[s]) for n, s in numbered if s in problems)
        if len(invalid) == len(lines):
            first = invalid[0]
            none = f"None of the {len(lines)} lines is" if len(lines) > 1 else "No line is"
            raise CorpusError(
                f"{none} a molecule RDKit can read (line {first.line_number}: "
                f"{first.reason}). Is this really a SMILES file? "
                "For ordinary text, upload it as a .txt file."
            )
    return Corpus(name, "smiles", "\n".join(lines), lines, invalid, source)


def numbered_smiles(
    data: bytes,
    filename: str,
    *,
    smiles_column: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    leave_out_broken_records: bool = False,
) -> list[tuple[int, str]]:
    """(line number, SMILES) of each molecule of an upload read as molecules, unchecked:
    a .smi's lines, a CSV's column (line numbers of the file), an SDF's records (record
    numbers; broken ones an error, or left out when the Corpus page has shown them)."""
    file_format = _format_of(filename, "smiles")
    text = decode_bytes(data, max_bytes, gzipped=filename.lower().endswith(".gz"))
    return _numbered_smiles(text, file_format, filename, smiles_column, leave_out_broken_records)


def _numbered_smiles(
    text: str,
    file_format: str,
    filename: str | None,
    smiles_column: str | None,
    leave_out_broken_records: bool = False,
) -> list[tuple[int, str]]:
    if file_format == "csv":
        numbered = csv_smiles(text, smiles_column, filename or "the file")
    elif file_format == "sdf":
        numbered = _sdf_molecules(text, leave_out_broken_records)
    else:
        numbered = _smi_lines(text)
    if not numbered:
        raise CorpusError("The file has no molecules. Upload one SMILES per line.")
    return numbered


def stored_filename(filename: str, kind: str) -> str:
    """A name to keep an upload under whose extension says how to read it again.

    Text becomes .txt and molecules .smi (a .csv or .tsv of molecules stays one); .gz is
    kept. Dots in the stem become "_", so the extension is all that a reader sees.
    """
    name = Path(filename or "corpus").name
    gzipped = name.lower().endswith(".gz")
    stem, extension = os.path.splitext(name[:-3] if gzipped else name)
    extension = extension.lower()
    if kind == "smiles" and extension in CSV_EXTENSIONS:
        pass
    elif kind == "smiles":
        extension = ".smi"
    else:
        extension = ".txt"
    stem = stem.replace(".", "_").strip() or "corpus"
    return stem + extension + (".gz" if gzipped else "")


def _format_of(filename: str | None, kind: str | None) -> str:
    """The format, "text", "smiles" or "csv", from the extension and the kind."""
    extension = os.path.splitext((filename or "").lower().removesuffix(".gz"))[1]
    if kind == "text":
        return "text"
    if extension in CSV_EXTENSIONS:
        return "csv"
    if extension in SDF_EXTENSIONS:
        return "sdf"
    if kind == "smiles" or extension in SMILES_EXTENSIONS:
        return "smiles"
    if extension in TEXT_EXTENSIONS or filename is None:
        return "text"
    supported = ", ".join(TEXT_EXTENSIONS + SMILES_EXTENSIONS + CSV_EXTENSIONS + SDF_EXTENSIONS)
    raise CorpusError(
        f"Files like {filename!r} are not supported. Upload one of: {supported} "
        "(each may also be .gz compressed)."
    )


def _smi_lines(text: str) -> list[tuple[int, str]]:
    """(line number, first word) of each line; blank lines and a header skipped."""
    numbered = []
    for number, line in enumerate(text.split("\n"), start=1):
        words = line.split()
        # No valid SMILES contains "smiles" in any case (there is no element M), so
        # a first line containing it is a header like "SMILES Name" that fails to parse.
        if words and (numbered or "smiles" not in line.lower()):
            numbered.append((number, words[0]))
    return numbered


def _sdf_molecules(text: str, leave_out_broken: bool = False) -> list[tuple[int, str]]:
    """(record number, SMILES) of each record of an SDF file; a broken record is an error
    here (the Corpus page shows them and leaves them out: uploads.check_sdf_upload)."""
    from charrnn.corpora.sdf import read_sdf  # lazily: it needs RDKit

    reading = read_sdf(text)
    if reading.broken and not leave_out_broken:
        raise CorpusError(
            f"{reading.broken_text()} Correct or delete those records, or upload the file on "
            "the Corpus page, which shows them and leaves them out."
        )
    return list(reading.molecules)


def download_corpus(
    url: str,
    destination: str | os.PathLike,
    *,
    timeout: float = 30.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Download url to destination (atomically); an existing file is kept as it is."""
    if Path(destination).is_file():
        return Path(destination)
    try:
        return fetch(url, destination, timeout=timeout, max_bytes=max_bytes)
    except DownloadFailed as error:
        raise CorpusError(
            f"Could not download {url} ({error}). Check the address and your internet "
            "connection, or upload the file instead."
        ) from None
