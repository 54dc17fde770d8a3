"""The terminal side of training: a progress bar (tqdm), Ctrl-C handling, and text safe to
print.

Used by the command line; nothing here changes what the trainer does.
"""

from __future__ import annotations

import shutil
import signal
import threading
import unicodedata
from typing import TextIO

from tqdm import tqdm

from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainEvent

BAR_WIDTH = 20
BAR_STEPS = 1000  # the bar counts thousandths of the run (steps or minutes)
# Characters that steer a terminal or reorder text: shown as escapes, never printed raw.
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str, *, one_line: bool = True) -> str:
    r"""Text safe for a terminal: control characters become escapes such as \x1b.

    With one_line, line breaks and tabs are escaped too (\n, \t); otherwise they stay.
    """
    kept = "" if one_line else "\n\t"
    return "".join(repr(c)[1:-1] if c not in kept and _steers_terminal(c) else c for c in text)


def _steers_terminal(character: str) -> bool:
    category = unicodedata.category(character)
    return category in ("Cc", "Zl", "Zp") or character in _BIDI_CONTROLS


def clock(seconds: float) -> str:
    """Seconds for people: "0:42", "12:05", "1:02:03"."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Shows a Trainer's events: on a terminal a bar redrawn in place (with a line kept at
    each evaluation), elsewhere (a log file, a pipe) one line per evaluation only; a line
    for each chemistry check of SMILES samples too."""

    def __init__(self, stream: TextIO, interactive: bool | None = None):
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.values: dict[str, float] = {}  # the latest of each number shown
        self.minutes: float | None = None
        self.bar: tqdm | None = None  # on a terminal, while steps are shown

    def begin(self, trainer: Trainer, corpus_name: str) -> None:
        """Say what is trained on what, before the first step."""
        config, data = trainer.model.config, trainer.data
        parameters = sum(p.numel() for p in trainer.model.parameters())
        self.minutes = trainer.config.minutes
        doing = f"Resuming at step {trainer.step}" if trainer.step else "Training"
        unit = "lines" if data.line_based else "tokens"
        self._line(
            f"{doing}: a {config.layers}-layer {config.cell.upper()} ({config.hidden_size} "
            f"hidden, {parameters:,} parameters) on {corpus_name}: {data.train_tokens:,} "
            f"training tokens, {len(data.validation):,} held-out {unit}, on "
            f"{trainer.device.type}. Ctrl-C stops and saves."
        )

    def __call__(self, event: TrainEvent) -> None:
        for name in ("train_loss", "validation_loss", "tokens_per_second", "eta"):
            if getattr(event, name) is not None:
                self.values[name] = getattr(event, name)
        if event.kind == "step" and self.interactive:
            self._draw_bar(event)
        elif event.kind == "eval":
            self._line(self.status(event))
            for text in event.samples or []:
                self._line("    " + printable(text))
        elif event.kind == "chem":
            self._line(self.chemistry(event))

    def end(self) -> None:
        """Leave the bar's line, so what follows starts on a fresh one."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def status(self, event: TrainEvent) -> str:
        """E.g. "step 300/2000  train 1.412  validation 1.498  23,400 tokens/s  ETA 1:05"."""
        if event.total_steps:
            parts = [f"step {event.step}/{event.total_steps}"]
        else:
            limit = f" of {clock(60 * self.minutes)}" if self.minutes else ""
            parts = [f"step {event.step}, {clock(event.elapsed)}{limit}"]
        values = self.values
        if "train_loss" in values:
            parts.append(f"train {values['train_loss']:.3f}")
        if "validation_loss" in values:
            parts.append(f"validation {values['validation_loss']:.3f}")
        if "tokens_per_second" in values:
            parts.append(f"{values['tokens_per_second']:,.0f} tokens/s")
        if "eta" in values and event.kind != "done":
            parts.append(f"ETA {clock(values['eta'])}")
        return "  ".join(parts)

    def chemistry(self, event: TrainEvent) -> str:
        """E.g. "step 300  validity 0.830  uniqueness 0.990  novelty 0.950" (of the samples)."""
        parts = [f"step {event.step}"]
        for name in ("validity", "uniqueness", "novelty"):
            value = getattr(event, name)
            if value is not None:
                parts.append(f"{name} {value:.3f}")
        return "  ".join(parts)

    def _draw_bar(self, event: TrainEvent) -> None:
        size = shutil.get_terminal_size((80, 24))  # (a terminal reporting 0 x 0 gets 80 x 24)
        width = size.columns - 1  # a wrapped line would not redraw
        if self.bar is None:
            self.bar = tqdm(
                total=BAR_STEPS,
                file=self.stream,
                bar_format="{percentage:3.0f}%|{bar:" + str(BAR_WIDTH) + "}| {desc}",
                ncols=width,
                nrows=size.lines,  # else tqdm hides a bar on a terminal of 0 lines
                leave=False,
            )
        self.bar.ncols = width  # the terminal may have been resized
        self.bar.n = round(BAR_STEPS * min(1.0, event.progress or 0.0))
        self.bar.set_description_str(self.status(event), refresh=False)
        self.bar.refresh()

    def _line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)  # above the bar, which is redrawn
            return
        self.stream.write(text + "\n")
        self.stream.flush()


class StopOnInterrupt:
    """Ctrl-C while training: the first asks the trainer to stop and save, the second aborts.

    Use as a context manager around Trainer.run(), with `control` as the trainer's control.
    """

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.requested = False
        self._previous = None

    def control(self) -> dict | None:
        """The trainer asks this between steps."""
        return {"command": "stop"} if self.requested else None

    def handle(self, signum: int, frame: object) -> None:
        """The SIGINT handler."""
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.stream.write(
            "\nStopping after this step and saving a checkpoint "
            "(press Ctrl-C again to abort without saving).\n"
        )
        self.stream.flush()

    def __enter__(self) -> StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():  # where signals arrive
            self._previous = signal.signal(signal.SIGINT, self.handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
