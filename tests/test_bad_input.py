"""Bad input through the real app (AppTest): a clear message, the app keeps working, and the
runs a person made before stay listed and loadable.

Covered elsewhere, and not repeated here: the Corpus page's message for an empty file,
binary content, bytes that are not UTF-8, a CSV without a SMILES column, a SMILES file whose
every line is invalid and a file over a 1 MB limit (tests/test_app_home_corpus.py); a pickle
inside a model zip and a 250 MB zip bomb on the Models page (tests/test_app_train_models.py);
`<script>` and Markdown in a Generate prompt and in samples (tests/test_app_generate.py);
the engine's checks behind them (tests/test_corpus.py, test_checkpoint.py, test_runs.py).
Here: those uploads one after the other and what is left afterwards, a 100 MB upload, markup
in a corpus, its file name and its CSV header, and model uploads that are a pickle renamed
.zip, a torch.save file, zips that claim or expand to gigabytes, and damaged ones.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import uuid
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

import charrnn.corpora.uploads as uploads_module
from charrnn.core.checkpoint import CHECKPOINT_FILE, load_checkpoint, read_header
from charrnn.runs.bounds import LOCK_FILE
from charrnn.runs.plan import new_run_config
from charrnn.runs.transfer import export_run, import_run
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
STEPS = 20
BEFORE = "made before"
TOY = {"reference": "builtin:toy-pattern", "name": "Toy", "kind": "text"}
TINY_MODEL = {"cell": "gru", "layers": 1, "hidden_size": 16, "embedding_size": 8}
QUICK_TRAIN = dict(
    steps=STEPS,
    batch_size=8,
    sequence_length=16,
    eval_every=10,
    eval_tokens=500,
    log_every=5,
    checkpoint_every=10,
    preview_samples=0,
    precision="float32",
    threads=1,
)
GOOD_SMILES = b"CCO\nc1ccccc1\nCC(=O)O\nCCN(CC)CC\n"
# Unescaped markup: a tag, or Markdown emphasis around the words these tests use.
RAW_MARKUP = re.compile(r"(?<!\\)<(script|img)|(?<!\\)\*\*(bold|notes|weight|evil)|(?<!\\)\]\(java")


# ----- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_zip(tmp_path_factory) -> bytes:
    """A tiny trained model as the Models page's Download button gives it."""
    root = tmp_path_factory.mktemp("model-source")
    space = Workspace(new_workspace(root), root)
    config = new_run_config(space, TOY, "tiny", TINY_MODEL, QUICK_TRAIN)
    run_id = space.create_run("source", config)
    train_worker(str(space.run_dir(run_id)), 1)
    return export_run(space.run_dir(run_id))


@pytest.fixture
def app(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path / "workspaces"))
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CHARRNN_WORKERS", "1")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def before(app, model_zip) -> str:
    """A finished run the person had before the bad input: its id."""
    return import_run(workspace(app), model_zip, BEFORE)


@pytest.fixture
def upload_limit_50_mb():
    old = streamlit_config.get_option("server.maxUploadSize")
    streamlit_config.set_option("server.maxUploadSize", 50)  # as .streamlit/config.toml says
    yield 50 * 1024 * 1024
    streamlit_config.set_option("server.maxUploadSize", old)


# ----- helpers -------------------------------------------------------------------------------
def workspace(at: AppTest) -> Workspace:
    return Workspace.pending(at.session_state["ws"])  # made on its first write


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload_corpus(at: AppTest, filename: str, data: bytes) -> AppTest:
    if "corpus_upload" not in [uploader.key for uploader in at.file_uploader]:
        open_page(at, "corpus")
        at.radio(key="corpus_source").set_value("Upload").run()
    at.file_uploader(key="corpus_upload").set_value((filename, data, "text/plain")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload_model(at: AppTest, data: bytes, name: str = "model.zip") -> AppTest:
    if "models_upload_model" not in [uploader.key for uploader in at.file_uploader]:
        open_page(at, "models")
    at.file_uploader(key="models_upload_model").set_value((name, data, "application/zip"))
    at.run()
    at.button(key="models_import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> str:
    return " ".join(error.value for error in at.error)


def written(at: AppTest) -> list[str]:
    """Everything the page wrote as Markdown (main area and sidebar)."""
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "success")
    kinds += ("warning", "error")
    return [str(element.value) for kind in kinds for element in at.get(kind)]


def buttons(at: AppTest) -> list[str]:
    return [button.key for button in at.button]


def use_good_corpus(at: AppTest, filename: str = "good.smi", data: bytes = GOOD_SMILES) -> None:
    """The normal action after a bad one: upload a good file and make it the corpus."""
    upload_corpus(at, filename, data)
    assert not at.error
    at.button(key="use_corpus").click().run()
    assert not at.exception
    chosen = workspace(at).choices["corpus"]
    assert chosen["name"] == filename
    assert "This is your corpus now" in at.success[0].value


def assert_intact(at: AppTest, run_id: str) -> None:
    """The run made before is listed on the Models page and its model loads."""
    space = workspace(at)
    summary = space.summary(run_id)
    assert (summary.name, summary.status, summary.step) == (BEFORE, "finished", STEPS)
    assert load_checkpoint(space.run_dir(run_id)).step == STEPS
    open_page(at, "models")
    assert BEFORE in list(at.dataframe[0].value["Name"])
    assert not at.error


def no_leftovers(space: Workspace) -> None:
    """A refused model upload leaves nothing behind in the workspace."""
    hidden = [p.name for p in space.folder.iterdir() if p.name.startswith(".")]
    assert hidden in ([], [LOCK_FILE])  # no staging folder (the lock belongs to the workspace)


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def torch_save_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(4, 4)}, buffer)
    return buffer.getvalue()


