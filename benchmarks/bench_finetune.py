"""Fine-tuning a small set: the shipped prior + N minutes against a new model + N minutes.

The corpus is RDKit's ChEMBL congeneric series (Free-Wilson data, ~1,000 aryl sulfonamides).
Both runs train the same 2x256 LSTM for the same training time on 1 torch thread: one
starts from the prior with the fine-tuning settings the Train page uses, one from nothing
with a new run's settings. Each then samples 1,000 SMILES at temperature 1; printed:
validity, uniqueness, novelty (against the series) and the share of samples that keep the
series' scaffold (a 4-oxy-benzenesulfonamide, which 1,014 of its 1,017 molecules contain).
Usage: python benchmarks/bench_finetune.py [--minutes 2] [--parallel]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import machine, run_side_by_side, save

SCAFFOLD = "c1cc(S(=O)(=O)N)ccc1O"  # SMARTS
SAMPLES = 1000


def train_and_sample(start: str, minutes: float, seed: int, rate: float | None = None) -> dict:
    import tempfile

    import torch
    from rdkit import Chem

    from charrnn.chem.smiles import canonical_set, parse_smiles
    from charrnn.core.sample import SampleConfig, sample
    from charrnn.corpora.builtins import load_builtin
    from charrnn.runs.plan import RunChoice, finetune_train, plan_run, preset_train
    from charrnn.runs.priors import DEFAULT_MOLECULE_PRIOR
    from charrnn.runs.trainer import run_trainer

    torch.set_num_threads(1)
    corpus = load_builtin("chembl-freewilson").without_invalid()
    lines = list(corpus.lines)
    limits = {"minutes": minutes, "seed": seed, "chem_every": 0, "preview_samples": 0}
    if start == "prior":  # what the Train page does: the app's one road to a run
        settings = finetune_train(True, **limits, **({"learning_rate": rate} if rate else {}))
        prior = f"prior:{DEFAULT_MOLECULE_PRIOR}"
        choice = RunChoice(corpus="builtin:chembl-freewilson", train=settings, init_from=prior)
    else:
        settings = preset_train("small", True, **limits)
        choice = RunChoice(corpus="builtin:chembl-freewilson", train=settings, preset="small")
    config = plan_run(choice, None, corpus)
    with tempfile.TemporaryDirectory() as folder:
        trainer = run_trainer(Path(folder), config, corpus=corpus)
        final = trainer.run()
    vocabulary = trainer.data.vocabulary
    options = SampleConfig(temperature=1.0, max_length=150, num_samples=SAMPLES, seed=seed + 1)
    texts = [item.text for item in sample(trainer.model, vocabulary, options)]
    molecules = [parse_smiles(text) for text in texts]
    valid = [m for m in molecules if m is not None]
    scaffold = Chem.MolFromSmarts(SCAFFOLD)
    keeping = sum(m.HasSubstructMatch(scaffold) for m in valid)
    forms = canonical_set(texts)
    novel = forms - canonical_set(lines)
    return {
        "start": start,
        "steps": final.step,
        "seconds": round(final.elapsed, 1),
        "learning_rate": settings.learning_rate,
        "canonical": settings.canonical,
        "valid": len(valid) / len(texts),
        "unique": len(forms) / max(len(valid), 1),
        "novel": len(novel) / max(len(forms), 1),
        "scaffold_of_samples": keeping / len(texts),
        "scaffold_of_valid": keeping / max(len(valid), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, help="the prior's (default: fine-tuning's)")
    parser.add_argument("--parallel", action="store_true", help="both at once (2 cores)")
    args = parser.parse_args()
    before = machine()
    print(f"machine: {before}")
    jobs = [
        (
            train_and_sample,
            {
                "start": start,
                "minutes": args.minutes,
                "seed": args.seed,
                "rate": args.learning_rate,
            },
        )
        for start in ("prior", "nothing")
    ]
    results = run_side_by_side(jobs, args.parallel)
    after = machine()
    print(f"\n{args.minutes} min of training each, 1 thread, {SAMPLES} samples at temperature 1")
    print(
        f"{'start from':<12} {'steps':>6} {'valid':>6} {'unique':>7} {'novel':>6} "
        f"{'scaffold (of samples)':>22} {'(of valid)':>11}"
    )
    for row in results:
        print(
            f"{row['start']:<12} {row['steps']:>6} {row['valid']:>6.3f} {row['unique']:>7.3f} "
            f"{row['novel']:>6.3f} {row['scaffold_of_samples']:>22.3f} "
            f"{row['scaffold_of_valid']:>11.3f}"
        )
    print(f"load average before {before['load_average']}, after {after['load_average']}")
    save(
        "finetune",
        {"machine_before": before, "machine_after": after, "args": vars(args), "results": results},
    )


if __name__ == "__main__":
    main()
