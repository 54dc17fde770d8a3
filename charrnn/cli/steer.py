"""`python -m charrnn steer`: steer a molecule model toward a score (score.json) in a new run
folder, printing each step's scores; Ctrl-C stops and saves, --resume continues.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from charrnn.chem.scoring import MAX_SCORE_FILE_BYTES, ScoreError, ScoreSpec
from charrnn.cli.common import EXIT_INTERRUPTED, EXIT_OK, given
from charrnn.cli.console import StopOnInterrupt, clock, printable
from charrnn.core.checkpoint import CHECKPOINT_FILE
from charrnn.errors import UserError
from charrnn.runs.folder import METRICS_FILE
from charrnn.runs.priors import is_prior
from charrnn.runs.steer_config import SteerConfig, SteerError, SteerEvent
from charrnn.runs.steer_run import (
    plan_steering,
    read_steer_file,
    steerer_of,
    write_steer_file,
)

SETTINGS = ("method", "steps", "minutes", "batch_size", "sigma", "learning_rate", "seed")
SETTINGS += ("threads", "diversity_by")
SHOWN_HITS = 10


def read_score_file(path: str) -> ScoreSpec:
    """The ScoreSpec in a score.json file; ScoreError saying what is wrong with it."""
    file = Path(path)
    try:
        with file.open("rb") as handle:  # read up to the cap: /dev/zero's size says 0
            data = handle.read(MAX_SCORE_FILE_BYTES + 1)
        if len(data) > MAX_SCORE_FILE_BYTES:
            raise ScoreError(f"{file.name} is larger than a score file can be (64 KB).")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScoreError(f"Cannot read the score file {path}: {error}.") from None
    return ScoreSpec.loads(text)


def step_line(event: SteerEvent, minutes: float | None) -> str:
    """E.g. "step 12  score 0.412 (best 0.873, so far 0.901)  valid 0.95  unique 1.00 ..."."""
    limit = f" of {clock(60 * minutes)}" if minutes else ""
    where = f"step {event.step}" + (f"/{event.total_steps}" if event.total_steps else "")
    parts = [
        f"{where}  {clock(event.elapsed)}{limit}",
        f"score {event.mean_score:.3f} (best {event.best_score:.3f}, so far "
        f"{event.best_so_far:.3f})",
        f"valid {event.validity:.2f}",
        f"unique {event.uniqueness:.2f}",
        f"scaffolds {event.scaffolds}",
        f"all met {event.all_pass:.2f}",
    ]
    return "  ".join(parts)


def steer_command(args: argparse.Namespace) -> int:
    run_dir = Path(args.out)
    chosen = given(args, SETTINGS)
    if args.resume:
        if args.start or args.score:
            raise UserError("--resume continues the run in --out as it began: leave out START "
                            "and --score.")  # fmt: skip
        steerer_settings = _resumed_settings(run_dir, chosen)
    else:
        steerer_settings = _new_run(args, run_dir, chosen)
    stop = StopOnInterrupt(sys.stderr)
    minutes = steerer_settings.minutes

    def show(event: SteerEvent) -> None:
        if event.kind == "step":
            print(step_line(event, minutes), file=sys.stderr, flush=True)
            if event.warning:
                print(f"  warning: {event.warning}", file=sys.stderr, flush=True)

    steerer = steerer_of(run_dir, on_event=show, control=stop.control, settings=steerer_settings)
    if steerer.progress() >= 1.0:
        print(
            f"The run already reached its limit (step {steerer.step}). Pass a larger --steps "
            "or --minutes with --resume to steer it longer.",
            file=sys.stderr,
        )
        return EXIT_OK
    start, score, _ = read_steer_file(run_dir)
    print(f"Steering {start} ({steerer_settings.method}). {score.sentence()}", file=sys.stderr)
    print("Ctrl-C stops and saves.", file=sys.stderr, flush=True)
    with stop:
        final = steerer.run()
    where = shlex.quote(str(run_dir))
    best = sorted(steerer.hits.values(), key=lambda row: -row["score"])[:SHOWN_HITS]
    if best:
        print(f"The best molecules so far (all in {run_dir / 'hits.json'}):")
        for row in best:
            print(f"{row['score']:.3f}  {printable(row['smiles'])}")
    if final.status == "stopped":
        print(
            f"Stopped at step {final.step}; the steered model is saved. To continue:\n"
            f"  python -m charrnn steer --resume --out {where}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(
        f"Done: step {final.step}. The steered model is in {where}; sample it with:\n"
        f"  python -m charrnn sample {where} --check",
        file=sys.stderr,
    )
    return EXIT_OK


def _new_run(args: argparse.Namespace, run_dir: Path, chosen: dict) -> SteerConfig:
    if not args.start or not args.score:
        raise UserError("Name the model to steer (a run folder or prior:ID) and --score FILE.")
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"{run_dir} is a file. Choose a folder name for --out.")
    if any((run_dir / name).exists() for name in (CHECKPOINT_FILE, METRICS_FILE)):
        raise UserError(
            f"{run_dir} already holds a run. Continue it with `python -m charrnn steer "
            f"--resume --out {shlex.quote(str(run_dir))}`, or choose another --out folder."
        )
    if not is_prior(args.start) and not (Path(args.start) / CHECKPOINT_FILE).is_file():
        raise SteerError(f"{args.start} is neither a run folder with a model nor prior:ID.")
    if "minutes" in chosen and "steps" not in chosen:
        chosen["steps"] = None
    elif "steps" in chosen and "minutes" not in chosen:
        chosen["minutes"] = None
    settings = SteerConfig(
        **chosen,
        replay_size=0 if args.no_replay else SteerConfig.replay_size,
        diversity_bucket=0 if args.no_diversity_filter else SteerConfig.diversity_bucket,
    )
    plan_steering(run_dir, args.start, read_score_file(args.score), settings)
    return settings


def _resumed_settings(run_dir: Path, chosen: dict) -> SteerConfig:
    if not (run_dir / CHECKPOINT_FILE).is_file():
        raise SteerError(f"{run_dir} has no steered model to resume from.")
    fixed = sorted(set(chosen) - {"steps", "minutes", "threads"})
    if fixed:
        names = ", ".join(f"--{name.replace('_', '-')}" for name in fixed)
        raise UserError(f"{names} cannot change when resuming; leave them out.")
    if "steps" in chosen or "minutes" in chosen:  # new limits, both restated
        chosen = {"steps": None, "minutes": None, **chosen}
    start, score, settings = read_steer_file(run_dir)
    settings = replace(settings, **chosen)
    write_steer_file(run_dir, start, score, settings)  # a worker resuming it keeps them
    return settings


def add_steer_parser(commands, formatter, count, amount) -> None:
    """The `steer` command's options (called by cli.parser)."""
    steer = commands.add_parser(
        "steer",
        help="steer a molecule model toward a score (reinforcement learning)",
        description="Teach a molecule model to write the molecules a score likes: it writes "
        "a batch, each molecule is scored (score.json, see docs/engine.md), and the model becomes "
        "more likely to write high scorers while the prior keeps it writing real chemistry. "
        "The run folder (--out) gets the steered model, metrics.jsonl and hits.json (the best "
        "molecules with each part of the score). Ctrl-C stops and saves.",
        formatter_class=formatter,
    )
    steer.set_defaults(handler=steer_command)
    steer.add_argument("start", nargs="?", metavar="RUN_DIR|prior:ID", help="the model to steer")
    steer.add_argument("--score", metavar="FILE", help="the score: a score.json file")
    steer.add_argument("--out", required=True, metavar="RUN_DIR", help="the new run folder")
    defaults = SteerConfig()
    steer.add_argument("--method", choices=("reinvent", "hillclimb"), help="(default: reinvent)")
    steer.add_argument(
        "--minutes", type=amount, help=f"steering time (default: {defaults.minutes:g})"
    )
    steer.add_argument("--steps", type=count, help="stop after this many steps")
    steer.add_argument(
        "--sigma",
        type=float,
        help=f"REINVENT: how much the score counts against the prior (default: {defaults.sigma:g})",
    )
    steer.add_argument(
        "--batch-size", type=count, help=f"molecules per step (default: {defaults.batch_size})"
    )
    steer.add_argument(
        "--learning-rate", type=amount, help=f"(default: {defaults.learning_rate:g})"
    )
    steer.add_argument("--seed", type=int, help="random seed (default: 0)")
    steer.add_argument("--threads", type=count, help="CPU threads for torch")
    steer.add_argument("--no-replay", action="store_true", help="no experience replay")
    steer.add_argument(
        "--no-diversity-filter", action="store_true", help="reward repeated scaffolds too"
    )
    steer.add_argument(
        "--diversity-by",
        choices=("scaffold", "molecule"),
        help="the filter stops rewarding a ring system found 25 times (scaffold, the default), "
        "or only repeated molecules (molecule: for steering toward one molecule)",
    )
    steer.add_argument("--resume", action="store_true", help="continue the run in --out")
