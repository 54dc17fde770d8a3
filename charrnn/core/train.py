"""Trainer: the loop that teaches a CharRNN a corpus, reporting progress as it goes.

Text trains on windows of parallel streams with the hidden state carried across windows;
line corpora on length-bucketed padded batches with a masked loss. Between steps it obeys
control messages (pause, resume, stop, a new learning rate) and checkpoints atomically;
SMILES runs can check the validity, uniqueness and novelty of fresh samples as they learn.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from charrnn.core.averaging import WeightAverage
from charrnn.core.batches import TextStreams, TrainingData, bucketed_batches, pad_batch
from charrnn.core.events import append_event
from charrnn.core.model import CharRNN, ModelConfig, default_device, detach_state, use_bfloat16
from charrnn.core.representation import to_smiles
from charrnn.core.tokens import PAD_ID
from charrnn.core.train_checkpoint import resume_training, save_training_checkpoint
from charrnn.core.train_config import Control, TrainConfig, TrainEvent
from charrnn.core.train_samples import augmented, preview_samples, sample_chemistry
from charrnn.core.validation import validation_loss

if TYPE_CHECKING:
    from charrnn.chem.smiles import BasicMetrics


class Trainer:
    """Holds the model, optimizer and position of one run; `run()` trains until done."""

    def __init__(
        self,
        data: TrainingData,
        model_config: ModelConfig,
        config: TrainConfig,
        *,
        run_dir: Path | None = None,
        on_event: Callable[[TrainEvent], None] | None = None,
        control: Control | None = None,
        device: torch.device | str | None = None,
        model: CharRNN | None = None,
        run_info: dict | None = None,
    ):
        self.data, self.config = data, config
        self.run_dir = Path(run_dir) if run_dir else None
        self.on_event, self.control = on_event, control
        self.device = torch.device(device) if device else default_device()
        self.run_info = dict(run_info or {})
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        if model is None:
            model = CharRNN(replace(model_config, vocab_size=data.vocabulary.size))
        elif model.config.vocab_size < data.vocabulary.size:
            model.resize_vocabulary(data.vocabulary.size)  # fine-tuning on new characters
        self.model = model.to(self.device)
        self.model.freeze_lower_layers(config.freeze_layers)
        self.optimizer = torch.optim.Adam(  # AdamW's decoupled decay; none by default
            [weight for weight in self.model.parameters() if weight.requires_grad],
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
            decoupled_weight_decay=True,
        )
        self.bfloat16 = use_bfloat16(config.precision, self.device)
        self.average = WeightAverage(self.model, config.average) if config.average else None
        self.generator = torch.Generator().manual_seed(config.seed + 1)
        self.step, self.elapsed, self.base_learning_rate = 0, 0.0, config.learning_rate
        self.state = None  # carried hidden state (text)
        self.offsets: dict = {}  # text: the current epoch's start offset
        self.epoch_batches: list[list[int]] = []  # lines: remaining batches of this epoch
        self.epoch = 0
        self.training_canonical: frozenset[str] | None = None  # for novelty, made when needed
        if data.line_based:
            self.lengths = [len(ids) for ids in data.train]
        else:
            self.streams = TextStreams(data.train, config.batch_size, config.sequence_length)

    # ----- schedule -------------------------------------------------------------------
    @property
    def total_steps(self) -> int | None:
        return self.config.steps

    def progress(self) -> float:
        parts = []
        if self.config.steps:
            parts.append(self.step / self.config.steps)
        if self.config.minutes:
            parts.append(self.elapsed / (60 * self.config.minutes))
        return min(1.0, max(parts))

    def learning_rate(self) -> float:
        base = self.base_learning_rate
        if self.step < self.config.warmup_steps:
            return base * (self.step + 1) / self.config.warmup_steps
        if self.config.schedule == "constant":
            return base
        floor = self.config.final_learning_rate
        return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * self.progress())))

    # ----- batches --------------------------------------------------------------------
    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.data.line_based:
            inputs, targets, new_epoch = self.streams.window(
                self.step, self.generator, self.offsets
            )
            if new_epoch:
                self.state = None
            self.epoch = self.step // self.streams.windows_per_epoch
            return inputs, targets
        if not self.epoch_batches:
            self.epoch_batches = bucketed_batches(
                self.lengths, self.config.batch_size, self.generator
            )
            self.epoch += 1
        indices = self.epoch_batches.pop()
        if self.config.augment and self.data.train_lines:
            return pad_batch(augmented(self.data, indices, self.generator))
        return pad_batch([self.data.train[i] for i in indices])

    # ----- one step and evaluation ------------------------------------------------------
    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bfloat16)

    def train_step(self) -> tuple[float, int]:
        """One optimizer step; returns (mean loss, tokens scored)."""
        inputs, targets = (t.to(self.device) for t in self.next_batch())
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        with self.autocast():
            logits, state = self.model(inputs, self.state)
        loss = nn.functional.cross_entropy(
            logits.float().flatten(0, 1), targets.flatten(), ignore_index=PAD_ID
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.gradient_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.gradient_clip)
        self.optimizer.step()
        if self.average:
            self.average.update()
        if not self.data.line_based:
            self.state = detach_state(state)
        self.step += 1
        return float(loss.detach()), int((targets != PAD_ID).sum())

    def validation_loss(self) -> float | None:
        """Mean loss per token on the held-out part (nats/token); None without one."""
        return validation_loss(
            self.model,
            self.data,
            max_tokens=self.config.eval_tokens,
            sequence_length=self.config.sequence_length,
            bfloat16=self.bfloat16,
        )

    def preview(self) -> list[str]:
        """A few samples to show at an evaluation (none when preview_samples is 0)."""
        return preview_samples(self.model, self.data, self.config, self.step)

    def checks_chemistry(self) -> bool:
        """SMILES runs with chem_every set check their samples' chemistry; text never."""
        return bool(self.config.chem_every and self.data.line_based and self.data.train_lines)

    def chemistry(self) -> BasicMetrics:
        """Validity, uniqueness and novelty of ``chem_samples`` fresh samples."""
        if self.training_canonical is None:
            from charrnn.chem.smiles import canonical_set

            lines = self.data.train_lines or []
            vocabulary = self.data.vocabulary
            self.training_canonical = canonical_set(to_smiles(line, vocabulary) for line in lines)
        return sample_chemistry(
            self.model, self.data, self.config, self.step, self.training_canonical
        )

    # ----- the loop -------------------------------------------------------------------
    def emit(self, event: TrainEvent) -> None:
        if self.run_dir:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            append_event(self.run_dir, event.to_json())  # metrics.jsonl and last_event.json
        if self.on_event:
            self.on_event(event)

    def event(self, kind: str, **values) -> TrainEvent:
        return TrainEvent(
            kind,
            self.step,
            round(self.elapsed, 3),
            total_steps=self.total_steps,
            progress=round(self.progress(), 4),
            **values,
        )

    def finished(self) -> bool:
        return self.progress() >= 1.0

    def run(self) -> TrainEvent:
        """Train until the step or time limit, or a stop message; returns the final event."""
        config, status = self.config, "finished"
        if self.average:
            self.average.hide()  # shown after the last run(): train the training weights
        loss_sum, token_sum, window_elapsed = 0.0, 0, self.elapsed
        window_step = self.step
        while not self.finished():
            message = self.control() if self.control else None
            if message:
                if message.get("learning_rate"):
                    self.base_learning_rate = float(message["learning_rate"])
                command = message.get("command")
                if command == "pause":
                    self.save_checkpoint()
                    self.emit(self.event("paused"))
                    command = self._wait_while_paused()
                    if command != "stop":
                        self.emit(self.event("resumed"))
                if command == "stop":
                    status = "stopped"
                    break
            started = time.perf_counter()
            loss, tokens = self.train_step()
            # Training time only: evaluations, checkpoints and pauses do not count.
            self.elapsed += time.perf_counter() - started
            loss_sum, token_sum = loss_sum + loss * tokens, token_sum + tokens
            if self.step % config.log_every == 0 or self.finished():
                seconds = max(self.elapsed - window_elapsed, 1e-9)
                speed = token_sum / seconds
                self.emit(
                    self.event(
                        "step",
                        train_loss=round(loss_sum / max(token_sum, 1), 5),
                        learning_rate=self.learning_rate(),
                        tokens_per_second=round(speed, 1),
                        eta=round(self.eta(seconds / max(self.step - window_step, 1)), 1),
                        epoch=round(self.epochs_done(), 3),
                    )
                )
                loss_sum, token_sum, window_elapsed = 0.0, 0, self.elapsed
                window_step = self.step
            if self.step % config.eval_every == 0 and not self.finished():
                self.evaluate()
            if config.chem_every and self.step % config.chem_every == 0 and not self.finished():
                self.check_chemistry()
            if config.checkpoint_every and self.step % config.checkpoint_every == 0:
                self.save_checkpoint()
        self.evaluate()
        self.check_chemistry()
        self.save_checkpoint()
        if self.average:
            self.average.show()  # the model a caller keeps is the averaged one
        final = self.event("done", status=status)
        self.emit(final)
        return final

    def averaged(self):
        """A block in which the model holds the averaged weights (when averaging)."""
        return self.average.shown() if self.average else contextlib.nullcontext()

    def evaluate(self) -> None:
        with self.averaged():
            loss, samples = self.validation_loss(), self.preview()
        self.emit(self.event("eval", validation_loss=_round(loss), samples=samples or None))

    def check_chemistry(self) -> None:
        if not self.checks_chemistry():
            return
        with self.averaged():
            metrics = self.chemistry()
        self.emit(
            self.event(
                "chem",
                validity=round(metrics.validity, 4),
                uniqueness=round(metrics.uniqueness, 4),
                novelty=round(metrics.novelty, 4),
            )
        )

    def eta(self, seconds_per_step: float) -> float:
        left = []
        if self.config.steps:
            left.append((self.config.steps - self.step) * seconds_per_step)
        if self.config.minutes:
            left.append(60 * self.config.minutes - self.elapsed)
        return max(0.0, min(left))

    def epochs_done(self) -> float:
        if self.data.line_based:
            per_epoch = math.ceil(len(self.data.train) / self.config.batch_size)
            return self.epoch - 1 + 1 - len(self.epoch_batches) / max(per_epoch, 1)
        return self.step / self.streams.windows_per_epoch

    def _wait_while_paused(self) -> str:
        while True:
            time.sleep(0.2)
            message = self.control() if self.control else None
            if message and message.get("learning_rate"):
                self.base_learning_rate = float(message["learning_rate"])
            if message and message.get("command") in ("resume", "stop"):
                return message["command"]

    # ----- checkpoints ------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        if self.run_dir:
            save_training_checkpoint(self)

    @classmethod
    def resume(
        cls, run_dir: Path, data: TrainingData, config: TrainConfig | None = None, **kwargs
    ) -> Trainer:
        """Continue a run from its checkpoint, exactly where it stopped."""
        return resume_training(cls, run_dir, data, config, **kwargs)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)
