"""The command line: `python -m charrnn train|sample|evaluate|corpora` on the same engine.

Mistakes a user can fix print as `error: ...` with exit code 2; Ctrl-C stops training and saves.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from dataclasses import asdict, replace
from pathlib import Path

import torch

from charrnn import __version__
from charrnn.console import Progress, StopOnInterrupt, printable
from charrnn.core.checkpoint import CHECKPOINT_FILE, CheckpointError, load_checkpoint
from charrnn.core.model import CELLS, DEFAULT_PRESET, PRESETS, default_device, preset_config
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import TOKENIZERS
from charrnn.core.train import PRECISIONS, TrainConfig, Trainer, validation_loss
from charrnn.corpora.builtins import builtin_corpora
from charrnn.corpora.reading import Corpus, CorpusError
from charrnn.errors import UserError
from charrnn.runs.config import (
    RUN_CONFIG_FILE,
    RunConfig,
    corpus_fingerprint,
    corpus_reference,
    load_corpus,
    read_run_config,
    resolve_tokenizer,
    training_data,
    write_run_config,
)
from charrnn.runs.folder import RunStatus, has_model

EXIT_OK, EXIT_FAILED, EXIT_USER_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
# Command-line option -> field of ModelConfig / TrainConfig.
MODEL_OPTIONS = {"cell": "cell", "layers": "layers", "hidden": "hidden_size"}
MODEL_OPTIONS |= {"embedding": "embedding_size", "dropout": "dropout"}
TRAIN_OPTIONS = ("steps", "minutes", "batch_size", "sequence_length", "learning_rate", "seed")
TRAIN_OPTIONS += ("threads", "precision", "augment", "chem_every", "weight_decay", "average")
# What --resume may change; every other setting stays as the run began.
RESUME_OPTIONS = ("steps", "minutes", "threads", "precision", "chem_every")
EXAMPLES = """examples:
  python -m charrnn corpora
  python -m charrnn train builtin:toy-pattern --out runs/toy --preset tiny --steps 300
  python -m charrnn sample runs/toy --num 3 --temperature 0.8
  python -m charrnn train molecules.smi --out runs/mols --minutes 10
  python -m charrnn evaluate runs/mols
