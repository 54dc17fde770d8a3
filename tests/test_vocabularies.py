"""The app's named vocabularies: one UserError, run statuses, the control message, has_model.

What a user would notice: their mistakes get a message, a bug does not pass for one, and run
folders written before keep reading the same.
"""

from __future__ import annotations

import json

import pytest

from charrnn.core.batches import CorpusTooShortError, prepare_data
from charrnn.core.checkpoint import CheckpointError
from charrnn.core.inside import InsideError
from charrnn.core.model import ModelConfig
from charrnn.core.sample import SampleConfig
from charrnn.core.sampling_budget import SamplingTooBigError
from charrnn.core.tokens import UnknownCharacterError
from charrnn.core.train import TrainConfig
from charrnn.corpora.reading import CorpusError
from charrnn.errors import SettingsError, UserError
from charrnn.files import DiskFullError
from charrnn.runs.bounds import WorkspaceFullError
from charrnn.runs.folder import CONTROL_FILE, FileControl, RunError, has_model, send_control
from charrnn.runs.gallery import GalleryError
from charrnn.runs.login import LoginPausedError
from charrnn.runs.serverroom import ServerFullError
from charrnn.runs.status import ACTIVE, DONE, STATUS_FILE, RunStatus, read_status, update_status


@pytest.mark.parametrize(
    "error",
    [
        CorpusError,
        CheckpointError,
        RunError,
        WorkspaceFullError,
        ServerFullError,
        UnknownCharacterError,
        GalleryError,
        SamplingTooBigError,
        InsideError,
        LoginPausedError,
        SettingsError,
        CorpusTooShortError,
    ],
)
def test_every_message_for_a_user_is_a_user_error(error):
    assert issubclass(error, UserError)
    assert issubclass(error, ValueError)  # code that caught ValueError still does


def test_a_bug_is_not_a_user_error():
    assert not issubclass(ValueError, UserError)
    assert issubclass(DiskFullError, OSError) and not issubclass(DiskFullError, UserError)


@pytest.mark.parametrize(
    "make",
    [
        lambda: TrainConfig(steps=0),
        lambda: ModelConfig(vocab_size=10, hidden_size=0),
        lambda: SampleConfig(temperature=-1),
    ],
)
def test_a_setting_out_of_range_is_a_settings_error(make):
    with pytest.raises(SettingsError):
        make()


def test_a_corpus_too_short_to_train_on_says_so():
    with pytest.raises(CorpusTooShortError, match="too short"):
        prepare_data("a")


def test_run_json_holds_statuses_as_plain_strings(tmp_path):
    update_status(tmp_path, name="run", status=RunStatus.PAUSED)
    assert json.loads((tmp_path / STATUS_FILE).read_text())["status"] == "paused"
    status = read_status(tmp_path)["status"]
    assert status == RunStatus.PAUSED and status in ACTIVE and status not in DONE
    assert set(RunStatus) == ACTIVE | DONE


def test_a_control_message_is_read_once(tmp_path):
    old = send_control(tmp_path, "pause")
    control = FileControl(tmp_path)  # a message written before the worker listened
    assert control() is None
    message = send_control(tmp_path, None, learning_rate=0.01)
    assert message.id != old.id
    written = json.loads((tmp_path / CONTROL_FILE).read_text())
    assert written == {"id": message.id, "command": None, "learning_rate": 0.01}
    assert control() == written
    assert control() is None
    send_control(tmp_path, "stop")
    assert control()["command"] == "stop"


def test_an_unknown_command_or_a_damaged_message_is_refused(tmp_path):
    with pytest.raises(RunError):
        send_control(tmp_path, "explode")
    control = FileControl(tmp_path)
    (tmp_path / CONTROL_FILE).write_text('{"id": "x", "command": "explode"}')
    assert control() is None
    (tmp_path / CONTROL_FILE).write_text('{"id": "y", "learning_rate": "fast"}')
    assert control() is None


def test_has_model_asks_for_the_checkpoint(tmp_path):
    assert not has_model(tmp_path)
    (tmp_path / "checkpoint.safetensors").write_bytes(b"")
    assert has_model(tmp_path)
