"""The class gallery and the Instructor page as people use them (Streamlit's AppTest).

Samples are published from Generate with tiny models trained in-process; the jobs the
instructor stops run in real worker processes under a JobRunner made for the test.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from conftest import quick_config
from streamlit.testing.v1 import AppTest

from app import ui
from charrnn.core.model import ModelConfig
from charrnn.runs import gallery, instructor, login
from charrnn.runs.config import RunConfig, corpus_fingerprint, load_corpus
from charrnn.runs.folder import last_event
from charrnn.runs.jobs import JobRunner
from charrnn.runs.plan import new_run_config
from charrnn.runs.status import read_status
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace, new_workspace

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
MARKUP = "<script>alert(1)</script>"
TEXT_CORPUS = (f"{MARKUP} **bold** abc abcd _x_ [a](b)\n" * 150).encode()
SMILES_CORPUS = "\n".join(["CCO", "CC(=O)O", "c1ccccc1", "c1ccncc1", "CCN(CC)CC"] * 10).encode()
PASSWORD = "correct horse battery"


def finished_run(space: Workspace, name: str, data: bytes, filename: str, kind: str) -> str:
    """A tiny run trained to the end in this process, as a worker would."""
    reference = space.save_corpus(data, filename, 10**6)
    config = RunConfig(
        corpus=reference,
        corpus_kind=kind,
        corpus_sha256=corpus_fingerprint(load_corpus(reference)),
        tokenizer="smiles" if kind == "smiles" else "char",
        model=ModelConfig(vocab_size=1, cell="gru", embedding_size=16, hidden_size=32, layers=1),
        train=quick_config(steps=40, log_every=10),
    )
    run_id = space.create_run(name, config)
    train_worker(str(space.run_dir(run_id)), threads=1)
    space.update_choices(run=run_id)
    return run_id


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path))
    monkeypatch.delenv("CHARRNN_INSTRUCTOR_PASSWORD", raising=False)
    login.INSTRUCTOR.reset()  # wrong passwords of earlier tests count for the whole server
    return tmp_path


def open_page(page: str, token: str | None = None, secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets.update(secrets or {})
    if token:
        at.query_params["ws"] = token
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    no_exceptions(at)
    return at


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def written(at: AppTest) -> list[str]:
    """Every piece of Markdown-like text on the page (where markup would be interpreted)."""
    kinds = ("markdown", "caption", "info", "success", "error", "subheader", "title")
    return [str(element.value) for kind in kinds for element in at.get(kind)]


def generate(at: AppTest, smiles: bool, count: int, prompt: str = "") -> None:
    if smiles:
        at.slider(key="generate_count_sm").set_value(count)
    else:
        at.slider(key="generate_count_text").set_value(count)
        at.slider(key="generate_length_text").set_value(60)
        at.text_area(key="generate_prompt_text").input(prompt)
    at.number_input(key="generate_seed").set_value(3)
    at.button(key="generate_button").click().run()
    no_exceptions(at)


def publish(at: AppTest, author: str) -> None:
    at.text_input(key="generate_author").input(author)
    at.button(key="generate_publish").click().run()
    no_exceptions(at)


# ----- the gallery ---------------------------------------------------------------------------
def test_an_empty_gallery_says_how_to_share(home):
    at = open_page("gallery")
    assert at.title[0].value == "Class gallery"
    assert "Nothing has been shared yet" in at.info[0].value and "Generate" in at.info[0].value
    assert at.get("page_link")


def test_samples_published_from_generate_show_as_plain_text_and_can_be_withdrawn(home):
    token = new_workspace(home)
    finished_run(Workspace(token, home), "tiny <b>run</b>", TEXT_CORPUS, "markup.txt", "text")
    at = open_page("generate", token)
    generate(at, smiles=False, count=2, prompt=f"{MARKUP} **bold**")
    samples = [code.value for code in at.code]
    assert len(samples) == 2
    author = "<b>Ann</b> **x**"
    publish(at, author)
    assert "Shared" in at.success[0].value
    assert at.get("page_link")
    assert "generate_publish" not in [button.key for button in at.button]  # shared once

    # The author sees it in the gallery, with a Withdraw button; the markup stays plain.
    at.switch_page("pages/gallery.py").run()
    no_exceptions(at)
    assert [code.value for code in at.code] == samples
    assert all(code.language in ("", "plaintext", None) for code in at.code)
    assert not at.get("html")
    assert not any("<script" in text or "<b>" in text or "**x" in text for text in written(at))
    assert any("Ann" in text and "tiny" in text for text in written(at))
    (entry,) = gallery.entries(home)
    assert entry.author == author and entry.run_name == "tiny <b>run</b>"  # stored as typed
    withdraw_key = f"gallery_withdraw_{entry.id}"
    assert at.button(key=withdraw_key).label == "Withdraw"

    # Someone else in the room sees the same entry, without a Withdraw button.
    other = open_page("gallery", new_workspace(home))
    assert [code.value for code in other.code] == samples
    assert withdraw_key not in [button.key for button in other.button]

    # A new entry reaches the other viewer on the page's next refresh; the author withdraws.
    at.button(key=withdraw_key).click().run()
    no_exceptions(at)
    assert gallery.entries(home) == [] and not at.code
    other.run()
    assert not other.code and "Nothing has been shared yet" in other.info[0].value


def test_molecules_are_shared_as_a_grid_of_at_most_24(home):
    token = new_workspace(home)
    finished_run(Workspace(token, home), "molecules", SMILES_CORPUS, "m.smi", "smiles")
    at = open_page("generate", token)
    generate(at, smiles=True, count=30)
    assert any("the first 24 molecules" in caption.value for caption in at.caption)
    publish(at, "Ben")
    no_exceptions(at)
    (entry,) = gallery.entries(home)
    assert entry.kind == "molecules" and len(entry.items) == 24
    assert list(entry.items) == list(at.dataframe[0].value["SMILES"][:24])
    at.switch_page("pages/gallery.py").run()
    no_exceptions(at)
    (image,) = at.image
    (url,) = image.value
    svg = base64.b64decode(url.split(",", 1)[1]).decode()
    assert url.startswith("data:image/svg+xml;base64,") and svg.count("<svg") > 24


def test_publishing_without_a_name_asks_for_one(home):
    token = new_workspace(home)
    finished_run(Workspace(token, home), "text", TEXT_CORPUS, "markup.txt", "text")
    at = open_page("generate", token)
    generate(at, smiles=False, count=1)
    publish(at, "   ")
    assert "Write your name" in at.error[0].value
    assert gallery.entries(home) == []
    assert at.button(key="generate_publish")  # the form is still there


# ----- the instructor page ---------------------------------------------------------------------
def log_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key="instructor_password").input(password)
    at.button(key="instructor_open").click().run()
    no_exceptions(at)
    return at


def test_without_a_password_the_instructor_page_explains_how_to_switch_it_on(home):
    at = open_page("instructor")
    assert at.title[0].value == "Instructor"
    assert "switched off" in at.info[0].value
    assert "CHARRNN_INSTRUCTOR_PASSWORD" in at.info[0].value and "secrets.toml" in at.info[0].value
    assert not at.text_input and not at.dataframe and not at.button


def test_a_wrong_password_shows_nothing(home, monkeypatch):
    monkeypatch.setenv("CHARRNN_INSTRUCTOR_PASSWORD", PASSWORD)
    at = log_in(open_page("instructor"), "correct horse")
    assert [error.value for error in at.error] == ["Wrong password."]
    assert at.text_input(key="instructor_password").value == ""  # not kept
    assert not any("Jobs" in text for text in written(at))
    at.run()  # a refresh does not let anyone in either
    assert not at.error and at.text_input(key="instructor_password")
    assert not any("Jobs" in text for text in written(at))


def test_the_password_can_come_from_streamlit_secrets(home):
    at = open_page("instructor", secrets={"instructor_password": "from secrets"})
    log_in(at, "from secrets")
    assert not at.error and "No jobs running or waiting." in [info.value for info in at.info]


def test_the_instructor_sees_the_load_and_removes_gallery_entries(home, monkeypatch):
    monkeypatch.setenv("CHARRNN_INSTRUCTOR_PASSWORD", PASSWORD)
    token = new_workspace(home)
    keep = gallery.publish(home, token, "Ann", "text", ["fine"], "run")
    rude = gallery.publish(home, token, "Troll", "text", [f"{MARKUP} rude"], "run")
    at = log_in(open_page("instructor"), PASSWORD)
    assert not at.error
    assert "No jobs running or waiting." in [info.value for info in at.info]
    assert [metric.label for metric in at.metric] == [
        "Load (last minute)",
        "Jobs running",
        "Jobs waiting",
    ]
    assert [code.value for code in at.code] == [f"{MARKUP} rude", "fine"]
    at.button(key=f"instructor_remove_{rude}").click().run()
    no_exceptions(at)
    assert [entry.id for entry in gallery.entries(home)] == [keep]
    assert [code.value for code in at.code] == ["fine"]
    at.run()  # still in after a rerun
    assert at.button(key=f"instructor_remove_{keep}")
    at.button(key="instructor_log_out").click().run()
    assert at.text_input(key="instructor_password") and not at.code


# ----- stopping jobs -----------------------------------------------------------------------------
TOY = {"reference": "builtin:toy-pattern", "name": "Toy", "kind": "text", "smiles_column": None}
ENDLESS = dict(
    steps=1_000_000,
    batch_size=8,
    sequence_length=16,
    eval_every=1_000_000,
    log_every=5,
    checkpoint_every=50,
    preview_samples=0,
    precision="float32",
)


def endless_run(space: Workspace, name: str) -> Path:
    model = {"cell": "gru", "layers": 1, "hidden_size": 16, "embedding_size": 8}
    return space.run_dir(space.create_run(name, new_run_config(space, TOY, "tiny", model, ENDLESS)))


def wait_for(condition, at: AppTest | None = None, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)
        if at is not None:
            at.run()


@pytest.fixture
def runner(monkeypatch):
    """The server's job runner, for this test: two workers, one job per workspace."""
    runner = JobRunner(max_workers=2, poll_seconds=0.2)
    monkeypatch.setattr(ui, "job_runner", lambda: runner)
    yield runner
    runner.shutdown()


