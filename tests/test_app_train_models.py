"""The Train and Models pages as a person uses them (Streamlit's AppTest, tiny models).

Runs that the tests only need finished are trained in this process with the engine; the
Train page's own runs go through the server's job runner and its worker processes.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import time
import zipfile

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from charrnn.core.checkpoint import CHECKPOINT_FILE
from charrnn.runs.plan import new_run_config
from charrnn.runs.status import update_status
from charrnn.runs.steer_run import STEER_FILE
from charrnn.runs.transfer import EXPORT_FILES, export_run
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace

TOY = {
    "reference": "builtin:toy-pattern",
    "name": "Toy pattern",
    "kind": "text",
    "smiles_column": None,
    "drop_invalid": False,
}
TINY_MODEL = {"cell": "gru", "layers": 1, "hidden_size": 16, "embedding_size": 8}
QUICK_TRAIN = dict(
    steps=20,
    batch_size=8,
    sequence_length=16,
    eval_every=5,
    eval_tokens=500,
    log_every=5,
    checkpoint_every=10,
    preview_samples=1,
    precision="float32",
    threads=1,
)


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path))
    at = AppTest.from_file("../streamlit_app.py", default_timeout=60)
    at.run()
    return at


def workspace(at: AppTest) -> Workspace:
    return Workspace.pending(at.session_state["ws"])  # made on its first write


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    return at


def new_run(space: Workspace, name: str, **train) -> str:
    config = new_run_config(space, TOY, "tiny", TINY_MODEL, {**QUICK_TRAIN, **train})
    return space.create_run(name, config)


def finished_run(space: Workspace, name: str) -> str:
    """A tiny run trained to the end in this process."""
    run_id = new_run(space, name)
    train_worker(str(space.run_dir(run_id)), 1)
    return run_id


def wait_until(at: AppTest, condition, seconds: float = 120.0) -> None:
    """Rerun the page as its polling would, until condition() holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(1.0)
        at.run()


def control(space: Workspace, run_id: str) -> dict:
    return json.loads((space.run_dir(run_id) / "control.json").read_text())


def points(trace: dict) -> list:
    """A plotly trace's x values (plotly may pack them as typed binary data)."""
    values = trace["x"]
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"]).tolist()
    return list(values)


def texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


# ----- Train -------------------------------------------------------------------------------
def test_train_without_a_corpus_points_to_the_corpus_page(app):
    open_page(app, "train")
    assert "First choose what the model should learn" in texts(app.info)
    app.button(key="train_to_corpus").click().run()
    assert app.title[0].value == "Corpus"


def test_train_runs_live_and_draws_the_loss(app):
    space = workspace(app)
    space.update_choices(corpus=TOY, preset="tiny")
    open_page(app, "train")
    assert app.radio(key="train_preset").value == "tiny"
    app.number_input(key="train_steps_tiny").set_value(40)
    app.number_input(key="train_hidden_size_tiny").set_value(32)
    app.number_input(key="train_weight_decay").set_value(0.1)
    app.button(key="train_start").click().run()
    assert not app.exception and not app.error
    [run] = space.runs()
    assert run.status in ("queued", "running") and run.total_steps == 40
    config = json.loads((space.run_dir(run.id) / "config.json").read_text())
    assert config["train"]["weight_decay"] == 0.1 and config["model"]["hidden_size"] == 32
    assert space.choices["run"] == run.id
    assert run.name in texts(app.subheader)
    if space.summary(run.id).status in ("queued", "running"):
        # A second press would queue an identical run: the button waits for this one.
        assert app.button(key="train_start").disabled
    wait_until(app, lambda: space.summary(run.id).status == "finished")
    app.run()
    assert "Done" in texts(app.success)
    assert not app.button(key="train_start").disabled
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    training = next(trace for trace in spec["data"] if trace["name"] == "training")
    assert points(training) == [10, 20, 30, 40]  # a train loss every 10 steps
    assert spec["layout"]["xaxis"]["range"] == [0, 40]  # the whole run, from its start
    assert "Loss at the end: " in texts(app.caption)
    assert app.progress[0].value == 100
    assert app.code  # the model's latest samples


def test_the_numpy_engine_trains_a_tiny_run_and_both_speeds_are_shown(app):
    space = workspace(app)
    space.update_choices(corpus=TOY, preset="tiny")
    open_page(app, "train")
    app.radio(key="train_engine").set_value("numpy").run()
    assert app.number_input(key="train_learning_rate_numpy").value == 0.1  # Adagrad's
    app.button(key="train_speeds").click().run()
    assert not app.exception
    speeds = {metric.label: metric.value for metric in app.metric}
    assert set(speeds) == {"NumPy, by hand", "PyTorch"}
    assert all(value.endswith("characters/s") for value in speeds.values())
    app.number_input(key="train_steps_tiny").set_value(30)
    app.number_input(key="train_hidden_size_tiny").set_value(32)
    app.number_input(key="train_weight_decay").set_value(0.2)
    app.button(key="train_start").click().run()
    assert not app.exception and not app.error
    [run] = space.runs()
    config = json.loads((space.run_dir(run.id) / "config.json").read_text())
    assert config["engine"] == "numpy" and config["model"]["cell"] == "rnn"
    assert config["train"]["weight_decay"] == 0.0  # Adagrad, as the caption says
    wait_until(app, lambda: space.summary(run.id).status == "finished")
    assert any(e.get("validation_loss") for e in space.metrics(run.id))
    open_page(app, "generate")
    app.button(key="generate_button").click().run()
    assert not app.exception and app.code  # a NumPy-trained model samples like any other


