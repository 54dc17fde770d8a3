"""Engine helpers the Corpus and Home pages use: the SMILES column of a CSV upload, the name an
upload is kept under (so it is read the same way again), and whether a built-in is downloaded.
"""

from __future__ import annotations

import gzip

import pytest

from charrnn.corpora.builtins import is_downloaded
from charrnn.corpora.reading import CorpusError, read_corpus, stored_filename
from charrnn.corpora.tables import smiles_column_guess


def test_the_smiles_column_is_found_by_its_name():
    data = b"id,Canonical_SMILES,name\n1,CCO,ethanol\n2,c1ccccc1,benzene\n"
    assert smiles_column_guess(data, "mols.csv") == "Canonical_SMILES"


def test_a_csv_without_a_header_has_its_molecule_column_found():
    data = b"ethanol,CCO\nbenzene,c1ccccc1\nacetic acid,CC(=O)O\n"
    column = smiles_column_guess(data, "mols.csv")
    assert column == "column 2"
    corpus = read_corpus(data, "mols.csv", smiles_column=column)
    assert corpus.lines == ("CCO", "c1ccccc1", "CC(=O)O")


def test_a_csv_without_molecules_has_no_smiles_column():
    assert smiles_column_guess(b"name,weight\nethanol,46\nwater,18\n", "x.csv") is None


def test_a_damaged_csv_upload_is_a_corpus_error():
    with pytest.raises(CorpusError, match="empty"):
        smiles_column_guess(b"", "x.csv")


@pytest.mark.parametrize(
    "filename, kind, stored",
    [
        ("notes.txt", "text", "notes.txt"),
        ("mols.txt", "smiles", "mols.smi"),
        ("mols.smi", "text", "mols.txt"),
        ("set v1.2.smi", "smiles", "set v1_2.smi"),
        ("table.CSV", "smiles", "table.csv"),
        ("table.tsv.gz", "smiles", "table.tsv.gz"),
        ("data.gz", "smiles", "data.smi.gz"),
        ("data.gz", "text", "data.txt.gz"),
        ("README", "text", "README.txt"),
        (".gz", "text", "corpus.txt.gz"),
    ],
)
def test_an_upload_is_kept_under_a_name_that_reads_it_the_same_way(filename, kind, stored):
    assert stored_filename(filename, kind) == stored


def test_a_kept_upload_reads_back_as_the_kind_the_user_chose(tmp_path):
    data = gzip.compress(b"CCO\nc1ccccc1\nCC(=O)O\n")
    path = tmp_path / stored_filename("molecules.gz", "smiles")
    path.write_bytes(data)
    corpus = read_corpus(path)
    assert corpus.kind == "smiles"
    assert corpus.lines == ("CCO", "c1ccccc1", "CC(=O)O")


def test_only_tiny_shakespeare_needs_a_download(tmp_path):
    assert is_downloaded("toy-pattern", cache_dir=tmp_path)
    assert not is_downloaded("tiny-shakespeare", cache_dir=tmp_path)
    (tmp_path / "tiny-shakespeare.txt").write_text("First Citizen:\n", encoding="utf-8")
    assert is_downloaded("tiny-shakespeare", cache_dir=tmp_path)
