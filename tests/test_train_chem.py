"""Tests for the chemistry checks during training: a SMILES run reports the validity,
uniqueness and novelty of fresh samples every few steps, without changing the training."""

from __future__ import annotations

import json

import pytest
from conftest import SMILES_LINES, quick_config, tiny_config

from charrnn import cli
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig

FAST = ["--preset", "tiny", "--threads", "1", "--batch-size", "16"]


def chem_events(events):
    return [e for e in events if e.kind == "chem"]


def step_losses(events):
    return [e.train_loss for e in events if e.kind == "step"]


def test_a_smiles_run_reports_its_chemistry(line_data, tmp_path):
    events = []
    config = quick_config(steps=25, chem_every=10, chem_samples=20)
    trainer = Trainer(
        line_data, tiny_config(), config, run_dir=tmp_path, on_event=events.append, device="cpu"
    )
    trainer.run()
    checks = chem_events(events)
    assert [e.step for e in checks] == [10, 20, 25]  # every 10 steps, and at the end
    for event in checks:
        assert 0.0 <= event.validity <= 1.0
        assert 0.0 <= event.uniqueness <= 1.0 and 0.0 <= event.novelty <= 1.0
    # Checking is not training: the clock shows the same time as the step just before.
    at_ten = [e for e in events if e.step == 10 and e.kind in ("step", "chem")]
    assert at_ten[0].elapsed == at_ten[1].elapsed
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    chem_records = [r for r in records if r["kind"] == "chem"]
    assert chem_records == [e.to_json() for e in checks]
    assert {"validity", "uniqueness", "novelty"} <= set(chem_records[0])


def test_a_text_run_never_checks_chemistry(text_data):
    events = []
    config = quick_config(steps=20, chem_every=5)
    Trainer(text_data, tiny_config(), config, on_event=events.append, device="cpu").run()
    assert chem_events(events) == []
    assert all(e.validity is None for e in events)


def test_checking_chemistry_does_not_change_the_training(line_data):
    runs = []
    for chem_every in (0, 5):
        events = []
        config = quick_config(steps=15, chem_every=chem_every, chem_samples=10)
        Trainer(line_data, tiny_config(), config, on_event=events.append, device="cpu").run()
        runs.append(events)
    assert step_losses(runs[0]) == step_losses(runs[1])
    assert len(chem_events(runs[1])) == 3 and chem_events(runs[0]) == []


def test_stop_and_resume_with_chemistry_equals_an_uninterrupted_run(line_data, tmp_path):
    config = quick_config(steps=30, batch_size=8, seed=7, chem_every=10, chem_samples=10)
    model = tiny_config(cell="lstm")
    straight_events = []
    Trainer(
        line_data, model, config, run_dir=tmp_path / "a",
        on_event=straight_events.append, device="cpu",
    ).run()  # fmt: skip

    first_half, holder = [], {}

    def control():
        return {"command": "stop"} if holder["trainer"].step == 15 else None

    holder["trainer"] = Trainer(
        line_data, model, config, run_dir=tmp_path / "b", control=control,
        on_event=first_half.append, device="cpu",
    )  # fmt: skip
    assert holder["trainer"].run().status == "stopped"
    second_half = []
    resumed = Trainer.resume(tmp_path / "b", line_data, on_event=second_half.append, device="cpu")
    assert resumed.config.chem_every == 10
    assert resumed.run().status == "finished"

    assert step_losses(first_half) + step_losses(second_half) == step_losses(straight_events)

    def checks(events):
        return [(e.step, e.validity, e.uniqueness, e.novelty) for e in chem_events(events)]

    # The same model at the same step samples the same molecules.
    straight = {row[0]: row for row in checks(straight_events)}
    for row in checks(first_half) + checks(second_half):
        if row[0] in straight:
            assert row == straight[row[0]]
    assert [row[0] for row in checks(second_half)] == [20, 30]


def test_chemistry_settings_round_trip_and_are_checked():
    config = TrainConfig(chem_every=200, chem_samples=50)
    assert TrainConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert TrainConfig.from_json({"steps": 10}).chem_every == 0  # runs from before the checks
    for bad in (dict(chem_every=-1), dict(chem_samples=0)):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_the_command_line_prints_the_chemistry(tmp_path, capsys):
    corpus = tmp_path / "molecules.smi"
    corpus.write_text("\n".join(SMILES_LINES * 2) + "\n")
    run = tmp_path / "run"
    options = ["--steps", "12", "--chem-every", "6", *FAST]
    assert cli.main(["train", str(corpus), "--out", str(run), *options]) == 0
    error = capsys.readouterr().err
    assert "step 6  validity " in error and "uniqueness " in error and "novelty " in error
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "chem"] == [6, 12]
    assert json.loads((run / "config.json").read_text())["train"]["chem_every"] == 6


def test_the_command_line_refuses_chemistry_for_text(tmp_path, capsys):
    run = tmp_path / "run"
    options = ["--steps", "5", "--chem-every", "2", *FAST]
    assert cli.main(["train", "builtin:toy-pattern", "--out", str(run), *options]) == 2
    assert "needs a SMILES corpus" in capsys.readouterr().err