def test_the_page_shows_the_runs_size_and_refuses_one_past_the_servers_memory(app):
    space = workspace(app)
    space.update_choices(corpus=TOY, preset="medium")
    open_page(app, "train")
    assert "numbers (parameters)" in texts(app.caption)
    assert "at most 60 minutes" in texts(app.caption)  # the job time cap, said up front
    assert not app.button(key="train_start").disabled
    app.radio(key="train_limit").set_value("minutes").run()
    assert app.number_input(key="train_minutes").max == 60  # capped by the job time cap
    app.number_input(key="train_batch_size").set_value(512)
    app.number_input(key="train_sequence_length").set_value(512).run()
    assert "batch size of at most" in texts(app.warning)
    assert app.button(key="train_start").disabled
    assert space.runs() == []


def test_the_engine_is_pytorch_for_larger_sizes(app):
    space = workspace(app)
    space.update_choices(corpus=TOY, preset="small")
    open_page(app, "train")
    assert app.radio(key="train_engine").disabled


def test_pause_resume_stop_and_learning_rate_send_messages(app):
    space = workspace(app)
    space.update_choices(corpus=TOY, preset="tiny")
    run_id = new_run(space, "controlled")
    folder = space.run_dir(run_id)
    update_status(folder, status="running", pid=os.getpid())  # as a worker would
    space.update_choices(run=run_id)
    open_page(app, "train")
    app.button(key="train_pause").click().run()
    assert control(space, run_id)["command"] == "pause"
    update_status(folder, status="paused")
    app.run()
    assert "train_pause" not in [button.key for button in app.button]
    app.button(key="train_resume").click().run()
    assert control(space, run_id)["command"] == "resume"
    app.number_input(key="train_lr_value").set_value(0.01)
    app.button(key="train_lr_apply").click().run()
    assert control(space, run_id)["learning_rate"] == pytest.approx(0.01)
    app.button(key="train_stop").click().run()
    assert control(space, run_id)["command"] == "stop"
    update_status(folder, status="stopped", pid=None)


def test_a_failed_run_shows_its_error_and_resumes(app):
    space = workspace(app)
    space.update_choices(corpus=TOY)
    run_id = new_run(space, "unlucky")
    update_status(space.run_dir(run_id), status="failed", error="The computer ran out of memory.")
    space.update_choices(run=run_id)
    open_page(app, "train")
    assert "ran out of memory" in texts(app.error)
    app.button(key="train_resume_run").click().run()
    assert space.summary(run_id).status in ("queued", "running", "finished")
    wait_until(app, lambda: space.summary(run_id).status == "finished")


# ----- Models ------------------------------------------------------------------------------
def test_runs_of_the_same_name_can_be_told_apart_when_fine_tuning(app):
    space = workspace(app)
    first, second = finished_run(space, "same name"), finished_run(space, "same name")
    space.update_choices(corpus=TOY)
    open_page(app, "train")
    options = app.selectbox(key="train_init_from").options
    assert len(options) == 3 and len(set(options)) == 3, options  # a new model, then both
    app.selectbox(key="train_init_from").set_value(first).run()
    assert app.selectbox(key="train_init_from").value == first
    app.selectbox(key="train_init_from").set_value(second).run()
    assert app.selectbox(key="train_init_from").value == second


def test_models_list_rename_and_delete_with_confirmation(app):
    space = workspace(app)
    first, second = finished_run(space, "first model"), finished_run(space, "second model")
    open_page(app, "models")
    table = app.dataframe[0].value
    assert set(table["Name"]) == {"first model", "second model"}
    assert app.get("plotly_chart")  # the finished runs' validation curves, compared
    app.selectbox(key="models_manage_run").set_value(first).run()
    app.text_input(key=f"models_new_name_{first}").input("better name").run()
    app.button(key="models_rename").click().run()
    assert space.summary(first).name == "better name"
    assert "Renamed" in texts(app.success)
    app.selectbox(key="models_manage_run").set_value(second).run()
    assert app.button(key="models_delete").disabled  # not before saying yes
    app.checkbox(key=f"models_confirm_delete_{second}").check().run()
    app.button(key="models_delete").click().run()
    assert [run.id for run in space.runs()] == [first]
    assert "Deleted" in texts(app.success)
    app.button(key="models_make_current").click().run()
    assert space.choices["run"] == first


