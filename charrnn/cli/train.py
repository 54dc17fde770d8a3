"""`python -m charrnn train`: plan a run (runs.plan) and train it (runs.trainer), or resume it.

The options become a RunChoice; the run folder's trainer is the one the worker would build.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from charrnn.cli.common import EXIT_INTERRUPTED, EXIT_OK, checkpoint_folder, given
from charrnn.cli.console import Progress, StopOnInterrupt
from charrnn.core.checkpoint import CHECKPOINT_FILE, CheckpointError
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig
from charrnn.corpora.reading import CorpusError
from charrnn.errors import UserError
from charrnn.runs.config import (
    RUN_CONFIG_FILE,
    RunConfig,
    corpus_reference,
    load_corpus,
    read_run_config,
    write_run_config,
)
from charrnn.runs.plan import RunChoice, finetune_train, plan_run
from charrnn.runs.priors import is_prior
from charrnn.runs.trainer import run_trainer

# Command-line option -> field of ModelConfig / TrainConfig.
MODEL_OPTIONS = {"cell": "cell", "layers": "layers", "hidden": "hidden_size"}
MODEL_OPTIONS |= {"embedding": "embedding_size", "dropout": "dropout"}
TRAIN_OPTIONS = ("steps", "minutes", "batch_size", "sequence_length", "learning_rate", "seed")
TRAIN_OPTIONS += ("threads", "precision", "augment", "chem_every", "weight_decay", "average")
TRAIN_OPTIONS += ("freeze_layers",)
# What --resume may change; every other setting stays as the run began.
RESUME_OPTIONS = ("steps", "minutes", "threads", "precision", "chem_every")


def train_command(args: argparse.Namespace) -> int:
    run_dir = Path(args.out)
    progress, stop = Progress(sys.stderr), StopOnInterrupt(sys.stderr)
    start = _resumed_trainer if args.resume else _new_trainer
    trainer, corpus_name = start(args, run_dir, on_event=progress, control=stop.control)
    if trainer.finished():
        print(
            f"The run already reached its limit (step {trainer.step}). "
            "Pass a larger --steps or --minutes to train it longer.",
            file=sys.stderr,
        )
        return EXIT_OK
    progress.begin(trainer, corpus_name)
    with stop:
        final = trainer.run()
    progress.end()
    where = shlex.quote(str(run_dir))
    if final.status == "stopped":
        print(
            f"Stopped at step {final.step}; the checkpoint is saved. To continue:\n"
            f"  python -m charrnn train --resume --out {where}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    loss = progress.values.get("validation_loss")
    scored = f", validation loss {loss:.4f}" if loss is not None else ""
    print(f"Done: step {final.step}{scored}. Sample it with:\n  python -m charrnn sample {where}")
    return EXIT_OK


def _new_trainer(args: argparse.Namespace, run_dir: Path, **hooks) -> tuple[Trainer, str]:
    if args.corpus is None:
        raise CorpusError(
            "Name the corpus to learn: a file (.txt, .smi or .csv) or builtin:ID "
            "(see `python -m charrnn corpora`)."
        )
    _refuse_existing_run(run_dir)
    reference = corpus_reference(args.corpus)
    corpus = load_corpus(
        reference, smiles_column=args.smiles_column, drop_invalid=args.drop_invalid
    )
    from_prior = is_prior(args.init_from)
    options = given(args, TRAIN_OPTIONS)
    if getattr(args, "spelling", None):
        options["canonical"] = args.spelling == "canonical" and corpus.kind == "smiles"
    if from_prior:  # a shipped prior: the fine-tuning defaults under what was given
        train_config = finetune_train(corpus.kind == "smiles", **options)
    else:
        train_config = TrainConfig(**options)
    if train_config.freeze_layers and not args.init_from:
        raise UserError("--freeze-layers keeps layers of a model to start from: add --init-from.")
    if train_config.augment and corpus.kind != "smiles":
        raise UserError("--augment writes molecules in other ways; it needs a SMILES corpus.")
    if train_config.chem_every and corpus.kind != "smiles":
        raise UserError("--chem-every checks sampled molecules; it needs a SMILES corpus.")
    chosen = given(args, tuple(MODEL_OPTIONS))
    if args.init_from:
        if not from_prior:
            checkpoint_folder(Path(args.init_from))
        if chosen or args.preset:
            raise UserError(
                f"--init-from continues the model in {args.init_from} as it is: leave out "
                "--preset, --cell, --layers, --hidden, --embedding and --dropout."
            )
    choice = RunChoice(
        corpus=reference,
        train=train_config,
        preset=args.preset,
        model={MODEL_OPTIONS[option]: value for option, value in chosen.items()},
        smiles_column=args.smiles_column,
        drop_invalid=args.drop_invalid,
        tokenizer=args.tokenizer,
        init_from=args.init_from,
    )
    run_config = plan_run(choice, corpus=corpus)
    if run_config.unwritable:
        print(run_config.unwritable_sentence(), file=sys.stderr)
    trainer = run_trainer(run_dir, run_config, corpus=corpus, **hooks)
    write_run_config(run_dir, run_config)
    return trainer, corpus.name


def _resumed_trainer(args: argparse.Namespace, run_dir: Path, **hooks) -> tuple[Trainer, str]:
    run_config = read_run_config(run_dir)
    if not (run_dir / CHECKPOINT_FILE).is_file():
        raise CheckpointError(
            f"{run_dir} has no checkpoint to resume from: it stopped before saving one. "
            "Delete the folder and train again."
        )
    fixed = [f"--{name.replace('_', '-')}" for name in _changed_on_resume(args, run_config)]
    if fixed:
        raise UserError(
            f"{', '.join(fixed)} cannot change when resuming: the run keeps the settings in "
            f"{run_dir / RUN_CONFIG_FILE}. Leave {'it' if len(fixed) == 1 else 'them'} out, "
            "or start a new run from this one "
            f"with --init-from {run_dir}."
        )
    if args.corpus and corpus_reference(args.corpus) != run_config.corpus:
        raise CorpusError(
            f"This run learns {run_config.corpus}, so it resumes on that corpus. Leave CORPUS "
            f"out, or fine-tune a new run on {args.corpus} with --init-from {run_dir}."
        )
    corpus = load_corpus(
        run_config.corpus,
        smiles_column=run_config.smiles_column,
        drop_invalid=run_config.drop_invalid,
    )
    train_config = run_config.train
    if args.steps is not None or args.minutes is not None:  # new limits, both restated
        train_config = replace(train_config, steps=args.steps, minutes=args.minutes)
    train_config = replace(train_config, **given(args, ("threads", "precision", "chem_every")))
    if train_config.chem_every and run_config.corpus_kind != "smiles":
        raise UserError("--chem-every checks sampled molecules; this run learns text.")
    trainer = run_trainer(run_dir, run_config, corpus=corpus, train=train_config, **hooks)
    if not trainer.finished():
        write_run_config(run_dir, replace(run_config, train=train_config))
    return trainer, corpus.name


def _changed_on_resume(args: argparse.Namespace, run: RunConfig) -> list[str]:
    """The options given that differ from how the run began (repeating them is fine)."""
    began = {name: getattr(run.train, name) for name in TRAIN_OPTIONS}
    began |= {option: getattr(run.model, field) for option, field in MODEL_OPTIONS.items()}
    began |= {"preset": run.preset, "smiles_column": run.smiles_column}
    began |= {"drop_invalid": run.drop_invalid, "init_from": run.init_from}
    options = given(args, tuple(name for name in began if name not in RESUME_OPTIONS))
    if args.init_from:
        options["init_from"] = (
            args.init_from if is_prior(args.init_from) else str(Path(args.init_from).resolve())
        )
    changed = [name for name, value in options.items() if value != began[name]]
    return changed + (["tokenizer"] if args.tokenizer not in ("auto", run.tokenizer) else [])


def _refuse_existing_run(run_dir: Path) -> None:
    """Never train over a user's run: a folder that holds one must be resumed instead."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"{run_dir} is a file. Choose a folder name for --out.")
    if any((run_dir / name).exists() for name in (CHECKPOINT_FILE, "metrics.jsonl")):
        raise UserError(
            f"{run_dir} already holds a run. Continue it with `python -m charrnn train "
            f"--resume --out {shlex.quote(str(run_dir))}`, or choose another --out folder."
        )
