"""A run's chemistry check: sample many molecules, measure them as MOSES does, keep the result.

It runs as a job in a worker process (charrnn.runs.worker) and leaves chemistry.json in the run
folder, so the Chemistry page finds it again after a refresh; chemistry_status.json tells
the page how far it has got.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from charrnn.errors import SettingsError
from charrnn.files import atomic_write_text
from charrnn.runs.status import (
    CHECK_ACTIVE,
    CHECK_STATUS_FILE,
    CheckStatus,
    read_job_status,
    status_lock,
    update_job_status,
)

REPORT_FILE, STATUS_FILE = "chemistry.json", CHECK_STATUS_FILE
ACTIVE = CHECK_ACTIVE  # a check waiting or under way
SAMPLE_CHUNK = 500  # molecules sampled between two progress updates
TRAINING_ROWS_KEPT = 5000  # training molecules kept for the property histograms
HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class AssessmentSettings:
    samples: int = 1000  # molecules to generate
    temperature: float = 1.0  # MOSES samples at temperature 1
    fcd: bool = True  # the Fréchet ChemNet Distance (slow the first time on a corpus)
    seed: int = 0
    # What to compare with: "" for the run's own corpus; for a shipped prior (whose training
    # set is not shipped) a built-in corpus ("builtin:ID") or one of the workspace's uploads.
    reference: str = ""

    def __post_init__(self) -> None:
        if not 10 <= self.samples <= 30_000:
            raise SettingsError("the number of molecules must be between 10 and 30,000")
        if not 0 < self.temperature <= 3:
            raise SettingsError("the temperature must be above 0 and at most 3")

    @classmethod
    def from_json(cls, data: dict) -> AssessmentSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


# ----- the files ------------------------------------------------------------------------
def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_status(run_dir: Path) -> dict:
    """{"status": a CheckStatus, "stage", "fraction", "error", ...} or {}."""
    return read_job_status(run_dir, "assess")


def write_status(run_dir: Path, **values) -> None:
    """Change some fields of the check's status, under the run folder's status lock."""
    update_job_status(Path(run_dir), "assess", **values)


def read_report(run_dir: Path) -> dict | None:
    """The last finished chemistry check of this run, or None."""
    report = _read_json(Path(run_dir) / REPORT_FILE)
    return report if report and "metrics" in report else None


def request(run_dir: Path, settings: AssessmentSettings) -> None:
    """Record what the next check should do; the job runner then starts it."""
    status = {
        "status": CheckStatus.QUEUED,
        "settings": asdict(settings),
        "stage": "Waiting for a free worker",
        "fraction": 0.0,
        "error": None,
        "updated": time.time(),
    }
    with status_lock(Path(run_dir)):
        atomic_write_text(Path(run_dir) / STATUS_FILE, json.dumps(status))


# ----- the job ---------------------------------------------------------------------------
def assess_worker(folder: str, threads: int) -> None:
    """Entry point of a worker process: the chemistry check of the run in ``folder``."""
    import torch

    from charrnn.worker_start import (
        CHECK_MEMORY_MESSAGE,
        memory_message,
        out_of_memory,
        process_identity,
    )

    torch.set_num_threads(max(1, threads))
    write_status(Path(folder), pid=os.getpid(), process=process_identity(os.getpid()))
    try:
        run_assessment(Path(folder), threads)
    except Exception as error:  # shown to the user in plain words, never a traceback
        reason = memory_message(CHECK_MEMORY_MESSAGE) if out_of_memory(error) else str(error)
        error_text = reason or type(error).__name__
        write_status(Path(folder), status=CheckStatus.FAILED, pid=None, error=error_text)
        raise SystemExit(1) from None


def run_assessment(run_dir: Path, threads: int = 1) -> dict:
    """The job: sample, describe, measure, write chemistry.json. Returns the report."""
    from charrnn.chem.describing import describe_sample
    from charrnn.chem.metrics import evaluate_molecules, training_stats
    from charrnn.chem.trainingset import stats_cached
    from charrnn.core.checkpoint import load_checkpoint
    from charrnn.core.representation import NAMES, representation_of, to_smiles
    from charrnn.runs.config import read_run_config
    from charrnn.runs.folder import RunError
    from charrnn.runs.models import folder_prior
    from charrnn.runs.trainer import reference_corpus, run_corpus

    run_dir = Path(run_dir)
    settings = AssessmentSettings.from_json(read_status(run_dir).get("settings") or {})
    write_status(run_dir, status=CheckStatus.RUNNING, stage="Loading the model", fraction=0.02)
    prior = folder_prior(run_dir)
    checkpoint = _prior_checkpoint(prior) if prior else load_checkpoint(run_dir)
    if not checkpoint.vocabulary.line_based:
        raise RunError("This run learned text, not molecules: there is no chemistry to check.")
    written = _generate(run_dir, checkpoint, settings)  # a SELFIES model's: measured as SMILES
    generated = [to_smiles(text, checkpoint.vocabulary) for text in written]
    write_status(run_dir, stage="Reading the training molecules", fraction=0.45)
    if prior or settings.reference:
        corpus = reference_corpus(run_dir.parent, settings.reference)
    else:
        corpus = run_corpus(run_dir, read_run_config(run_dir))
    first_time = not stats_cached(corpus.lines)
    write_status(
        run_dir,
        stage="Describing the training molecules (first time for this corpus; kept afterwards)"
        if first_time
        else "Training statistics found in the cache",
        fraction=0.5,
    )
    stats = training_stats(corpus.lines, fcd=settings.fcd, workers=threads)
    write_status(run_dir, stage="Measuring the generated molecules", fraction=0.8)
    described = describe_sample(generated, filters=True, workers=threads)
    results = evaluate_molecules(
        generated, stats, fcd=settings.fcd, workers=threads, described=described
    )
    by_form = {record.canonical: record for record in described.records}
    records = [by_form.get(described.canonical_by_text[text]) for text in generated]
    report = {
        "step": checkpoint.step,
        "created": time.time(),
        "settings": asdict(settings),
        "training": {"molecules": stats.molecules, "valid": stats.valid},
        "compared_with": corpus.name if prior or settings.reference else None,
        "written_as": NAMES[representation_of(checkpoint.vocabulary)],
        "metrics": [asdict(result) for result in results],
        "samples": _sample_rows(generated, records, stats.canonical, written),
        "training_properties": _training_rows(stats),
    }
    atomic_write_text(run_dir / REPORT_FILE, json.dumps(report, ensure_ascii=False))
    write_status(run_dir, status=CheckStatus.FINISHED, stage="Done", fraction=1.0, pid=None)
    return report


def _prior_checkpoint(reference: str) -> SimpleNamespace:
    """A shipped prior, with what the check reads of a run's checkpoint."""
    from charrnn.runs.priors import load_prior

    model, vocabulary, info = load_prior(reference)
    return SimpleNamespace(model=model, vocabulary=vocabulary, step=int(info.get("step", 0)))


