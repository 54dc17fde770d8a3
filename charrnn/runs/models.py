"""The models a page can use: the workspace's runs that saved a model, and the shipped priors.

A prior is read-only and shared by everyone; what a page makes with it in a workspace (its
last samples, its chemistry check) is kept in that workspace's folder for it, ``p-ID/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from charrnn.core.checkpoint import read_header
from charrnn.errors import UserError
from charrnn.files import atomic_write_text
from charrnn.runs.folder import RunError, has_model
from charrnn.runs.priors import PREFIX, find_prior, is_prior, shipped_priors
from charrnn.runs.report import run_labels
from charrnn.runs.status import RunStatus
from charrnn.runs.workspace import RunSummary, Workspace

PRIOR_MARK = "prior.json"  # in p-ID/: which prior the folder's results belong to
PRIOR_FOLDER_PREFIX = "p-"


@dataclass(frozen=True)
class ModelChoice:
    """One entry of a page's "Model" select box."""

    id: str  # a run id ("r-...") or a shipped prior ("prior:ID")
    label: str  # what the select box shows; a prior's says "Shipped prior: ..."
    name: str  # the run's name or the prior's title
    smiles: bool  # learned molecules (SMILES), not text
    shipped: bool = False
    status: RunStatus | None = None  # a run's status; None for a prior


def model_choices(space: Workspace, molecules_only: bool = False) -> list[ModelChoice]:
    """The workspace's runs with a saved model (newest first), then the shipped priors."""
    runs = [run for run in space.runs() if has_model(space.run_dir(run.id))]
    labels = run_labels(runs)
    found = []
    for run in runs:
        smiles = _learned_molecules(space, run)  # None: unreadable, said when it is opened
        if molecules_only and not smiles:
            continue
        found.append(ModelChoice(run.id, labels[run.id], run.name, bool(smiles), status=run.status))
    for prior in shipped_priors():  # every prior shipped so far learned molecules
        found.append(ModelChoice(prior.reference, prior.label, prior.title, True, shipped=True))
    return found


def _learned_molecules(space: Workspace, run: RunSummary) -> bool | None:
    try:
        return bool(read_header(space.run_dir(run.id))["vocabulary"].get("line_based"))
    except (UserError, KeyError, OSError, AttributeError):
        return None  # a damaged or vanished model is not offered


def current_model(space: Workspace) -> str | None:
    """The model the pages open with: a prior chosen last, else the current run."""
    return space.choices.get("model") or space.choices.get("run")


def choose_model(space: Workspace, model_id: str) -> None:
    """Make ``model_id`` the one the pages open with. Choosing a run also makes it the
    workspace's current run (the sidebar's); choosing a prior leaves that as it is."""
    if is_prior(model_id):
        space.update_choices(model=find_prior(model_id).reference)
    else:
        space.run_dir(model_id)  # RunError for a stale or foreign id
        space.update_choices(run=model_id, model=None)


def results_folder(space: Workspace, model_id: str, create: bool = False) -> Path:
    """Where a page keeps what it made with the model: the run's folder, or for a prior the
    workspace's ``p-ID/`` (made on the first write when ``create``; RunError if absent)."""
    if not is_prior(model_id):
        return space.run_dir(model_id)
    prior = find_prior(model_id)
    folder = space.folder / f"{PRIOR_FOLDER_PREFIX}{prior.id}"
    if create and not (folder / PRIOR_MARK).is_file():
        with space.adding():
            space.check_disk_room()
            folder.mkdir(exist_ok=True)
            atomic_write_text(folder / PRIOR_MARK, json.dumps({"prior": prior.reference}))
    if folder.is_symlink() or not folder.is_dir():
        raise RunError("Nothing has been made with this prior in this workspace yet.")
    return folder


def folder_prior(folder: Path) -> str | None:
    """The prior (``prior:ID``) whose results ``folder`` keeps, or None for a run's folder."""
    if not Path(folder).name.startswith(PRIOR_FOLDER_PREFIX):
        return None
    try:
        reference = json.loads((Path(folder) / PRIOR_MARK).read_text(encoding="utf-8"))["prior"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return reference if is_prior(reference) and reference.startswith(PREFIX) else None
