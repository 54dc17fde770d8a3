"""The training worker: a fresh Python process that trains (or resumes) one run folder.

JobRunner starts a WorkerProcess per run; train_worker runs inside it and reports through
the run folder's files (run.json, metrics.jsonl), reading control.json for messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import torch

from charrnn.core.checkpoint import load_checkpoint, read_header
from charrnn.core.numpy_train import NumpyTrainer
from charrnn.core.tokens import Vocabulary
from charrnn.core.train import Trainer
from charrnn.corpora.reading import CorpusError
from charrnn.files import DiskFullError, atomic_write_text, is_disk_full
from charrnn.runs.config import (
    RunConfig,
    corpus_fingerprint,
    load_corpus,
    read_run_config,
    training_data,
    write_run_config,
)
from charrnn.runs.folder import (
    METRICS_FILE,
    FileControl,
    RunError,
    RunStatus,
    has_model,
    read_metrics,
    update_status,
)
from charrnn.worker_start import memory_message, out_of_memory, process_identity


def train_worker(folder: str, threads: int) -> None:
    """Entry point of a worker process: train (or resume) the run in ``folder``."""
    run_dir = Path(folder)
    torch.set_num_threads(max(1, threads))
    for stale in run_dir.glob(".checkpoint.*.tmp"):  # a killed worker's half-written save
        stale.unlink(missing_ok=True)  # (only this run's training worker writes those)
    control = FileControl(run_dir)  # listening before "running" invites messages
    identity = process_identity(os.getpid())
    update_status(run_dir, status=RunStatus.RUNNING, pid=os.getpid(), process=identity, error=None)
    try:
        config = read_run_config(run_dir)

        def on_event(event):
            if event.kind in ("paused", "resumed"):
                paused = event.kind == "paused"
                update_status(run_dir, status=RunStatus.PAUSED if paused else RunStatus.RUNNING)

        hooks = dict(on_event=on_event, control=control)
        if has_model(run_dir):
            trainer = _resumed_trainer(run_dir, config, hooks)
        else:
            trainer = _new_trainer(run_dir, config, hooks)
        final = trainer.run()
        update_status(run_dir, status=final.status or RunStatus.FINISHED, pid=None)
    except Exception as error:  # the worker's last word: shown to the user, never a traceback
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            error = DiskFullError("the training progress")  # e.g. metrics.jsonl
        reason = memory_message() if out_of_memory(error) else str(error)
        error_text = reason or type(error).__name__
        update_status(run_dir, status=RunStatus.FAILED, pid=None, error=error_text)
        raise SystemExit(1) from None


def run_corpus(run_dir: Path, config: RunConfig):
    """The run's corpus; only built-ins and the workspace's own uploads are read."""
    reference = config.corpus
    if not reference.startswith("builtin:"):
        corpora = (run_dir.parent / "corpora").resolve()
        if Path(reference).resolve().parent != corpora:
            raise CorpusError(
                "This run's corpus is not in this workspace (was the model uploaded?). "
                "Choose a corpus on the Corpus page and train a new run from this one."
            )
    return load_corpus(
        reference, smiles_column=config.smiles_column, drop_invalid=config.drop_invalid
    )


def _new_trainer(run_dir: Path, config: RunConfig, hooks: dict):
    """A fresh start, or a fine-tune of another run's model of this workspace (init_from)."""
    (run_dir / METRICS_FILE).unlink(missing_ok=True)  # a start that failed before a checkpoint
    corpus = run_corpus(run_dir, config)
    base = None
    if config.init_from:
        base_dir = Path(config.init_from)
        if base_dir.resolve().parent != run_dir.resolve().parent:
            raise RunError("A run can only start from another run of the same workspace.")
        base = load_checkpoint(base_dir)
        if base.vocabulary.line_based != (corpus.kind == "smiles"):
            raise RunError("The model to start from learned another kind of corpus.")
        base_config = base.model.config
        if config.engine == "numpy" and (base_config.cell, base_config.layers) != ("rnn", 1):
            raise RunError(
                "The NumPy engine can only start from a one-layer vanilla RNN (an RNN cell). "
                "Choose the PyTorch engine to fine-tune this model, or start from scratch."
            )
    vocabulary = base.vocabulary if base else None
    data = training_data(corpus, config.tokenizer, config.train, vocabulary)
    trainer = _trainer_class(config)(
        data,
        base.model.config if base else config.model,
        config.train,
        run_dir=run_dir,
        model=base.model if base else None,
        run_info={"corpus": config.corpus},
        **hooks,
    )
    write_run_config(run_dir, replace(config, model=trainer.model.config))  # the real vocab size
    return trainer


