"""Tests for charrnn.corpora.builtins: the list, each offline corpus, and a missing RDKit file.

Tiny Shakespeare's download is tested in test_corpus.py, beside the local HTTP server.
"""

from __future__ import annotations

import pytest

from charrnn.corpora import builtins as builtins_module
from charrnn.corpora.builtins import builtin_corpora, load_builtin
from charrnn.corpora.reading import CorpusError


def test_builtin_list():
    available = {corpus.id: corpus for corpus in builtin_corpora()}
    assert set(available) == {
        "toy-pattern",
        "tiny-shakespeare",
        "python-docs",
        "nci-5k",
        "wehi-pains",
        "chembl-freewilson",
    }
    assert [c.id for c in available.values() if c.needs_download] == ["tiny-shakespeare"]
    assert available["nci-5k"].kind == "smiles" and available["python-docs"].kind == "text"
    assert all(corpus.title and corpus.description for corpus in available.values())


def test_a_builtin_whose_file_is_missing_is_left_out(monkeypatch):
    monkeypatch.setitem(builtins_module._RDKIT_FILES, "nci-5k", ("RDDataDir", "gone.smi"))
    assert "nci-5k" not in {corpus.id for corpus in builtin_corpora()}
    with pytest.raises(CorpusError, match="no built-in corpus 'nci-5k'"):
        load_builtin("nci-5k")


def test_nci_5k_loads_offline_with_its_invalid_lines_listed():
    corpus = load_builtin("nci-5k")
    assert corpus.kind == "smiles" and corpus.source == "builtin:nci-5k"
    assert 4900 <= len(corpus.lines) <= 5000
    assert 0 < len(corpus.invalid_lines) < 50
    assert all(line.reason for line in corpus.invalid_lines)
    assert load_builtin("nci-5k") is corpus  # cached in-process


@pytest.mark.parametrize(
    ("corpus_id", "size"), [("wehi-pains", 10000), ("chembl-freewilson", 1000)]
)
def test_rdkit_smiles_corpora_load(corpus_id, size):
    corpus = load_builtin(corpus_id)
    assert size * 0.9 < len(corpus.without_invalid().lines) <= size * 1.1
    assert "," not in corpus.text and " " not in corpus.text


def test_python_docs_and_toy_pattern_are_text():
    docs = load_builtin("python-docs")
    assert docs.kind == "text" and len(docs.text) > 400_000
    toy = load_builtin("toy-pattern")
    assert 20_000 <= len(toy.text) <= 50_000
    assert set(toy.text) == set("abcde .\n")
    assert builtins_module._toy_pattern() == toy.text  # the same every time


def test_unknown_builtin_is_refused():
    with pytest.raises(CorpusError, match="Choose one of: .*nci-5k"):
        load_builtin("war-and-peace")
