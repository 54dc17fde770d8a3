"""Tiny Shakespeare: our Trainer against the plain PyTorch loop, in one run.

Both train the same 2x256 LSTM for the same seconds of training on the first 90% of
../shared/data/tinyshakespeare.txt and are scored by the same function on the last 10%.
Usage: python benchmarks/bench_text.py [--seconds 600] [--threads 1] [--sequential]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import DATA, first_time_below, machine, run_side_by_side, save, text_validation

from charrnn.core.batches import prepare_data
from charrnn.core.model import ModelConfig
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig


def load(path: str):
    return prepare_data(text=open(path, encoding="utf-8").read(), validation_fraction=0.1)


def plain_job(path: str, threads: int, seconds: float, every: float, seed: int) -> dict:
    from plain_loop import PlainLSTM, train_text

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    data = load(path)
    model = PlainLSTM(data.vocabulary.size)
    curve = []

    def checkpoint(elapsed, loss, chars):
        curve.append((round(elapsed, 1), round(text_validation(model, data.validation), 4)))

    chars, elapsed = train_text(model, data.train, seconds, checkpoint, every)
    return finish("plain PyTorch loop", model, data, curve, chars, elapsed)


def ours_job(
    path: str, threads: int, seconds: float, every: float, seed: int, overrides: dict
) -> dict:
    torch.set_num_threads(threads)
    data = load(path)
    settings = dict(
        steps=None,
        minutes=seconds / 60,
        eval_every=10**9,
        log_every=5,
        checkpoint_every=0,
        preview_samples=0,
        seed=seed,
    )
    settings.update(overrides)
    model_settings = {
        k: settings.pop(k)
        for k in ("cell", "hidden_size", "layers", "embedding_size", "dropout")
        if k in settings
    }
    config = TrainConfig(**settings)
    model_config = ModelConfig(
        vocab_size=data.vocabulary.size,
        **{"embedding_size": 64, "hidden_size": 256, "layers": 2, **model_settings},
    )
    curve, next_point = [], [every]
    trainer: Trainer | None = None

    def on_event(event):
        if event.kind == "step" and (event.elapsed >= next_point[0] or event.progress >= 1):
            with trainer.averaged():  # the weights a user would get (averaged, if set)
                loss = text_validation(trainer.model, data.validation)
            curve.append((round(event.elapsed, 1), round(loss, 4)))
            next_point[0] += every

    trainer = Trainer(data, model_config, config, on_event=on_event)
    trainer.run()
    chars = trainer.step * trainer.streams.batch_size * trainer.streams.sequence_length
    label = "charrnn Trainer" + (f" {overrides}" if overrides else "")
    result = finish(label, trainer.model, data, curve, chars, trainer.elapsed)
    result["bfloat16"] = trainer.bfloat16
    return result


def finish(name, model, data, curve, chars, elapsed) -> dict:
    return {
        "name": name,
        "curve": curve,
        "chars_per_second": round(chars / elapsed),
        "training_seconds": round(elapsed, 1),
        "validation_streamed": round(text_validation(model, data.validation, streamed=True), 4),
        "validation_windowed": round(text_validation(model, data.validation, streamed=False), 4),
    }


def parse_overrides(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        values[key] = value
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--every", type=float, default=30, help="seconds between curve points")
    parser.add_argument(
        "--sequential", action="store_true", help="one after the other (quiet machine, 2 threads)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set", nargs="*", default=[], help="TrainConfig/ModelConfig overrides for ours, key=value"
    )
    parser.add_argument("--no-plain", action="store_true", help="skip the plain loop (tuning)")
    parser.add_argument(
        "--compare", nargs="*", default=None, help="a second set of overrides to run beside ours"
    )
    args = parser.parse_args()
    path = str(DATA / "tinyshakespeare.txt")
    before = machine()
    started = time.time()
    jobs = [
        (
            ours_job,
            dict(
                path=path,
                threads=args.threads,
                seconds=args.seconds,
                every=args.every,
                seed=args.seed,
                overrides=parse_overrides(args.set),
            ),
        )
    ]
    if args.compare is not None:
        jobs.append(
            (
                ours_job,
                dict(
                    path=path,
                    threads=args.threads,
                    seconds=args.seconds,
                    every=args.every,
                    seed=args.seed,
                    overrides=parse_overrides(args.compare),
                ),
            )
        )
    if not args.no_plain:
        jobs.append(
            (
                plain_job,
                dict(
                    path=path,
                    threads=args.threads,
                    seconds=args.seconds,
                    every=args.every,
                    seed=args.seed,
                ),
            )
        )
    results = run_side_by_side(jobs, parallel=not args.sequential)
    report = {
        "benchmark": "tinyshakespeare",
        "args": vars(args),
        "machine_before": before,
        "machine_after": machine(),
        "wall_seconds": round(time.time() - started),
        "results": results,
    }
    plain = next((r for r in results if r["name"].startswith("plain")), None)
    print(
        f"\nTiny Shakespeare, {args.seconds:.0f} s of training, {args.threads} thread(s), {'sequential' if args.sequential else 'side by side'}"
    )
    print(
        f"load average before {before['load_average']}, after {report['machine_after']['load_average']}"
    )
    print(
        f"{'trainer':<40} {'chars/s':>9} {'val streamed':>13} {'val windowed':>13} {'time to plain final':>20}"
    )
    for r in results:
        reach = ""
        if plain and r is not plain:
            t = first_time_below(r["curve"], plain["curve"][-1][1])
            reach = f"{t:.0f} s ({t / plain['training_seconds']:.2f}x)" if t else "not reached"
            r["time_to_plain_final"] = t
        print(
            f"{r['name'][:40]:<40} {r['chars_per_second']:>9} {r['validation_streamed']:>13} {r['validation_windowed']:>13} {reach:>20}"
        )
    print("\ncurves (training seconds, validation nats/char, streamed):")
    for r in results:
        print(f"  {r['name'][:40]}: " + " ".join(f"{s:.0f}:{v:.3f}" for s, v in r["curve"]))
    print(f"\nsaved {save('tinyshakespeare', report)}")


if __name__ == "__main__":
    main()