"""


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (0 done, 2 a user error, 130 Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except SystemExit as exit:  # argparse: --help, or a mistake in the options
        return exit.code if isinstance(exit.code, int) else EXIT_USER_ERROR
    except UserError as error:
        print(f"error: {printable(str(error))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:
        print(f"error: {printable(str(error))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\nAborted. Checkpoints saved before stay as they were.", file=sys.stderr)
        return EXIT_INTERRUPTED


# ----- train ---------------------------------------------------------------------------
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
    if final.status == RunStatus.STOPPED:
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
    train_config = TrainConfig(**_given(args, TRAIN_OPTIONS))
    if train_config.augment and corpus.kind != "smiles":
        raise UserError("--augment writes molecules in other ways; it needs a SMILES corpus.")
    if train_config.chem_every and corpus.kind != "smiles":
        raise UserError("--chem-every checks sampled molecules; it needs a SMILES corpus.")
    given = _given(args, tuple(MODEL_OPTIONS))
    overrides = {MODEL_OPTIONS[option]: value for option, value in given.items()}
    base = None
    if args.init_from:
        base = load_checkpoint(_checkpoint_folder(Path(args.init_from)))
        if overrides or args.preset:
            raise UserError(
                f"--init-from continues the model in {args.init_from} as it is: leave out "
                "--preset, --cell, --layers, --hidden, --embedding and --dropout."
            )
        if base.vocabulary.line_based != (corpus.kind == "smiles"):
            learned = "SMILES" if base.vocabulary.line_based else "text"
            raise CorpusError(
                f"The model in {args.init_from} learned {learned}, and {args.corpus} is "
                f"{corpus.kind}. Fine-tune it on a corpus of the same kind."
            )
        tokenizer = base.vocabulary.tokenizer
        if args.tokenizer not in ("auto", tokenizer):
            raise UserError(f"The model in {args.init_from} uses the {tokenizer} tokenizer.")
    else:
        tokenizer = resolve_tokenizer(args.tokenizer, corpus)
    data = training_data(corpus, tokenizer, train_config, base.vocabulary if base else None)
    preset = None if base else args.preset or DEFAULT_PRESET
    model_config = (
        base.model.config if base else preset_config(preset, data.vocabulary.size, **overrides)
    )
    trainer = Trainer(
        data,
        model_config,
        train_config,
        run_dir=run_dir,
        model=base.model if base else None,
        run_info={"corpus": reference},
        **hooks,
    )
    run_config = RunConfig(
        corpus=reference,
        corpus_kind=corpus.kind,
        corpus_sha256=corpus_fingerprint(corpus),
        tokenizer=tokenizer,
        model=trainer.model.config,
        train=train_config,
        smiles_column=args.smiles_column,
        drop_invalid=args.drop_invalid,
        preset=preset,
        init_from=str(Path(args.init_from).resolve()) if args.init_from else None,
    )
    write_run_config(run_dir, run_config)
    return trainer, corpus.name


def _resumed_trainer(args: argparse.Namespace, run_dir: Path, **hooks) -> tuple[Trainer, str]:
    run_config = read_run_config(run_dir)
    if not has_model(run_dir):
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
    if corpus_fingerprint(corpus) != run_config.corpus_sha256:
        raise CorpusError(
            f"The corpus {run_config.corpus} has changed since this run began, so it cannot "
            f"continue where it stopped. Restore the file, or fine-tune a new run on it with "
            f"--init-from {run_dir}."
        )
    train_config = run_config.train
    if args.steps is not None or args.minutes is not None:  # new limits, both restated
        train_config = replace(train_config, steps=args.steps, minutes=args.minutes)
    train_config = replace(train_config, **_given(args, ("threads", "precision", "chem_every")))
    if train_config.chem_every and run_config.corpus_kind != "smiles":
        raise UserError("--chem-every checks sampled molecules; this run learns text.")
    vocabulary = load_checkpoint(run_dir).vocabulary
    data = training_data(corpus, run_config.tokenizer, train_config, vocabulary)
    trainer = Trainer.resume(run_dir, data, train_config, **hooks)
    if not trainer.finished():
        write_run_config(run_dir, replace(run_config, train=train_config))
    return trainer, corpus.name


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict:
    """The options among names that the user gave (left out ones are None or False)."""
    values = {name: vars(args)[name] for name in names}
    return {
        name: value for name, value in values.items() if value is not None and value is not False
    }


def _changed_on_resume(args: argparse.Namespace, run: RunConfig) -> list[str]:
    """The options given that differ from how the run began (repeating them is fine)."""
    began = {name: getattr(run.train, name) for name in TRAIN_OPTIONS}
    began |= {option: getattr(run.model, field) for option, field in MODEL_OPTIONS.items()}
    began |= {"preset": run.preset, "smiles_column": run.smiles_column}
    began |= {"drop_invalid": run.drop_invalid, "init_from": run.init_from}
    given = _given(args, tuple(name for name in began if name not in RESUME_OPTIONS))
    if args.init_from:
        given["init_from"] = str(Path(args.init_from).resolve())
    changed = [name for name, value in given.items() if value != began[name]]
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


def _checkpoint_folder(run_dir: Path) -> Path:
    """run_dir if it holds a checkpoint, else CheckpointError saying what to do."""
    if not has_model(run_dir):
        raise CheckpointError(
            f"There is no checkpoint in {run_dir} (no {CHECKPOINT_FILE}). Train a run there "
            f"first: python -m charrnn train CORPUS --out {shlex.quote(str(run_dir))}"
        )
    return run_dir


# ----- sample and evaluate -------------------------------------------------------------
def sample_command(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    checkpoint = load_checkpoint(_checkpoint_folder(Path(args.run_dir)), default_device())
    smiles = checkpoint.vocabulary.line_based
    if args.check and not smiles:
        raise UserError("--check marks SMILES valid or invalid; this run learned text.")
    config = SampleConfig(
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        prompt=args.prompt,
        max_length=args.length,
        num_samples=args.num or (10 if smiles else 1),
        seed=args.seed,
    )
    samples = sample(checkpoint.model, checkpoint.vocabulary, config)
    rows = [asdict(item) for item in samples]
    if args.check:
        from charrnn.chem.smiles import smiles_problem

        for row in rows:
            row["problem"] = smiles_problem(row["text"])
            row["valid"] = row["problem"] is None
    if args.json:
        print(json.dumps(rows, indent=2))
    elif smiles:
        for row in rows:
            verdict = "" if not args.check else "\tvalid" if row["valid"] else "\tinvalid: "
            print(printable(row["text"]) + verdict + printable(row.get("problem") or ""))
        if args.check:
            valid = sum(row["valid"] for row in rows)
            print(f"{valid} of {len(rows)} samples are valid molecules.", file=sys.stderr)
    else:
        for number, row in enumerate(rows, start=1):
            if len(rows) > 1:
                print(
                    f"--- sample {number} of {len(rows)} (log-likelihood "
                    f"{row['log_likelihood']:.2f}, {row['tokens']} tokens) ---"
                )
            print(printable(row["text"], one_line=False))
            if len(rows) > 1:
                print()
    return EXIT_OK


def evaluate_command(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    run_dir = Path(args.run_dir)
    run_config = read_run_config(run_dir)
    device = default_device()
    checkpoint = load_checkpoint(_checkpoint_folder(run_dir), device)
    corpus = load_corpus(
        run_config.corpus,
        smiles_column=run_config.smiles_column,
        drop_invalid=run_config.drop_invalid,
    )
    # Score every held-out token with the trainer's own validation function.
    data = training_data(corpus, run_config.tokenizer, run_config.train, checkpoint.vocabulary)
    loss = validation_loss(checkpoint.model, data, sequence_length=run_config.train.sequence_length)
    results: dict = {"run": str(run_dir), "corpus": run_config.corpus, "step": checkpoint.step}
    if loss is not None:
        results |= {"validation_loss": loss, "perplexity": math.exp(loss)}
        results["bits_per_token"] = loss / math.log(2)
    table = None  # MOSES's metrics, for SMILES runs
    if checkpoint.vocabulary.line_based:
        options = SampleConfig(args.temperature, max_length=args.length, num_samples=args.num)
        options = replace(options, seed=args.seed)
        generated = [s.text for s in sample(checkpoint.model, checkpoint.vocabulary, options)]
        results["temperature"] = args.temperature
        table = _molecule_metrics(generated, corpus, args, results)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        per = "character" if run_config.tokenizer == "char" else "token"
        print(_results_table(results, per))
        if table is not None:
            print(f"\n{printable(table, one_line=False)}")
    return EXIT_OK


def _molecule_metrics(
    generated: list[str], corpus: Corpus, args: argparse.Namespace, results: dict
) -> str:
    """MOSES's metrics of the samples against the corpus: added to `results` (counts, the
    training set's size, one entry per metric) and returned as a table to print.

    The training statistics come from the cache after the first time on a corpus; while
    they are computed, progress lines go to stderr.
    """
    from charrnn.chem.metrics import evaluate_molecules, metrics_table, training_stats
    from charrnn.chem.smiles import basic_metrics

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    fcd = not args.no_fcd
    stats = training_stats(corpus.lines, fcd=fcd, workers=args.threads, progress=progress)
    metrics = evaluate_molecules(generated, stats, fcd=fcd, workers=args.threads)
    results |= asdict(basic_metrics(generated, stats.canonical))
    results["training"] = {"molecules": stats.molecules, "valid": stats.valid}
    results["metrics"] = [asdict(metric) for metric in metrics]
    return metrics_table(metrics, explain=args.explain)


def _results_table(results: dict, per: str) -> str:
    rows = [("run", f"{results['run']} (step {results['step']})"), ("corpus", results["corpus"])]
    if "validation_loss" in results:
        rows.append(("validation loss", f"{results['validation_loss']:.4f} nats/{per}"))
        rows.append(("perplexity", f"{results['perplexity']:.3f}"))
    if "validity" in results:
        r, training = results, results["training"]
        rows += [
            (
                "samples",
                f"{r['samples']} at temperature {r['temperature']}: {r['valid']} valid, "
                f"{r['unique']} distinct, {r['novel']} not in the corpus",
            ),
            (
                "training set",
                f"{training['valid']:,} valid of {training['molecules']:,} "
                "molecules, the corpus the samples are compared with",
            ),
        ]
    return "\n".join(f"{name:<16} {printable(value)}" for name, value in rows)


def corpora_command(args: argparse.Namespace) -> int:
    print(f"{'ID':<20} {'KIND':<7} {'DOWNLOAD':<9} TITLE")
    for corpus in builtin_corpora():
        download = "yes" if corpus.needs_download else "no"
        print(f"{corpus.id:<20} {corpus.kind:<7} {download:<9} {corpus.title}")
        if args.verbose:
            print(f"{'':<20} {corpus.description}\n")
    print("\nTrain on one: python -m charrnn train builtin:ID --out RUN_DIR", file=sys.stderr)
    return EXIT_OK


# ----- the parser ----------------------------------------------------------------------
def _number(kind: type, *, minimum: float = 0, inclusive: bool = False):
    """An argparse type: a number above minimum (or at least it, when inclusive)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < minimum or (value == minimum and not inclusive):
            at_least = "at least" if inclusive else "more than"
            raise argparse.ArgumentTypeError(f"must be {at_least} {minimum}, not {text}")
        return value

    return parse


