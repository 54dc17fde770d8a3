"""Chemistry metrics: speed and correctness on MOSES data.

A random sample (seeded) of ../shared/data/moses_train.csv.gz is split into a training set
and a disjoint held-out set that plays the part of "generated" molecules.
(a) speed: the one-time cost of the training statistics (RDKit part, then FCD), reading
    them back from the cache, and one evaluation of the held-out set, stage by stage.
(b) correctness: the held-out set against the training set should look like MOSES's own
    train-set row (valid 1.0, unique 1.0, IntDiv 0.857, IntDiv2 0.851, Frag ~1.0, Filters
    1.0); novelty is ~1 for the held-out set and ~0 for a slice drawn from the training set.
The evaluation's CPU time (all threads and worker processes) and the load average around
it are recorded too: the machine is shared.
Usage: python benchmarks/bench_chem.py [--generated 10000] [--training 100000] [--no-fcd]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time

from moses_data import load_smiles

# RDKit's worker processes import this file again (multiprocessing's spawn): torch (via
# common) and charrnn are imported in main() only, so that, as under `python -m charrnn`,
# the workers do not spend seconds importing torch.

# MOSES README, row "Train" (the training set scored against MOSES's test set).
MOSES_TRAIN_ROW = {
    "valid": 1.0,
    "unique@1000": 1.0,
    "unique@10000": 1.0,
    "intdiv1": 0.857,
    "intdiv2": 0.851,
    "snn": 0.642,
    "frag": 1.0,
    "scaf": 0.991,
    "filters": 1.0,
    "fcd": 0.008,
}


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generated", type=int, default=10_000)
    parser.add_argument("--training", type=int, default=100_000)
    parser.add_argument("--no-fcd", action="store_true", help="leave out ChemNet / FCD")
    parser.add_argument("--workers", type=int, default=None, help="default: all cores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="default: a fresh temporary folder")
    args = parser.parse_args()
    fcd = not args.no_fcd
    from common import machine, save

    from charrnn.chem.metrics import evaluate_molecules, metrics_table, training_stats
    from charrnn.chem.smiles import basic_metrics

    everything, read_seconds = timed(load_smiles)
    chosen = random.Random(args.seed).sample(everything, args.training + args.generated)
    training, held_out = chosen[: args.training], chosen[args.training :]
    from_training = training[: args.generated]
    print(f"machine: {machine()}")
    print(
        f"data: {len(everything):,} MOSES SMILES read in {read_seconds:.1f} s; random sample "
        f"(seed {args.seed}): {len(training):,} training, {len(held_out):,} held out"
    )

    with tempfile.TemporaryDirectory() as temporary:
        cache = args.cache or temporary
        options = {"workers": args.workers}
        _, rdkit_seconds = timed(lambda: training_stats(training, cache, fcd=False, **options))
        fcd_seconds = 0.0
        if fcd:
            _, fcd_seconds = timed(lambda: training_stats(training, cache, **options))
        stats, cached_seconds = timed(lambda: training_stats(training, cache, fcd=fcd, **options))
        stages: dict[str, float] = {}
        load_before, cpu_before = os.getloadavg(), cpu_seconds()
        results, evaluation_seconds = timed(
            lambda: evaluate_molecules(held_out, stats, fcd=fcd, timings=stages, **options)
        )
        evaluation_cpu, load_after = cpu_seconds() - cpu_before, os.getloadavg()
    copies, _ = timed(lambda: basic_metrics(from_training, stats.canonical))

    print("\n(a) speed")
    print(f"  training statistics, once: {rdkit_seconds + fcd_seconds:7.1f} s")
    print(f"    RDKit part (fingerprints, fragments, scaffolds, properties): {rdkit_seconds:.1f} s")
    if fcd:
        print(f"    ChemNet activations for FCD: {fcd_seconds:.1f} s")
    print(f"  training statistics, from the cache: {cached_seconds:.2f} s")
    print(
        f"  evaluation of {len(held_out):,} molecules: {evaluation_seconds:7.1f} s "
        f"({evaluation_cpu:.1f} s of CPU time; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after)"
    )
    for stage, seconds in stages.items():
        print(f"    {stage:<30} {seconds:7.2f} s")

    print("\n(b) correctness: held-out molecules against the training set")
    print(metrics_table(results))
    print("\n  ours vs MOSES's train-set row (which is scored against its 10k test set):")
    values = {result.key: result.value for result in results}
    for key, reference in MOSES_TRAIN_ROW.items():
        value = values.get(key)
        shown = "n/a" if value is None else f"{value:.4f}"
        print(f"    {key:<14} {shown:>8}   MOSES {reference}")
    print(
        f"  novelty: held-out slice {values['novelty']:.4f} (disjoint: ~1); slice drawn from "
        f"the training set {copies.novelty:.4f} (~0; MOSES's train row: 0.0)"
    )

    path = save(
        "chem-moses",
        {
            "machine": machine(),
            "generated": len(held_out),
            "training": len(training),
            "seed": args.seed,
            "fcd": fcd,
            "seconds": {
                "training_stats_rdkit": rdkit_seconds,
                "training_stats_fcd": fcd_seconds,
                "training_stats_cached": cached_seconds,
                "evaluation": evaluation_seconds,
                "evaluation_cpu": evaluation_cpu,
                "evaluation_stages": stages,
            },
            "load_average_around_evaluation": [load_before, load_after],
            "metrics": values,
            "novelty_of_training_slice": copies.novelty,
            "moses_train_row": MOSES_TRAIN_ROW,
        },
    )
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