def zip_that_claims(size: int) -> bytes:
    """A 1 KB zip whose directory says its checkpoint unpacks to ``size`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CHECKPOINT_FILE, bytes(1024))
        archive.filelist[0].file_size = size  # written into the central directory on close
    return buffer.getvalue()


def zip_that_expands(megabytes: int) -> bytes:
    """A zip whose directory says 1 KB, holding ``megabytes`` of zeros (about 1,000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(CHECKPOINT_FILE, "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(bytes(1024 * 1024))
        archive.filelist[0].file_size = 1024
    return buffer.getvalue()


def model_with_markup(model_zip: bytes, tmp_path: Path) -> bytes:
    """The good model with a description whose cell type is markup (not a cell)."""
    with zipfile.ZipFile(io.BytesIO(model_zip)) as archive:
        (tmp_path / CHECKPOINT_FILE).write_bytes(archive.read(CHECKPOINT_FILE))
    header = read_header(tmp_path / CHECKPOINT_FILE)
    header["model_config"]["cell"] = "**evil** <img src=x onerror=alert(5)>"
    tensors = load_file(str(tmp_path / CHECKPOINT_FILE))
    save_file(tensors, str(tmp_path / "evil"), metadata={"charrnn": json.dumps(header)})
    return zip_of({CHECKPOINT_FILE: (tmp_path / "evil").read_bytes()})


# ----- the Corpus page -----------------------------------------------------------------------
BAD_CORPORA = [
    ("empty.txt", b""),
    ("picture.txt", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(200)),
    ("latin.txt", "Café crème\n".encode("latin-1")),
    ("table.csv", b"name,weight\nethanol,46\nwater,18\n"),
    ("words.smi", b"hello\nworld\nagain\n"),
    ("broken.txt.gz", b"\x1f\x8b\x08\x00" + bytes(40)),
    ("long.smi", b"C(" * 20_000 + b"\n"),  # one 40 KB line: too long for RDKit to be asked
    ("cell.csv", b"name,smiles\nbig," + b"C(" * 100_000 + b"\n"),
]


def test_a_long_smiles_line_is_reported_as_too_long_and_never_parsed(app, before):
    upload_corpus(app, "long.smi", b"CCO\n" + b"C(" * 100_000 + b"\nc1ccccc1\n")
    warnings = " ".join(warning.value for warning in app.warning)
    assert "1 of the 3 lines is not a molecule" in warnings
    table = app.dataframe[0].value
    assert "too long: 200,000 characters" in table["Why RDKit can't read it"][0]
    assert len(table["Text"][0]) <= 201  # the line itself is shown cut short
    assert_intact(app, before)


def test_bad_corpus_uploads_one_after_another_leave_the_app_working(app, before):
    for filename, data in BAD_CORPORA:
        upload_corpus(app, filename, data)
        assert app.error, f"no message for {filename}"
        assert "use_corpus" not in buttons(app), filename
    assert workspace(app).choices.get("corpus") is None  # nothing bad became the corpus
    use_good_corpus(app)
    assert_intact(app, before)


def test_a_100_mb_upload_is_refused_by_its_size_before_it_is_read(
    app, before, upload_limit_50_mb, monkeypatch
):
    read = []

    def spy(name, original):
        def reading(*args, **kwargs):
            read.append(name)
            return original(*args, **kwargs)

        return reading

    for name in ("check_upload_bounded", "csv_choices_bounded"):  # the page's checks
        monkeypatch.setattr(uploads_module, name, spy(name, getattr(uploads_module, name)))
    big = b"abc abcd abcde.\n" * (100 * 1024 * 1024 // 16)  # 100 MB of text
    for filename in ("big.txt", "big.csv"):
        upload_corpus(app, filename, big)
        assert "The file is 100 MB, more than the 50 MB limit" in errors(app)
        assert "smaller file" in errors(app)
        assert read == []  # refused by its size: its bytes were never read or decoded
        assert "use_corpus" not in buttons(app)
    del big
    fresh = f"a file never read before: {uuid.uuid4()}\n".encode() * 10  # not in a cache
    use_good_corpus(app, "fresh.txt", fresh)
    assert "check_upload_bounded" in read  # and the spy works: a normal upload is read
    assert_intact(app, before)


MARKUP_TEXT = (
    "<script>alert('corpus')</script>\n"
    "**bold** _it_ [link](javascript:alert(1)) # not a heading\n"
    "<img src=x onerror=alert(2)> `code` $x^2$ | a | b |\n"
) * 20
MARKUP_NAME = "<img src=x onerror=alert(3)> **notes**.txt"


def test_markup_in_a_text_corpus_and_its_name_is_shown_as_typed(app, before):
    upload_corpus(app, MARKUP_NAME, MARKUP_TEXT.encode())
    assert not app.error
    assert app.radio(key="upload_kind").value == "text"
    preview = next(code.value for code in app.code if code.value.startswith("<script>"))
    assert preview == MARKUP_TEXT[:1000]  # a code block: shown as it is, never rendered
    assert not app.get("html")
    assert not [text for text in written(app) if RAW_MARKUP.search(text)]
    app.button(key="use_corpus").click().run()
    assert not app.exception
    assert workspace(app).choices["corpus"]["name"] == MARKUP_NAME
    reopened = AppTest.from_file(str(APP), default_timeout=60)  # AppTest draws no sidebar
    reopened.query_params["ws"] = app.session_state["ws"]  # after switch_page: reopen Home
    reopened.run()
    sidebar = " ".join(caption.value for caption in reopened.sidebar.caption)
    assert "notes" in sidebar and not RAW_MARKUP.search(sidebar)  # the name, escaped
    open_page(app, "train")
    assert any(MARKUP_NAME in text.value for text in app.text)  # "Corpus: <name>", plain text
    assert not [text for text in written(app) if RAW_MARKUP.search(text)]
    assert_intact(app, before)


def test_markup_in_a_csv_header_is_quoted_as_typed_in_the_message(app, before):
    header = "<img src=x onerror=alert(4)>,**weight**,[x](javascript:alert(1))"
    upload_corpus(app, "table.csv", f"{header}\nethanol,46,1\nwater,18,2\n".encode())
    message = errors(app)
    assert "No SMILES column" in message and "weight" in message
    assert not RAW_MARKUP.search(message) and "](javascript" not in message
    use_good_corpus(app)
    assert_intact(app, before)


# ----- the Models page -----------------------------------------------------------------------
# name -> (the uploaded bytes, from the good model zip and a folder; what the message says)
BAD_MODELS = {
    "a pickle renamed .zip": (
        lambda good, folder: pickle.dumps({"weights": [1.0, 2.0]}),
        "not a model file",
    ),
    "a torch.save file renamed .zip": (lambda good, folder: torch_save_bytes(), "not a model file"),
    "a torch.save file as the checkpoint": (
        lambda good, folder: zip_of({CHECKPOINT_FILE: torch_save_bytes()}),
        "never opens pickles",
    ),
    "a zip that claims 5 GB": (lambda good, folder: zip_that_claims(5 * 1024**3), "the limit is"),
    "a zip that expands past what it claims": (
        lambda good, folder: zip_that_expands(64),
        "damaged",
    ),
    "half a model zip": (lambda good, folder: good[: len(good) // 2], "not a model file"),
    "a model whose description holds markup": (model_with_markup, "description is damaged"),
}


@pytest.mark.parametrize("case", list(BAD_MODELS))
def test_a_bad_model_upload_is_refused_and_a_good_one_still_works(
    app, before, model_zip, tmp_path, case
):
    make, message = BAD_MODELS[case]
    space = workspace(app)
    upload_model(app, make(model_zip, tmp_path), "model.zip")
    assert message in errors(app), errors(app)
    assert not RAW_MARKUP.search(errors(app))
    assert [run.id for run in space.runs()] == [before]
    no_leftovers(space)
    upload_model(app, model_zip, "good model.zip")  # the normal action afterwards
    assert not app.error and "Added" in " ".join(s.value for s in app.success)
    assert {run.name for run in space.runs()} == {BEFORE, "good model"}
    assert_intact(app, before)
