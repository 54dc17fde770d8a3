"""The run store and the job runner: workspaces of run folders on disk, trained by workers.

A workspace is a folder named by an unguessable token; a run is a folder inside it holding
config.json, run.json (name, status), metrics.jsonl, the checkpoint and control.json.
Training happens in worker processes started by charrnn.jobs.JobRunner.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from charrnn.checkpoint import CHECKPOINT_FILE, atomic_write_text, read_header
from charrnn.model import ModelConfig, preset_config
from charrnn.runconfig import (
    RunConfig,
    corpus_fingerprint,
    load_corpus,
    read_run_config,
    resolve_tokenizer,
    write_run_config,
)
from charrnn.runfiles import (
    CONTROL_FILE,
    STATUS_FILE,
    RunError,
    clean_name,
    last_event,
    read_metrics,
    read_status,
    update_status,
    write_status,
)
from charrnn.tokens import Vocabulary, build_vocabulary
from charrnn.train import TrainConfig

TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
RUN_ID = re.compile(r"^r-[0-9a-f]{12}$")
ACTIVE = ("queued", "running", "paused")
DONE = ("finished", "stopped", "failed", "interrupted")


def default_root() -> Path:
    return Path(os.environ.get("CHARRNN_HOME", "workspaces")).resolve()


def new_workspace(root: Path | None = None) -> str:
    """Create a workspace and return its token (the only way to reach it)."""
    token = secrets.token_urlsafe(24)
    (Path(root or default_root()) / token).mkdir(parents=True)
    return token


@dataclass(frozen=True)
class RunSummary:
    id: str
    name: str
    status: str
    created: float
    step: int = 0
    total_steps: int | None = None
    corpus: str = ""
    error: str | None = None


class Workspace:
    """One person's runs. Names from users never become paths: runs have generated ids."""

    def __init__(self, token: str, root: Path | None = None):
        if not isinstance(token, str) or not TOKEN.match(token):
            raise RunError("This workspace link is not valid. Start a new workspace.")
        self.root = Path(root or default_root())
        self.folder = self.root / token
        if not self.folder.is_dir():
            raise RunError("No workspace has this link (it may have been cleaned up).")
        self.token = token

    def run_dir(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise RunError("No such run.")
        folder = self.folder / run_id
        if not folder.is_dir():
            raise RunError("No such run in this workspace.")
        return folder

    def create_run(self, name: str, config: RunConfig) -> str:
        run_id = f"r-{secrets.token_hex(6)}"
        folder = self.folder / run_id
        write_run_config(folder, config)
        write_status(folder, name=clean_name(name), status="queued", created=time.time())
        return run_id

    def runs(self) -> list[RunSummary]:
        found = []
        for folder in self.folder.iterdir():
            if RUN_ID.match(folder.name) and (folder / STATUS_FILE).is_file():
                found.append(self.summary(folder.name))
        return sorted(found, key=lambda run: run.created, reverse=True)

    def summary(self, run_id: str) -> RunSummary:
        folder = self.run_dir(run_id)
        status = read_status(folder)
        last = last_event(folder)
        try:
            config = read_run_config(folder)
            corpus, total = config.corpus, config.train.steps
        except ValueError:
            corpus, total = "", None
        return RunSummary(
            id=run_id,
            name=status.get("name", run_id),
            status=status.get("status", "queued"),
            created=float(status.get("created", 0)),
            step=int(last.get("step", 0)) if last else 0,
            total_steps=total,
            corpus=corpus,
            error=status.get("error"),
        )

    def metrics(self, run_id: str) -> list[dict]:
        return read_metrics(self.run_dir(run_id))

    def send(self, run_id: str, command: str | None = None, learning_rate: float | None = None):
        """Ask a training worker to pause, resume or stop, or to use a new learning rate."""
        if command not in (None, "pause", "resume", "stop"):
            raise RunError(f"Unknown command {command!r}.")
        message = {"id": secrets.token_hex(4), "command": command, "learning_rate": learning_rate}
        atomic_write_text(self.run_dir(run_id) / CONTROL_FILE, json.dumps(message))

    # ----- corpora and the current choice (so a refresh loses nothing) ---------------------
    def save_corpus(self, data: bytes, filename: str, max_bytes: int) -> str:
        """Keep an upload in the workspace under a generated name; returns its reference."""
        if len(data) > max_bytes:
            raise RunError(
                f"The file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB."
            )
        suffixes = "".join(Path(filename).suffixes[-2:]).lower()
        suffix = suffixes if re.fullmatch(r"(\.[a-z]{1,5}){1,2}", suffixes) else ".txt"
        folder = self.folder / "corpora"
        folder.mkdir(exist_ok=True)
        path = folder / f"c-{secrets.token_hex(6)}{suffix}"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        names = self._read_json("corpora/names.json")
        names[path.name] = clean_name(Path(filename).name)
        atomic_write_text(folder / "names.json", json.dumps(names, ensure_ascii=False))
        return str(path)

    def corpus_name(self, reference: str) -> str:
        """What to call a corpus reference on screen (an upload keeps its file name)."""
        if reference.startswith("builtin:"):
            return reference
        return self._read_json("corpora/names.json").get(Path(reference).name, "uploaded file")

    def owns_corpus(self, reference: str) -> bool:
        if reference.startswith("builtin:"):
            return True
        path = Path(reference).resolve()
        return path.parent == (self.folder / "corpora").resolve() and path.is_file()

    @property
    def settings(self) -> dict:
        """The workspace's current corpus and run: {"corpus": {...}, "run": id}."""
        return self._read_json("workspace.json")

    def update_settings(self, **values) -> dict:
        settings = {**self.settings, **values}
        atomic_write_text(self.folder / "workspace.json", json.dumps(settings, ensure_ascii=False))
        return settings

    def _read_json(self, name: str) -> dict:
        try:
            data = json.loads((self.folder / name).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def rename(self, run_id: str, name: str) -> None:
        update_status(self.run_dir(run_id), name=clean_name(name))

    def delete(self, run_id: str) -> None:
        folder = self.run_dir(run_id)
        if read_status(folder).get("status") in ("running", "paused"):
            raise RunError("Stop the run before deleting it.")
        shutil.rmtree(folder)


def mark_interrupted(root: Path | None = None) -> int:
    """After a server restart: runs left queued/running by a dead server become interrupted."""
    count = 0
    for status_file in Path(root or default_root()).glob(f"*/r-*/{STATUS_FILE}"):
        folder = status_file.parent
        status = read_status(folder)
        pid = status.get("pid")
        alive = bool(pid) and _pid_alive(int(pid))
        if status.get("status") in ACTIVE and not alive:
            update_status(folder, status="interrupted", pid=None)
            count += 1
    return count


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


# ----- new runs -------------------------------------------------------------------------
DEFAULT_STEPS = {"tiny": 1500, "small": 3000, "medium": 5000}
DEFAULT_CHEM_EVERY = {"tiny": 100, "small": 200, "medium": 250}
MODEL_FIELDS = ("cell", "layers", "hidden_size", "embedding_size", "dropout")


def new_run_config(
    space: Workspace,
    corpus: dict,
    preset: str,
    model: dict | None = None,
    train: dict | None = None,
    init_from: str | None = None,
) -> RunConfig:
    """The RunConfig of a new run on a corpus chosen on the Corpus page (the corpus is read).

    ``model`` overrides the preset's fields (MODEL_FIELDS); ``train`` gives TrainConfig
    values (steps default by preset). ``init_from`` is the id of a finished run of the same
    workspace whose model is fine-tuned: its architecture and tokenizer are kept.
    """
    reference = str(corpus.get("reference", ""))
    if not space.owns_corpus(reference):
        raise RunError("The corpus is no longer here. Choose it again on the Corpus page.")
    loaded = load_corpus(
        reference,
        smiles_column=corpus.get("smiles_column"),
        drop_invalid=bool(corpus.get("drop_invalid")),
    )
    smiles = loaded.kind == "smiles"
    values = dict(train or {})
    if values.get("minutes") is not None:
        values.setdefault("steps", None)  # a time limit alone
    elif values.get("steps") is None:
        values["steps"] = DEFAULT_STEPS.get(preset, DEFAULT_STEPS["small"])
    values.setdefault("chem_every", DEFAULT_CHEM_EVERY.get(preset, 100) if smiles else 0)
    if not smiles:
        values.update(augment=False, chem_every=0)
    train_config = TrainConfig(**values)
    if init_from:
        base_dir = space.run_dir(init_from)
        header = read_header(base_dir)
        vocabulary = Vocabulary.from_json(header["vocabulary"])
        if vocabulary.line_based != smiles:
            learned = "molecules (SMILES)" if vocabulary.line_based else "text"
            raise RunError(
                f"The model to start from learned {learned}, and this corpus is "
                f"{'molecules' if smiles else 'text'}. Start from a model of the same kind."
            )
        model_config = ModelConfig.from_json(header["model_config"])
        tokenizer, preset_name, init_path = vocabulary.tokenizer, None, str(base_dir)
    else:
        tokenizer = resolve_tokenizer("auto", loaded)
        texts = list(loaded.lines) if smiles else [loaded.text]
        size = build_vocabulary(texts, tokenizer, line_based=smiles).size
        overrides = {k: v for k, v in (model or {}).items() if k in MODEL_FIELDS}
        model_config = preset_config(preset, size, **overrides)
        preset_name, init_path = preset, None
    return RunConfig(
        corpus=reference,
        corpus_kind=loaded.kind,
        corpus_sha256=corpus_fingerprint(loaded),
        tokenizer=tokenizer,
        model=model_config,
        train=train_config,
        smiles_column=corpus.get("smiles_column"),
        drop_invalid=bool(corpus.get("drop_invalid")),
        preset=preset_name,
        init_from=init_path,
    )


def has_model(run_dir: Path) -> bool:
    """Whether the run has saved a model (a checkpoint) that can be used or downloaded."""
    return (Path(run_dir) / CHECKPOINT_FILE).is_file()
