"""Steering the shipped prior toward two goals, each with the full method and the ablation
(no experience replay, no diversity filter) in the same run, printing score against seconds.

Tasks: "similarity" (Tanimoto to celecoxib on Morgan r=2 fingerprints; the issue's goal:
best of the last batch >= 0.8 within 10 minutes with uniqueness >= 0.9) and "multi" (logP
3-5, weight 300-450, QED >= 0.7, a sulfonamide; goal: share of a batch meeting all four
from the prior's baseline to >= 0.5 within 5 minutes, validity >= 0.95, uniqueness >= 0.9).
One torch thread; the variants run one after the other, so each has the machine's core.
Usage: python benchmarks/bench_steer.py [--minutes 5] [--steps N] [--tasks similarity multi]
       [--variants full ablation] [--method reinvent|hillclimb] [--seed 0] [--sigma 60]
       [--filter scaffold|molecule]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import machine, save

from charrnn.chem.scorer import Scorer
from charrnn.chem.scoring import Component, ScoreSpec
from charrnn.runs.priors import load_prior
from charrnn.runs.steer import Steerer
from charrnn.runs.steer_config import SteerConfig

CELECOXIB = "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"
TASKS = {
    "similarity": ScoreSpec((Component("similarity", target=CELECOXIB),)),
    "multi": ScoreSpec(
        (
            Component("logp", low=3, high=5, soft=0.5),
            Component("weight", low=300, high=450, soft=25),
            Component("qed", low=0.7, soft=0.05),
            Component("contains", target="S(=O)(=O)N"),
        )
    ),
}
# Each task's settings where they differ from SteerConfig's defaults. Steering toward one
# molecule wants its close analogues (one scaffold) rewarded, so only exact repeats earn
# nothing there; and a harder push (sigma 120, 128 molecules a step: the best of the last
# batch was 0.50 with sigma 60 and 64, 0.77 with 120 and 64, on this machine).
TASK_SETTINGS = {
    "similarity": {"diversity_by": "molecule", "sigma": 120.0, "batch_size": 128},
    "multi": {"diversity_by": "scaffold"},
}
VARIANTS = {
    "full": {},
    "ablation": {"replay_size": 0, "diversity_bucket": 0},
}
ROWS = 10  # lines of each curve printed


def steer_once(task: str, variant: str, args: argparse.Namespace) -> dict:
    prior, vocabulary, _ = load_prior("prior:moses")
    given = {
        "sigma": args.sigma,
        "batch_size": args.batch_size,
        "diversity_by": args.filter,
        "learning_rate": args.learning_rate,
    }
    chosen = TASK_SETTINGS[task] | {name: value for name, value in given.items() if value}
    settings = SteerConfig(
        method=args.method,
        minutes=None if args.steps else args.minutes,
        steps=args.steps,
        seed=args.seed,
        threads=1,
        **chosen,
        **VARIANTS[variant],
    )
    events = []
    started = time.perf_counter()
    steerer = Steerer(prior, vocabulary, Scorer(TASKS[task]), settings, on_event=events.append)
    steerer.run()
    wall = time.perf_counter() - started
    steps = [event.to_json() for event in events if event.kind == "step"]
    best = sorted(steerer.hits.values(), key=lambda row: -row["score"])[:5]
    return {
        "task": task,
        "variant": variant,
        "settings": settings.to_json(),
        "wall_seconds": round(wall, 1),
        "steps": steps,
        "best": [[row["score"], row["smiles"]] for row in best],
    }


def curve_table(result: dict) -> str:
    """Score against seconds: ROWS lines spread over the run, the first and last included."""
    steps = result["steps"]
    picked = sorted({round(i * (len(steps) - 1) / (ROWS - 1)) for i in range(ROWS)})
    lines = [
        f"  {'seconds':>7} {'step':>5} {'mean':>6} {'best':>6} {'all met':>7} "
        f"{'valid':>6} {'unique':>6} {'scaffolds':>9}"
    ]
    for index in picked:
        event = steps[index]
        lines.append(
            f"  {event['elapsed']:7.1f} {event['step']:5d} {event['mean_score']:6.3f} "
            f"{event['best_score']:6.3f} {event['all_pass']:7.3f} {event['validity']:6.3f} "
            f"{event['uniqueness']:6.3f} {event['scaffolds']:9d}"
        )
    return "\n".join(lines)


def goal_line(result: dict) -> str:
    """The issue's figures for the task, from the first and the last batch."""
    first, last = result["steps"][0], result["steps"][-1]
    head = f"  goal check after {last['elapsed']:.0f} s ({last['step']} steps): "
    if result["task"] == "similarity":
        return head + (
            f"best similarity of the last batch {last['best_score']:.3f} (goal >= 0.8; "
            f"prior's first batch {first['best_score']:.3f}), uniqueness "
            f"{last['uniqueness']:.3f} (goal >= 0.9), best ever {last['best_so_far']:.3f}"
        )
    return head + (
        f"share meeting all four {last['all_pass']:.3f} (prior's first batch "
        f"{first['all_pass']:.3f}; goal >= 0.5), validity {last['validity']:.3f} (>= 0.95), "
        f"uniqueness {last['uniqueness']:.3f} (>= 0.9)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="per task and variant")
    parser.add_argument("--steps", type=int, help="a number of steps instead of minutes")
    parser.add_argument("--tasks", nargs="+", choices=tuple(TASKS), default=list(TASKS))
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--method", choices=("reinvent", "hillclimb"), default="reinvent")
    parser.add_argument("--sigma", type=float, help="default: the task's (TASK_SETTINGS)")
    parser.add_argument("--learning-rate", type=float, help="default: SteerConfig's")
    parser.add_argument("--batch-size", type=int, help="default: the task's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--filter", choices=("scaffold", "molecule"), help="diversity filter (default: per task)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    where = machine()
    print(f"bench_steer: {args.method}, seed {args.seed}, load {where['load_average']}")
    results = []
    for task in args.tasks:
        for variant in args.variants:
            result = steer_once(task, variant, args)
            results.append(result)
            chosen = {k: result["settings"][k] for k in ("sigma", "batch_size", "diversity_by")}
            print(f"\n{task} / {variant} ({result['wall_seconds']:.0f} s wall) {chosen}")
            print(curve_table(result))
            print(goal_line(result))
            for score, smiles in result["best"][:3]:
                print(f"    {score:.3f}  {smiles}")
    path = save("steer", {"machine": where, "arguments": vars(args), "results": results})
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
