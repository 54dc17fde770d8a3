"""`python -m charrnn sample` (let a run's model or a shipped prior write), `corpora` and
`priors` (list the built-in corpora and the shipped priors).

Text prints one block per sample; SMILES one per line, with --check marked valid or not;
--unique N samples until N different ones; --format and --out write a .smi, .csv or .sdf.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from charrnn.cli.common import EXIT_OK, checkpoint_folder
from charrnn.cli.console import printable
from charrnn.core.checkpoint import load_checkpoint
from charrnn.core.model import CharRNN, default_device, parameter_count
from charrnn.core.representation import NO_ATOM, to_smiles, writes_selfies
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import Vocabulary
from charrnn.corpora.builtins import builtin_corpora
from charrnn.errors import UserError
from charrnn.files import atomic_write_text
from charrnn.runs.priors import is_prior, load_prior, shipped_priors
from charrnn.runs.unique import sample_unique

TRIES_PER_WANTED = 10  # --max-tries when not given: 10 samples for each one wanted


def load_model(reference: str) -> tuple[CharRNN, Vocabulary]:
    """The model of a run folder, or of a shipped prior (prior:ID), on this computer's device."""
    if is_prior(reference):
        model, vocabulary, _ = load_prior(reference)
        return model.to(default_device()), vocabulary
    checkpoint = load_checkpoint(checkpoint_folder(Path(reference)), default_device())
    return checkpoint.model, checkpoint.vocabulary


def found_text(found: list[tuple[str, float]], file_format: str, smiles: bool) -> str:
    """Samples as a file: one per line (smi), a CSV table, or an SD file (molecules only)."""
    if file_format == "smi":
        return "".join(text + "\n" for text, _ in found)
    if file_format == "sdf" and not smiles:
        raise UserError("--format sdf holds molecules; this run learned text (use smi or csv).")
    from charrnn.chem.export import export_csv, export_sdf

    if file_format == "sdf":
        export = export_sdf(found)
        if export.skipped:
            print(f"{export.skipped} invalid SMILES were left out of the SD file.", file=sys.stderr)
        return export.text
    if smiles:
        return export_csv(found)
    from charrnn.chem.export import spreadsheet_safe

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "log_likelihood"])
    writer.writerows([spreadsheet_safe(text), round(ll, 3)] for text, ll in found)
    return out.getvalue()


def sample_command(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    model, vocabulary = load_model(args.run_dir)
    smiles = vocabulary.line_based
    if args.check and not smiles:
        raise UserError("--check marks SMILES valid or invalid; this run learned text.")
    if args.max_tries and not args.unique:
        raise UserError("--max-tries bounds --unique N; give --unique too.")
    config = SampleConfig(
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        prompt=args.prompt,
        max_length=args.length,
        num_samples=args.num or (10 if smiles else 1),
        seed=args.seed,
    )
    if args.unique:
        tries = args.max_tries or TRIES_PER_WANTED * args.unique
        result = sample_unique(model, vocabulary, config, args.unique, tries)
        print(result.message, file=sys.stderr)
        rows = [{"text": text, "log_likelihood": ll} for text, ll in result.found]
    else:
        rows = [asdict(item) for item in sample(model, vocabulary, config)]
    molecule = "text"  # the row's field that holds the molecule's SMILES
    if writes_selfies(vocabulary):  # SMILES beside the SELFIES it wrote
        molecule = "smiles"
        for row in rows:
            row["smiles"] = to_smiles(row["text"], vocabulary)
    if args.out or args.format:
        found = [(row[molecule], row["log_likelihood"]) for row in rows]
        text = found_text(found, args.format or "smi", smiles)
        if args.out:
            atomic_write_text(Path(args.out), text)
            print(f"Wrote {len(rows)} samples to {args.out}.", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    if args.check:
        from charrnn.chem.smiles import smiles_problem

        for row in rows:
            spelled = row[molecule] or molecule == "text"  # empty SELFIES: no atom
            row["problem"] = smiles_problem(row[molecule]) if spelled else NO_ATOM
            row["valid"] = row["problem"] is None
    if args.json:
        print(json.dumps(rows, indent=2))
    elif smiles or args.unique:  # one per line
        for row in rows:
            verdict = "" if not args.check else "\tvalid" if row["valid"] else "\tinvalid: "
            written = "\t" + printable(row["text"]) if molecule == "smiles" else ""
            print(
                printable(row[molecule]) + written + verdict + printable(row.get("problem") or "")
            )
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
