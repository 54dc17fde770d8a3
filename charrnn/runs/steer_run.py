"""A steering run's folder: planned from a model to start from (``prior:ID`` or a run) and a
score, then steered by a worker (or the command line) with runs.steer's loop.

The folder is a run like any other (config.json, run.json, metrics.jsonl, a checkpoint that
Generate, Chemistry and Inside read), plus steer.json: what it started from, its score
and settings. A steered run can itself be the start of another steering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from charrnn.chem.diversity import batch_summary
from charrnn.chem.scorer import Scorer
from charrnn.chem.scoring import ScoreSpec
from charrnn.core.checkpoint import CHECKPOINT_FILE, CheckpointError, load_checkpoint
from charrnn.core.model import CharRNN
from charrnn.core.representation import to_smiles
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import Vocabulary
from charrnn.core.train_config import Control, TrainConfig
from charrnn.files import atomic_write_text
from charrnn.runs.config import RunConfig, read_run_config, write_run_config
from charrnn.runs.folder import METRICS_FILE, read_metrics
from charrnn.runs.priors import is_prior, load_prior
from charrnn.runs.steer import Steerer
from charrnn.runs.steer_config import (
    BATCHES_FILE,
    HITS_FILE,
    STEER_FILE,
    STEER_FORMAT,
    STEER_STATE_FILE,
    SteerConfig,
    SteerError,
    SteerEvent,
)

MAX_PREVIEW = 1000  # molecules starting_point samples at most

if TYPE_CHECKING:
    from collections.abc import Callable

    from charrnn.runs.workspace import Workspace


def is_steering_run(run_dir: Path) -> bool:
    """Whether a run folder is a steering run (it has steer.json)."""
    return (Path(run_dir) / STEER_FILE).is_file()


def load_start(start: str, run_dir: Path | None = None) -> tuple[CharRNN, Vocabulary]:
    """The model to steer: a shipped prior (``prior:ID``) or a run folder's checkpoint; with
    ``run_dir`` (a workspace's run), a run only of the same workspace."""
    if is_prior(start):
        model, vocabulary, _ = load_prior(start)
    else:
        folder = Path(start)
        if run_dir is not None and folder.resolve().parent != Path(run_dir).resolve().parent:
            raise SteerError("A steering run can only start from a run of the same workspace.")
        model_file = folder / CHECKPOINT_FILE
        if not model_file.is_file():
            raise SteerError("The model to start from has no saved model yet. Train it first.")
        checkpoint = load_checkpoint(folder, training_state=False)
        model, vocabulary = checkpoint.model, checkpoint.vocabulary
    if not vocabulary.line_based:
        raise SteerError(
            "Only a model of molecules (SMILES) can be steered: this one learned text."
        )
    return model, vocabulary


def starting_point(
    start: str, score: ScoreSpec, count: int = 128, seed: int = 0, run_dir: Path | None = None
) -> dict:
    """How the model to steer scores before any steering (what is being asked of it):
    {"summary": batch_summary of ``count`` samples (at most MAX_PREVIEW), "names", "rows"}."""
    scorer = Scorer(score)
    model, vocabulary = load_start(start, run_dir)
    config = SampleConfig(
        num_samples=max(1, min(count, MAX_PREVIEW)),
        max_length=SteerConfig.max_length,
        seed=seed,
        precision="float32",
    )
    drawn = sample(model, vocabulary, config)  # a SELFIES model's: scored as SMILES
    scored = scorer([to_smiles(s.text, vocabulary) if s.finished else "" for s in drawn])
    return {
        "summary": batch_summary(scored, scorer.names),
        "names": list(scorer.names),
        "rows": [molecule.row(scorer.names) for molecule in scored],
    }


def steer_run_config(
    start: str, settings: SteerConfig, model: CharRNN, vocabulary: Vocabulary
) -> RunConfig:
    """config.json of a steering run: the model started from (init_from) and its corpus, so
    Generate, Chemistry and Inside treat the steered model as any run's."""
    train = TrainConfig(
        steps=settings.steps,
        minutes=settings.minutes,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        seed=settings.seed,
        preview_samples=0,
    )
    values = dict(corpus=start, corpus_kind="smiles", corpus_sha256="")
    if not is_prior(start):
        try:
            base = read_run_config(Path(start))
            values = dict(
                corpus=base.corpus,
                corpus_kind=base.corpus_kind,
                corpus_sha256=base.corpus_sha256,
                smiles_column=base.smiles_column,
                drop_invalid=base.drop_invalid,
            )
        except CheckpointError:
            pass  # an uploaded model without a config: its corpus is unknown
    start_reference = start if is_prior(start) else str(Path(start).resolve())
    return RunConfig(
        tokenizer=vocabulary.tokenizer,
        model=model.config,
        train=train,
        init_from=start_reference,
        **values,
    )


def write_steer_file(run_dir: Path, start: str, score: ScoreSpec, settings: SteerConfig) -> None:
    start_reference = start if is_prior(start) else str(Path(start).resolve())
    record = {
        "format": STEER_FORMAT,
        "start": start_reference,
        "score": score.to_json(),
        "settings": settings.to_json(),
    }
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(Path(run_dir) / STEER_FILE, text)


def plan_steering(run_dir: Path, start: str, score: ScoreSpec, settings: SteerConfig) -> RunConfig:
    """Make ``run_dir`` a steering run (config.json and steer.json); checks the start and the
    score (a pattern RDKit cannot read is a ScoreError here, before any worker starts)."""
    Scorer(score)
    model, vocabulary = load_start(start)
    config = steer_run_config(start, settings, model, vocabulary)
    write_run_config(run_dir, config)
    write_steer_file(run_dir, start, score, settings)
    return config


def new_steering_run(
    space: Workspace, start: str, score: ScoreSpec, settings: SteerConfig, name: str
) -> str:
    """A queued steering run in a workspace (``start``: ``prior:ID`` or a run id); returns
    its run id. Submit it to the job runner as a training job: the worker steers it."""
    start_reference = start if is_prior(start) else str(space.run_dir(start))
    Scorer(score)
    model, vocabulary = load_start(start_reference)
    config = steer_run_config(start_reference, settings, model, vocabulary)
    run_id = space.create_run(name, config)
    write_steer_file(space.run_dir(run_id), start_reference, score, settings)
    return run_id


def read_steer_file(run_dir: Path) -> tuple[str, ScoreSpec, SteerConfig]:
    """The start, score and settings of a steering run; SteerError when steer.json is damaged."""
    try:
        record = json.loads((Path(run_dir) / STEER_FILE).read_text(encoding="utf-8"))
        if record.get("format") != STEER_FORMAT:
            raise ValueError(f"its format is not {STEER_FORMAT}")
        score = ScoreSpec.from_json(record["score"])
        return str(record["start"]), score, SteerConfig.from_json(record["settings"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise SteerError(f"This steering run's {STEER_FILE} is damaged ({error}).") from None


def read_hits(run_dir: Path) -> dict | None:
    """The best molecules so far: {"step", "names", "rows": [row, ...]} best first, or None."""
    try:
        record = json.loads((Path(run_dir) / HITS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("rows"), list) else None


def read_batches(run_dir: Path) -> dict | None:
    """The first and the latest batch of a steering run (``Steerer.batch_values`` under
    "first" and "last", with "names"), or None before its first save."""
    try:
        record = json.loads((Path(run_dir) / BATCHES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not all(
        isinstance(record.get(key), dict) for key in ("first", "last")
    ):
        return None
    return record


def steerer_of(
    run_dir: Path,
    *,
    in_workspace: bool = False,
    on_event: Callable[[SteerEvent], None] | None = None,
    control: Control | None = None,
    settings: SteerConfig | None = None,
) -> Steerer:
    """The Steerer of a steering run: resumed from its checkpoint when it has one.
    ``settings`` replaces the run's own (e.g. a longer time limit on resuming)."""
    run_dir = Path(run_dir)
    start, score, own = read_steer_file(run_dir)
    prior, vocabulary = load_start(start, run_dir if in_workspace else None)
    steerer = Steerer(
        prior,
        vocabulary,
        Scorer(score),
        settings or own,
        run_dir=run_dir,
        on_event=on_event,
        control=control,
        run_info={"steered_from": start, "score": score.to_json()},
    )
    if (run_dir / CHECKPOINT_FILE).is_file() and (run_dir / STEER_STATE_FILE).is_file():
        steerer.restore()
        _trim_metrics(run_dir, steerer.step)
    else:
        (run_dir / METRICS_FILE).unlink(missing_ok=True)  # a start that failed before saving
    return steerer


def run_steering(run_dir: Path, **hooks) -> SteerEvent:
    """Steer the run in ``run_dir`` (new or resumed) until done; the worker's entry."""
    return steerer_of(run_dir, **hooks).run()


def _trim_metrics(run_dir: Path, step: int) -> None:
    """Keep the events up to the checkpoint: later steps are steered (and logged) again."""
    kept = [event for event in read_metrics(run_dir) if int(event.get("step", 0)) <= step]
    text = "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in kept)
    atomic_write_text(run_dir / METRICS_FILE, text)
