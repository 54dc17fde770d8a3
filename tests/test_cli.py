"""Tests for the command line (`python -m charrnn`), called in-process through cli.main.

Tiny models, at most 30 steps and one thread, so each test takes a few seconds on a CPU.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from charrnn import cli
from charrnn.cli import console
from charrnn.cli.console import StopOnInterrupt, printable
from charrnn.core.checkpoint import read_header
from charrnn.core.train_config import TrainEvent

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--preset", "tiny", "--threads", "1", "--batch-size", "16", "--sequence-length", "32"]


def train(corpus: str | Path | None, run: Path, *options: str) -> int:
    corpus_argument = [str(corpus)] if corpus is not None else []
    return cli.main(["train", *corpus_argument, "--out", str(run), *options, *FAST])


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("toy") / "run"
    assert train("builtin:toy-pattern", run, "--steps", "30", "--weight-decay", "0.05") == 0
    return run


@pytest.fixture(scope="module")
def molecules_file(tmp_path_factory) -> Path:
    """60 molecules from RDKit's NCI file, with two broken lines at lines 31 and 32."""
    from rdkit import RDConfig

    from charrnn.chem.smiles import smiles_problem

    nci = Path(RDConfig.RDDataDir, "NCI", "first_5K.smi").read_text().splitlines()
    good = [line.split()[0] for line in nci[:80] if smiles_problem(line.split()[0]) is None]
    lines = good[:30] + ["C1CC", "CC(C"] + good[30:60]
    path = tmp_path_factory.mktemp("molecules") / "molecules.smi"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def smiles_run(molecules_file, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("smiles") / "run"
    assert train(molecules_file, run, "--steps", "20", "--drop-invalid", "--average", "0.9") == 0
    return run


def test_train_writes_a_run_folder_that_describes_itself(toy_run):
    config = json.loads((toy_run / "config.json").read_text())
    assert config["corpus"] == "builtin:toy-pattern" and config["tokenizer"] == "char"
    assert config["model"]["hidden_size"] == 128 and config["train"]["steps"] == 30
    assert config["train"]["weight_decay"] == 0.05
    events = metrics(toy_run)
    assert events[-1] == {**events[-1], "kind": "done", "step": 30, "status": "finished"}
    losses = [event["train_loss"] for event in events if event["kind"] == "step"]
    assert losses[-1] < losses[0]  # it learned something
    assert read_header(toy_run)["step"] == 30


def test_sample_prints_text_and_json(toy_run, capsys):
    options = ["sample", str(toy_run), "--num", "2", "--length", "40", "--seed", "1"]
    assert cli.main(options) == 0
    text = capsys.readouterr().out
    assert "--- sample 1 of 2" in text and "--- sample 2 of 2" in text
    body = "".join(line for line in text.splitlines() if not line.startswith("---"))
    assert set(body) <= set("abcde .")
    assert cli.main([*options, "--json"]) == 0
    samples = json.loads(capsys.readouterr().out)
    assert len(samples) == 2
    assert set(samples[0]) == {"text", "log_likelihood", "tokens", "finished"}
    assert samples[0]["tokens"] == 40 and samples[0]["log_likelihood"] < 0


def test_a_prompt_with_unknown_characters_is_a_clear_error(toy_run, capsys):
    assert cli.main(["sample", str(toy_run), "--prompt", "abz"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: The model never saw these characters during training: 'z'")
    assert "Traceback" not in error


def test_training_over_an_existing_run_is_refused(toy_run, capsys):
    assert train("builtin:toy-pattern", toy_run, "--steps", "5") == 2
    assert "already holds a run" in capsys.readouterr().err
    assert read_header(toy_run)["step"] == 30  # untouched


def test_invalid_smiles_lines_are_refused_without_drop_invalid(molecules_file, tmp_path, capsys):
    assert train(molecules_file, tmp_path / "run", "--steps", "5") == 2
    error = capsys.readouterr().err
    assert "error: 2 of the 62 lines are not molecules RDKit can read" in error
    assert "line 31: a ring is opened with digit 1 but never closed" in error
    assert "line 32:" in error and "--drop-invalid" in error
    assert not (tmp_path / "run").exists()


MOSES_ROWS = ("Validity", "Uniqueness@1k", "Uniqueness@10k", "Novelty", "IntDiv1", "IntDiv2")
MOSES_ROWS += ("SNN", "Frag", "Scaf", "Filters", "Degenerate samples", "QED distance")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """Training statistics are cached here, not in the home folder."""
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_with_drop_invalid_a_smiles_run_trains_and_evaluates(smiles_run, cache, capsys):
    config = json.loads((smiles_run / "config.json").read_text())
    assert config["drop_invalid"] is True and config["tokenizer"] == "smiles"
    assert config["corpus_kind"] == "smiles" and Path(config["corpus"]).is_absolute()
    assert config["train"]["average"] == 0.9  # the model saved is the weights' average
    options = ["evaluate", str(smiles_run), "--num", "50", "--threads", "1", "--no-fcd"]
    assert cli.main(options) == 0
    captured = capsys.readouterr()
    for row in ("validation loss", "50 at temperature", "training set", *MOSES_ROWS):
        assert row in captured.out, row
    assert not [line for line in captured.out.splitlines() if line.startswith("FCD")]
    assert "Describing the 60 training molecules" in captured.err  # the first time only
    assert "Saved in the cache" in captured.err and list(cache.glob("stats/*.npz"))
    assert cli.main([*options, "--json"]) == 0
    captured = capsys.readouterr()
    assert "Describing" not in captured.err  # read from the cache
    results = json.loads(captured.out)
    assert results["samples"] == 50 and 0 <= results["validity"] <= 1
    assert results["valid"] <= 50 and results["validation_loss"] > 0
    assert results["training"] == {"molecules": 60, "valid": 60}
    metrics = {metric["key"]: metric for metric in results["metrics"]}
    assert set(metrics["valid"]) == {"key", "name", "value", "explanation", "good", "flag"}
    assert metrics["valid"]["value"] == pytest.approx(results["validity"])
    assert {"intdiv1", "snn", "frag", "scaf", "filters", "wasserstein_qed"} <= set(metrics)


def test_evaluate_explains_each_metric_and_measures_fcd(smiles_run, cache, capsys):
    pytest.importorskip("fcd_torch")
    options = ["evaluate", str(smiles_run), "--num", "50", "--threads", "1", "--explain"]
    assert cli.main(options) == 0
    captured = capsys.readouterr()
    assert "ChemNet activations for FCD" in captured.err
    (fcd_row,) = [line for line in captured.out.splitlines() if line.startswith("FCD ")]
    assert fcd_row.split()[1] != "n/a"  # a distance was measured
    assert "Fréchet ChemNet Distance: how far the samples are" in captured.out
    assert "The share of samples RDKit can read as a molecule." in captured.out


def test_sample_check_marks_each_smiles(smiles_run, capsys):
    assert cli.main(["sample", str(smiles_run), "--num", "5", "--seed", "0", "--check"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 5
    assert all("\tvalid" in line or "\tinvalid: " in line for line in lines)
    assert "of 5 samples are valid molecules" in captured.err


def test_sample_unique_writes_distinct_molecules_as_sdf_csv_and_smi(tmp_path, capsys):
    from rdkit import Chem

    from charrnn.chem.smiles import canonical_smiles

    base = ["sample", "prior:moses", "--unique", "6", "--max-tries", "200", "--seed", "3"]
    sdf, csv_file = tmp_path / "hits.sdf", tmp_path / "hits.csv"
    assert cli.main([*base, "--format", "sdf", "--out", str(sdf)]) == 0
    assert "Found 6 different valid molecules in" in capsys.readouterr().err
    mols = list(Chem.ForwardSDMolSupplier(io.BytesIO(sdf.read_bytes())))
    smiles = [mol.GetProp("SMILES") for mol in mols]
    assert len(set(smiles)) == 6 and all(mol.HasProp("QED") for mol in mols)
    assert cli.main([*base, "--format", "csv", "--out", str(csv_file)]) == 0
    import pandas as pd

    table = pd.read_csv(csv_file)
    assert list(table["SMILES"]) == smiles and table["valid"].all()
    assert cli.main(base) == 0  # printed one per line, canonical
    printed = capsys.readouterr().out.splitlines()
    assert printed == smiles and all(canonical_smiles(text) == text for text in printed)


def test_sample_unique_stops_at_max_tries(smiles_run, capsys):
    options = ["sample", str(smiles_run), "--unique", "500", "--max-tries", "30"]
    assert cli.main(options) == 0
    assert "Stopped after 30 samples, the most allowed" in capsys.readouterr().err


def test_sample_unique_lines_of_text(toy_run, tmp_path, capsys):
    out = tmp_path / "lines.csv"
    options = ["sample", str(toy_run), "--unique", "3", "--length", "30", "--seed", "2"]
    assert cli.main([*options, "--format", "csv", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "text,log_likelihood" and len(lines) == 4
    assert cli.main([*options, "--format", "sdf"]) == 2
    assert "this run learned text" in capsys.readouterr().err
    assert cli.main(["sample", str(toy_run), "--max-tries", "5"]) == 2


def test_evaluate_reports_the_validation_loss_of_a_text_run(toy_run, capsys):
    assert cli.main(["evaluate", str(toy_run), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["step"] == 30 and 0 < results["validation_loss"] < 2.5
    assert results["perplexity"] == pytest.approx(2.718281828 ** results["validation_loss"])
    assert "metrics" not in results  # text has no chemistry
    assert cli.main(["evaluate", str(toy_run)]) == 0
    table = capsys.readouterr().out
    assert "validation loss" in table and "Validity" not in table


def test_resume_continues_from_the_step_it_stopped(tmp_path):
    run = tmp_path / "run"
    assert train("builtin:toy-pattern", run, "--steps", "10") == 0
    assert train(None, run, "--resume", "--steps", "20") == 0
    assert read_header(run)["step"] == 20
    done = [event["step"] for event in metrics(run) if event["kind"] == "done"]
    assert done == [10, 20]
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 20


def test_resume_keeps_the_runs_settings(toy_run, capsys):
    assert train(None, toy_run, "--resume", "--steps", "40", "--seed", "3") == 2
    assert "--seed cannot change when resuming" in capsys.readouterr().err
    assert train(None, toy_run, "--resume", "--steps", "40", "--weight-decay", "0.5") == 2
    assert "--weight-decay cannot change when resuming" in capsys.readouterr().err


def test_ctrl_c_stops_saves_a_resumable_checkpoint_and_exits_130(tmp_path, monkeypatch, capsys):
    run, original, calls = tmp_path / "run", StopOnInterrupt.control, []

    def control(self):  # the trainer asks before each step; Ctrl-C comes before step 6
        calls.append(1)
        if len(calls) == 6:
            self.handle(signal.SIGINT, None)
        return original(self)

    monkeypatch.setattr(console.StopOnInterrupt, "control", control)
    assert train("builtin:toy-pattern", run, "--steps", "30") == 130
    error = capsys.readouterr().err
    assert "Stopped at step 5" in error and f"train --resume --out {run}" in error
    assert read_header(run)["step"] == 5
    monkeypatch.setattr(console.StopOnInterrupt, "control", original)
    assert train(None, run, "--resume") == 0  # the corpus comes from config.json
    assert read_header(run)["step"] == 30


def test_a_second_ctrl_c_aborts_and_the_handler_is_put_back():
    before = signal.getsignal(signal.SIGINT)
    with StopOnInterrupt(io.StringIO()) as stop:
        assert stop.control() is None
        signal.raise_signal(signal.SIGINT)  # the first: stop between steps
        assert stop.control() == {"command": "stop"}
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # the second: abort now
    assert signal.getsignal(signal.SIGINT) is before


def test_a_pickle_posing_as_a_checkpoint_is_refused(tmp_path, capsys):
    (tmp_path / "checkpoint.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    assert cli.main(["sample", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "error: This file is a Python pickle" in error and "never opens pickles" in error


def test_init_from_fine_tunes_another_runs_model_on_new_characters(toy_run, tmp_path, capsys):
    corpus = tmp_path / "cat.txt"
    corpus.write_text("the cat sat on the mat.\n" * 100)
    run = tmp_path / "run"
    assert train(corpus, run, "--init-from", str(toy_run), "--steps", "5") == 2  # a preset
    assert "--init-from continues the model" in capsys.readouterr().err
    options = ["train", str(corpus), "--out", str(run), "--init-from", str(toy_run)]
    assert cli.main([*options, "--steps", "5", "--threads", "1", "--batch-size", "8"]) == 0
    header = read_header(run)
    assert "t" in header["vocabulary"]["tokens"] and header["model_config"]["hidden_size"] == 128
    assert json.loads((run / "config.json").read_text())["init_from"] == str(toy_run)


def test_corpora_lists_the_builtins(capsys):
    assert cli.main(["corpora"]) == 0
    out = capsys.readouterr().out
    assert "toy-pattern" in out and "nci-5k" in out and "smiles" in out


def test_printable_escapes_terminal_control_characters():
    assert printable("red\x1b[31m!\nnext\u202e") == "red\\x1b[31m!\\nnext\\u202e"
    assert printable("a\nb\tc\x07", one_line=False) == "a\nb\tc\\x07"
    assert printable("C/C=C\\F é") == "C/C=C\\F é"


def test_help_runs_as_a_module():
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "charrnn", "--help"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    for command in ("train", "sample", "evaluate", "corpora"):
        assert command in result.stdout


def test_resume_continues_a_numpy_run_with_the_numpy_engine(space, capsys):
    from test_numpy_train import numpy_run

    from charrnn.core.checkpoint import load_checkpoint
    from charrnn.runs.worker import train_worker

    folder = space.run_dir(numpy_run(space))
    train_worker(str(folder), 1)  # a run the Train page's worker made, stopped at step 30
    options = ["train", "--resume", "--out", str(folder), "--steps", "40", "--threads", "1"]
    assert cli.main(options) == 0  # not Adam's state, which a NumPy run never saved
    checkpoint = load_checkpoint(folder)
    assert checkpoint.step == 40 and checkpoint.info["engine"] == "numpy"
    assert "Traceback" not in capsys.readouterr().err


def test_the_progress_bar_shows_steps_on_a_terminal_and_keeps_evaluations_above_it():
    stream = io.StringIO()
    progress = console.Progress(stream, interactive=True)
    for step in (1, 50, 100):
        progress(TrainEvent("step", step, 1.0, total_steps=200, progress=step / 200,
                            train_loss=2.5 - step / 100))  # fmt: skip
    progress(TrainEvent("eval", 100, 2.0, total_steps=200, validation_loss=1.75, samples=["ab"]))
    progress(TrainEvent("step", 200, 3.0, total_steps=200, progress=1.0, train_loss=1.2))
    progress.end()
    shown = stream.getvalue()
    assert " 50%|" in shown and "100%|" in shown  # tqdm's bar, redrawn in place
    assert "step 100/200  train 1.500" in shown
    assert "step 100/200  train 1.500  validation 1.750\n" in shown  # a line of its own
    assert "    ab\n" in shown
    quiet = io.StringIO()  # a log file or a pipe: one line per evaluation, no bar
    logged = console.Progress(quiet, interactive=False)
    logged(TrainEvent("step", 1, 1.0, total_steps=200, progress=0.005, train_loss=2.0))
    logged(TrainEvent("eval", 1, 1.0, total_steps=200, validation_loss=1.9))
    assert quiet.getvalue() == "step 1/200  train 2.000  validation 1.900\n"
