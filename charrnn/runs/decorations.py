"""Decorations kept with the model that made them, fitted to the web server's work budget,
and as a CSV table: each molecule once, how many tries gave it, its groups and properties.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace
from pathlib import Path

from charrnn.chem.decorate import Decorations, attachment_points, read_scaffold
from charrnn.chem.export import FIELDS, property_values, spreadsheet_safe
from charrnn.chem.smiles import parse_smiles
from charrnn.core.model import CharRNN
from charrnn.core.sample import SampleConfig
from charrnn.core.sampling_budget import (
    WORK_BUDGET,
    SamplingTooBigError,
    model_parameters,
    sampling_work,
)
from charrnn.errors import UserError
from charrnn.files import atomic_write_text
from charrnn.runs.config import read_run_config
from charrnn.runs.priors import is_prior

DECORATIONS_FILE = "decorations.json"


def bounded_decoration(
    model: CharRNN, scaffold: str, config: SampleConfig, budget: float = WORK_BUDGET
) -> tuple[SampleConfig, str | None]:
    """``config`` with at most as many tries as the web process's work budget allows for
    this scaffold (each attachment point is a round of sampling), and a sentence saying so
    when fewer (else None). ScaffoldError for a bad scaffold, SamplingTooBigError when not
    even one try fits."""
    points = len(attachment_points(read_scaffold(scaffold)))
    parameters = model_parameters(model)
    prompt_tokens = len(scaffold) * 2  # the scaffold is read again for each distinct group
    one_point = sampling_work(parameters, config.num_samples, config.max_length, prompt_tokens)
    if points * one_point <= budget:
        return config, None
    overhead = sampling_work(parameters, 0, config.max_length, prompt_tokens)
    per_try = sampling_work(parameters, 1, config.max_length) - sampling_work(
        parameters, 0, config.max_length
    )
    tries = math.floor((budget / points - overhead) / per_try)
    if tries < 1:
        raise SamplingTooBigError(
            f"This model is large ({parameters:,} parameters): decorating a scaffold with "
            f"{points} attachment points is too much work for the shared server. Shorten the "
            "longest group or use fewer attachment points."
        )
    note = (
        f"This model has {parameters:,} parameters, so the shared server makes at most "
        f"{tries:,} tries at this scaffold (not {config.num_samples:,})."
    )
    return replace(config, num_samples=tries), note


def trained_with_augmentation(run_folder: Path | None, model_id: str) -> bool | None:
    """Whether the model learned random spellings of its molecules (TrainConfig.augment):
    False for a shipped prior (canonical SMILES), None when the run cannot say."""
    if is_prior(model_id):
        return False
    try:
        return bool(read_run_config(run_folder).train.augment)
    except (UserError, OSError, ValueError, TypeError):
        return None


def save_decorations(folder: Path, decorations: Decorations, seed: int | None) -> None:
    """Keep the last decorations made with a model in its results folder (atomically)."""
    record = {"seed": seed, "decorations": decorations.to_json()}
    atomic_write_text(Path(folder) / DECORATIONS_FILE, json.dumps(record, ensure_ascii=False))


def read_decorations(folder: Path) -> Decorations | None:
    """The decorations save_decorations kept, or None (none yet, or a damaged file)."""
    try:
        record = json.loads((Path(folder) / DECORATIONS_FILE).read_text(encoding="utf-8"))
        return Decorations.from_json(record["decorations"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def decorations_csv(decorations: Decorations) -> str:
    """A CSV with one row a molecule (duplicates merged): valid or not and why, the tries
    that gave it, the groups written at each attachment point, log-likelihood, properties."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ["SMILES", "valid", "reason if invalid", "tries", "groups", "log_likelihood"]
    writer.writerow([*columns, *FIELDS.values()])
    for item in decorations.found:
        mol = parse_smiles(item.smiles) if item.valid else None
        values = property_values(mol) if mol is not None else {}
        writer.writerow(
            [
                spreadsheet_safe(item.smiles),
                item.valid,
                spreadsheet_safe(item.reason),
                item.count,
                spreadsheet_safe(" | ".join(item.fills)),
                round(item.log_likelihood, 3),
                *(values.get(name, "") for name in FIELDS.values()),
            ]
        )
    return out.getvalue()