def _resumed_trainer(run_dir: Path, config: RunConfig, hooks: dict):
    """Continue from the run's checkpoint, on the same corpus and vocabulary."""
    corpus = run_corpus(run_dir, config)
    if corpus_fingerprint(corpus) != config.corpus_sha256:
        raise CorpusError(
            "The corpus has changed since this run began, so it cannot continue where it "
            "stopped. Train a new run from this one instead."
        )
    header = read_header(run_dir)
    data = training_data(
        corpus, config.tokenizer, config.train, Vocabulary.from_json(header["vocabulary"])
    )
    _trim_metrics(run_dir, int(header.get("step", 0)))  # steps after it will be logged again
    return _trainer_class(config).resume(run_dir, data, **hooks)


def _trainer_class(config: RunConfig) -> type[Trainer]:
    """Trainer for the PyTorch engine, NumpyTrainer (a one-layer vanilla RNN) for NumPy."""
    return NumpyTrainer if config.engine == "numpy" else Trainer


def _trim_metrics(run_dir: Path, step: int) -> None:
    """Keep the events up to the checkpoint (and no half-written last line)."""
    kept = [event for event in read_metrics(run_dir) if int(event.get("step", 0)) <= step]
    text = "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in kept)
    atomic_write_text(run_dir / METRICS_FILE, text)


# What a worker process can do: task -> (module, entry function taking folder and threads).
TASKS = {
    "train": ("charrnn.runs.worker", "train_worker"),
    "assess": ("charrnn.runs.assessment", "assess_worker"),
}


# glibc reserves 64 MB of address space per thread for its allocator: capped, so that a
# worker's memory limit counts memory, not reservations (16 threads: 2.0 GB -> 1.2 GB).
ARENAS = os.environ.get("MALLOC_ARENA_MAX", "2")


class WorkerProcess:
    """A training worker in a fresh Python process, with multiprocessing's Process methods.

    Not multiprocessing: under Streamlit, __main__ is the app script, and a spawned child
    would run the whole app again before training. Start it from a thread that lives as
    long as the server (the job runner's): the worker ends when that thread does.
    """

    def __init__(
        self, run_dir: Path, threads: int, task: str = "train", nice: int = 0, memory_mb: float = 0
    ):
        """nice: added to the process's niceness before it imports anything, so that a
        server's pages get the CPU before training does; memory_mb: its address-space limit
        (0: none), set before torch is imported."""
        module, function = TASKS[task]
        code = "import sys; from charrnn.worker_start import prepare_worker; "
        code += f"prepare_worker(int(sys.argv[3]), float(sys.argv[4]), {int(nice)}); "
        code += f"from {module} import {function}; {function}(sys.argv[1], int(sys.argv[2]))"
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        arguments = [str(run_dir), str(threads), str(os.getpid()), str(float(memory_mb or 0))]
        self.popen = subprocess.Popen(
            [sys.executable, "-c", code, *arguments],
            env={**os.environ, "PYTHONPATH": path, "MALLOC_ARENA_MAX": ARENAS},
            stdin=subprocess.DEVNULL,
        )
        self.pid = self.popen.pid

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        self.popen.kill()

    def terminate(self) -> None:
        self.popen.terminate()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
