"""Cleaning a corpus of molecules: salts stripped, charges neutralised, duplicates and (when
asked) stereo removed, with a report whose counts and examples say exactly what changed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rdkit import Chem

from charrnn.chem import cleaning
from charrnn.chem.cleaning import CleaningError, CleaningReport, clean_lines
from charrnn.corpora.uploads import clean_upload_bounded
from charrnn.runs.cleaned import cleaning_of, keep_cleaned
from charrnn.runs.config import load_corpus

CRAFTED = [
    "CCO",  # 1 kept as it is
    "CC(=O)[O-].[Na+]",  # 2 a salt: sodium acetate -> acetic acid
    "c1ccccc1O.Cl",  # 3 with hydrochloric acid -> phenol
    "CC(=O)[O-]",  # 4 acetate -> acetic acid, which line 2 already gave
    "C[NH3+]",  # 5 methylammonium -> methylamine
    "OCC",  # 6 ethanol spelled another way: a duplicate of line 1
    "C[C@H](N)C(=O)O",  # 7 L-alanine
    "C1CC",  # 8 an unclosed ring: RDKit cannot read it
    "F/C=C/F",  # 9 trans-difluoroethene
    "CC(N)C(=O)O",  # 10 alanine without stereo: a duplicate once stereo is removed
]


def test_the_report_counts_each_change_and_the_cleaned_lines_are_canonical():
    cleaned = clean_lines(CRAFTED)
    report = cleaned.report
    assert cleaned.lines == (
        "CCO",
        "CC(=O)O",
        "Oc1ccccc1",
        "CN",
        "C[C@H](N)C(=O)O",
        "F/C=C/F",
        "CC(N)C(=O)O",
    )
    assert (report.lines_read, report.molecules_kept) == (10, 7)
    assert report.counts == {
        "fragments": 2,
        "charges": 3,
        "stereo": 0,
        "spellings": 1,
        "duplicates": 2,
        "unreadable": 1,
    }
    assert report.unreadable_lines == (8,)
    shown = [(e.line_number, e.before, e.after, e.changes, e.duplicate_of) for e in report.examples]
    assert shown == [
        (2, "CC(=O)[O-].[Na+]", "CC(=O)O", ("fragments", "charges"), 0),
        (3, "c1ccccc1O.Cl", "Oc1ccccc1", ("fragments",), 0),
        (4, "CC(=O)[O-]", "CC(=O)O", ("charges", "duplicates"), 2),
        (5, "C[NH3+]", "CN", ("charges",), 0),
        (6, "OCC", "CCO", ("spellings", "duplicates"), 1),
    ]


def test_stereo_is_removed_only_when_asked():
    cleaned = clean_lines(CRAFTED, remove_stereo=True)
    assert cleaned.lines == ("CCO", "CC(=O)O", "Oc1ccccc1", "CN", "CC(N)C(=O)O", "FC=CF")
    counts = cleaned.report.counts
    assert (counts["stereo"], counts["duplicates"]) == (2, 3)  # line 10 repeats line 7 now
    assert cleaned.report.remove_stereo
    assert cleaned.report.examples[-1].changes == ("stereo",)


def test_the_report_round_trips_through_json_and_keeps_few_examples():
    many = [f"{'C' * n}.[Na+]" for n in range(1, 30)]
    report = clean_lines(many).report
    assert report.counts["fragments"] == 29
    assert len(report.examples) == cleaning.MAX_EXAMPLES // 2  # nothing new after the first
    assert CleaningReport.from_json(report.to_json()) == report


def test_too_many_lines_or_none_readable_are_plain_errors():
    with pytest.raises(CleaningError, match="has 10 molecules; this app cleans at most 5"):
        clean_lines(CRAFTED, max_lines=5)
    with pytest.raises(CleaningError, match="None of the lines is a molecule"):
        clean_lines(["C1CC", "not a molecule"])
    with pytest.raises(CleaningError, match="took longer than 0 seconds"):
        clean_lines(["CCO"] * 600, max_seconds=0)


def test_an_upload_is_cleaned_in_a_child_with_the_files_own_line_numbers():
    data = ("SMILES name\n" + "\n".join(f"{s} m{n}" for n, s in enumerate(CRAFTED)) + "\n").encode()
    report, smiles = clean_upload_bounded(
        data, "mix.smi", smiles_column=None, remove_stereo=False, max_bytes=10**6
    )
    assert smiles.splitlines() == list(clean_lines(CRAFTED).lines)
    assert report.unreadable_lines == (9,)  # the header is line 1
    assert [example.line_number for example in report.examples] == [3, 4, 5, 6, 7]


def test_an_sdf_upload_is_cleaned_by_record_leaving_out_its_broken_records():
    stream = io.StringIO()
    writer = Chem.SDWriter(stream)
    for text in ["CC(=O)[O-].[Na+]", "CCO", "CC(=O)O", "c1ccccc1"]:
        writer.write(Chem.MolFromSmiles(text))
    writer.close()
    records = stream.getvalue().split("$$$$\n")
    records[1] = records[1].replace(" C ", " Xx", 1)  # record 2 broken
    data = "$$$$\n".join(records).encode()
    report, smiles = clean_upload_bounded(
        data, "set.sdf", smiles_column=None, remove_stereo=False, max_bytes=10**6
    )
    assert smiles.splitlines() == ["CC(=O)O", "c1ccccc1"]
    assert (report.lines_read, report.counts["duplicates"]) == (3, 1)
    assert [(e.line_number, e.duplicate_of) for e in report.examples] == [(1, 0), (3, 1)]


def test_the_cleaned_corpus_is_kept_beside_the_original_with_its_report(space):
    original_path = space.save_corpus("\n".join(CRAFTED).encode(), "mix.smi")
    original = {"reference": original_path, "name": "mix.smi", "kind": "smiles"}
    cleaned = clean_lines(CRAFTED)
    corpus = keep_cleaned(space, cleaned.text(), cleaned.report, original)
    assert space.choices["corpus"] == corpus
    assert corpus["name"] == "mix.smi (cleaned)" and corpus["reference"] != original_path
    assert space.corpus_name(corpus["reference"]) == "mix-cleaned.smi"
    assert load_corpus(corpus["reference"]).lines == cleaned.lines
    assert Path(original_path).read_text() == "\n".join(CRAFTED)  # the original is not lost
    assert cleaning_of(space, corpus["reference"]) == (cleaned.report, original, "line")
    assert cleaning_of(space, original_path) is None


def test_chemistry_never_imports_the_corpora_layer():
    folder = Path(cleaning.__file__).parent
    for module in folder.glob("*.py"):
        assert "charrnn.corpora" not in module.read_text(encoding="utf-8"), module.name
