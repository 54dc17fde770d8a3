"""Scaffold decoration: the shipped prior as shipped (canonical SMILES) against the prior
fine-tuned with SMILES augmentation for a few minutes, on three scaffolds.

The fine-tune takes the app's one road to a run (plan_run, run_trainer) with the Train
page's fine-tuning settings, augmentation on, for a fixed time on 1 torch thread, on
molecules of the MOSES training file (../shared/data), so it learns other spellings of the
same chemistry rather than new chemistry. Each model then makes 1,000 decorations of each
scaffold at temperature 1 (charrnn.chem.decorate); printed: the share of tries that gave a
valid molecule containing the scaffold, and the share that gave a different one.
Usage: python benchmarks/bench_decorate.py [--minutes 5] [--tries 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import machine, save
from moses_data import heldout_split, load_smiles

SCAFFOLDS = (
    "*c1ccc(*)cc1",  # para-disubstituted benzene: two points
    "O=C(Nc1ccccc1)c1ccc(*)o1",  # a furan-2-carboxanilide: one point
    "*c1ccc2[nH]c(*)cc2c1",  # 2,5-disubstituted indole: two points
)
CORPUS_MOLECULES = 50_000


def finetuned(minutes: float, rate: float, seed: int, folder: Path):
    """The shipped prior fine-tuned with augmentation; (model, vocabulary, steps, seconds)."""
    from charrnn.corpora.reading import read_corpus
    from charrnn.runs.plan import RunChoice, finetune_train, plan_run
    from charrnn.runs.priors import DEFAULT_MOLECULE_PRIOR
    from charrnn.runs.trainer import run_trainer

    training, _ = heldout_split(load_smiles(), 100_000)  # as the prior was split
    path = folder / "moses-part.smi"
    path.write_text("\n".join(training[:CORPUS_MOLECULES]) + "\n")
    corpus = read_corpus(path, kind="smiles")
    settings = finetune_train(
        True,
        minutes=minutes,
        seed=seed,
        learning_rate=rate,
        augment=True,
        chem_every=0,
        preview_samples=0,
    )
    prior = f"prior:{DEFAULT_MOLECULE_PRIOR}"
    choice = RunChoice(corpus=str(path), train=settings, init_from=prior)
    config = plan_run(choice, None, corpus)
    (folder / "run").mkdir()
    trainer = run_trainer(folder / "run", config, corpus=corpus)
    final = trainer.run()
    return trainer.model, trainer.data.vocabulary, final.step, round(final.elapsed, 1)


def decorations(name: str, model, vocabulary, tries: int, seed: int) -> list[dict]:
    from charrnn.chem.decorate import decorate
    from charrnn.core.sample import SampleConfig

    rows = []
    for scaffold in SCAFFOLDS:
        config = SampleConfig(num_samples=tries, max_length=80, seed=seed, precision="float32")
        started = time.perf_counter()
        made = decorate(model, vocabulary, scaffold, config)
        rows.append(
            {
                "model": name,
                "scaffold": scaffold,
                "prompt": made.prompt,
                "tries": made.tries,
                "valid": made.valid_tries / made.tries,
                "valid_unique": made.unique_valid / made.tries,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--tries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from charrnn.runs.priors import load_prior

    torch.set_num_threads(1)
    before = machine()
    print(f"machine: {before}")
    prior, vocabulary, _ = load_prior("prior:moses")
    rows = decorations("prior as shipped", prior, vocabulary, args.tries, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        model, tuned_vocabulary, steps, seconds = finetuned(
            args.minutes, args.learning_rate, args.seed, Path(folder)
        )
    name = "prior + augmented fine-tune"
    rows += decorations(name, model, tuned_vocabulary, args.tries, args.seed)
    after = machine()
    print(
        f"\nfine-tune: {steps} steps in {seconds} s (1 thread, learning rate "
        f"{args.learning_rate}, augmentation on, {CORPUS_MOLECULES:,} MOSES molecules)"
    )
    print(f"{args.tries} tries per scaffold, temperature 1, groups of at most 80 symbols")
    print(f"{'model':<28} {'scaffold':<26} {'valid':>6} {'valid+unique':>13} {'s':>5}")
    for row in rows:
        print(
            f"{row['model']:<28} {row['scaffold']:<26} {row['valid']:>6.3f} "
            f"{row['valid_unique']:>13.3f} {row['seconds']:>5}"
        )
    print(f"load average before {before['load_average']}, after {after['load_average']}")
    save(
        "decorate",
        {
            "machine_before": before,
            "machine_after": after,
            "args": vars(args),
            "finetune": {"steps": steps, "seconds": seconds},
            "results": rows,
        },
    )


if __name__ == "__main__":
    main()