def _generate(run_dir: Path, checkpoint, settings: AssessmentSettings) -> list[str]:
    from charrnn.core.sample import SampleConfig, sample

    generated: list[str] = []
    while len(generated) < settings.samples:
        count = min(SAMPLE_CHUNK, settings.samples - len(generated))
        config = SampleConfig(
            temperature=settings.temperature,
            max_length=200,
            num_samples=count,
            seed=settings.seed * 1_000_003 + len(generated),
        )
        generated += [item.text for item in sample(checkpoint.model, checkpoint.vocabulary, config)]
        done = len(generated) / settings.samples
        write_status(
            run_dir,
            stage=f"Sampling molecules: {len(generated):,} of {settings.samples:,}",
            fraction=0.05 + 0.4 * done,
        )
    return generated


def _sample_rows(
    generated: list[str], records: list, training: frozenset[str], written: list[str]
) -> list[dict]:
    """A row a sample: its SMILES (and a SELFIES model's SELFIES: ``written`` differs),
    valid or why not, and for a molecule whether it is new, passes the filters, its
    properties."""
    from charrnn.chem.properties import PROPERTY_NAMES
    from charrnn.chem.smiles import smiles_problem
    from charrnn.core.representation import NO_ATOM

    rows = []
    for text, record, as_written in zip(generated, records, written, strict=True):
        row: dict = {"smiles": text, "valid": record is not None}
        if as_written != text:
            row = {"selfies": as_written, **row}
        if record is None:
            problem = smiles_problem(text) if text or as_written == text else NO_ATOM
            row["problem"] = problem or "RDKit cannot read it"
        else:
            row |= {
                "canonical": record.canonical,
                "novel": record.canonical not in training,
                "passes_filters": bool(record.passes_filters),
                **dict(zip(PROPERTY_NAMES, map(_finite, record.properties), strict=True)),
            }
        rows.append(row)
    return rows


