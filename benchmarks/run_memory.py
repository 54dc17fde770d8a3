"""A run's training memory: charrnn.limits.training_memory's estimate against a measurement.

Each size trains a few steps in a fresh process (one thread) on random text; measured are
the peak resident memory and the peak address space (what RLIMIT_AS limits), each minus the
process's own before the model was built. The estimate aims at the address space.
Usage: python benchmarks/run_memory.py [--steps 3] [--precision float32 auto]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from charrnn.limits import parameter_count, size_text, training_memory

ROOT = Path(__file__).resolve().parents[1]
VOCABULARY = 64
SIZES = (  # cell, embedding, hidden, layers, batch, sequence
    ("lstm", 64, 256, 2, 32, 64),
    ("lstm", 128, 512, 3, 64, 128),
    ("lstm", 128, 512, 3, 256, 256),
    ("gru", 128, 1024, 2, 64, 256),
    ("rnn", 64, 1024, 2, 128, 256),
)
CHILD = """
import json, random, sys
import torch
from charrnn.core.batches import prepare_data
from charrnn.core.model import ModelConfig
from charrnn.core.train_config import TrainConfig
from charrnn.core.train import Trainer

def vm(name):
    for line in open("/proc/self/status"):
        if line.startswith(name):
            return int(line.split()[1]) * 1024

cell, embedding, hidden, layers, batch, sequence, vocabulary, steps, precision = json.loads(
    sys.argv[1])
torch.set_num_threads(1)
letters = [chr(33 + i) for i in range(vocabulary)]
text = "".join(random.Random(0).choices(letters, k=max(200_000, 4 * batch * sequence)))
data = prepare_data(text)
before, before_address = vm("VmRSS"), vm("VmSize")
model = ModelConfig(vocab_size=data.vocabulary.size, cell=cell, embedding_size=embedding,
                    hidden_size=hidden, layers=layers, dropout=0.1 if layers > 1 else 0.0)
config = TrainConfig(steps=steps, batch_size=batch, sequence_length=sequence, precision=precision,
                     eval_every=10**6, checkpoint_every=10**6, preview_samples=0, average=0.999)
trainer = Trainer(data, model, config, device="cpu")
for _ in range(steps):
    trainer.train_step()
print(json.dumps({"resident": vm("VmHWM") - before, "address": vm("VmPeak") - before_address}))
"""


def measure(size: tuple, steps: int, precision: str) -> dict:
    arguments = json.dumps([*size, VOCABULARY, steps, precision])
    output = subprocess.run(
        [sys.executable, "-c", CHILD, arguments],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    ).stdout
    return json.loads(output.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--precision", nargs="*", default=["float32", "auto"])
    args = parser.parse_args()
    print(
        "| cell | embedding | hidden | layers | batch x sequence | parameters | precision "
        "| estimate | address space added | resident memory added |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cell, embedding, hidden, layers, batch, sequence in SIZES:
        estimate = training_memory(cell, VOCABULARY, embedding, hidden, layers, batch, sequence)
        count = parameter_count(cell, VOCABULARY, embedding, hidden, layers)
        for precision in args.precision:
            size = (cell, embedding, hidden, layers, batch, sequence)
            found = measure(size, args.steps, precision)
            print(
                f"| {cell} | {embedding} | {hidden} | {layers} | {batch} x {sequence} "
                f"| {count:,} | {precision} | {size_text(estimate)} "
                f"| {size_text(found['address'])} | {size_text(found['resident'])} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
