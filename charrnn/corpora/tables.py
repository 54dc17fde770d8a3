"""Corpora: the molecules of a CSV or TSV table, from the column that holds the SMILES.

The column is the one the user chose, else one named like SMILES, else (no header row)
the first whose cells RDKit reads as molecules.
"""

from __future__ import annotations

import csv
import io

from charrnn.corpora.decoding import DEFAULT_MAX_BYTES, CorpusError, decode_bytes

# CSV column names taken as SMILES, best first; then any name containing "smiles".
SMILES_COLUMN_NAMES = ("smiles", "canonical_smiles", "isomeric_smiles", "smi")


def csv_columns(data: bytes, filename: str = "data.csv") -> list[str]:
    """The column names of a CSV upload ("column 1", ... when it has no header row)."""
    text = decode_bytes(data, DEFAULT_MAX_BYTES, gzipped=filename.lower().endswith(".gz"))
    header, _ = _csv_header(_csv_rows(text))
    return header


def smiles_column_guess(data: bytes, filename: str = "data.csv") -> str | None:
    """The column of a CSV upload that read_corpus takes as SMILES, or None if none is."""
    text = decode_bytes(data, DEFAULT_MAX_BYTES, gzipped=filename.lower().endswith(".gz"))
    rows = _csv_rows(text)
    header, has_header = _csv_header(rows)
    index = _named_column(header) if has_header else _molecule_column(rows)
    return header[index] if index is not None else None


def smiles_problems(smiles: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Why RDKit cannot read each bad SMILES, keyed by SMILES (each checked once)."""
    from charrnn.chem.smiles import smiles_problem  # lazily: reading text needs no RDKit

    reasons = {item: smiles_problem(item) for item in set(smiles)}
    return {item: reason for item, reason in reasons.items() if reason is not None}


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
        problems = smiles_problems([cell for _, row in rows[:2] for cell in row])
    except ImportError:  # without RDKit, the first row is taken as the header
        return None
    for index in range(len(rows[0][1])):
        column = [row[index] if index < len(row) else "" for _, row in rows[:2]]
        if all(cell and cell not in problems for cell in column):
            return index
    return None


def csv_smiles(text: str, column: str | None, filename: str) -> list[tuple[int, str]]:
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
