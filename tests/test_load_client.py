"""benchmarks/load_workshop.py's protocol client drives the real app end to end: two
people without a browser open it, train and generate (the load benchmark itself runs 30)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_two_protocol_visitors_train_and_generate_through_the_real_server():
    finished = subprocess.run(
        [
            sys.executable,
            "benchmarks/load_workshop.py",
            "--users",
            "2",
            "--steps",
            "30",
            "--probe-every",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    assert "jobs completed: 2 of 2" in output and "generated: 2" in output
    assert "errors: 0" in output
    saved = Path(output.rsplit("saved ", 1)[1].split()[0])
    result = json.loads(saved.read_text(encoding="utf-8"))
    saved.unlink()
    actions = result["actions"]
    for action in ("one-click start -> Train", "set the steps", "press Train -> run shown"):
        assert actions[action]["count"] >= 2, action  # each visitor did it
    assert actions["press Generate -> samples"]["count"] == 2
    assert result["run_statuses"] == {"finished": 2}
