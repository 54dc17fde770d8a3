"""Shipped priors: pretrained models in assets/priors/ID/, usable by everyone, changed by no one.

Each folder holds ``prior.json`` (title, description, data and licence, the sha256 of the
weights, how they were trained) and ``prior.safetensors`` (float16 weights; core.prior_file).
A prior is named ``prior:ID`` wherever a run id or a run folder is accepted for reading or
to start from (Generate, Chemistry, Inside, Train's "start from", the command line's
``--init-from``); its weights are checked against the checksum every time they are read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from charrnn.core.checkpoint_header import CheckpointError
from charrnn.core.model import CharRNN, ModelConfig
from charrnn.core.prior_file import read_prior
from charrnn.core.tokens import Vocabulary
from charrnn.errors import UserError

PREFIX = "prior:"
PRIOR_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
MANIFEST = "prior.json"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_WEIGHTS_BYTES = 64 * 1024 * 1024
DEFAULT_MOLECULE_PRIOR = "moses"


class PriorError(UserError, ValueError):
    """A shipped prior that is not there or does not check out; the message says which."""


def priors_folder() -> Path:
    """assets/priors of this checkout, or CHARRNN_PRIORS (a folder of prior folders)."""
    given = os.environ.get("CHARRNN_PRIORS", "").strip()
    return Path(given) if given else Path(__file__).resolve().parents[2] / "assets" / "priors"


@dataclass(frozen=True)
class Prior:
    """A shipped prior as its manifest describes it (the weights are read by `load_prior`)."""

    id: str
    title: str
    description: str
    data: str
    weights: Path
    sha256: str
    training: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return PREFIX + self.id

    @property
    def label(self) -> str:
        return f"Shipped prior: {self.title}"


def is_prior(reference: object) -> bool:
    """Whether ``reference`` names a shipped prior (``prior:ID``) rather than a run."""
    return isinstance(reference, str) and reference.startswith(PREFIX)


def shipped_priors() -> list[Prior]:
    """Every prior in priors_folder() whose manifest reads, sorted by id."""
    folder = priors_folder()
    found = []
    for path in sorted(folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []:
        try:
            found.append(_read_manifest(path.parent))
        except PriorError:
            continue  # a damaged manifest hides that prior; find_prior says why
    return found


def find_prior(reference: str) -> Prior:
    """The prior named ``prior:ID`` (or just ``ID``); PriorError names the ones there are."""
    name = reference[len(PREFIX) :] if is_prior(reference) else reference
    folder = priors_folder() / name
    if not PRIOR_ID.fullmatch(name) or not (folder / MANIFEST).is_file():
        there = ", ".join(PREFIX + prior.id for prior in shipped_priors()) or "none"
        raise PriorError(f"No shipped prior is called {name[:40]!r}. Shipped priors: {there}.")
    return _read_manifest(folder)


def _read_manifest(folder: Path) -> Prior:
    path = folder / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
        weights = folder / Path(data["weights"]).name
        return Prior(
            id=folder.name,
            title=str(data["title"]),
            description=str(data.get("description", "")),
            data=str(data.get("data", "")),
            weights=weights,
            sha256=str(data["sha256"]),
            training=dict(data.get("training", {})),
            figures=dict(data.get("figures", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PriorError(f"The shipped prior {folder.name!r} is damaged ({error}).") from None


def load_prior(reference: str) -> tuple[CharRNN, Vocabulary, dict]:
    """A fresh float32 copy of the prior's model (fine-tuning changes it), its vocabulary
    and its description; PriorError when the file does not match its checksum."""
    prior = find_prior(reference)
    weights = _checked_bytes(prior)
    model, vocabulary, info = _read_checked(str(prior.weights), prior.sha256, len(weights))
    copy = CharRNN(model.config)
    copy.load_state_dict(model.state_dict())
    return copy, vocabulary, {**info, "prior": prior.id, "title": prior.title}


def prior_header(reference: str) -> tuple[Vocabulary, ModelConfig]:
    """The prior's vocabulary and model description (what planning a fine-tune needs)."""
    model, vocabulary, _ = load_prior(reference)
    return vocabulary, model.config


def _checked_bytes(prior: Prior) -> bytes:
    try:
        if prior.weights.stat().st_size > MAX_WEIGHTS_BYTES:
            raise PriorError(f"The shipped prior {prior.id!r} is larger than a prior can be.")
        weights = prior.weights.read_bytes()
    except OSError:
        raise PriorError(
            f"The weights of the shipped prior {prior.id!r} are missing. Reinstall the app."
        ) from None
    if hashlib.sha256(weights).hexdigest() != prior.sha256:
        raise PriorError(
            f"The weights of the shipped prior {prior.id!r} are damaged (their checksum does not "
            "match). Reinstall the app, or restore assets/priors from the repository."
        )
    return weights


@lru_cache(maxsize=4)
def _read_checked(path: str, sha256: str, size: int) -> tuple[CharRNN, Vocabulary, dict]:
    """The prior file read once per process for a given checksum (its weights are copied out)."""
    try:
        return read_prior(Path(path))
    except CheckpointError as error:
        raise PriorError(f"The shipped prior cannot be read: {error}") from None
