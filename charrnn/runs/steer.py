"""The steering loop: an agent (a copy of the prior) writes a batch of molecules, they are scored,
and the agent is updated toward the high scorers (REINVENT, or hill climbing) until its time.

Like a trainer it obeys pause / resume / stop between steps, writes metrics.jsonl, hits.json
and a checkpoint any loader reads, and continues exactly where it stopped (steer_state.json).
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import torch

from charrnn.chem.diversity import DiversityFilter, ReplayMemory, batch_summary
from charrnn.chem.scorer import ScoredMolecule
from charrnn.core.checkpoint import (
    load_checkpoint,
    optimizer_tensors,
    restore_optimizer,
    save_checkpoint,
)
from charrnn.core.events import append_event
from charrnn.core.model import CharRNN
from charrnn.core.reinforce import likelihood_update, reinvent_update
from charrnn.core.representation import to_smiles, writes_selfies
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import Vocabulary
from charrnn.core.train_config import Control
from charrnn.files import atomic_write_text
from charrnn.runs.steer_config import (
    BATCHES_FILE,
    HITS_FILE,
    STEER_STATE_FILE,
    SteerConfig,
    SteerEvent,
    collapse_warning,
)


class MoleculeScorer(Protocol):
    """What the loop needs of a score (charrnn.chem.scorer.Scorer is one)."""

    names: tuple[str, ...]

    def __call__(self, smiles: Sequence[str]) -> list[ScoredMolecule]: ...


class Steerer:
    """Holds the prior, the agent, its optimizer and memories; `run()` steers until done."""

    def __init__(
        self,
        prior: CharRNN,
        vocabulary: Vocabulary,
        scorer: MoleculeScorer,
        config: SteerConfig,
        *,
        run_dir: Path | None = None,
        on_event: Callable[[SteerEvent], None] | None = None,
        control: Control | None = None,
        agent: CharRNN | None = None,
        run_info: dict | None = None,
    ):
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.vocabulary, self.scorer, self.config = vocabulary, scorer, config
        self.run_dir = Path(run_dir) if run_dir else None
        self.on_event, self.control = on_event, control
        self.run_info = dict(run_info or {})
        self.prior = prior.eval().requires_grad_(False)
        self.agent = agent if agent is not None else copy.deepcopy(prior).requires_grad_(True)
        self.agent.requires_grad_(True)
        self.optimizer = torch.optim.Adam(self.agent.parameters(), lr=config.learning_rate)
        self.filter = (
            DiversityFilter(
                config.diversity_bucket, config.diversity_threshold, config.diversity_by
            )
            if config.diversity_bucket
            else None
        )
        # None without replay (an empty memory is falsy: it has a length)
        self.memory = ReplayMemory(config.replay_size) if config.replay_size else None
        self.hits: dict[str, dict] = {}  # canonical SMILES -> its row (ScoredMolecule.row)
        self.batches: dict[str, dict] = {}  # "first" / "last": batch_values of that batch
        self.step, self.elapsed, self.best_so_far = 0, 0.0, 0.0

    # ----- one step ---------------------------------------------------------------------
    def _seed(self) -> int:
        return self.config.seed * 1_000_003 + self.step

    def _encode(self, text: str, finished: bool = True) -> list[int]:
        return self.vocabulary.encode(text, add_bos=True, add_eos=finished)

    def step_once(self) -> dict:
        """Sample, score, reward and update once; returns the step's measurements."""
        config = self.config
        drawn = sample(
            self.agent,
            self.vocabulary,
            SampleConfig(
                num_samples=config.batch_size,
                max_length=config.max_length,
                seed=self._seed(),
                precision="float32",
            ),
        )
        scored = self.scored([s.text if s.finished else "" for s in drawn])  # cut off: invalid
        rewards = self.filter.rewards(scored) if self.filter else [m.score for m in scored]
        sequences = [self._encode(s.text, s.finished) for s in drawn]
        if config.method == "reinvent":
            replay = []
            if self.memory is not None and config.replay_samples:
                replay = self.memory.sample(config.replay_samples, random.Random(self._seed()))
            loss = reinvent_update(
                self.agent,
                self.prior,
                self.optimizer,
                sequences + [self._encode(entry.smiles) for entry in replay],
                list(rewards) + [entry.score for entry in replay],
                config.sigma,
                config.gradient_clip,
            )
            if self.memory is not None:
                self.memory.add(scored, rewards)
        else:
            loss = self._hill_climb(scored, rewards)
        self.step += 1
        self._keep_hits(scored)
        values = self.batch_values(scored)  # once: setdefault's argument is always worked out
        self.batches.setdefault("first", values)
        self.batches["last"] = values
        return self._measure(scored, rewards, loss)

    def scored(self, texts: list[str]) -> list[ScoredMolecule]:
        """The score of what the agent wrote. A SELFIES model's text is scored as the SMILES
        it spells, and each molecule keeps the SELFIES written, which replay and hill
        climbing feed the agent again."""
        if not writes_selfies(self.vocabulary):
            return self.scorer(texts)
        scored = self.scorer([to_smiles(text, self.vocabulary) for text in texts])
        return [replace(m, smiles=text) for m, text in zip(scored, texts, strict=True)]

    def _hill_climb(self, scored: list[ScoredMolecule], rewards: list[float]) -> float | None:
        """Fine-tune on the best molecules so far (the memory's, else this batch's)."""
        if self.memory is not None:
            self.memory.add(scored, rewards)
            chosen = [entry.smiles for entry in self.memory.best(self.config.keep_best)]
        else:
            ranked = sorted(range(len(scored)), key=lambda i: -rewards[i])
            chosen = [scored[i].smiles for i in ranked if rewards[i] > 0]
            chosen = chosen[: self.config.keep_best]
        if not chosen:
            return None
        sequences = [self._encode(text) for text in chosen]
        return likelihood_update(self.agent, self.optimizer, sequences, self.config.gradient_clip)

    def batch_values(self, scored: list[ScoredMolecule]) -> dict:
        """A batch as its histograms need it: the step, the score of every molecule (invalid:
        0) and each component's value for the valid ones."""
        valid = [m for m in scored if m.valid]
        values = {
            name: [round(m.values[i], 4) for m in valid if math.isfinite(m.values[i])]
            for i, name in enumerate(self.scorer.names)
        }
        return {"step": self.step, "score": [round(m.score, 4) for m in scored], **values}

    def _keep_hits(self, scored: list[ScoredMolecule]) -> None:
        for molecule in scored:
            if not molecule.valid:
                continue
            known = self.hits.get(molecule.canonical)
            if known is None or molecule.score > known["score"]:
                row = molecule.row(self.scorer.names)  # shown by its canonical SMILES
                self.hits[molecule.canonical] = {**row, "smiles": molecule.canonical}
                self.hits[molecule.canonical]["step"] = self.step
        if len(self.hits) > self.config.hits:
            best = sorted(self.hits.items(), key=lambda item: (-item[1]["score"], item[0]))
            self.hits = dict(best[: self.config.hits])

    def _measure(self, scored: list[ScoredMolecule], rewards: list[float], loss) -> dict:
        summary = batch_summary(scored, self.scorer.names)
        self.best_so_far = max(self.best_so_far, summary["best_score"])
        uniqueness = summary["uniqueness"]
        collapsed = summary["validity"] > 0 and uniqueness < self.config.collapse_uniqueness
        return dict(
            **summary,
            best_so_far=round(self.best_so_far, 4),
            mean_reward=round(sum(rewards) / max(len(rewards), 1), 4),
            loss=None if loss is None else round(loss, 4),
            full_scaffolds=self.filter.full_scaffolds() if self.filter else None,
            warning=collapse_warning(uniqueness) if collapsed else None,
        )

    # ----- the loop ---------------------------------------------------------------------
    def progress(self) -> float:
        parts = []
        if self.config.steps:
            parts.append(self.step / self.config.steps)
        if self.config.minutes:
            parts.append(self.elapsed / (60 * self.config.minutes))
        return min(1.0, max(parts))

    def event(self, kind: str, **values) -> SteerEvent:
        return SteerEvent(
            kind=kind,
            step=self.step,
            elapsed=round(self.elapsed, 3),
            total_steps=self.config.steps,
            progress=round(self.progress(), 4),
            **values,
        )

    def emit(self, event: SteerEvent) -> None:
        if self.run_dir:
            append_event(self.run_dir, event.to_json())
        if self.on_event:
            self.on_event(event)

    def run(self) -> SteerEvent:
        """Steer until the step or time limit, or a stop message; returns the final event."""
        status = "finished"
        while self.progress() < 1.0:
            command = self._obey()
            if command == "stop":
                status = "stopped"
                break
            started = time.perf_counter()
            measured = self.step_once()
            seconds = time.perf_counter() - started
            self.elapsed += seconds
            self.emit(self.event("step", eta=round(self._eta(seconds), 1), **measured))
            self.write_hits()
            every = self.config.checkpoint_every
            if every and self.step % every == 0 and self.progress() < 1.0:
                self.save()
        self.save()
        final = self.event("done", status=status)
        self.emit(final)
        return final

    def _eta(self, seconds_per_step: float) -> float:
        left = []
        if self.config.steps:
            left.append((self.config.steps - self.step) * seconds_per_step)
        if self.config.minutes:
            left.append(60 * self.config.minutes - self.elapsed)
        return max(0.0, min(left))

    def _obey(self) -> str | None:
        """Read the control: a pause waits here (saved first); returns "stop" to end. A new
        learning rate takes effect at once."""
        command = self._read_control()
        if command == "pause":
            self.save()
            self.emit(self.event("paused"))
            while command not in ("resume", "stop"):
                time.sleep(0.2)
                command = self._read_control()
            if command == "resume":
                self.emit(self.event("resumed"))
        return command

    def _read_control(self) -> str | None:
        message = (self.control() if self.control else None) or {}
        if message.get("learning_rate"):
            for group in self.optimizer.param_groups:
                group["lr"] = float(message["learning_rate"])
        return message.get("command")

    # ----- files ------------------------------------------------------------------------
    def write_hits(self) -> None:
        if not self.run_dir:
            return
        rows = sorted(self.hits.values(), key=lambda row: (-row["score"], row["smiles"]))
        record = {"step": self.step, "names": list(self.scorer.names), "rows": rows}
        atomic_write_text(self.run_dir / HITS_FILE, json.dumps(record, ensure_ascii=False))

    def write_batches(self) -> None:
        if not self.run_dir or not self.batches:
            return
        record = {"names": list(self.scorer.names), **self.batches}
        atomic_write_text(self.run_dir / BATCHES_FILE, json.dumps(record, ensure_ascii=False))

    def save(self) -> None:
        """The steered model as a checkpoint (any loader reads it), and what resuming needs."""
        if not self.run_dir:
            return
        tensors, groups = optimizer_tensors(self.optimizer)
        info = {
            "run": self.run_info,
            "step": self.step,
            "elapsed": self.elapsed,
            "steer_config": self.config.to_json(),
            "optimizer_param_groups": groups,
        }
        save_checkpoint(self.run_dir, self.agent, self.vocabulary, info, tensors)
        state = {
            "step": self.step,
            "best_so_far": self.best_so_far,
            "memory": self.memory.to_json() if self.memory is not None else [],
            "filter": self.filter.to_json() if self.filter else {},
            "hits": list(self.hits.values()),
            "batches": self.batches,
        }
        atomic_write_text(self.run_dir / STEER_STATE_FILE, json.dumps(state, ensure_ascii=False))
        self.write_hits()
        self.write_batches()
        self.emit(self.event("checkpoint"))

    def restore(self) -> None:
        """Continue from the run folder's checkpoint and steer_state.json."""
        checkpoint = load_checkpoint(self.run_dir)
        self.agent.load_state_dict(checkpoint.model.state_dict())
        restore_optimizer(
            self.optimizer, checkpoint.tensors, checkpoint.info["optimizer_param_groups"]
        )
        self.step, self.elapsed = checkpoint.step, float(checkpoint.info.get("elapsed", 0.0))
        state = json.loads((self.run_dir / STEER_STATE_FILE).read_text(encoding="utf-8"))
        self.best_so_far = float(state.get("best_so_far", 0.0))
        if self.memory is not None:
            self.memory.restore(state.get("memory", []))
        if self.filter:
            self.filter.restore(state.get("filter", {}))
        self.hits = {row["smiles"]: row for row in state.get("hits", [])}
        self.batches = dict(state.get("batches", {}))
