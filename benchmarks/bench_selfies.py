"""SMILES against SELFIES: the same MOSES slice, the same model, the same training time.

Both runs are planned as the Train page plans them (the "small" preset, a 2x256 LSTM, from
nothing: the shipped prior writes SMILES) on the first --molecules of
../shared/data/moses_train.csv.gz (less a held-out set), train for --minutes each on 1 torch
thread, side by side (or --sequential), then sample --samples molecules at temperature 1.
Printed: validity, uniqueness (unique@1000), novelty (against the training slice) and the
FCD against --reference held-out molecules (drawn at random from the whole file, as the
prior's benchmark does), each measured on the SMILES a sample spells (SELFIES decoded).
Usage: python benchmarks/bench_selfies.py [--minutes 3] [--molecules 50000] [--sequential]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import machine, run_side_by_side, save
from moses_data import heldout_split, load_smiles

REPRESENTATIONS = ("smiles", "selfies")


def train_and_sample(
    corpus_file: str, representation: str, minutes: float, samples: int, seed: int
) -> dict:
    """One run of the app's road (plan_run, run_trainer), trained for ``minutes``; its samples
    as written and as SMILES."""
    import torch

    from charrnn.core.representation import to_smiles, tokenizer_of
    from charrnn.core.sample import SampleConfig, sample
    from charrnn.runs.config import load_corpus
    from charrnn.runs.plan import RunChoice, plan_run, preset_train
    from charrnn.runs.trainer import run_trainer

    torch.set_num_threads(1)
    corpus = load_corpus(corpus_file)
    settings = preset_train(
        "small", True, minutes=minutes, seed=seed, chem_every=0, preview_samples=0, threads=1
    )
    tokenizer = tokenizer_of(representation)
    choice = RunChoice(corpus=corpus_file, train=settings, preset="small", tokenizer=tokenizer)
    config = plan_run(choice, None, corpus)
    with tempfile.TemporaryDirectory() as folder:
        trainer = run_trainer(Path(folder), config, corpus=corpus)
        final = trainer.run()
    vocabulary = trainer.data.vocabulary
    options = SampleConfig(temperature=1.0, max_length=200, num_samples=samples, seed=seed + 1)
    written = [item.text for item in sample(trainer.model, vocabulary, options)]
    return {
        "representation": representation,
        "steps": final.step,
        "training_seconds": round(final.elapsed, 1),
        "molecules_per_second": round(final.step * settings.batch_size / final.elapsed),
        "vocabulary": vocabulary.size,
        "left_out": config.unwritable,
        "written": written,
        "smiles": [to_smiles(text, vocabulary) for text in written],
    }


def measure(result: dict, training: frozenset[str], stats, workers: int) -> dict:
    """Validity, unique@1000 and FCD (MOSES's, against the held-out set); novelty against
    the training slice; how many samples spelled nothing."""
    from charrnn.chem.metrics import evaluate_molecules
    from charrnn.chem.smiles import basic_metrics

    smiles = result["smiles"]
    metrics = {m.key: m.value for m in evaluate_molecules(smiles, stats, workers=workers)}
    return {
        "valid": metrics["valid"],
        "unique@1000": metrics["unique@1000"],
        "novelty": basic_metrics(smiles, training).novelty,
        "fcd": metrics["fcd"],
        "empty": sum(not text for text in smiles) / len(smiles),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0, help="training time of each")
    parser.add_argument("--molecules", type=int, default=50_000, help="the MOSES slice")
    parser.add_argument("--reference", type=int, default=10_000, help="held out, for FCD")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequential", action="store_true", help="one after the other")
    args = parser.parse_args()
    from charrnn.chem.metrics import training_stats
    from charrnn.chem.smiles import canonical_set

    before, started = machine(), time.time()
    print(f"machine: {before}", flush=True)
    rest, reference = heldout_split(load_smiles(), args.reference, args.seed)
    slice_ = rest[: args.molecules]
    with tempfile.TemporaryDirectory() as folder:
        corpus_file = Path(folder) / "moses-slice.smi"
        corpus_file.write_text("\n".join(slice_) + "\n")
        common = dict(minutes=args.minutes, samples=args.samples, seed=args.seed)
        jobs = [
            (train_and_sample, dict(common, corpus_file=str(corpus_file), representation=name))
            for name in REPRESENTATIONS
        ]
        results = run_side_by_side(jobs, parallel=not args.sequential)
    trained = machine()
    stats = training_stats(reference, fcd=True, workers=2)
    training = canonical_set(slice_)
    for result in results:
        result.update(measure(result, training, stats, workers=2))
    after = machine()
    how = "one after the other" if args.sequential else "side by side"
    print(
        f"\nMOSES slice of {len(slice_):,} molecules, {args.minutes:g} min of training each "
        f"(2x256 LSTM, 1 thread, {how}), {args.samples:,} samples at temperature 1; FCD "
        f"against {len(reference):,} held-out molecules, novelty against the slice"
    )
    print(
        f"{'written as':<11} {'steps':>6} {'mol/s':>6} {'valid':>6} {'unique':>7} "
        f"{'novel':>6} {'FCD':>6} {'empty':>6} {'left out':>9}"
    )
    for r in results:
        fcd = f"{r['fcd']:>6.2f}" if r["fcd"] is not None else f"{'n/a':>6}"
        print(
            f"{r['representation'].upper():<11} {r['steps']:>6} {r['molecules_per_second']:>6} "
            f"{r['valid']:>6.3f} {r['unique@1000']:>7.3f} {r['novelty']:>6.3f} {fcd} "
            f"{r['empty']:>6.3f} {r['left_out']:>9}"
        )
    print(
        f"load average before {before['load_average']}, after training "
        f"{trained['load_average']}, at the end {after['load_average']}"
    )
    for r in results:
        r["samples_shown"] = list(zip(r.pop("written")[:20], r.pop("smiles")[:20], strict=True))
    report = {
        "benchmark": "selfies",
        "args": vars(args),
        "machine_before": before,
        "machine_after_training": trained,
        "machine_after": after,
        "wall_seconds": round(time.time() - started),
        "results": results,
    }
    print(f"saved {save('selfies', report)}")


if __name__ == "__main__":
    main()
