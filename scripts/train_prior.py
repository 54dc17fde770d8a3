"""Train a shipped molecule prior and write it to assets/priors/ID/.

Reproducible: the data (the MOSES training file of ../shared/data, ZINC-derived, MIT
licence; the file itself never enters the repository), a seed that chooses the held-out
molecules and the data order, the minutes and torch threads. Writes

  prior.safetensors   the weights (the moving average of the last ~1,000 steps), float16
  prior.json          what the app reads: title, description, sha256 of the weights, and
                      how they were trained (steps, seconds, threads, machine load, command)

Usage: python scripts/train_prior.py [--minutes 75] [--threads 1] [--seed 0]
       [--id moses] [--heldout 100000] [--molecules N (a smaller run, for trying it out)]
The held-out molecules are scored by benchmarks/bench_prior.py, which splits alike.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import torch  # noqa: E402
from moses_data import heldout_split, load_smiles  # noqa: E402

from charrnn.core.batches import prepare_data  # noqa: E402
from charrnn.core.checkpoint import CHECKPOINT_FILE, load_checkpoint  # noqa: E402
from charrnn.core.model import preset_config  # noqa: E402
from charrnn.core.prior_file import write_prior  # noqa: E402
from charrnn.core.train import Trainer  # noqa: E402
from charrnn.core.train_config import TrainConfig  # noqa: E402

TITLE = "Drug-like molecules (MOSES prior)"
DESCRIPTION = (
    "A 2x256 LSTM that learned SMILES from about 1.5 million drug-like molecules of the MOSES "
    "set (ZINC). It writes valid, varied molecules from the start and is a good model to "
    "fine-tune on a few hundred molecules of your own."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=75)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--id", default="moses")
    parser.add_argument("--heldout", type=int, default=100_000)
    parser.add_argument("--molecules", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / "results" / "prior-run"))
    parser.add_argument("--out", default=None, help="default: assets/priors/ID")
    args = parser.parse_args()
    out = Path(args.out or ROOT / "assets" / "priors" / args.id)
    work = Path(args.work)
    load_before = os.getloadavg()
    started = time.time()
    smiles = load_smiles()
    training, heldout = heldout_split(smiles, args.heldout, args.seed)
    if args.molecules:
        training = training[: args.molecules]
    print(f"{len(training):,} molecules to learn, {len(heldout):,} held out", flush=True)
    torch.set_num_threads(args.threads)
    data = prepare_data(
        lines=training, tokenizer="smiles", validation_fraction=0.01, seed=args.seed
    )
    settings = TrainConfig(
        steps=None,
        minutes=args.minutes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=200,
        average=0.999,
        eval_every=2000,
        eval_tokens=100_000,
        log_every=500,
        checkpoint_every=2000,
        preview_samples=0,
        seed=args.seed,
        threads=args.threads,
    )
    hooks = {"on_event": report}
    if (work / CHECKPOINT_FILE).is_file():
        print(f"resuming the run in {work}", flush=True)
        trainer = Trainer.resume(work, data, settings, **hooks)
    else:
        config = preset_config("small", data.vocabulary.size)
        trainer = Trainer(data, config, settings, run_dir=work, **hooks)
    final = trainer.run()
    checkpoint = load_checkpoint(work, training_state=False)
    record = {
        "steps": final.step,
        "training_seconds": round(final.elapsed),
        "wall_seconds": round(time.time() - started),
        "molecules": len(data.train),
        "validation_loss": trainer.validation_loss(),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "heldout": args.heldout,
        "torch": torch.__version__,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "finished": time.strftime("%Y-%m-%d %H:%M"),
        "command": "python scripts/train_prior.py " + shlex.join(sys.argv[1:]),
    }
    weights = write_prior(
        out / "prior.safetensors",
        checkpoint.model,
        checkpoint.vocabulary,
        {"prior": args.id, "step": final.step},
    )
    manifest = {
        "id": args.id,
        "title": TITLE,
        "description": DESCRIPTION,
        "data": "MOSES training set (ZINC Clean Leads subset), MIT licence",
        "weights": weights.name,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "training": record,
    }
    (out / "prior.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest, indent=2))


def report(event) -> None:
    if event.kind == "eval":
        print(
            f"  step {event.step:>7}  {event.elapsed:6.0f} s  epoch {event.epoch or 0:.2f}  "
            f"validation {event.validation_loss:.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
