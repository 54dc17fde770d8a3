"""How the fine-tuning defaults were chosen: the shipped prior fine-tuned on NCI 5K with
several learning rates and step counts, and the validity of what each then writes.

Each setting starts from the prior (vocabulary extended by NCI's new symbols, as the
Train page does), trains on 1 torch thread without chemistry checks on the molecules in
their RDKit canonical spelling (fine-tuning's default; "/as-written": NCI's own spelling),
then samples 1,000 SMILES at temperature 1. "0/0" is the prior, extended, untrained.
Usage: python benchmarks/bench_finetune_settings.py [1e-4/300 3e-4/300/as-written ...]
"""

from __future__ import annotations

import argparse
import copy
import time

from common import machine, save

DEFAULT_GRID = (
    "0/0",
    "1e-4/300",
    "3e-4/300",
    "3e-4/600",
    "1e-3/300",
    "1e-4/300/as-written",
    "3e-4/300/as-written",
)
SAMPLES = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("settings", nargs="*", default=DEFAULT_GRID, help="LR/STEPS[/as-written]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from charrnn.chem.smiles import canonical_smiles, parse_smiles
    from charrnn.core.batches import prepare_data
    from charrnn.core.sample import SampleConfig, sample
    from charrnn.core.train import Trainer
    from charrnn.corpora.builtins import load_builtin
    from charrnn.runs.plan import finetune_train
    from charrnn.runs.priors import DEFAULT_MOLECULE_PRIOR, load_prior

    torch.set_num_threads(1)
    before = machine()
    print(f"machine: {before}")
    written = list(load_builtin("nci-5k").without_invalid().lines)
    canonical = [canonical_smiles(line) or line for line in written]
    prior, vocabulary, _ = load_prior(DEFAULT_MOLECULE_PRIOR)
    extended = vocabulary.extended(written + canonical)
    print(f"NCI 5K: {len(written):,} molecules, {extended.size - vocabulary.size} new symbols")
    print(f"{'learning rate':>13} {'steps':>6} {'spelling':>10} {'train s':>8} {'valid':>6}")
    results = []
    for setting in args.settings:
        rate, steps, *spelling = setting.split("/")
        spelling = spelling[0] if spelling else "canonical"
        lines = written if spelling == "as-written" else canonical
        model = copy.deepcopy(prior)
        model.resize_vocabulary(extended.size)
        seconds = 0.0
        if int(steps):
            settings = finetune_train(
                True,
                learning_rate=float(rate),
                steps=int(steps),
                chem_every=0,
                preview_samples=0,
                seed=args.seed,
                precision="float32",
            )
            data = prepare_data(
                lines=lines, tokenizer="smiles", seed=args.seed, vocabulary=extended
            )
            started = time.perf_counter()
            trainer = Trainer(data, model.config, settings, model=model)
            trainer.run()
            seconds, model = time.perf_counter() - started, trainer.model
        options = SampleConfig(num_samples=SAMPLES, seed=args.seed + 1, max_length=150)
        texts = [item.text for item in sample(model, extended, options)]
        valid = sum(parse_smiles(text) is not None for text in texts) / SAMPLES
        print(f"{rate:>13} {steps:>6} {spelling:>10} {seconds:>8.1f} {valid:>6.3f}", flush=True)
        results.append({"learning_rate": float(rate), "steps": int(steps), "seconds": seconds})
        results[-1]["spelling"] = spelling
        results[-1]["valid"] = valid
    after = machine()
    print(f"load average before {before['load_average']}, after {after['load_average']}")
    save(
        "finetune_settings", {"machine_before": before, "machine_after": after, "results": results}
    )


if __name__ == "__main__":
    main()
