"""What each user action costs the machine that runs it: CPU seconds and peak memory of the
real worker process (charrnn.runs.worker_process, 1 torch thread), per preset and action,
measured; the capacity plan for a course in docs/workshop.md is computed from these figures.

Each training action runs twice, for --short and --long steps, so the cost splits into the
worker's start (Python, torch, the corpus) and a cost per step; a default run's cost is then
start + steps x per step (the preset's default steps). A chemistry check and a steering run
(time-bound: --steer-minutes) are measured once.
It ends with a capacity plan: for --users people each doing an action within --window
minutes, the CPU cores (one job per core) and the memory those jobs need at once,
cores = ceil(users x CPU seconds per job / window seconds); --plan FILE prints the plan
again from a saved result without measuring.
Usage: python benchmarks/job_costs.py [--short 20] [--long 200] [--steer-minutes 1]
       [--users 200] [--window 10] [--plan benchmarks/results/job-costs-....json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

from common import machine, save

from charrnn.chem.scoring import Component, ScoreSpec
from charrnn.runs.plan import DEFAULT_STEPS, FINETUNE_STEPS, new_run_config
from charrnn.runs.steer_config import SteerConfig
from charrnn.runs.steer_run import new_steering_run
from charrnn.runs.worker_process import WorkerProcess
from charrnn.runs.workspace import Workspace, new_workspace

# action -> (built-in corpus, kind, preset, start from, default steps)
ACTIONS = {
    "Learn a pattern (tiny)": ("toy-pattern", "text", "tiny", None, DEFAULT_STEPS["tiny"]),
    "Write like Python's docs (small)": (
        "python-docs", "text", "small", None, DEFAULT_STEPS["small"],
    ),
    "Medium model on Python's docs": (
        "python-docs", "text", "medium", None, DEFAULT_STEPS["medium"],
    ),
    "Generate molecules (fine-tune the prior)": (
        "nci-5k", "smiles", "tiny", "prior:moses", FINETUNE_STEPS,
    ),
}  # fmt: skip


LONG_SCALE = {"tiny": 5}  # the second run's steps, times --long


def measured(folder: Path, task: str = "train") -> dict:
    """Run one job in a real worker process; its CPU seconds, peak RSS and wall seconds."""
    started = time.perf_counter()
    worker = WorkerProcess(folder, 1, task)
    _, status, usage = os.wait4(worker.pid, 0)
    worker.popen.returncode = os.waitstatus_to_exitcode(status)
    if worker.popen.returncode != 0:
        raise RuntimeError(f"the {task} job in {folder} failed ({worker.popen.returncode})")
    return {
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),  # kilobytes on Linux
        "wall_seconds": round(time.perf_counter() - started, 2),
    }


def train_cost(space: Workspace, action: str, steps: int, chem: bool) -> dict:
    corpus_id, kind, preset, start, _ = ACTIONS[action]
    corpus = {"reference": f"builtin:{corpus_id}", "kind": kind, "drop_invalid": True}
    train = {"steps": steps, "checkpoint_every": steps}
    if kind == "smiles" and not chem:
        train["chem_every"] = 0
    config = new_run_config(space, corpus, preset, train=train, init_from=start)
    run_id = space.create_run(f"{action} {steps}", config)
    return measured(space.run_dir(run_id))


def capacity_plan(rows: list[dict], users: int, window_minutes: float) -> str:
    """Cores and memory for ``users`` people each doing an action within the window."""
    lines = [
        f"\nCapacity for {users} people, each action done by all of them within "
        f"{window_minutes:g} minutes (1 job per core):",
        "| action | CPU s per job | cores | memory at once (GB) |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        cores = math.ceil(users * row["default_cpu_seconds"] / (60 * window_minutes))
        memory = cores * row["peak_mb"] / 1024
        lines.append(
            f"| {row['action']} | {row['default_cpu_seconds']:.0f} | {cores} | {memory:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=20, help="steps of the first run")
    parser.add_argument("--long", type=int, default=120, help="steps of the second run")
    parser.add_argument("--steer-minutes", type=float, default=1.0)
    parser.add_argument("--actions", nargs="+", default=list(ACTIONS), choices=list(ACTIONS))
    parser.add_argument("--users", type=int, default=200, help="people in the course")
    parser.add_argument("--window", type=float, default=10.0, help="minutes for an action")
    parser.add_argument("--plan", type=Path, help="a saved result: print its plan only")
    args = parser.parse_args()
    if args.plan:
        rows = json.loads(args.plan.read_text(encoding="utf-8"))["rows"]
        print(capacity_plan(rows, args.users, args.window))
        return
    where = machine()
    print(f"job_costs: 1 torch thread per job, load {where['load_average']}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="charrnn-costs-") as home:
        space = Workspace(new_workspace(Path(home)), Path(home))
        for action in args.actions:
            steps = args.long * LONG_SCALE.get(ACTIONS[action][2], 1)  # a tiny step is cheap
            short = train_cost(space, action, args.short, chem=False)
            long = train_cost(space, action, steps, chem=False)
            per_step = (long["cpu_seconds"] - short["cpu_seconds"]) / (steps - args.short)
            start = max(0.0, short["cpu_seconds"] - args.short * per_step)
            default_steps = ACTIONS[action][4]
            rows.append(
                {
                    "action": action,
                    "start_cpu_seconds": round(start, 2),
                    "cpu_seconds_per_step": round(per_step, 4),
                    "default_steps": default_steps,
                    "default_cpu_seconds": round(start + default_steps * per_step, 1),
                    "peak_mb": max(short["peak_mb"], long["peak_mb"]),
                }
            )
            print(rows[-1], flush=True)
        corpus = {"reference": "builtin:nci-5k", "kind": "smiles", "drop_invalid": True}
        config = new_run_config(space, corpus, "tiny", train={"steps": 1}, init_from="prior:moses")
        checked = space.run_dir(space.create_run("for a check", config))
        measured(checked)
        check = measured(checked, "assess")
        rows.append({"action": "Chemistry check (defaults)", "default_cpu_seconds": check[
            "cpu_seconds"], "peak_mb": check["peak_mb"]})  # fmt: skip
        print(rows[-1], flush=True)
        score = ScoreSpec((Component("qed"), Component("sa")))
        settings = SteerConfig(minutes=args.steer_minutes, threads=1)
        steered = new_steering_run(space, "prior:moses", score, settings, "steered")
        steer = measured(space.run_dir(steered))
        rows.append({"action": f"Steer the prior ({args.steer_minutes:g} min)",
                     "default_cpu_seconds": steer["cpu_seconds"], "peak_mb": steer["peak_mb"]})  # fmt: skip
        print(rows[-1], flush=True)
    print("\n| action | start CPU s | CPU s per step | default steps | CPU s per job | peak MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['action']} | {row.get('start_cpu_seconds', '')} | "
            f"{row.get('cpu_seconds_per_step', '')} | {row.get('default_steps', '')} | "
            f"{row['default_cpu_seconds']} | {row['peak_mb']:.0f} |"
        )
    print(capacity_plan(rows, args.users, args.window))
    arguments = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    print(f"saved {save('job-costs', {'machine': where, 'arguments': arguments, 'rows': rows})}")


if __name__ == "__main__":
    main()
