"""An upload checked where it cannot hurt the server: in a child process with a memory and
a time limit, giving back only what the Corpus page shows (a CorpusPreview)."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from charrnn.corpora.decoding import decode_bytes
from charrnn.corpora.reading import (
    Corpus,
    CorpusError,
    InvalidLine,
    numbered_smiles,
    read_corpus,
    stored_filename,
)
from charrnn.corpora.sdf import BrokenRecord, read_sdf
from charrnn.corpora.tables import csv_columns, smiles_column_guess

if TYPE_CHECKING:
    from charrnn.chem.cleaning import CleaningReport


@dataclass(frozen=True)
class CorpusPreview:
    """What the Corpus page shows of a corpus: its kind and sizes, its first molecules or
    characters, and the lines RDKit cannot read (the first MAX_SHOWN_INVALID of them)."""

    name: str
    kind: str
    summary: dict
    first_lines: tuple[str, ...]
    first_text: str
    invalid_lines: tuple[InvalidLine, ...]
    invalid_count: int
    line_count: int

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["invalid_lines"] = [dataclasses.asdict(line) for line in self.invalid_lines]
        return data

    @classmethod
    def from_json(cls, data: dict) -> CorpusPreview:
        values = dict(data)
        values["first_lines"] = tuple(data["first_lines"])
        values["invalid_lines"] = tuple(InvalidLine(**line) for line in data["invalid_lines"])
        return cls(**values)


MAX_SHOWN_INVALID = 1000  # invalid lines listed on the Corpus page (all are counted)
SHOWN_LINE_CHARACTERS = 200  # of each listed line
PREVIEW_LINES, PREVIEW_CHARACTERS = 20, 1000


def preview_of(corpus: Corpus) -> CorpusPreview:
    """The small part of a corpus the Corpus page shows."""

    def shown(text: str) -> str:
        cut = len(text) > SHOWN_LINE_CHARACTERS
        return text[:SHOWN_LINE_CHARACTERS] + ("…" if cut else "")

    invalid = tuple(
        InvalidLine(line.line_number, shown(line.text), line.reason)
        for line in corpus.invalid_lines[:MAX_SHOWN_INVALID]
    )
    return CorpusPreview(
        name=corpus.name,
        kind=corpus.kind,
        summary=corpus.summary(),
        first_lines=tuple(shown(line) for line in corpus.lines[:PREVIEW_LINES]),
        first_text=corpus.text[:PREVIEW_CHARACTERS],
        invalid_lines=invalid,
        invalid_count=len(corpus.invalid_lines),
        line_count=len(corpus.lines),
    )


def check_upload(
    path: str, filename: str, kind: str | None, smiles_column: str | None, max_bytes: int
) -> dict:
    """An upload kept in a file, read and checked: its CorpusPreview as JSON (what
    check_upload_bounded runs in a child process)."""
    corpus = read_corpus(
        Path(path).read_bytes(),
        filename,
        kind=kind,
        smiles_column=smiles_column,
        max_bytes=max_bytes,
    )
    return preview_of(corpus).to_json()


@dataclass(frozen=True)
class SdfUpload:
    """An SDF upload read: its molecules as a SMILES corpus (previewed, and the text to keep
    as a .smi file) and the records RDKit could not read, by number."""

    preview: CorpusPreview
    record_count: int
    broken: tuple[BrokenRecord, ...]
    smiles: str
    smiles_filename: str


def check_sdf_upload(path: str, filename: str, max_bytes: int) -> dict:
    """An SDF upload kept in a file, read by RDKit record by record: its SdfUpload as JSON
    (what check_sdf_upload_bounded runs in a child process)."""
    gzipped = filename.lower().endswith(".gz")
    reading = read_sdf(decode_bytes(Path(path).read_bytes(), max_bytes, gzipped=gzipped))
    smiles = "".join(f"{line}\n" for _, line in reading.molecules)
    name = stored_filename(filename[:-3] if gzipped else filename, "smiles")
    corpus = read_corpus(smiles.encode("utf-8"), name, max_bytes=max_bytes, name=filename)
    records = [number for number, _ in reading.molecules]  # line n holds record records[n-1]
    invalid = tuple(
        dataclasses.replace(line, line_number=records[line.line_number - 1])
        for line in corpus.invalid_lines
    )
    preview = preview_of(dataclasses.replace(corpus, invalid_lines=invalid))
    return {
        "preview": preview.to_json(),
        "record_count": reading.record_count,
        "broken": [dataclasses.asdict(record) for record in reading.broken],
        "smiles": smiles,
        "smiles_filename": name,
    }


def csv_choices(path: str, filename: str) -> dict:
    """The columns of a CSV upload kept in a file, and the one taken as SMILES."""
    data = Path(path).read_bytes()
    return {"columns": csv_columns(data, filename), "guess": smiles_column_guess(data, filename)}


def clean_upload(
    path: str, filename: str, smiles_column: str | None, remove_stereo: bool, max_bytes: int
) -> dict:
    """An upload of molecules kept in a file, cleaned (charrnn.chem.cleaning): the report
    and the cleaned .smi text, as JSON (what clean_upload_bounded runs in a child process).
    An SDF's broken records are left out: the Corpus page has listed them."""
    from charrnn.chem.cleaning import clean_lines  # lazily: checking text needs no RDKit

    numbered = numbered_smiles(
        Path(path).read_bytes(),
        filename,
        smiles_column=smiles_column,
        max_bytes=max_bytes,
        leave_out_broken_records=True,
    )
    cleaned = clean_lines(
        [smiles for _, smiles in numbered],
        line_numbers=[number for number, _ in numbered],
        remove_stereo=remove_stereo,
    )
    return {"report": cleaned.report.to_json(), "smiles": cleaned.text()}


