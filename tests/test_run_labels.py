"""Select box labels for runs: unique, and the same whatever the run's status."""

from __future__ import annotations

from types import SimpleNamespace

from charrnn.runs.report import run_labels


def run(run_id: str, name: str, status: str = "running") -> SimpleNamespace:
    return SimpleNamespace(id=run_id, name=name, status=status)


def test_labels_are_the_names_when_they_differ():
    runs = [run("r-aaaaaa111111", "first"), run("r-bbbbbb222222", "second")]
    assert run_labels(runs) == {"r-aaaaaa111111": "first", "r-bbbbbb222222": "second"}


def test_repeated_names_get_the_end_of_the_run_id():
    runs = [run("r-aaaaaa111111", "Tiny model"), run("r-bbbbbb222222", "Tiny model")]
    labels = run_labels(runs)
    assert labels == {
        "r-aaaaaa111111": "Tiny model (111111)",
        "r-bbbbbb222222": "Tiny model (222222)",
    }
    assert len(set(labels.values())) == 2


def test_labels_do_not_change_when_a_run_finishes():
    running = [run("r-aaaaaa111111", "mine", "running")]
    finished = [run("r-aaaaaa111111", "mine", "finished")]
    assert run_labels(running) == run_labels(finished)
