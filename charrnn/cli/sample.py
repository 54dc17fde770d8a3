"""`python -m charrnn sample` (let a run's model write) and `corpora` (list the built-ins).

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
from charrnn.core.model import default_device
from charrnn.core.sample import SampleConfig, sample
from charrnn.corpora.builtins import builtin_corpora
from charrnn.errors import UserError


def sample_command(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    checkpoint = load_checkpoint(checkpoint_folder(Path(args.run_dir)), default_device())
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


def corpora_command(args: argparse.Namespace) -> int:
    print(f"{'ID':<20} {'KIND':<7} {'DOWNLOAD':<9} TITLE")
    for corpus in builtin_corpora():
        download = "yes" if corpus.needs_download else "no"
        print(f"{corpus.id:<20} {corpus.kind:<7} {download:<9} {corpus.title}")
        if args.verbose:
            print(f"{'':<20} {corpus.description}\n")
    print("\nTrain on one: python -m charrnn train builtin:ID --out RUN_DIR", file=sys.stderr)
    return EXIT_OK