def in_child(target: str, data: bytes, **arguments):
    """An upload's check in a child process with a memory and a time limit (charrnn.bounded),
    so a hostile file costs the web server nothing; what goes wrong there is a CorpusError.

    target is a function of this module, or "module:function" for one elsewhere; it is
    called with path= the upload kept in a file, and the arguments."""
    from charrnn import bounded

    with tempfile.TemporaryDirectory(prefix="charrnn-upload-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            return bounded.call(
                target if ":" in target else f"charrnn.corpora.uploads:{target}",
                {"path": str(path), **arguments},
            )
        except bounded.ChildFailed as failure:
            raise CorpusError(_CHILD_FAILED.get(failure.reason, _CHILD_FAILED["crash"])) from None


_CHILD_FAILED = {
    "memory": "Checking this file needed more memory than the server gives one file. "
    "Upload a smaller file, for example the first part of this one.",
    "time": "Checking this file took too long. Upload a smaller file, for example the first "
    "part of this one.",
    "crash": "This file could not be checked (the checking process stopped). Upload a "
    "smaller or simpler file, or save it again as plain text.",
}


def check_upload_bounded(
    data: bytes, filename: str, *, kind: str | None, smiles_column: str | None, max_bytes: int
) -> CorpusPreview:
    """read_corpus's checks on an upload, in a child process: what the Corpus page shows."""
    answer = in_child(
        "check_upload",
        data,
        filename=filename,
        kind=kind,
        smiles_column=smiles_column,
        max_bytes=max_bytes,
    )
    return CorpusPreview.from_json(answer)


def check_sdf_upload_bounded(data: bytes, filename: str, *, max_bytes: int) -> SdfUpload:
    """check_sdf_upload in a child process: the molecules of an SDF upload, and its broken
    records by number."""
    answer = in_child("check_sdf_upload", data, filename=filename, max_bytes=max_bytes)
    return SdfUpload(
        preview=CorpusPreview.from_json(answer["preview"]),
        record_count=answer["record_count"],
        broken=tuple(BrokenRecord(**record) for record in answer["broken"]),
        smiles=answer["smiles"],
        smiles_filename=answer["smiles_filename"],
    )


def csv_choices_bounded(data: bytes, filename: str) -> tuple[list[str], str | None]:
    """csv_columns and smiles_column_guess of an upload, in a child process."""
    answer = in_child("csv_choices", data, filename=filename)
    return list(answer["columns"]), answer["guess"]


def clean_upload_bounded(
    data: bytes,
    filename: str,
    *,
    smiles_column: str | None,
    remove_stereo: bool,
    max_bytes: int,
) -> tuple[CleaningReport, str]:
    """clean_upload in a child process with a memory and a time limit: the CleaningReport,
    and the cleaned corpus's text (one canonical SMILES a line)."""
    from charrnn.chem.cleaning import CleaningError, CleaningReport  # noqa: F401 (raised)

    answer = in_child(
        "clean_upload",
        data,
        filename=filename,
        smiles_column=smiles_column,
        remove_stereo=remove_stereo,
        max_bytes=max_bytes,
    )
    return CleaningReport.from_json(answer["report"]), answer["smiles"]
