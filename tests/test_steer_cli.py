"""`python -m charrnn steer`: a run folder steered toward score.json with a line per step,
resumed with new limits, and mistakes (a bad score file, an existing run) explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charrnn import cli
from charrnn.core.checkpoint import load_checkpoint
from charrnn.runs.config import read_run_config

MOLECULES = ["CCO", "CCN", "NCCN", "CCCN", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CNC"] * 10
SCORE = {
    "format": "charrnn-score-1",
    "components": [
        {"kind": "contains", "target": "N"},
        {"kind": "weight", "low": 40, "high": 120, "soft": 20},
    ],
}


@pytest.fixture(scope="module")
def start_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("start")
    corpus = folder / "molecules.smi"
    corpus.write_text("\n".join(MOLECULES) + "\n")
    options = ["--preset", "tiny", "--threads", "1", "--batch-size", "16", "--steps", "20"]
    assert cli.main(["train", str(corpus), "--out", str(folder / "run"), *options]) == 0
    return folder / "run"


@pytest.fixture
def score_file(tmp_path) -> Path:
    path = tmp_path / "score.json"
    path.write_text(json.dumps(SCORE))
    return path


def steer(*arguments: str) -> int:
    return cli.main(["steer", *arguments, "--threads", "1", "--batch-size", "16"])


def test_steer_writes_a_run_with_a_line_per_step(tmp_path, start_run, score_file, capsys):
    out = tmp_path / "steered"
    assert steer(str(start_run), "--score", str(score_file), "--steps", "3", "--out", str(out)) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("score" in line and "valid" in line and "unique" in line for line in lines)
    assert "Must contain N" in captured.err and "sample" in captured.err
    assert "The best molecules so far" in captured.out
    assert load_checkpoint(out).step == 3
    assert read_run_config(out).init_from == str(start_run.resolve())
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in steps if e["kind"] == "step"] == [1, 2, 3]
    assert cli.main(["sample", str(out), "--num", "2", "--threads", "1"]) == 0  # a usable model
    assert json.loads((out / "steer.json").read_text())["settings"]["diversity_by"] == "scaffold"


def test_the_filter_works_by_molecule_when_asked(tmp_path, start_run, score_file):
    out = tmp_path / "steered"
    arguments = ("--score", str(score_file), "--steps", "1", "--out", str(out))
    assert steer(str(start_run), *arguments, "--diversity-by", "molecule") == 0
    assert json.loads((out / "steer.json").read_text())["settings"]["diversity_by"] == "molecule"


def test_a_steered_run_resumes_with_new_limits(tmp_path, start_run, score_file, capsys):
    out = tmp_path / "steered"
    arguments = ["--score", str(score_file), "--out", str(out), "--method", "hillclimb"]
    assert steer(str(start_run), *arguments, "--steps", "2", "--seed", "4") == 0
    assert cli.main(["steer", "--resume", "--out", str(out), "--steps", "4"]) == 0
    err = capsys.readouterr().err
    assert "step 3/4" in err and "step 4/4" in err and "hillclimb" in err
    assert load_checkpoint(out).step == 4
    settings = json.loads((out / "steer.json").read_text())["settings"]
    assert settings["steps"] == 4 and settings["seed"] == 4 and settings["method"] == "hillclimb"
    assert cli.main(["steer", "--resume", "--out", str(out), "--sigma", "9"]) == 2
    assert "--sigma cannot change" in capsys.readouterr().err


def test_mistakes_are_explained(tmp_path, start_run, score_file, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"components": [{"kind": "contains", "target": "C(=O"}]}))
    out = str(tmp_path / "steered")
    assert steer(str(start_run), "--score", str(bad), "--steps", "1", "--out", out) == 2
    assert "neither a SMILES" in capsys.readouterr().err
    assert not (tmp_path / "steered" / "steer.json").exists()
    assert steer(str(start_run), "--score", str(tmp_path / "none.json"), "--out", out) == 2
    assert "Cannot read the score file" in capsys.readouterr().err
    assert steer(str(tmp_path), "--score", str(score_file), "--out", out) == 2
    assert "neither a run folder with a model nor prior:ID" in capsys.readouterr().err
    assert steer("--score", str(score_file), "--out", out) == 2
    assert steer(str(start_run), "--score", str(score_file), "--steps", "1", "--out", out) == 0
    assert steer(str(start_run), "--score", str(score_file), "--steps", "1", "--out", out) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_a_seed_out_of_range_is_explained_before_any_folder(
    tmp_path, start_run, score_file, capsys
):
    out = tmp_path / "steered"
    for seed in ("99999999999999999999999", "4611686018427387904", "-1"):
        arguments = ("--score", str(score_file), "--steps", "1", "--seed", seed, "--out", str(out))
        assert steer(str(start_run), *arguments) == 2
        assert "seed must be a whole number from 0 to 2147483647" in capsys.readouterr().err
        assert not out.exists()


def test_the_shipped_prior_is_steered_from_the_command_line(tmp_path, score_file, capsys):
    out = tmp_path / "steered"
    assert steer("prior:moses", "--score", str(score_file), "--steps", "1", "--out", str(out)) == 0
    assert "step 1/1" in capsys.readouterr().err
    assert read_run_config(out).init_from == "prior:moses"


def test_a_score_file_is_read_only_up_to_its_cap(tmp_path):
    """A file whose size says nothing (/dev/zero says 0 bytes) is read to 64 KB, not forever."""
    from charrnn.chem.scoring import ScoreError
    from charrnn.cli.steer import MAX_SCORE_FILE_BYTES, read_score_file

    with pytest.raises(ScoreError, match="larger than a score file can be"):
        read_score_file("/dev/zero")
    big = tmp_path / "big.json"
    big.write_text(" " * (MAX_SCORE_FILE_BYTES + 1))
    with pytest.raises(ScoreError, match="larger than a score file can be"):
        read_score_file(str(big))
