"""What the Train page decides and says about a run: its status in words, how often it is
redrawn, its progress line, the runs a new one can fine-tune from, a new run's name.
"""

from __future__ import annotations

from charrnn.runs.folder import has_model
from charrnn.runs.report import Progress, duration
from charrnn.runs.status import WORKING, RunStatus
from charrnn.runs.workspace import RunSummary, Workspace

# Seconds between redraws of the current run, by status (none: it no longer changes). A
# queued run changes slowly; in a workshop most runs wait, and each redraw costs the server.
REFRESH_SECONDS = {RunStatus.RUNNING: 1.0, RunStatus.PAUSED: 2.0, RunStatus.QUEUED: 3.0}
STATUS_TEXT = {
    RunStatus.QUEUED: "Waiting to start",
    RunStatus.RUNNING: "Training",
    RunStatus.PAUSED: "Paused: the model is saved. Press Resume to go on.",
    RunStatus.FINISHED: "Finished",
    RunStatus.STOPPED: "Stopped: the model is saved.",
    RunStatus.FAILED: "Failed",
    RunStatus.INTERRUPTED: "Interrupted: the server, or the machine running it, stopped while "
    "this run was training.",
}


def trained_runs(space: Workspace) -> list[RunSummary]:
    """The workspace's runs that have saved a model (to sample, or to fine-tune from)."""
    return [run for run in space.runs() if has_model(space.run_dir(run.id))]


def default_run_name(preset: str, corpus_name: str, base_name: str | None = None) -> str:
    """A new run's name when the user gives none (``base_name``: the model fine-tuned)."""
    if base_name is not None:
        return f"{base_name}, fine-tuned on {corpus_name}"
    return f"{preset.capitalize()} model on {corpus_name}"


def unused_name(name: str, taken) -> str:
    """``name``, or ``name (2)``, ``name (3)``... if a run of the workspace has it already: a
    second run of the same default name is told apart by a number, not by its id's end."""
    taken = set(taken)
    number = 2
    candidate = name
    while candidate in taken:
        candidate = f"{name} ({number})"
        number += 1
    return candidate


def time_cap_text(job_minutes: float | None) -> str:
    """The server's time cap on one run, in words ("" when there is none)."""
    if not job_minutes:
        return ""
    return (
        f" Each run trains for at most {job_minutes:g} minutes at a time on this server; "
        "a stopped run can continue."
    )


def status_text(status: str) -> str:
    """What a run's status means, for the line under its name."""
    return STATUS_TEXT.get(status, status)


def queue_text(place: int | None, wait: float | None) -> str:
    """Where a queued run stands: its place in the queue and the expected wait."""
    if not place:
        return "Starting..."
    about = f", about {duration(wait)}" if wait else ""
    return f"Waiting for a free worker: number {place} in the queue{about}."


def resume_label(status: str) -> str:
    """The button that trains an ended run again: a stopped one continues, others resume."""
    return "Continue training" if status == RunStatus.STOPPED else "Resume from last checkpoint"


def loss_text(now: Progress, status: str, smiles: bool) -> str | None:
    """The loss in numbers, under the chart (None before the first): the last training
    batch's and, once measured, the held-out lines' (the number the game's scores compare
    with)."""
    if now.train_loss is None and now.validation_loss is None:
        return None
    unit = "nats per symbol" if smiles else "nats per character"
    when = "at the end" if status == RunStatus.FINISHED else f"at step {now.step:,}"
    parts = []
    if now.train_loss is not None:
        parts.append(f"{now.train_loss:.2f} on its training text")
    if now.validation_loss is not None:
        parts.append(f"{now.validation_loss:.2f} on held-out text it never trains on (validation)")
    return f"Loss {when}: {' · '.join(parts)} ({unit}; lower is better)."


def progress_text(now: Progress, status: str, smiles: bool) -> str:
    """The progress bar's line: the step, the time left while working, the speed."""
    text = f"Step {now.step:,}" + (f" of {now.total_steps:,}" if now.total_steps else "")
    if status in WORKING and now.eta is not None:
        text += f" · about {duration(now.eta)} left"
    if now.tokens_per_second:
        unit = "SMILES tokens" if smiles else "characters"
        text += f" · {now.tokens_per_second:,.0f} {unit} per second"
    return text