def test_models_says_losses_on_different_corpora_do_not_compare(app):
    space = workspace(app)
    toy = finished_run(space, "pattern model")
    text = b"to be or not to be, that is the question\n" * 40
    reference = space.save_corpus(text, "a.txt", 10**6)
    other = {**TOY, "reference": reference, "name": "a.txt"}
    config = new_run_config(space, other, "tiny", TINY_MODEL, QUICK_TRAIN)
    words = space.create_run("words model", config)
    train_worker(str(space.run_dir(words)), 1)
    open_page(app, "models")
    assert app.multiselect(key="models_compare").value == [words, toy]
    assert "different corpora" in texts(app.caption)
    assert "lowest curve" not in texts(app.caption)
    app.multiselect(key="models_compare").set_value([toy]).run()
    assert "lowest curve" in texts(app.caption)
    assert "different corpora" not in texts(app.caption)


def test_models_compares_runs_with_a_loss_curve_and_names_those_without(app):
    space = workspace(app)
    trained = finished_run(space, "trained model")
    steered = new_run(space, "steered model")  # finished, with no validation loss
    update_status(space.run_dir(steered), status="finished")
    (space.run_dir(steered) / STEER_FILE).write_text("{}")  # what makes it a steering run
    open_page(app, "models")
    assert app.multiselect(key="models_compare").value == [trained]  # not the steered one
    assert "No validation loss" not in texts(app.caption)
    app.multiselect(key="models_compare").set_value([steered, trained]).run()
    assert "No validation loss to draw for steered model" in texts(app.caption)


def test_models_table_shows_a_training_runs_progress(app):
    space = workspace(app)
    run_id = new_run(space, "in training")  # queued: no worker takes it in this test
    open_page(app, "models")
    row = app.dataframe[0].value.iloc[0]
    assert row["Name"] == "in training" and "queued" in row["Status"]
    update_status(space.run_dir(run_id), status="running")
    with open(space.run_dir(run_id) / "metrics.jsonl", "a") as metrics:
        metrics.write(json.dumps({"kind": "step", "step": 12, "elapsed": 1.0}) + "\n")
    app.run()  # the live table reads the run again
    row = app.dataframe[0].value.iloc[0]
    assert "running" in row["Status"] and row["Step"] == "12 of 20"


def test_models_download_is_a_zip_of_the_model(app, monkeypatch):
    made = []
    original = MediaFileManager.add_deferred

    def remember(self, data_callable, *args, **kwargs):
        made.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", remember)
    finished_run(workspace(app), "to take home")
    open_page(app, "models")
    assert app.download_button(key="models_download")
    with zipfile.ZipFile(io.BytesIO(made[-1]())) as archive:
        assert sorted(archive.namelist()) == sorted(EXPORT_FILES)


def zip_of(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def upload(at: AppTest, data: bytes, name: str = "model.zip") -> AppTest:
    at.file_uploader(key="models_upload_model").set_value((name, data, "application/zip"))
    at.run()
    return at.button(key="models_import").click().run()


def test_models_upload_adds_a_downloaded_model(app):
    space = workspace(app)
    data = export_run(space.run_dir(finished_run(space, "original")))
    open_page(app, "models")
    upload(app, data, "my model.zip")
    assert not app.error and "Added" in texts(app.success)
    names = {run.name: run for run in space.runs()}
    assert names["my model"].status == "finished" and names["my model"].step == 20


def test_models_upload_of_a_pickle_shows_why_it_is_refused(app):
    space = workspace(app)
    open_page(app, "models")
    upload(app, zip_of(CHECKPOINT_FILE, pickle.dumps({"weights": [1.0, 2.0]})))
    assert "pickle" in texts(app.error)
    assert space.runs() == []


def test_models_upload_of_a_zip_bomb_is_refused(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(CHECKPOINT_FILE, "w", force_zip64=True) as member:
            for _ in range(250):
                member.write(bytes(1024 * 1024))
    open_page(app, "models")
    upload(app, buffer.getvalue())
    assert "limit" in texts(app.error)
    assert workspace(app).runs() == []


def test_models_upload_of_a_huge_description_shows_a_plain_message(app):
    from test_hostile_models import huge_description_zip  # 3 x 4096 LSTM in ~500 bytes

    space = workspace(app)
    open_page(app, "models")
    upload(app, huge_description_zip())
    assert not app.exception
    message = texts(app.error)
    assert "larger than this server accepts" in message and "hidden size is 4,096" in message
    assert "Traceback" not in message and space.runs() == []
    good = export_run(space.run_dir(finished_run(space, "good")))
    upload(app, good, "good.zip")  # the page still works
    assert "Added" in texts(app.success)


@pytest.mark.parametrize("page", ["generate", "inside"])
def test_a_model_the_server_cannot_load_is_a_plain_message(app, page):
    from test_hostile_models import HOSTILE_CHECKPOINTS

    space = workspace(app)
    run_id = finished_run(space, "too big")
    space.update_choices(run=run_id)
    huge = HOSTILE_CHECKPOINTS["a huge description"][0]()  # as if it had been trained so
    (space.run_dir(run_id) / CHECKPOINT_FILE).write_bytes(huge)
    open_page(app, page)
    assert "This model cannot be loaded. This model is larger than this server accepts" in texts(
        app.error
    )
