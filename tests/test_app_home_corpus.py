"""App tests of the Home and Corpus pages: one-click starts, built-in corpora, uploads, errors.

Each test drives the real multipage app with AppTest in a fresh workspace folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from charrnn.runs.config import load_corpus


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path / "workspaces"))
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))  # nothing downloaded yet
    monkeypatch.setenv("CHARRNN_WORKERS", "1")
    return tmp_path / "workspaces"


@pytest.fixture
def app(home) -> AppTest:
    at = AppTest.from_file("../streamlit_app.py", default_timeout=60)
    at.run()
    assert not at.exception
    return at


def choices(at: AppTest, home: Path) -> dict:
    """The workspace's choices as saved on disk."""
    path = home / at.session_state["ws"] / "workspace.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def page_shown(at: AppTest) -> str:
    """The file name of the page the last run ended on (AppTest keeps it privately)."""
    info = at._registered_pages.get(at._finished_page_script_hash, {})
    return Path(info.get("script_path", "")).name


def corpus_page(at: AppTest) -> AppTest:
    at.switch_page("pages/corpus.py").run()
    assert not at.exception
    return at


def upload(at: AppTest, filename: str, data: bytes) -> AppTest:
    corpus_page(at)
    at.radio(key="corpus_source").set_value("Upload").run()
    at.file_uploader(key="corpus_upload").set_value((filename, data, "text/plain")).run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


# ----- Home ---------------------------------------------------------------------------------


def test_home_says_what_this_is_and_the_ten_minute_path(app):
    text = "\n".join(element.value for element in app.markdown)
    assert "one character at a time" in text
    assert "learns which character is likely to come next" in text
    assert "writes new text, or new molecules" in text
    links = [link.label for link in app.get("page_link")]
    names = ("Corpus", "Train", "Generate", "Chemistry", "Inside", "Models")
    steps = [f"**{number}. {name}**" for number, name in enumerate(names, start=1)]
    assert links == [*steps, "**Guess the next character**", "**Steer**"]  # then, to try
    assert app.button(key="start_molecules").label == "Generate molecules"
    assert "8 of its 4,999 lines are not molecules" in " ".join(c.value for c in app.caption)


def test_learn_a_pattern_picks_the_corpus_and_preset_and_opens_train(app, home):
    app.button(key="start_pattern").click().run()
    assert not app.exception
    chosen = choices(app, home)
    assert chosen["preset"] == "tiny"
    assert chosen["corpus"]["reference"] == "builtin:toy-pattern"
    assert chosen["corpus"]["kind"] == "text"
    assert page_shown(app) == "train.py"


def test_generate_molecules_leaves_out_the_lines_rdkit_cannot_read(app, home):
    app.button(key="start_molecules").click().run()
    chosen = choices(app, home)["corpus"]
    assert chosen["reference"] == "builtin:nci-5k" and chosen["drop_invalid"] is True
    corpus = load_corpus(chosen["reference"], drop_invalid=chosen["drop_invalid"])
    assert len(corpus.lines) == 4999 - 8


def test_shakespeare_is_offered_only_once_downloaded(app, home, tmp_path):
    keys = [button.key for button in app.button]
    assert "start_shakespeare" not in keys  # not downloaded: no one-click start
    app.button(key="start_shakespeare_download").click().run()
    assert page_shown(app) == "corpus.py"
    assert app.radio(key="builtin_choice").value == "tiny-shakespeare"
    assert app.button(key="download_builtin").label == "Download (1 MB)"

    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "tiny-shakespeare.txt").write_text("First Citizen:\nSpeak.\n")
    app.switch_page("pages/home.py").run()
    app.button(key="start_shakespeare").click().run()
    assert choices(app, home)["corpus"]["reference"] == "builtin:tiny-shakespeare"


# ----- Corpus: built-in ---------------------------------------------------------------------


def test_a_builtin_shows_its_preview_and_sizes_and_can_be_chosen(app, home):
    corpus_page(app)
    app.radio(key="builtin_choice").set_value("toy-pattern").run()
    assert not app.exception and not app.error
    shown = metrics(app)
    assert int(shown["Characters"].replace(",", "")) > 20_000
    assert shown["Lines"] == "1,200"
    assert shown["Distinct characters"] == "8"
    assert any(code.value.startswith("abc") for code in app.code)  # the preview
    assert "\\n␣.abcde" in [code.value for code in app.code]  # the characters, escaped

    app.button(key="use_corpus").click().run()
    assert choices(app, home)["corpus"]["reference"] == "builtin:toy-pattern"
    assert "This is your corpus now" in app.success[0].value
    app.button(key="go_train").click().run()
    assert page_shown(app) == "train.py"


