"""Tests for charrnn.core.numpy_train and the engine choice of a run: NumPy runs like any other.

The loss falls, the checkpoint loads and samples on the usual pages' code, stop and resume
work (exactly), and a worker trains a run folder whose config asks for the NumPy engine.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from conftest import quick_config
from test_runs import TINY_MODEL, TOY, quick_train

from charrnn.core.checkpoint import load_checkpoint
from charrnn.core.model import ModelConfig
from charrnn.core.numpy_train import ADAGRAD_LEARNING_RATE, NumpyTrainer, engine_speeds
from charrnn.core.sample import SampleConfig, sample
from charrnn.runs.config import RunConfig, read_run_config, write_run_config
from charrnn.runs.plan import new_run_config
from charrnn.runs.status import read_status
from charrnn.runs.worker import train_worker
from charrnn.runs.workspace import Workspace

LSTM = ModelConfig(vocab_size=1, cell="lstm", embedding_size=8, hidden_size=32, layers=2)


def numpy_config(**overrides):
    return quick_config(**{"learning_rate": ADAGRAD_LEARNING_RATE, **overrides})


def step_losses(events) -> list[float]:
    return [e.train_loss for e in events if e.kind == "step"]


@pytest.mark.parametrize("corpus", ["text", "lines"])
def test_a_numpy_run_learns_and_saves_a_normal_checkpoint(corpus, text_data, line_data, tmp_path):
    data = text_data if corpus == "text" else line_data
    events = []
    trainer = NumpyTrainer(
        data, LSTM, numpy_config(steps=150, eval_every=50), run_dir=tmp_path,
        on_event=events.append, run_info={"corpus": corpus},
    )  # fmt: skip
    before = trainer.validation_loss()
    final = trainer.run()
    assert final.kind == "done" and final.status == "finished" and final.step == 150
    losses = [e.validation_loss for e in events if e.kind == "eval"]
    assert len(losses) == 3 and losses[-1] < before - 0.5
    step = next(e for e in events if e.kind == "step")
    assert step.tokens_per_second > 0 and step.eta >= 0 and step.learning_rate > 0
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert records == [e.to_json() for e in events]

    checkpoint = load_checkpoint(tmp_path)
    config = checkpoint.model.config  # the LSTM asked for became a one-layer vanilla RNN
    assert (config.cell, config.layers, config.hidden_size) == ("rnn", 1, 32)
    assert checkpoint.step == 150 and checkpoint.info["engine"] == "numpy"
    assert checkpoint.vocabulary == data.vocabulary
    samples = sample(checkpoint.model, checkpoint.vocabulary, SampleConfig(num_samples=5, seed=1))
    assert len(samples) == 5 and all(s.tokens > 0 for s in samples)
    if corpus == "lines":
        assert sum(s.finished for s in samples) >= 3  # it learned to end its lines


def test_stop_via_control_keeps_the_work(text_data, tmp_path):
    messages = iter([None, None, {"command": "pause"}, {"command": "stop"}])
    events = []
    trainer = NumpyTrainer(
        text_data, LSTM, numpy_config(steps=50), run_dir=tmp_path,
        on_event=events.append, control=lambda: next(messages, None),
    )  # fmt: skip
    final = trainer.run()
    assert final.status == "stopped" and final.step == 2
    assert [e.kind for e in events].count("paused") == 1
    assert load_checkpoint(tmp_path).step == 2


def test_a_new_learning_rate_takes_effect(text_data):
    events, holder = [], {}

    def control():
        return {"learning_rate": 0.01} if holder["trainer"].step == 3 else None

    config = numpy_config(steps=6, warmup_steps=0, schedule="constant")
    holder["trainer"] = NumpyTrainer(
        text_data, LSTM, config, on_event=events.append, control=control
    )
    holder["trainer"].run()
    assert [e.learning_rate for e in events if e.kind == "step"] == [0.1] * 3 + [0.01] * 3


@pytest.mark.parametrize("corpus", ["text", "lines"])
def test_stop_and_resume_equals_an_uninterrupted_run(corpus, text_data, line_data, tmp_path):
    data = text_data if corpus == "text" else line_data
    config = numpy_config(steps=30, batch_size=8, seed=5)
    straight_events = []
    straight = NumpyTrainer(data, LSTM, config, on_event=straight_events.append)
    straight.run()

    first_half, holder = [], {}

    def control():
        return {"command": "stop"} if holder["trainer"].step == 15 else None

    holder["trainer"] = NumpyTrainer(
        data, LSTM, config, run_dir=tmp_path, control=control, on_event=first_half.append
    )
    assert holder["trainer"].run().status == "stopped"
    second_half = []
    resumed = NumpyTrainer.resume(tmp_path, data, on_event=second_half.append)
    assert resumed.step == 15 and resumed.run().step == 30
    assert step_losses(first_half) + step_losses(second_half) == step_losses(straight_events)
    for name, weights in straight.params.items():
        assert (resumed.params[name] == weights).all(), name


def test_seeded_runs_are_reproducible(text_data):
    runs = []
    for seed in (3, 3, 4):
        events = []
        NumpyTrainer(
            text_data, LSTM, numpy_config(steps=10, seed=seed), on_event=events.append
        ).run()
        runs.append(step_losses(events))
    assert runs[0] == runs[1] and runs[0] != runs[2]


# ----- a run folder that asks for the NumPy engine (space: conftest's fresh workspace) ----
def numpy_run(space: Workspace, name: str = "numpy", init_from: str | None = None) -> str:
    train = quick_train(learning_rate=ADAGRAD_LEARNING_RATE, eval_every=15)
    config = new_run_config(space, TOY, "tiny", TINY_MODEL, train, init_from, engine="numpy")
    return space.create_run(name, config)


def test_the_worker_trains_a_numpy_run_folder(space):
    run_id = numpy_run(space)
    folder = space.run_dir(run_id)
    train_worker(str(folder), 1)
    assert read_status(folder)["status"] == "finished" and space.summary(run_id).step == 30
    losses = [e["validation_loss"] for e in space.metrics(run_id) if e["kind"] == "eval"]
    assert len(losses) == 2 and losses[-1] < min(losses[0], 1.0)  # from log(11) = 2.4
    config = read_run_config(folder)  # config.json tells what was really trained
    assert config.engine == "numpy" and (config.model.cell, config.model.layers) == ("rnn", 1)
    assert load_checkpoint(folder).info["engine"] == "numpy"

    train_worker(str(folder), 1)  # run again: it resumes from the checkpoint, already done
    assert read_status(folder)["status"] == "finished"
    steps = [e["step"] for e in space.metrics(run_id) if e["kind"] == "step"]
    assert steps == sorted(set(steps))


def test_numpy_runs_fine_tune_only_vanilla_rnns(space):
    base = numpy_run(space, "base")
    train_worker(str(space.run_dir(base)), 1)
    tuned = numpy_run(space, "tuned", init_from=base)
    train_worker(str(space.run_dir(tuned)), 1)
    assert read_status(space.run_dir(tuned))["status"] == "finished"

    gru = new_run_config(space, TOY, "tiny", TINY_MODEL, quick_train())
    gru_id = space.create_run("gru", gru)
    train_worker(str(space.run_dir(gru_id)), 1)
    refused = numpy_run(space, "refused", init_from=gru_id)
    with pytest.raises(SystemExit):
        train_worker(str(space.run_dir(refused)), 1)
    assert "PyTorch engine" in read_status(space.run_dir(refused))["error"]


def test_old_run_configs_load_as_torch_runs(space, tmp_path):
    config = new_run_config(space, TOY, "tiny", TINY_MODEL, quick_train())
    data = config.to_json()
    assert data["engine"] == "torch"
    del data["engine"]  # a config.json written before engines existed
    assert RunConfig.from_json(data).engine == "torch"
    write_run_config(tmp_path / "run", replace(config, engine="numpy"))
    assert read_run_config(tmp_path / "run").engine == "numpy"
    with pytest.raises(ValueError, match="engine"):
        replace(config, engine="jax")


def test_engine_speeds_measure_both_engines(text_data):
    speeds = engine_speeds(text_data, text_data.vocabulary.size, 16, seconds=0.2)
    assert speeds["numpy"] > 0 and speeds["torch"] > 0
    assert (speeds["sequence_length"], speeds["batch_size"]) == (64, 1)
    ids = text_data.train[:2000].tolist()
    assert engine_speeds(ids, text_data.vocabulary.size, 16, seconds=0.05, batch_size=4)["torch"]
    assert torch.get_num_threads() == speeds["torch_threads"]