def test_the_instructor_cancels_stops_and_kills_jobs(home, monkeypatch, runner):
    monkeypatch.setenv("CHARRNN_INSTRUCTOR_PASSWORD", PASSWORD)
    first, second = new_workspace(home), new_workspace(home)
    stubborn = endless_run(Workspace(first, home), "stubborn")
    waiting = endless_run(Workspace(first, home), "waiting")  # its workspace is busy: queued
    other = endless_run(Workspace(second, home), "<b>other</b>")
    for folder in (stubborn, waiting, other):
        runner.submit(folder)
    assert runner.position(waiting) == 1
    wait_for(lambda: all(last_event(folder) for folder in (stubborn, other)))

    at = log_in(open_page("instructor"), PASSWORD)
    table = at.dataframe[0].value
    assert list(table.columns) == ["workspace", "run", "status", "task", "time", "step"]
    assert sorted(table["run"]) == ["<b>other</b>", "stubborn", "waiting"]
    assert set(table["workspace"]) == {f"{first[:6]}…", f"{second[:6]}…"}
    assert list(table["status"]) == ["running", "running", "queued"]
    jobs = at.selectbox(key="instructor_job")
    shown = " ".join([table.to_string(), *jobs.options, *written(at)])
    assert first not in shown and second not in shown  # never a whole workspace link

    # A queued job leaves the queue.
    jobs.select(instructor.job_key(runner.queue[0])).run()
    assert at.button(key="instructor_kill").disabled
    at.button(key="instructor_stop").click().run()
    no_exceptions(at)
    assert read_status(waiting)["status"] == "stopped" and runner.position(waiting) == 0

    # A running one is asked to stop: it saves and ends, and its owner reads why.
    key = f"{stubborn.name}:train"
    at.selectbox(key="instructor_job").select(key).run()
    at.button(key="instructor_stop").click().run()
    no_exceptions(at)
    assert any("asked to stop" in info.value for info in at.info)
    wait_for(lambda: read_status(stubborn)["status"] == "stopped", at)
    assert read_status(stubborn)["note"] == instructor.STOP_NOTE
    assert (stubborn / "checkpoint.safetensors").is_file()

    # One that would not stop is killed; the runner marks it failed, its checkpoint kept.
    wait_for(lambda: runner.running.keys() == {(other, "train")}, at)
    at.selectbox(key="instructor_job").select(f"{other.name}:train").run()
    at.button(key="instructor_kill").click().run()
    no_exceptions(at)
    wait_for(lambda: read_status(other)["status"] == "failed" and not runner.running, at)
    assert read_status(other)["note"] == instructor.KILL_NOTE
    at.run()
    assert "No jobs running or waiting." in [info.value for info in at.info]


def test_a_job_still_starting_is_ended_at_once(home, runner):
    folder = endless_run(Workspace(new_workspace(home), home), "just pressed Train")
    runner.submit(folder)
    (job,) = runner.active_jobs()
    assert job.process is not None and read_status(folder)["status"] == "queued"  # starting
    assert instructor.stop_job(runner, job) == "ended"
    assert read_status(folder)["status"] == "stopped"
    wait_for(lambda: not runner.active_jobs())
    assert read_status(folder)["status"] == "stopped"  # not called a failure afterwards
    assert instructor.stop_job(runner, job) == "gone"
    assert instructor.kill_job(runner, job) is False
