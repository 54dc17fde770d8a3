"""Corpora: read and check a user's text, SMILES or CSV file, or download one.

Every file from a user is untrusted: its size, content and encoding are checked first.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from charrnn.corpora.download import DownloadFailed, fetch, megabytes
from charrnn.errors import UserError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
CorpusKind = Literal["text", "smiles"]  # prose, or one molecule (SMILES) per line
KINDS: tuple[CorpusKind, ...] = get_args(CorpusKind)
TEXT_EXTENSIONS = (".txt", ".text", ".md")
SMILES_EXTENSIONS = (".smi", ".smiles")
CSV_EXTENSIONS = (".csv", ".tsv")
# CSV column names taken as SMILES, best first; then any name containing "smiles".
SMILES_COLUMN_NAMES = ("smiles", "canonical_smiles", "isomeric_smiles", "smi")
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a zip archive, or an Excel or Word file",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
}


class CorpusError(UserError, ValueError):
    """Bad corpus input; message is for a non-programmer and says what to do."""


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
    SMILES column; each may be .gz compressed. kind ("text" or "smiles") overrides the
    extension; bytes with neither are text. smiles_column picks the CSV column, else it
    is found by its name. With check_smiles, invalid SMILES are listed in invalid_lines
    and stay in lines until the caller asks for without_invalid().
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
            raise _too_big(path.stat().st_size, max_bytes)
        raw = path.read_bytes()
    file_format = _format_of(filename, kind)
    text = _decode(raw, max_bytes, gzipped=(filename or "").lower().endswith(".gz"))
    name = name or filename or "corpus"
    source = f"file:{filename}" if filename else ""
    if file_format == "text":
        return Corpus(name, "text", text, source=source)
    if file_format == "csv":
        numbered = _csv_smiles(text, smiles_column, filename or "the file")
    else:
        numbered = _smi_lines(text)
    if not numbered:
        raise CorpusError("The file has no molecules. Upload one SMILES per line.")
    lines = tuple(smiles for _, smiles in numbered)
    invalid: tuple[InvalidLine, ...] = ()
    if check_smiles:
        problems = _problems(lines)
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


def csv_columns(data: bytes, filename: str = "data.csv") -> list[str]:
    """The column names of a CSV upload ("column 1", ... when it has no header row)."""
    text = _decode(data, DEFAULT_MAX_BYTES, gzipped=filename.lower().endswith(".gz"))
    header, _ = _csv_header(_csv_rows(text))
    return header


def smiles_column_guess(data: bytes, filename: str = "data.csv") -> str | None:
    """The column of a CSV upload that read_corpus takes as SMILES, or None if none is."""
    text = _decode(data, DEFAULT_MAX_BYTES, gzipped=filename.lower().endswith(".gz"))
    rows = _csv_rows(text)
    header, has_header = _csv_header(rows)
    index = _named_column(header) if has_header else _molecule_column(rows)
    return header[index] if index is not None else None


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


def _problems(smiles: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Why RDKit cannot read each bad SMILES, keyed by SMILES (each checked once)."""
    from charrnn.chem.smiles import smiles_problem  # lazily: reading text needs no RDKit

    reasons = {item: smiles_problem(item) for item in set(smiles)}
    return {item: reason for item, reason in reasons.items() if reason is not None}


def _too_big(size: int, max_bytes: int) -> CorpusError:
    return CorpusError(
        f"The file is {megabytes(size)}, more than the {megabytes(max_bytes)} limit. "
        "Upload a smaller file, for example the first part of this one."
    )


def _format_of(filename: str | None, kind: str | None) -> str:
    """The format, "text", "smiles" or "csv", from the extension and the kind."""
    extension = os.path.splitext((filename or "").lower().removesuffix(".gz"))[1]
    if kind == "text":
        return "text"
    if extension in CSV_EXTENSIONS:
        return "csv"
    if kind == "smiles" or extension in SMILES_EXTENSIONS:
        return "smiles"
    if extension in TEXT_EXTENSIONS or filename is None:
        return "text"
    supported = ", ".join(TEXT_EXTENSIONS + SMILES_EXTENSIONS + CSV_EXTENSIONS)
    raise CorpusError(
        f"Files like {filename!r} are not supported. Upload one of: {supported} "
        "(each may also be .gz compressed)."
    )


