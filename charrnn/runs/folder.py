"""The files a run folder shares between the server and its worker: metrics, control, samples.

metrics.jsonl holds one event per line (and last_event.json a copy of its last line, so
refreshes never parse a whole log), control.json the latest ControlMessage to the worker
(pause, resume, stop, a new learning rate), checkpoint.safetensors the saved model
(has_model), and generated.json the last samples the Generate page wrote with this run.
The run's status (run.json) is charrnn.runs.status's.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from charrnn.core.checkpoint_header import CHECKPOINT_FILE
from charrnn.core.events import LAST_EVENT_FILE, METRICS_FILE
from charrnn.errors import UserError
from charrnn.files import atomic_write_text

CONTROL_FILE = "control.json"
GENERATED_FILE = "generated.json"
CHART_EVENTS = 2000  # read_metrics(limit=...) for charts: the most events a page draws
TAIL_BYTES = 16 * 1024  # how much of a log's end last_event reads without last_event.json


class RunError(UserError, ValueError):
    """A workspace or run that does not exist or cannot do what was asked."""


Command = Literal["pause", "resume", "stop"]
COMMANDS: tuple[Command, ...] = ("pause", "resume", "stop")


def has_model(folder: Path) -> bool:
    """Whether the run has saved a model (a checkpoint) that can be used or downloaded."""
    return (Path(folder) / CHECKPOINT_FILE).is_file()


def save_generated(folder: Path, seed: int, samples: list[tuple[str, float]], **extra) -> dict:
    """Keep the last samples written with this run: ``{"seed", "samples": [[text, ll]], ...}``."""
    record = {
        "seed": int(seed),
        "samples": [[str(text), float(ll)] for text, ll in samples],
        "made": time.time(),
        **extra,
    }
    atomic_write_text(Path(folder) / GENERATED_FILE, json.dumps(record, ensure_ascii=False))
    return record


def read_generated(folder: Path) -> dict | None:
    """The last samples saved by save_generated, or None (none yet, or a damaged file)."""
    try:
        record = json.loads((Path(folder) / GENERATED_FILE).read_text(encoding="utf-8"))
        samples = [(str(text), float(ll)) for text, ll in record["samples"]]
        return {**record, "seed": int(record["seed"]), "samples": samples}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_metrics(folder: Path, limit: int | None = None) -> list[dict]:
    """Every complete line of metrics.jsonl (a line being written is skipped).

    With ``limit``, at most that many events, spread evenly over the run (half of them
    training steps, half the other kinds), the last one always kept: only those are parsed.
    """
    try:
        lines = (Path(folder) / METRICS_FILE).read_bytes().split(b"\n")
    except OSError:
        return []
    lines = [line for line in lines if line.strip()]
    if limit is not None and len(lines) > limit:
        steps = [i for i, line in enumerate(lines) if STEP_MARK in line]
        others = [i for i, line in enumerate(lines) if STEP_MARK not in line]
        half = max(limit // 2, 1)
        picked = _evenly(others, half)
        picked |= _evenly(steps, limit - min(len(picked), half) - 1) | {len(lines) - 1}
        lines = [lines[i] for i in sorted(picked)]
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


STEP_MARK = b'"kind": "step"'  # how json.dumps writes a training step's kind


def _evenly(indices: list[int], count: int) -> set[int]:
    """At most ``count`` of ``indices``, evenly spaced, the first and last included."""
    if count <= 0 or not indices:
        return set()
    if len(indices) <= count:
        return set(indices)
    if count == 1:
        return {indices[-1]}
    stride = (len(indices) - 1) / (count - 1)
    return {indices[round(k * stride)] for k in range(count)}


def last_event(folder: Path) -> dict | None:
    """The run's latest event without parsing its log: last_event.json when it is as new as
    metrics.jsonl, else the last complete line among the log's final TAIL_BYTES."""
    folder = Path(folder)
    try:
        logged = (folder / METRICS_FILE).stat()
    except OSError:
        return None
    try:
        if (folder / LAST_EVENT_FILE).stat().st_mtime_ns >= logged.st_mtime_ns:
            event = json.loads((folder / LAST_EVENT_FILE).read_text(encoding="utf-8"))
            if isinstance(event, dict):
                return event
    except (OSError, ValueError):
        pass
    return _tail_event(folder / METRICS_FILE, logged.st_size)


def _tail_event(path: Path, size: int) -> dict | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, size - TAIL_BYTES))
            lines = handle.read(TAIL_BYTES).split(b"\n")
    except OSError:
        return None
    for line in reversed(lines if size <= TAIL_BYTES else lines[1:]):  # [0] may be cut
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            return event
    return None


@dataclass(frozen=True)
class ControlMessage:
    """One message to a training worker: a command, a new learning rate, or both.

    ``id`` tells a new message from one the worker has already read."""

    id: str
    command: Command | None = None
    learning_rate: float | None = None

    @classmethod
    def from_json(cls, data: object) -> ControlMessage | None:
        """The message a control.json holds, or None when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        command, rate = data.get("command"), data.get("learning_rate")
        if command is not None and command not in COMMANDS:
            return None
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)):
            return None
        return cls(data["id"], command, rate)


def send_control(
    folder: Path, command: Command | None = None, learning_rate: float | None = None
) -> ControlMessage:
    """Ask a run's training worker to pause, resume or stop, or to use a new learning rate.

    The one writer of control.json; FileControl (in the worker) reads it."""
    if command is not None and command not in COMMANDS:
        raise RunError(f"Unknown command {command!r}.")
    message = ControlMessage(secrets.token_hex(4), command, learning_rate)
    atomic_write_text(Path(folder) / CONTROL_FILE, json.dumps(asdict(message)))
    return message


class FileControl:
    """The trainer's control callable: returns each new message written to control.json."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / CONTROL_FILE
        self.seen: str | None = None
        message = self._read()
        self.seen = message.id if message else None  # old messages are not replayed

    def _read(self) -> ControlMessage | None:
        try:
            return ControlMessage.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def __call__(self) -> dict | None:
        message = self._read()
        if not message or message.id == self.seen:
            return None
        self.seen = message.id
        return asdict(message)
