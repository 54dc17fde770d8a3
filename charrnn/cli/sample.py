"""`python -m charrnn sample` (let a run's model or a shipped prior write), `corpora` and
`priors` (list the built-in corpora and the shipped priors).

Text prints one block per sample; SMILES one per line, with --check marked valid or not.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from charrnn.cli.common import EXIT_OK, checkpoint_folder
from charrnn.cli.console import printable
from charrnn.core.checkpoint import load_checkpoint
from charrnn.core.model import CharRNN, default_device, parameter_count
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import Vocabulary
from charrnn.corpora.builtins import builtin_corpora
from charrnn.errors import UserError
from charrnn.runs.priors import is_prior, load_prior, shipped_priors


def load_model(reference: str) -> tuple[CharRNN, Vocabulary]:
    """The model of a run folder, or of a shipped prior (prior:ID), on this computer's device."""
    if is_prior(reference):
        model, vocabulary, _ = load_prior(reference)
        return model.to(default_device()), vocabulary
    checkpoint = load_checkpoint(checkpoint_folder(Path(reference)), default_device())
    return checkpoint.model, checkpoint.vocabulary


def sample_command(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    model, vocabulary = load_model(args.run_dir)
    smiles = vocabulary.line_based
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
    samples = sample(model, vocabulary, config)
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


def priors_command(args: argparse.Namespace) -> int:
    print(f"{'NAME':<16} {'PARAMETERS':>10} {'MB':>5}  TITLE")
    for prior in shipped_priors():
        model, _, _ = load_prior(prior.reference)
        size = prior.weights.stat().st_size / 1e6
        print(f"{prior.reference:<16} {parameter_count(model):>10,} {size:>5.1f}  {prior.title}")
        if args.verbose:
            record = prior.training
            print(f"{'':<16} {prior.description}")
            print(f"{'':<16} Data: {prior.data}")
            print(
                f"{'':<16} Trained {record.get('steps', 0):,} steps in "
                f"{record.get('training_seconds', 0) / 60:.0f} min on "
                f"{record.get('threads', '?')} thread(s): {record.get('command', '')}"
            )
            metrics = prior.figures.get("metrics", {})
            if metrics:
                shown = ", ".join(
                    f"{key} {value:.3f}"
                    for key, value in metrics.items()
                    if value is not None and not key.startswith("wasserstein")
                )
                print(f"{'':<16} Measured: {shown}\n")
    print(
        "\nSample one: python -m charrnn sample prior:ID --check\n"
        "Fine-tune one: python -m charrnn train CORPUS --init-from prior:ID --out RUN_DIR",
        file=sys.stderr,
    )
    return EXIT_OK


def corpora_command(args: argparse.Namespace) -> int:
    print(f"{'ID':<20} {'KIND':<7} {'DOWNLOAD':<9} TITLE")
    for corpus in builtin_corpora():
        download = "yes" if corpus.needs_download else "no"
        print(f"{corpus.id:<20} {corpus.kind:<7} {download:<9} {corpus.title}")
        if args.verbose:
            print(f"{'':<20} {corpus.description}\n")
    print("\nTrain on one: python -m charrnn train builtin:ID --out RUN_DIR", file=sys.stderr)
    return EXIT_OK
