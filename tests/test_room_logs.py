"""Refreshes stay light: a run's latest event comes from last_event.json (or the log's end),
and charts read a bounded number of events however long the run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from charrnn.core.events import LAST_EVENT_FILE, METRICS_FILE, append_event
from charrnn.runs import folder as runfiles
from charrnn.runs.folder import last_event, read_metrics
from charrnn.runs.plan import new_run_config
from charrnn.runs.settings import ServerSettings
from charrnn.runs.workspace import Workspace, new_workspace

TOY = {"reference": "builtin:toy-pattern", "name": "toy", "kind": "text"}


def step(number: int, kind: str = "step") -> dict:
    return {"kind": kind, "step": number, "elapsed": number / 10, "train_loss": 1.5}


def big_log(folder: Path, megabytes: int) -> int:
    """A metrics.jsonl of about ``megabytes`` MB; returns its number of events."""
    line = json.dumps({**step(0), "samples": ["x" * 900]}) + "\n"
    count = megabytes * 1024 * 1024 // len(line)
    with open(folder / METRICS_FILE, "w", encoding="utf-8") as handle:
        for number in range(count - 1):
            handle.write(line.replace('"step": 0', f'"step": {number}'))
        handle.write(json.dumps(step(count - 1)) + "\n")
    return count


def test_the_trainer_keeps_the_last_event_beside_the_log(tmp_path):
    for number in range(5):
        append_event(tmp_path, step(number))
    assert json.loads((tmp_path / LAST_EVENT_FILE).read_text())["step"] == 4
    assert last_event(tmp_path)["step"] == 4
    assert [event["step"] for event in read_metrics(tmp_path)] == [0, 1, 2, 3, 4]


def test_a_summary_never_reads_a_whole_log(tmp_path, monkeypatch):
    root = tmp_path / "workspaces"
    space = Workspace(new_workspace(root), root, ServerSettings(home=root))
    run_id = space.create_run("long", new_run_config(space, TOY, "tiny"))
    folder = space.run_dir(run_id)
    count = big_log(folder, 50)
    append_event(folder, step(count))
    monkeypatch.setattr(runfiles, "read_metrics", pytest.fail)  # a whole-log read fails
    assert space.summary(run_id).step == count
    assert space.runs()[0].step == count


def test_an_older_run_without_the_file_reads_only_its_logs_end(tmp_path, monkeypatch):
    count = big_log(tmp_path, 5)
    read = []
    real_open = open

    def counting_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        real_read = handle.read
        handle.read = lambda size=-1: read.append(size) or real_read(size)
        return handle

    monkeypatch.setattr("builtins.open", counting_open)
    assert last_event(tmp_path)["step"] == count - 1
    assert read and all(0 < size <= runfiles.TAIL_BYTES for size in read)


def test_a_log_rewritten_after_the_file_wins(tmp_path):
    for number in range(3):
        append_event(tmp_path, step(number))
    (tmp_path / METRICS_FILE).write_text(json.dumps(step(1)) + "\n")  # a resume trims it
    later = (tmp_path / LAST_EVENT_FILE).stat().st_mtime_ns + 10**9
    os.utime(tmp_path / METRICS_FILE, ns=(later, later))
    assert last_event(tmp_path)["step"] == 1
    (tmp_path / METRICS_FILE).unlink()  # a fresh start
    assert last_event(tmp_path) is None


def test_charts_read_a_bounded_number_of_events_keeping_the_last(tmp_path):
    with open(tmp_path / METRICS_FILE, "w", encoding="utf-8") as handle:
        for number in range(20_000):
            handle.write(json.dumps(step(number)) + "\n")
            if number % 100 == 0:
                handle.write(json.dumps(step(number, "eval")) + "\n")
        handle.write(json.dumps(step(20_000, "done")) + "\n")
    events = read_metrics(tmp_path, limit=500)
    assert len(events) <= 500
    assert events[-1]["kind"] == "done"
    steps = [event["step"] for event in events if event["kind"] == "step"]
    assert steps[0] == 0 and steps[-1] == 19_999 and len(steps) > 200
    assert steps == sorted(steps) and 50 < len([e for e in events if e["kind"] == "eval"])
    assert len(read_metrics(tmp_path)) == 20_201  # all of them without a limit
