"""The command line's parser: its commands, options, help texts and examples.

Each command's handler lives in its own module (train, sample, evaluate, steer).
"""

from __future__ import annotations

import argparse

from charrnn import __version__
from charrnn.cli.evaluate import evaluate_command
from charrnn.cli.sample import corpora_command, priors_command, sample_command
from charrnn.cli.steer import add_steer_parser
from charrnn.cli.train import train_command
from charrnn.core.model import CELLS, DEFAULT_PRESET, PRESETS
from charrnn.core.tokens import TOKENIZERS
from charrnn.core.train_config import PRECISIONS, TrainConfig
from charrnn.runs.plan import FINETUNE_CHEM_EVERY, FINETUNE_LEARNING_RATE, FINETUNE_STEPS

EXAMPLES = """examples:
  python -m charrnn corpora
  python -m charrnn train builtin:toy-pattern --out runs/toy --preset tiny --steps 300
  python -m charrnn sample runs/toy --num 3 --temperature 0.8
  python -m charrnn train molecules.smi --out runs/mols --minutes 10
  python -m charrnn evaluate runs/mols
  python -m charrnn priors
  python -m charrnn train mine.smi --init-from prior:moses --out runs/tuned --minutes 2
  python -m charrnn sample prior:moses --num 5 --check
  python -m charrnn sample prior:moses --unique 100 --max-tries 1000 --format sdf --out hits.sdf
  python -m charrnn steer prior:moses --score score.json --minutes 5 --out runs/steered
"""


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
        "(Cl, Br, [nH] are one token each), char otherwise; selfies: molecules written as "
        "SELFIES, one token per [symbol] (every sample decodes to a molecule; molecules "
        "SELFIES cannot write are left out and named)",
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
        "--spelling",
        choices=("canonical", "as-written"),
        help="SMILES: read each molecule in RDKit's canonical spelling (the default from a "
        "shipped prior, which learned it) or as the corpus writes it (the default otherwise)",
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
        metavar="RUN_DIR|prior:ID",
        help="fine-tune the model of another run, or a shipped prior (prior:moses; list them "
        "with `python -m charrnn priors`), on this corpus (a new run in --out). From a prior "
        f"the defaults are fine-tuning's: learning rate {FINETUNE_LEARNING_RATE:g}, "
        f"{FINETUNE_STEPS} steps, chemistry checks every {FINETUNE_CHEM_EVERY} steps",
    )
    group.add_argument(
        "--freeze-layers",
        type=_number(int, inclusive=True),
        metavar="N",
        help="with --init-from: keep the lowest N recurrent layers as they are",
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
    sampler.add_argument(
        "run_dir", metavar="RUN_DIR", help="a run folder with a checkpoint, or prior:ID"
    )
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
    sampler.add_argument(
        "--unique",
        type=count,
        metavar="N",
        help="sample until N different valid molecules (SMILES, compared as canonical "
        "SMILES) or N different lines (text) are found, or --max-tries samples are drawn",
    )
    sampler.add_argument(
        "--max-tries",
        type=count,
        metavar="M",
        help="with --unique: draw at most M samples in all (default: 10 x N)",
    )
    sampler.add_argument(
        "--format",
        choices=("smi", "csv", "sdf"),
        help="write a file: one sample per line (smi), a table with log-likelihoods and, "
        "for molecules, their properties (csv), or an SD file of the valid molecules (sdf)",
    )
    sampler.add_argument("--out", metavar="FILE", help="write to FILE (default: print)")

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
    evaluator.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        help="a run folder made by train (a shipped prior, prior:ID, is scored with bench_prior)",
    )
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

    add_steer_parser(commands, formatter, count, amount)

    lister = commands.add_parser("corpora", help="list the built-in corpora")
    lister.set_defaults(handler=corpora_command)
    lister.add_argument("--verbose", "-v", action="store_true", help="describe each one")
    lister = commands.add_parser("priors", help="list the shipped pretrained models (priors)")
    lister.set_defaults(handler=priors_command)
    lister.add_argument("--verbose", "-v", action="store_true", help="describe each one")
    return parser
