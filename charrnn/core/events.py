"""The training log a trainer leaves in its run folder: metrics.jsonl, one event per line,
and last_event.json, the latest event alone (so a page never parses the whole log)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

METRICS_FILE, LAST_EVENT_FILE = "metrics.jsonl", "last_event.json"


def append_event(folder: Path, event: dict) -> None:
    """Add an event to metrics.jsonl, then keep it as last_event.json (the trainer's way)."""
    line = json.dumps(event, ensure_ascii=False)
    with open(Path(folder) / METRICS_FILE, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    _replace_quickly(Path(folder) / LAST_EVENT_FILE, line)


def _replace_quickly(path: Path, text: str) -> None:
    """Temp file + rename without fsync: a shortcut for readers, rewritten every event. If
    it cannot be written, last_event finds it older than the log and reads the log's end."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
