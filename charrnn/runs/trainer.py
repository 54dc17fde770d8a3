"""The trainer of a run folder, new or resumed: Trainer or NumpyTrainer as its config says.

The one place a planned run (config.json) becomes a trainer: the worker and the command line
both call `run_trainer`; the corpus is read once here, and config.json is never rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path

from charrnn.core.checkpoint import CHECKPOINT_FILE, Checkpoint, load_checkpoint, read_header
from charrnn.core.numpy_train import NumpyTrainer
from charrnn.core.tokens import Vocabulary
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig
from charrnn.corpora.reading import Corpus, CorpusError
from charrnn.files import atomic_write_text
from charrnn.runs.config import (
    RunConfig,
    corpus_fingerprint,
    load_corpus,
    read_run_config,
    training_data,
)
from charrnn.runs.folder import METRICS_FILE, RunError, read_metrics
from charrnn.runs.priors import is_prior, load_prior

CHANGED_CORPUS = (
    "The corpus has changed since this run began, so it cannot continue where it stopped. "
    "Train a new run from this one instead."
)


def run_trainer(
    run_dir: Path,
    config: RunConfig | None = None,
    *,
    corpus: Corpus | None = None,
    train: TrainConfig | None = None,
    in_workspace: bool = False,
    **hooks,
) -> Trainer:
    """The trainer of the run in ``run_dir``: resumed from its checkpoint when it has one,
    else new (a fresh model, or the model of ``config.init_from`` to fine-tune). A planned
    config (runs.plan) holds the vocabulary size the corpus gives, so it is not written again.

    ``config`` defaults to the folder's config.json; ``corpus``, when already read, is the
    run's corpus; ``train`` replaces the run's TrainConfig on resuming (new limits).
    ``in_workspace``: the corpus and the model to start from must be the run's workspace's
    (the worker; the command line reads any file). ``hooks``: on_event, control.
    """
    run_dir = Path(run_dir)
    config = config or read_run_config(run_dir)
    if corpus is None:
        corpus = run_corpus(run_dir, config, in_workspace)
    engine = NumpyTrainer if config.engine == "numpy" else Trainer
    if (run_dir / CHECKPOINT_FILE).is_file():
        if corpus_fingerprint(corpus) != config.corpus_sha256:
            raise CorpusError(CHANGED_CORPUS)
        header = read_header(run_dir)
        vocabulary = Vocabulary.from_json(header["vocabulary"])
        data = training_data(corpus, config.tokenizer, train or config.train, vocabulary)
        _trim_metrics(run_dir, int(header.get("step", 0)))  # later steps are logged again
        return engine.resume(run_dir, data, train, **hooks)
    (run_dir / METRICS_FILE).unlink(missing_ok=True)  # a start that failed before a checkpoint
    base = None
    if is_prior(config.init_from):
        model, vocabulary, _ = load_prior(config.init_from)
        base = Checkpoint(model=model, vocabulary=vocabulary, info={}, tensors={})
        if corpus.kind != "smiles":
            raise RunError("A shipped molecule prior can only be fine-tuned on molecules.")
    elif config.init_from:
        base_dir = Path(config.init_from)
        if in_workspace and base_dir.resolve().parent != run_dir.resolve().parent:
            raise RunError("A run can only start from another run of the same workspace.")
        base = load_checkpoint(base_dir)
        if base.vocabulary.line_based != (corpus.kind == "smiles"):
            raise RunError("The model to start from learned another kind of corpus.")
        shape = (base.model.config.cell, base.model.config.layers)
        if config.engine == "numpy" and shape != ("rnn", 1):
            raise RunError(
                "The NumPy engine can only start from a one-layer vanilla RNN (an RNN cell). "
                "Choose the PyTorch engine to fine-tune this model, or start from scratch."
            )
    data = training_data(corpus, config.tokenizer, config.train, base.vocabulary if base else None)
    return engine(
        data,
        config.model,
        config.train,
        run_dir=run_dir,
        model=base.model if base else None,
        run_info={"corpus": config.corpus},
        **hooks,
    )


def run_corpus(run_dir: Path, config: RunConfig, in_workspace: bool = True) -> Corpus:
    """The run's corpus; in a workspace, only built-ins and its own uploads are read."""
    reference = config.corpus
    if in_workspace and not _in_workspace(run_dir.parent, reference):
        raise CorpusError(
            "This run's corpus is not in this workspace (was the model uploaded?). "
            "Choose a corpus on the Corpus page and train a new run from this one."
        )
    return load_corpus(
        reference, smiles_column=config.smiles_column, drop_invalid=config.drop_invalid
    )


def reference_corpus(workspace_folder: Path, reference: str) -> Corpus:
    """A corpus to compare a model's molecules with: a built-in, or one of the workspace's
    own SMILES uploads (nothing else is read)."""
    if not reference or not _in_workspace(workspace_folder, reference):
        raise CorpusError("Choose a corpus of molecules to compare with (built-in or yours).")
    corpus = load_corpus(reference, drop_invalid=True)  # only compared with
    if corpus.kind != "smiles":
        raise CorpusError(f"{corpus.name} is text, not molecules: choose a molecule corpus.")
    return corpus


def _in_workspace(workspace_folder: Path, reference: str) -> bool:
    if reference.startswith("builtin:"):
        return True
    try:
        return Path(reference).resolve().parent == (workspace_folder / "corpora").resolve()
    except (OSError, ValueError):
        return False


def _trim_metrics(run_dir: Path, step: int) -> None:
    """Keep the events up to the checkpoint (and no half-written last line)."""
    kept = [event for event in read_metrics(run_dir) if int(event.get("step", 0)) <= step]
    text = "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in kept)
    atomic_write_text(run_dir / METRICS_FILE, text)
