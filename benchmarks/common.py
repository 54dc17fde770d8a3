"""Shared pieces of the benchmarks: data paths, machine load, the one validation metric
both trainers are scored with, and running two trainers side by side in one run.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("CHARRNN_BENCH_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"


def machine() -> dict:
    """What the figures were measured on, with the load at the time."""
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


@torch.inference_mode()
def text_validation(model, ids: torch.Tensor, streamed: bool = True) -> float:
    """Validation loss in nats/char, float32, every character scored once.

    streamed: 32 parallel streams read in order, the state carried along (the model as a
    language model of the whole text). windowed: independent 100-character windows, each
    from a fresh state (what a window-trained model saw in training).
    """
    model.eval()
    total, count = 0.0, 0
    if streamed:
        streams, window = 32, 128
        length = (len(ids) - 1) // streams
        inputs = ids[: streams * length].view(streams, length)
        targets = ids[1 : streams * length + 1].view(streams, length)
        state = None
        for begin in range(0, length, window):
            logits, state = model(inputs[:, begin : begin + window], state)
            total += float(
                nn.functional.cross_entropy(
                    logits.flatten(0, 1),
                    targets[:, begin : begin + window].flatten(),
                    reduction="sum",
                )
            )
            count += targets[:, begin : begin + window].numel()
    else:
        window = 100
        rows = (len(ids) - 1) // window
        inputs = ids[: rows * window].view(rows, window)
        targets = ids[1 : rows * window + 1].view(rows, window)
        for begin in range(0, rows, 256):
            logits, _ = model(inputs[begin : begin + 256])
            total += float(
                nn.functional.cross_entropy(
                    logits.flatten(0, 1), targets[begin : begin + 256].flatten(), reduction="sum"
                )
            )
            count += targets[begin : begin + 256].numel()
    return total / count


def run_side_by_side(jobs: list[tuple], parallel: bool) -> list[dict]:
    """Run (function, kwargs) jobs in fresh processes, together or one after the other."""
    context = multiprocessing.get_context("spawn")
    if not parallel:
        results = []
        for function, kwargs in jobs:
            with context.Pool(1) as pool:
                results.append(pool.apply(function, (), kwargs))
        return results
    with context.Pool(len(jobs)) as pool:
        pending = [pool.apply_async(function, (), kwargs) for function, kwargs in jobs]
        return [p.get() for p in pending]


def save(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2))
    return path


def first_time_below(curve: list[tuple[float, float]], target: float) -> float | None:
    """Training seconds at which a (seconds, loss) curve first reaches ``target``."""
    for seconds, loss in curve:
        if loss <= target:
            return seconds
    return None
