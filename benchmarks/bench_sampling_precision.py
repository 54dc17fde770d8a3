"""CPU sampling speed in float32 and bfloat16, with oneDNN off (how sampling runs) and on.

Why core.model.use_bfloat16's "auto" picks bfloat16 on a CPU only while oneDNN is on.
Usage: python benchmarks/bench_sampling_precision.py [--presets tiny small] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import machine, save

from charrnn.core.model import CharRNN, preset_config
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import build_vocabulary

ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:!?\n0123456789"
WAYS = {  # how each column samples: `sample` switches oneDNN off; its __wrapped__ does not
    "no oneDNN float32": (sample, "float32"),
    "no oneDNN bfloat16": (sample, "bfloat16"),
    "oneDNN float32": (sample.__wrapped__, "float32"),
    "oneDNN bfloat16": (sample.__wrapped__, "bfloat16"),
}


def best_seconds(function, model, vocabulary, config: SampleConfig, repeats: int) -> float:
    function(model, vocabulary, config)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(model, vocabulary, config)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presets", nargs="*", default=["tiny", "small"])
    parser.add_argument("--samples", type=int, nargs="*", default=[1, 16, 100])
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vocabulary = build_vocabulary([ALPHABET])
    print(f"seconds to write N samples of {args.length} characters (best of {args.repeats})")
    print(f"{'preset':<7}{'N':>5} " + "".join(f"{way:>20}" for way in WAYS))
    rows = []
    for preset in args.presets:
        model = CharRNN(preset_config(preset, vocabulary.size))
        for count in args.samples:
            seconds = {}
            for way, (function, precision) in WAYS.items():
                config = SampleConfig(
                    num_samples=count, max_length=args.length, seed=1, precision=precision
                )
                seconds[way] = best_seconds(function, model, vocabulary, config, args.repeats)
            rows.append({"preset": preset, "samples": count, "seconds": seconds})
            print(f"{preset:<7}{count:>5} " + "".join(f"{s:>20.3f}" for s in seconds.values()))
    path = save("sampling_precision", {"machine": machine(), "length": args.length, "rows": rows})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