def _training_rows(stats) -> dict:
    """Up to TRAINING_ROWS_KEPT training molecules (drawn by weight) for the histograms."""
    from charrnn.chem.properties import PROPERTY_NAMES

    rows = len(stats.weights)
    if rows > TRAINING_ROWS_KEPT:
        chosen = np.random.default_rng(0).choice(
            rows, TRAINING_ROWS_KEPT, replace=False, p=stats.weights / stats.weights.sum()
        )
        chosen.sort()
        weights = np.ones(TRAINING_ROWS_KEPT)
    else:
        chosen, weights = np.arange(rows), stats.weights
    table = {"weight": [float(w) for w in weights]}
    for column, name in enumerate(PROPERTY_NAMES):
        table[name] = [_finite(value) for value in stats.properties[chosen, column]]
    return table


def _finite(value: float) -> float | None:
    value = float(value)
    return round(value, 4) if math.isfinite(value) else None


# ----- what the page shows ---------------------------------------------------------------
def property_histograms(report: dict) -> dict[str, dict]:
    """Per property: shared bin edges and the share of generated and training molecules
    in each bin (training rows weighted; rare extremes counted in the end bins), ready for
    an overlaid bar chart."""
    from charrnn.chem.properties import PROPERTY_NAMES

    valid = [row for row in report["samples"] if row["valid"]]
    training = report["training_properties"]
    histograms = {}
    for name in PROPERTY_NAMES:
        ours = np.array([row[name] for row in valid if row.get(name) is not None], float)
        theirs = np.array(training[name], dtype=float)
        weights = np.array(training["weight"], dtype=float)
        keep = np.isfinite(theirs)
        theirs, weights = theirs[keep], weights[keep]
        if not len(ours) or not len(theirs):
            continue
        edges = _edges(np.concatenate([ours, theirs]), integer=name in ("hbd", "hba", "rings"))
        ours, theirs = (np.clip(x, edges[0], edges[-1]) for x in (ours, theirs))  # outliers
        generated_counts, _ = np.histogram(ours, edges)
        training_counts, _ = np.histogram(theirs, edges, weights=weights)
        histograms[name] = {
            "edges": edges.tolist(),
            "generated": (generated_counts / generated_counts.sum()).tolist(),
            "training": (training_counts / training_counts.sum()).tolist(),
            "generated_mean": float(ours.mean()),
            "training_mean": float(np.average(theirs, weights=weights)),
        }
    return histograms


def _edges(values: np.ndarray, integer: bool) -> np.ndarray:
    low, high = np.percentile(values, [0.5, 99.5])
    if integer:
        low, high = math.floor(values.min()), math.ceil(values.max())
        return np.arange(low - 0.5, min(high, low + 40) + 1.5)
    if high <= low:
        high = low + 1.0
    return np.linspace(low, high, HISTOGRAM_BINS + 1)


def passing_molecules(report: dict, most: int = 24) -> list[dict]:
    """Valid generated molecules that pass MOSES's filters, new ones first, no repeats."""
    seen: set[str] = set()
    chosen = []
    rows = [row for row in report["samples"] if row["valid"] and row["passes_filters"]]
    for row in sorted(rows, key=lambda row: not row["novel"]):
        if row["canonical"] not in seen:
            seen.add(row["canonical"])
            chosen.append(row)
    return chosen[:most]
