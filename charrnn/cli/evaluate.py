"""`python -m charrnn evaluate`: a run's validation loss, and for SMILES MOSES's metrics.

The loss is the trainer's own validation function on the held-out part of the corpus.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, replace
from pathlib import Path

import torch

from charrnn.cli.common import EXIT_OK, checkpoint_folder
from charrnn.cli.console import printable
from charrnn.core.checkpoint import load_checkpoint
from charrnn.core.model import default_device
from charrnn.core.representation import to_smiles
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.validation import validation_loss
from charrnn.corpora.reading import Corpus
from charrnn.errors import UserError
from charrnn.runs.config import load_corpus, read_run_config, training_data
from charrnn.runs.priors import find_prior, is_prior


def evaluate_command(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if is_prior(args.run_dir):
        prior = find_prior(args.run_dir)
        raise UserError(
            f"{prior.reference} has no corpus of its own to be scored against: its MOSES table "
            f"is in {prior.weights.parent / 'MODEL_CARD.md'} (made by "
            "benchmarks/bench_prior.py). Sample it with `python -m charrnn sample "
            f"{prior.reference} --check`, or score it on the Chemistry page."
        )
    run_dir = Path(args.run_dir)
    run_config = read_run_config(run_dir)
    device = default_device()
    checkpoint = load_checkpoint(checkpoint_folder(run_dir), device)
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
        vocabulary = checkpoint.vocabulary  # a SELFIES model's samples measured as SMILES
        drawn = sample(checkpoint.model, vocabulary, options)
        generated = [to_smiles(s.text, vocabulary) for s in drawn]
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