def test_nci_lists_its_invalid_lines_and_asks_before_leaving_them_out(app, home):
    corpus_page(app)
    app.radio(key="builtin_choice").set_value("nci-5k").run()
    assert metrics(app)["Molecules RDKit can read"] == "4,991"  # beside "Lines: 4,999"
    table = app.dataframe[0].value
    assert len(table) == 8 and 2098 in list(table["Line"])
    assert "too many bonds" in table["Why RDKit can't read it"].iloc[0]
    box = app.checkbox(key="drop_invalid")
    assert box.label == "Leave out the 8 lines that are not molecules" and not box.value
    assert app.button(key="use_corpus").disabled  # never left out silently

    box.check().run()
    app.button(key="use_corpus").click().run()
    chosen = choices(app, home)["corpus"]
    assert chosen["reference"] == "builtin:nci-5k" and chosen["drop_invalid"] is True


def test_a_corpus_in_use_without_its_invalid_lines_is_shown_as_in_use(app, home):
    app.button(key="start_molecules").click().run()  # Home leaves the 8 lines out
    corpus_page(app)
    assert app.radio(key="builtin_choice").value == "nci-5k"
    assert app.checkbox(key="drop_invalid").value  # not "Tick the box to use this corpus"
    assert "This is your corpus now" in app.success[0].value
    assert not [info for info in app.info if "Tick the box" in info.value]


# ----- Corpus: uploads ----------------------------------------------------------------------


def test_an_uploaded_smiles_file_is_checked_and_kept_in_the_workspace(app, home):
    data = b"CCO\nc1ccccc1\nC1CC\nCC(=O)O\n"
    upload(app, "my molecules.smi", data)
    assert app.radio(key="upload_kind").value == "smiles"
    assert metrics(app)["Molecules RDKit can read"] == "3"
    assert list(app.dataframe[0].value["Line"]) == [3]
    app.checkbox(key="drop_invalid").check().run()
    app.button(key="use_corpus").click().run()
    assert not app.exception
    chosen = choices(app, home)["corpus"]
    assert chosen["name"] == "my molecules.smi" and chosen["kind"] == "smiles"
    assert Path(chosen["reference"]).parent == home / app.session_state["ws"] / "corpora"
    corpus = load_corpus(chosen["reference"], drop_invalid=True)
    assert corpus.lines == ("CCO", "c1ccccc1", "CC(=O)O")
    assert app.success and app.button(key="go_train")


def test_a_text_file_read_as_molecules_is_kept_as_molecules(app, home):
    upload(app, "list.txt", b"CCO\nc1ccccc1\nCC(=O)O\n")
    assert app.radio(key="upload_kind").value == "text"
    assert "Molecules RDKit can read" not in metrics(app)
    app.radio(key="upload_kind").set_value("smiles").run()
    assert metrics(app)["Molecules RDKit can read"] == "3"
    app.button(key="use_corpus").click().run()
    chosen = choices(app, home)["corpus"]
    assert load_corpus(chosen["reference"]).kind == "smiles"


def test_a_csv_upload_offers_its_columns(app, home):
    data = b"id,name,Canonical_SMILES\n1,ethanol,CCO\n2,benzene,c1ccccc1\n"
    upload(app, "table.csv", data)
    column = app.selectbox(key="upload_column")
    assert column.options == ["id", "name", "Canonical_SMILES"]
    assert column.value == "Canonical_SMILES"
    assert metrics(app)["Molecules RDKit can read"] == "2"
    app.button(key="use_corpus").click().run()
    chosen = choices(app, home)["corpus"]
    assert chosen["smiles_column"] == "Canonical_SMILES"
    assert load_corpus(chosen["reference"], smiles_column="Canonical_SMILES").lines == (
        "CCO",
        "c1ccccc1",
    )


@pytest.mark.parametrize(
    "filename, data, message",
    [
        ("empty.txt", b"", "The file is empty"),
        ("picture.txt", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(200), "binary file"),
        ("latin.txt", "Café crème\n".encode("latin-1"), "not UTF-8"),
        ("table.csv", b"name,weight\nethanol,46\nwater,18\n", "No SMILES column"),
        ("words.smi", b"hello\nworld\nagain\n", "None of the 3 lines is a molecule"),
    ],
)
def test_a_bad_upload_shows_a_plain_error(app, filename, data, message):
    upload(app, filename, data)
    assert not app.exception
    assert any(message in error.value for error in app.error), [e.value for e in app.error]
    assert "use_corpus" not in [button.key for button in app.button]


def test_a_csv_column_without_molecules_shows_a_plain_error(app):
    upload(app, "table.csv", b"name,smiles\nethanol,CCO\nbenzene,c1ccccc1\n")
    app.selectbox(key="upload_column").select("name").run()
    assert "None of the 2 lines is a molecule" in app.error[0].value


def test_a_file_over_the_upload_limit_shows_a_plain_error(app):
    old = streamlit_config.get_option("server.maxUploadSize")
    streamlit_config.set_option("server.maxUploadSize", 1)
    try:
        upload(app, "big.txt", b"abc abcd abcde.\n" * 70_000)
    finally:
        streamlit_config.set_option("server.maxUploadSize", old)
    assert "more than the" in app.error[0].value and "limit" in app.error[0].value
    assert not app.exception
