"""App tests of the Corpus page's molecules: cleaning an upload (report first, then a new
corpus beside the original, kept through a refresh) and SDF uploads with a broken record."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rdkit import Chem
from streamlit.testing.v1 import AppTest

from charrnn.runs.config import load_corpus
from tests.app_support import no_exceptions, open_page

CRAFTED = [
    "CCO",
    "CC(=O)[O-].[Na+]",
    "c1ccccc1O.Cl",
    "CC(=O)[O-]",
    "C[NH3+]",
    "OCC",
    "C1CC",  # RDKit cannot read it
    "c1ccccc1O",
]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path / "workspaces"))
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CHARRNN_WORKERS", "1")
    return tmp_path / "workspaces"


def upload(filename: str, data: bytes) -> AppTest:
    at = AppTest.from_file("../streamlit_app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/corpus.py").run()
    at.radio(key="corpus_source").set_value("Upload").run()
    at.file_uploader(key="corpus_upload").set_value((filename, data, "text/plain")).run()
    no_exceptions(at)
    return at


def choices(at: AppTest, home: Path) -> dict:
    return json.loads((home / at.session_state["ws"] / "workspace.json").read_text())


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def report_tables(at: AppTest) -> tuple[dict[str, int], list[dict]]:
    """The counts table (change -> molecules) and the examples' rows."""
    frames = [frame.value for frame in at.dataframe]
    counts = next(frame for frame in frames if "Change" in frame.columns)
    examples = next(frame for frame in frames if "Before" in frame.columns)
    return dict(zip(counts["Change"], counts["Molecules"], strict=True)), examples.to_dict(
        "records"
    )


def test_an_upload_is_cleaned_shown_then_kept_as_a_new_corpus(home):
    at = upload("salts.smi", "\n".join(CRAFTED).encode())
    assert "use_cleaned" not in [button.key for button in at.button]  # not before asked
    at.checkbox(key="clean_molecules").check().run()
    no_exceptions(at)
    assert metrics(at)["Lines in"] == "8" and metrics(at)["Molecules out"] == "4"
    counts, examples = report_tables(at)
    assert counts == {
        "salts and solvents stripped (the largest fragment kept)": 2,
        "charges neutralised": 3,
        "rewritten as canonical SMILES": 2,
        "duplicates removed": 3,
        "unreadable lines left out": 1,
    }
    assert examples[0] == {
        "Line": 2,
        "Before": "CC(=O)[O-].[Na+]",
        "After": "CC(=O)O",
        "What changed": "salt stripped, neutralised",
    }
    assert {"Line": 6, "Before": "OCC", "After": "CCO"}.items() <= examples[4].items()
    assert examples[4]["What changed"] == "rewritten, duplicate of line 1"
    assert "lines 7." in " ".join(caption.value for caption in at.caption)
    assert "workspace.json" not in [p.name for p in home.glob("*/*")]  # nothing kept yet

    at.button(key="use_cleaned").click().run()
    no_exceptions(at)
    corpus = choices(at, home)["corpus"]
    assert corpus["name"] == "salts.smi (cleaned)"
    assert load_corpus(corpus["reference"]).lines == ("CCO", "CC(=O)O", "Oc1ccccc1", "CN")
    kept = sorted((home / at.session_state["ws"] / "corpora").glob("c-*"))
    texts = sorted(path.read_text() for path in kept)
    assert "\n".join(CRAFTED) in texts  # the original is kept too
    assert at.success and at.button(key="go_train_cleaned")

    # A refresh: the report is read from the workspace, and the original is one click away.
    again = open_page(at.session_state["ws"], "corpus")
    no_exceptions(again)
    assert metrics(again)["Molecules out"] == "4"
    again.button(key="use_original").click().run()
    original = choices(again, home)["corpus"]
    assert original["name"] == "salts.smi"
    assert Path(original["reference"]).read_text() == "\n".join(CRAFTED)


def sdf_with_broken_record(smiles: list[str], broken: int) -> bytes:
    stream = io.StringIO()
    writer = Chem.SDWriter(stream)
    for text in smiles:
        writer.write(Chem.MolFromSmiles(text))
    writer.close()
    records = stream.getvalue().split("$$$$\n")
    records[broken - 1] = records[broken - 1].replace(" C ", " Xx", 1)
    return "$$$$\n".join(records).encode()


def test_an_sdf_upload_reports_its_broken_record_by_number_and_keeps_the_rest(home):
    data = sdf_with_broken_record(["CCO", "CC(=O)[O-].[Na+]", "CCN", "c1ccccc1", "CCO"], 3)
    at = upload("set.sdf", data)
    assert "1 of the 5 records is not a molecule" in at.warning[0].value
    broken = next(f.value for f in at.dataframe if "Record" in f.value.columns)
    assert list(broken["Record"]) == [3]
    assert "Xx" in broken["Why RDKit can't read it"][0]
    assert metrics(at)["Molecules RDKit can read"] == "4"

    at.checkbox(key="clean_molecules").check().run()
    no_exceptions(at)
    assert metrics(at)["Records in"] == "4" and metrics(at)["Molecules out"] == "3"
    _, examples = report_tables(at)
    assert [row["Record"] for row in examples] == [2, 5]  # numbered as in the file
    at.button(key="use_cleaned").click().run()
    corpus = choices(at, home)["corpus"]
    assert load_corpus(corpus["reference"]).lines == ("CCO", "CC(=O)O", "c1ccccc1")
    assert corpus["name"] == "set.sdf (cleaned)"


def test_a_builtin_molecule_corpus_can_be_cleaned(home):
    at = AppTest.from_file("../streamlit_app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/corpus.py").run()
    at.radio(key="builtin_choice").set_value("chembl-freewilson").run()
    at.checkbox(key="clean_molecules").check().run()
    no_exceptions(at)
    lines_in = int(metrics(at)["Lines in"].replace(",", ""))
    assert lines_in > 500 and int(metrics(at)["Molecules out"].replace(",", "")) <= lines_in
    at.button(key="use_cleaned").click().run()
    no_exceptions(at)
    saved = choices(at, home)
    assert saved["corpus"]["name"] == "ChEMBL congeneric series (RDKit) (cleaned)"
    assert saved["cleaning"]["original"]["reference"] == "builtin:chembl-freewilson"