def _decode(raw: bytes, max_bytes: int, *, gzipped: bool) -> str:
    """Bytes to text with \\n line ends, or CorpusError saying what is wrong."""
    if len(raw) > max_bytes:
        raise _too_big(len(raw), max_bytes)
    if gzipped or raw.startswith(b"\x1f\x8b"):
        raw = _gunzip(raw, max_bytes)
    if not raw.strip():
        raise CorpusError("The file is empty. Choose a file with some text in it.")
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError(
            "The file is saved as UTF-16. Open it in a text editor, save it as UTF-8 "
            "and upload it again."
        )
    known = [what for sign, what in _BINARY_SIGNATURES.items() if head.startswith(sign)]
    controls = sum(byte < 32 and byte not in b"\t\n\r\f\x1b" for byte in head)
    if known or b"\0" in head or controls * 10 > len(head):
        what = known[0] if known else "for example an image or a zip archive"
        raise CorpusError(
            f"This looks like a binary file ({what}), not plain text. Please upload "
            "plain text: .txt for text, .smi or .csv for molecules."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise CorpusError(
            f"The file is not UTF-8 text: line {line} has the byte "
            f"0x{raw[error.start]:02X} (byte offset {error.start}). Open the file in "
            "a text editor, save it with the UTF-8 encoding and upload it again."
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError("The file has only blank space. Choose one with some text.")
    return text


def _gunzip(raw: bytes, max_bytes: int) -> bytes:
    """Decompress while counting, so a small file that inflates hugely stops early."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            while chunk := stream.read(1024 * 1024):
                out += chunk
                if len(out) > max_bytes:
                    raise CorpusError(
                        "Uncompressed, the file is more than the "
                        f"{megabytes(max_bytes)} limit. Upload a smaller file, for "
                        "example the first part of this one."
                    )
    except (OSError, EOFError, zlib.error):
        raise CorpusError(
            "The file is not a valid .gz file (it may be damaged or cut short). "
            "Compress it again, or upload it uncompressed."
        ) from None
    return bytes(out)


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


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, cells) of each non-blank row; delimiter , ; or tab."""
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample, ",;\t").delimiter
    except csv.Error:  # e.g. one column: the most common candidate on line 1
        delimiter = max(",;\t", key=sample.split("\n", 1)[0].count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows, line_number = [], 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((line_number, [cell.strip() for cell in row]))
            line_number = reader.line_num + 1
    except csv.Error as error:
        raise CorpusError(
            f"The file could not be read as CSV (line {reader.line_num}: {error}). "
            "Open it in a spreadsheet program and save it again as CSV."
        ) from None
    if not rows:
        raise CorpusError("The CSV file has no rows. Choose one with some molecules.")
    return rows


def _csv_header(rows: list[tuple[int, list[str]]]) -> tuple[list[str], bool]:
    """Column names, and whether the first row is a header (else "column 1", ...)."""
    first = rows[0][1]
    if _named_column(first) is not None or _molecule_column(rows) is None:
        return first, True
    width = max(len(cells) for _, cells in rows[:100])
    return [f"column {i + 1}" for i in range(width)], False


def _named_column(names: list[str]) -> int | None:
    """The index of the column whose name says it holds SMILES, or None."""
    lowered = [name.lower() for name in names]
    for wanted in SMILES_COLUMN_NAMES:
        if wanted in lowered:
            return lowered.index(wanted)
    return next((i for i, name in enumerate(lowered) if "smiles" in name), None)


def _molecule_column(rows: list[tuple[int, list[str]]]) -> int | None:
    """The column whose first two rows are molecules (a CSV without a header)."""
    try:
        problems = _problems([cell for _, row in rows[:2] for cell in row])
    except ImportError:  # without RDKit, the first row is taken as the header
        return None
    for index in range(len(rows[0][1])):
        column = [row[index] if index < len(row) else "" for _, row in rows[:2]]
        if all(cell and cell not in problems for cell in column):
            return index
    return None


def _csv_smiles(text: str, column: str | None, filename: str) -> list[tuple[int, str]]:
    """(line number, SMILES) from the chosen or recognised column of a CSV file."""
    rows = _csv_rows(text)
    header, has_header = _csv_header(rows)
    if column is not None:
        lowered = [name.lower() for name in header]
        wanted = column.strip().lower()
        index = lowered.index(wanted) if wanted in lowered else None
    else:
        index = _named_column(header) if has_header else _molecule_column(rows)
    if index is None:
        missing = f"There is no column {column!r}" if column else "No SMILES column"
        raise CorpusError(
            f"{missing} in {filename}. Its columns are: {', '.join(header)}. "
            "Choose the column that holds the SMILES."
        )
    body = rows[1:] if has_header else rows
    return [(n, cells[index] if index < len(cells) else "") for n, cells in body]


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
