"""SMILES: our Trainer and sampler against the plain PyTorch loop, in one run.

MOSES (../shared/data/moses_train.csv.gz, first 200k molecules): both train a 2x256 LSTM
for the same seconds, sample 1,000 SMILES, and are scored for validity, uniqueness and
novelty against those 200k. Sampling speed is compared on the same weights (the plain
model's, loaded into charrnn). `--corpus nci` trains ours alone on RDKit's NCI first 5K.
Usage: python benchmarks/bench_smiles.py [--seconds 300] [--threads 1] [--corpus moses|nci]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time

import torch
from common import DATA, machine, run_side_by_side, save

from charrnn.chem.smiles import basic_metrics, canonical_set
from charrnn.core.batches import prepare_data
from charrnn.core.model import CharRNN, ModelConfig, preset_config
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig

SAMPLES = 1000


def load_lines(corpus: str, limit: int) -> list[str]:
    if corpus == "nci":
        from charrnn.corpora.builtins import load_builtin

        return list(load_builtin("nci-5k").without_invalid().lines)
    with gzip.open(DATA / "moses_train.csv.gz", "rt") as handle:
        header = handle.readline().strip().split(",")
        column = header.index("SMILES")
        return [
            line.strip().split(",")[column] for _, line in zip(range(limit), handle, strict=False)
        ]


def timed(function, repeats: int = 3):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def ours_job(
    corpus: str, limit: int, threads: int, seconds: float, seed: int, overrides: dict
) -> dict:
    torch.set_num_threads(threads)
    lines = load_lines(corpus, limit)
    data = prepare_data(lines=lines, tokenizer="smiles", seed=seed)
    settings = dict(
        steps=None,
        minutes=seconds / 60,
        eval_every=10**9,
        log_every=20,
        checkpoint_every=0,
        preview_samples=0,
        seed=seed,
    )
    settings.update(overrides)
    preset = settings.pop("preset", "small")
    model_fields = ("cell", "hidden_size", "layers", "embedding_size", "dropout")
    model_settings = {k: settings.pop(k) for k in model_fields if k in settings}
    config = TrainConfig(**settings)
    model_config = preset_config(preset, data.vocabulary.size, **model_settings)
    trainer = Trainer(data, model_config, config)
    trainer.run()
    molecules = trainer.step * config.batch_size
    options = SampleConfig(num_samples=SAMPLES, max_length=150, seed=seed)
    samples, sample_seconds = timed(lambda: sample(trainer.model, data.vocabulary, options))
    return {
        "name": "charrnn Trainer" + (f" {overrides}" if overrides else ""),
        "molecules_per_second": round(molecules / trainer.elapsed),
        "training_seconds": round(trainer.elapsed, 1),
        "validation_loss_per_token": round(trainer.validation_loss(), 4),
        "bfloat16": trainer.bfloat16,
        "samples": [s.text for s in samples],
        "sample_seconds": round(sample_seconds, 3),
    }


def plain_job(corpus: str, limit: int, threads: int, seconds: float, seed: int) -> dict:
    from plain_loop import PlainLSTM, sample_lines, train_lines

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    lines = load_lines(corpus, limit)
    data = prepare_data(lines=lines, tokenizer="char", seed=seed)
    model = PlainLSTM(data.vocabulary.size)
    molecules, elapsed = train_lines(model, data.train, seconds, lambda *a: None, 10**9)
    generator = torch.Generator().manual_seed(seed)
    rows, plain_seconds = timed(lambda: sample_lines(model, SAMPLES, generator=generator))
    # The same weights through charrnn's sampler: the speed difference is the sampler's.
    ours = CharRNN(ModelConfig(data.vocabulary.size, "lstm", 64, 256, 2))
    ours.load_state_dict(model.state_dict())
    options = SampleConfig(num_samples=SAMPLES, max_length=100, seed=seed)
    _, ours_seconds = timed(lambda: sample(ours, data.vocabulary, options))
    return {
        "name": "plain PyTorch loop",
        "molecules_per_second": round(molecules / elapsed),
        "training_seconds": round(elapsed, 1),
        "samples": [data.vocabulary.decode(row) for row in rows],
        "sample_seconds": round(plain_seconds, 3),
        "charrnn_sampler_same_weights_seconds": round(ours_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", choices=["moses", "nci"], default="moses")
    parser.add_argument("--molecules", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequential", action="store_true")
    parser.add_argument("--no-plain", action="store_true")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        help="TrainConfig overrides for ours (key=value); preset=NAME",
    )
    args = parser.parse_args()
    from bench_text import parse_overrides

    before, started = machine(), time.time()
    common = dict(
        corpus=args.corpus,
        limit=args.molecules,
        threads=args.threads,
        seconds=args.seconds,
        seed=args.seed,
    )
    jobs = [(ours_job, dict(common, overrides=parse_overrides(args.set)))]
    if not args.no_plain and args.corpus == "moses":
        jobs.append((plain_job, common))
    results = run_side_by_side(jobs, parallel=not args.sequential)
    training = canonical_set(load_lines(args.corpus, args.molecules))
    for result in results:
        metrics = basic_metrics(result.pop("samples"), training)
        result.update(
            validity=round(metrics.validity, 4),
            uniqueness=round(metrics.uniqueness, 4),
            novelty=round(metrics.novelty, 4),
        )
    report = {
        "benchmark": f"smiles-{args.corpus}",
        "args": vars(args),
        "machine_before": before,
        "machine_after": machine(),
        "wall_seconds": round(time.time() - started),
        "results": results,
    }
    print(
        f"\n{args.corpus} ({len(training)} training molecules), {args.seconds:.0f} s of training, {args.threads} thread(s), {'sequential' if args.sequential else 'side by side'}"
    )
    print(
        f"load average before {before['load_average']}, after {report['machine_after']['load_average']}"
    )
    print(
        f"{'trainer':<40} {'mol/s':>7} {'valid':>7} {'unique':>7} {'novel':>7} {'sample 1k (s)':>14}"
    )
    for r in results:
        print(
            f"{r['name'][:40]:<40} {r['molecules_per_second']:>7} {r['validity']:>7.3f} {r['uniqueness']:>7.3f} {r['novelty']:>7.3f} {r['sample_seconds']:>14.3f}"
        )
    plain = next((r for r in results if r["name"].startswith("plain")), None)
    if plain:
        ratio = plain["charrnn_sampler_same_weights_seconds"] / plain["sample_seconds"]
        print(
            f"sampling 1,000 SMILES with the same weights: plain {plain['sample_seconds']:.3f} s, charrnn {plain['charrnn_sampler_same_weights_seconds']:.3f} s ({ratio:.2f}x the time)"
        )
    print(f"\nsaved {save('smiles-' + args.corpus, report)}")


if __name__ == "__main__":
    main()
