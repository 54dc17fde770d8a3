"""SDF uploads: molecules written by RDKit's SDWriter come back as the same canonical SMILES,
and a broken record is reported by its number, never dropped silently."""

from __future__ import annotations

import io

import pytest
from rdkit import Chem

from charrnn.corpora import sdf
from charrnn.corpora.reading import CorpusError, read_corpus
from charrnn.corpora.uploads import check_sdf_upload_bounded

MOLECULES = ["CCO", "c1ccccc1O", "CC(=O)[O-].[Na+]", "C[C@H](N)C(=O)O", "F/C=C/F"]


def sdf_bytes(smiles: list[str]) -> bytes:
    stream = io.StringIO()
    writer = Chem.SDWriter(stream)
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        mol.SetProp("_Name", f"molecule {text}")
        writer.write(mol)
    writer.close()
    return stream.getvalue().encode("utf-8")


def with_broken_record(data: bytes, number: int) -> bytes:
    """The SDF with record `number` (1-based) given an element that does not exist."""
    records = data.decode().split("$$$$\n")
    records[number - 1] = records[number - 1].replace(" C ", " Xx", 1)
    return "$$$$\n".join(records).encode()


def test_sdf_round_trips_to_the_same_canonical_smiles():
    corpus = read_corpus(sdf_bytes(MOLECULES), "set.sdf")
    assert corpus.kind == "smiles" and not corpus.invalid_lines
    assert list(corpus.lines) == [Chem.CanonSmiles(text) for text in MOLECULES]


def test_an_sdf_upload_checked_in_a_child_gives_the_smiles_to_keep():
    upload = check_sdf_upload_bounded(sdf_bytes(MOLECULES), "set.sdf", max_bytes=10**6)
    assert upload.record_count == 5 and upload.broken == ()
    assert upload.smiles.splitlines() == [Chem.CanonSmiles(text) for text in MOLECULES]
    assert upload.smiles_filename == "set.smi"
    assert upload.preview.kind == "smiles" and upload.preview.line_count == 5
    kept = read_corpus(upload.smiles.encode(), upload.smiles_filename)
    assert kept.lines == tuple(upload.smiles.splitlines())


def test_a_broken_record_is_reported_by_its_number():
    reading = sdf.read_sdf(with_broken_record(sdf_bytes(MOLECULES), 3).decode())
    assert reading.record_count == 5
    assert [record.number for record in reading.broken] == [3]
    assert "Xx" in reading.broken[0].reason
    assert [number for number, _ in reading.molecules] == [1, 2, 4, 5]
    assert "1 of the 5 records is not a molecule RDKit can read (record 3" in (
        reading.broken_text()
    )


def test_broken_records_are_never_dropped_silently():
    data = with_broken_record(with_broken_record(sdf_bytes(MOLECULES), 2), 5)
    upload = check_sdf_upload_bounded(data, "set.sdf", max_bytes=10**6)
    assert [record.number for record in upload.broken] == [2, 5]
    assert upload.preview.line_count == 3
    with pytest.raises(CorpusError, match="record 2.*record 5"):
        read_corpus(data, "set.sdf")  # outside the Corpus page: an error, not a loss


def test_an_sdf_without_a_readable_molecule_is_a_clear_error():
    data = b"garbage\n\n\n$$$$\nmore garbage\n$$$$\n"
    with pytest.raises(CorpusError, match="No record of this SDF file is a molecule"):
        sdf.read_sdf(data.decode())


def test_records_are_counted_and_sized_before_rdkit_reads_them(monkeypatch):
    data = sdf_bytes(MOLECULES).decode()
    with pytest.raises(CorpusError, match="has 5 molecules .* at most 4"):
        sdf.read_sdf(data, max_records=4)
    big = sdf_bytes(["CCO", "CCCCCCCCCCCCCCCCCCCC"]).decode()
    monkeypatch.setattr(sdf, "MAX_SDF_RECORD_BYTES", len(sdf.sdf_records(big)[0]) + 10)
    reading = sdf.read_sdf(big)
    assert [record.number for record in reading.broken] == [2]
    assert "too large" in reading.broken[0].reason


def v3000_claiming(atoms: str) -> str:
    """A V3000 record of one carbon whose counts line announces `atoms` atoms."""
    block = Chem.MolToV3KMolBlock(Chem.MolFromSmiles("C"))
    return block.replace("COUNTS 1 0", f"COUNTS {atoms} 0") + "$$$$\n"


@pytest.mark.parametrize("atoms", ["100000000", "0100000000", "9" * 5000])
def test_a_v3000_record_announcing_more_atoms_than_it_has_is_refused_before_rdkit(
    monkeypatch, atoms
):
    # RDKit sets aside memory for every announced atom before reading any: 100 million
    # took 3 GB and 10 seconds, from a file of 300 bytes
    supplied = sdf._supplied

    def rdkit_reads(block: bytes, sanitize: bool):
        assert b"V3000" not in block, "RDKit was given the record that announces too many"
        return supplied(block, sanitize=sanitize)

    monkeypatch.setattr(sdf, "_supplied", rdkit_reads)
    reading = sdf.read_sdf(sdf_bytes(["CCO"]).decode() + v3000_claiming(atoms))
    assert [record.number for record in reading.broken] == [2]
    assert "counts line announces" in reading.broken[0].reason
    assert "atoms, but the record has only" in reading.broken[0].reason
    assert [smiles for _, smiles in reading.molecules] == ["CCO"]


def test_a_v3000_record_is_read():
    reading = sdf.read_sdf(v3000_claiming("1") + v3000_claiming("1"))
    assert reading.broken == () and [s for _, s in reading.molecules] == ["C", "C"]
