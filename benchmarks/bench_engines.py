"""NumPy against PyTorch: characters per second of training the same vanilla RNN.

Both engines train the same one-layer RNN (one-hot input, tanh, Adagrad, clipping) on the
same windows of a built-in corpus (charrnn.core.numpy_train.engine_speeds), one after the other.
Usage: python benchmarks/bench_engines.py [--hidden 128] [--sequence 64] [--batch 1 32]
"""

from __future__ import annotations

import argparse

import torch
from common import machine, save

from charrnn.core.batches import prepare_data
from charrnn.core.numpy_train import engine_speeds
from charrnn.corpora.builtins import load_builtin

CORPORA = ("toy-pattern", "python-docs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--sequence", type=int, default=64)
    parser.add_argument("--batch", type=int, nargs="*", default=[1, 32])
    parser.add_argument("--seconds", type=float, default=5.0, help="per engine and setting")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    before, rows = machine(), []
    for corpus in CORPORA:
        data = prepare_data(load_builtin(corpus).text)
        for batch in args.batch:
            speeds = engine_speeds(
                data,
                data.vocabulary.size,
                args.hidden,
                args.seconds,
                sequence_length=args.sequence,
                batch_size=batch,
            )
            rows.append({"corpus": corpus, "vocabulary": data.vocabulary.size, **speeds})
    after = machine()
    save(
        "engines",
        {"args": vars(args), "machine_before": before, "machine_after": after, "results": rows},
    )
    print(
        f"\nVanilla RNN, hidden {args.hidden}, sequence {args.sequence}, {args.seconds:g} s per engine, torch threads {args.threads}"
    )
    print(f"load average before {before['load_average']}, after {after['load_average']}")
    print(
        f"{'corpus':<12} {'vocab':>5} {'batch':>5} {'NumPy chars/s':>14} {'PyTorch chars/s':>16} {'NumPy/PyTorch':>14}"
    )
    for r in rows:
        ratio = r["numpy"] / r["torch"]
        print(
            f"{r['corpus']:<12} {r['vocabulary']:>5} {r['batch_size']:>5} {r['numpy']:>14,.0f} {r['torch']:>16,.0f} {ratio:>14.2f}"
        )


if __name__ == "__main__":
    main()
