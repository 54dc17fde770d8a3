"""Quality: our LSTM trained on a 200k-molecule MOSES slice, scored like MOSES's CharRNN.

Trains the "small" preset sizes (2x256 LSTM) on the first 200k molecules of
../shared/data/moses_train.csv.gz for --minutes of training time (1 torch thread by
default), samples --samples SMILES at temperature 1, and prints our MOSES table beside the
published CharRNN row. MOSES scores against its test set, which is not in ../shared/data:
here a disjoint held-out set (--reference molecules drawn at random from the rest of the
file) stands in for
it; novelty is against the 200k training molecules, as MOSES does against its train set.
Usage: python benchmarks/bench_moses_quality.py [--minutes 30] [--samples 30000]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
from common import RESULTS, machine, save
from moses_data import load_smiles

from charrnn.chem.metrics import evaluate_molecules, metrics_table, training_stats
from charrnn.chem.smiles import canonical_set
from charrnn.core.batches import prepare_data
from charrnn.core.checkpoint import load_checkpoint
from charrnn.core.model import preset_config
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig

# MOSES README, row "CharRNN" (1.6M training molecules; scored against MOSES's test set).
CHARRNN_ROW = {
    "valid": 0.975,
    "unique@1000": 1.0,
    "unique@10000": 0.999,
    "novelty": 0.842,
    "intdiv1": 0.856,
    "intdiv2": 0.850,
    "snn": 0.601,
    "frag": 0.9998,
    "scaf": 0.924,
    "filters": 0.994,
    "fcd": 0.073,
}


def train(lines: list[str], minutes: float, threads: int, folder: Path) -> Trainer:
    torch.set_num_threads(threads)
    data = prepare_data(lines=lines, tokenizer="smiles", seed=0)
    settings = TrainConfig(
        steps=None,
        minutes=minutes,
        eval_every=2000,
        eval_tokens=50_000,
        log_every=200,
        checkpoint_every=2000,
        preview_samples=0,
        chem_every=0,
    )
    config = preset_config("small", data.vocabulary.size)  # 2x256 LSTM, dropout 0.1
    trainer = Trainer(data, config, settings, run_dir=folder, on_event=report)
    trainer.run()
    return trainer


def report(event) -> None:
    if event.kind == "eval" or (event.kind == "step" and event.step % 2000 == 0):
        loss = event.validation_loss or event.train_loss
        print(f"  step {event.step:>6}  {event.elapsed:7.0f} s  loss {loss:.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--molecules", type=int, default=200_000)
    parser.add_argument("--samples", type=int, default=30_000)
    parser.add_argument("--reference", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--evaluate-only", action="store_true", help="reuse the last model")
    args = parser.parse_args()
    before = machine()
    print(f"machine: {before}")
    everything = load_smiles()
    training = everything[: args.molecules]
    # The file is not shuffled (its end holds other scaffolds): a random sample of the rest.
    reference = random.Random(0).sample(everything[args.molecules :], args.reference)
    folder = RESULTS / "moses-quality-run"
    folder.mkdir(parents=True, exist_ok=True)
    if not args.evaluate_only:
        print(f"training the 2x256 LSTM on {len(training):,} molecules for {args.minutes} min")
        train(training, args.minutes, args.threads, folder)
    checkpoint = load_checkpoint(folder)
    start = time.perf_counter()
    options = SampleConfig(temperature=1.0, max_length=150, num_samples=args.samples, seed=1)
    generated = [item.text for item in sample(checkpoint.model, checkpoint.vocabulary, options)]
    sampling = time.perf_counter() - start
    start = time.perf_counter()
    stats = training_stats(reference)
    results = evaluate_molecules(generated, stats)
    trained_on = canonical_set(training)
    forms = canonical_set(generated)
    novelty = len(forms - trained_on) / len(forms) if forms else None
    scoring = time.perf_counter() - start
    rows = []
    print(
        f"\nmodel: step {checkpoint.step}, {checkpoint.info.get('elapsed', 0):.0f} s of training; "
        f"{len(generated):,} samples in {sampling:.1f} s; scored in {scoring:.0f} s against "
        f"{len(reference):,} held-out MOSES molecules (novelty: against the training 200k)\n"
    )
    print(f"{'metric':<26} {'ours':>8} {'CharRNN':>8}")
    for result in results:
        value = novelty if result.key == "novelty" else result.value
        published = CHARRNN_ROW.get(result.key)
        if published is None and not result.key.startswith("wasserstein"):
            continue
        shown = "n/a" if value is None else f"{value:.4f}"
        other = "" if published is None else f"{published:.4f}"
        print(f"{result.name:<26} {shown:>8} {other:>8}")
        rows.append({"key": result.key, "ours": value, "charrnn": published})
    print("\n" + metrics_table(results))
    save(
        "moses-quality",
        {
            "machine_before": before,
            "machine_after": machine(),
            "args": vars(args),
            "step": checkpoint.step,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