def _fraction(text: str) -> float:
    """A number from 0 up to (not including) 1, for argparse."""
    value = _number(float, inclusive=True)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be less than 1, not {text}")
    return value


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions to the terminal, but prints the examples line by line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def build_parser() -> argparse.ArgumentParser:
    formatter = _Formatter
    parser = argparse.ArgumentParser(
        prog="python -m charrnn",
        description="Teach a small recurrent network (RNN, GRU or LSTM) to write text or "
        "SMILES molecules one character at a time, then let it write.",
        epilog=EXAMPLES,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"charrnn {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    count, amount = _number(int), _number(float)

    train = commands.add_parser(
        "train",
        help="train a model on a corpus (or resume a run)",
        description="Train a model on a corpus. The run folder (--out) gets config.json, "
        "metrics.jsonl and checkpoint.safetensors. Ctrl-C stops after the current step and "
        "saves a checkpoint that --resume continues; a second Ctrl-C aborts.",
        epilog=EXAMPLES,
        formatter_class=formatter,
    )
    train.set_defaults(handler=train_command)
    train.add_argument(
        "corpus",
        nargs="?",
        metavar="CORPUS",
        help="what to learn: a file (.txt, .smi, .csv; each may be .gz) or builtin:ID "
        "(list them with `python -m charrnn corpora`); --resume may leave it out",
    )
    train.add_argument("--out", required=True, metavar="RUN_DIR", help="the run folder")
    group = train.add_argument_group("corpus")
    group.add_argument("--smiles-column", metavar="NAME", help="the CSV column of SMILES")
    group.add_argument(
        "--drop-invalid",
        action="store_true",
        help="leave out SMILES lines RDKit cannot read (without it, such lines are an error)",
    )
    group.add_argument(
        "--tokenizer",
        choices=("auto", *TOKENIZERS),
        default="auto",
        help="how text is cut into tokens; auto (default): smiles for SMILES corpora "
        "(Cl, Br, [nH] are one token each), char otherwise",
    )
    group = train.add_argument_group("model (a preset, and any of its sizes changed)")
    group.add_argument("--preset", choices=PRESETS, help=f"model size (default: {DEFAULT_PRESET})")
    group.add_argument("--cell", choices=CELLS, help="the recurrent cell type")
    group.add_argument("--layers", type=count, help="stacked recurrent layers")
    group.add_argument("--hidden", type=count, help="hidden state size of each layer")
    group.add_argument("--embedding", type=count, help="size of each token's embedding")
    group.add_argument("--dropout", type=float, help="dropout between layers, 0 to <1")
    group = train.add_argument_group("training")
    defaults = TrainConfig()
    group.add_argument(
        "--steps", type=count, help=f"stop after this many steps in all (default: {defaults.steps})"
    )
    group.add_argument("--minutes", type=amount, help="stop after this much training time in all")
    group.add_argument(
        "--batch-size", type=count, help=f"sequences per step (default: {defaults.batch_size})"
    )
    group.add_argument(
        "--sequence-length",
        type=count,
        help=f"tokens per text window (default: {defaults.sequence_length})",
    )
    group.add_argument(
        "--learning-rate",
        type=amount,
        help=f"Adam's step size (default: {defaults.learning_rate:g})",
    )
    group.add_argument(
        "--weight-decay",
        type=_number(float, inclusive=True),
        help="pull the weights towards 0 each step (AdamW), against memorising "
        f"(default: {defaults.weight_decay:g})",
    )
    group.add_argument(
        "--average",
        type=_fraction,
        metavar="DECAY",
        help="keep a moving average of the weights (e.g. 0.999: about the last 1,000 steps) "
        "and save that as the model; usually a little better on new text (default: 0, off)",
    )
    group.add_argument("--seed", type=int, help="random seed (default: 0)")
    group.add_argument("--threads", type=count, help="CPU threads for torch")
    group.add_argument(
        "--precision", choices=PRECISIONS, help="auto (default): bfloat16 where fast"
    )
    group.add_argument(
        "--augment",
        action="store_true",
        help="SMILES: train on random spellings of each molecule, not one",
    )
    group.add_argument(
        "--chem-every",
        type=_number(int, inclusive=True),
        metavar="N",
        help="SMILES: every N steps, sample 100 molecules and show their validity, "
        "uniqueness and novelty (default: 0, never)",
    )
    group = train.add_argument_group("continuing")
    group.add_argument(
        "--init-from",
        metavar="RUN_DIR",
        help="fine-tune the model of another run on this corpus (a new run in --out)",
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out where it stopped (give --steps/--minutes to change "
        "its limits)",
    )

    sampler = commands.add_parser(
        "sample",
        help="let a trained model write",
        description="Let the model of a run write samples. Text prints one block per "
        "sample; SMILES print one per line (with --check: valid or invalid, and why).",
    )
    sampler.set_defaults(handler=sample_command)
    sampler.add_argument("run_dir", metavar="RUN_DIR", help="a run folder with a checkpoint")
    sampler.add_argument(
        "--temperature",
        type=_number(float, inclusive=True),
        default=1.0,
        help="below 1 safer, above 1 wilder, 0 always the likeliest (default: 1.0)",
    )
    sampler.add_argument(
        "--top-k", type=int, default=0, help="pick only among the k likeliest (0: all)"
    )
    sampler.add_argument(
        "--top-p",
        type=float,
        default=1.0,
        help="pick among the likeliest whose chances add up to p",
    )
    sampler.add_argument("--prompt", default="", help="the beginning each sample continues")
    sampler.add_argument("--length", type=count, default=200, help="most tokens to write")
    sampler.add_argument("--num", type=count, help="how many samples (default: 1 text, 10 SMILES)")
    sampler.add_argument("--seed", type=int, help="random seed, for the same samples again")
    sampler.add_argument("--threads", type=count, help="CPU threads for torch")
    sampler.add_argument("--check", action="store_true", help="SMILES: mark valid or invalid")
    sampler.add_argument(
        "--json", action="store_true", help="print a JSON list instead of plain text"
    )

    evaluator = commands.add_parser(
        "evaluate",
        help="score a trained model",
        description="Score a run's model: its validation loss on the held-out part of the "
        "corpus, and for SMILES MOSES's metrics of --num samples against the corpus "
        "(validity, uniqueness, novelty, IntDiv, SNN, Frag, Scaf, filters, FCD and property "
        "distances). The first evaluation on a corpus describes its molecules once (minutes "
        "for 100,000 molecules, mostly FCD); later ones read that from the cache in "
        "$CHARRNN_CACHE or ~/.cache/charrnn.",
    )
    evaluator.set_defaults(handler=evaluate_command)
    evaluator.add_argument("run_dir", metavar="RUN_DIR", help="a run folder made by train")
    evaluator.add_argument("--num", type=count, default=1000, help="SMILES samples (default: 1000)")
    evaluator.add_argument(
        "--temperature", type=_number(float, inclusive=True), default=1.0, help="(default: 1.0)"
    )
    evaluator.add_argument("--length", type=count, default=200, help="most tokens per sample")
    evaluator.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    evaluator.add_argument(
        "--threads", type=count, help="CPU threads for torch and RDKit (default: all cores)"
    )
    evaluator.add_argument(
        "--no-fcd",
        action="store_true",
        help="SMILES: leave out the Fréchet ChemNet Distance (its first time on a corpus is slow)",
    )
    evaluator.add_argument(
        "--explain", action="store_true", help="SMILES: explain each metric in plain words"
    )
    evaluator.add_argument("--json", action="store_true", help="print JSON instead of a table")

    lister = commands.add_parser("corpora", help="list the built-in corpora")
    lister.set_defaults(handler=corpora_command)
    lister.add_argument("--verbose", "-v", action="store_true", help="describe each one")
    return parser
