"""The run store and the job runner: workspaces of run folders on disk, trained by workers.

A workspace is a folder named by an unguessable token; a run is a folder inside it holding
config.json, run.json (name, status), metrics.jsonl, the checkpoint and control.json.
Training happens in worker processes, at most `max_workers` at once; the rest queue.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from charrnn.checkpoint import (
    CHECKPOINT_FILE,
    CHECKPOINT_JSON,
    CheckpointError,
    atomic_write_text,
    load_checkpoint,
    read_header,
)
from charrnn.corpus import CorpusError
from charrnn.model import ModelConfig, preset_config
from charrnn.runconfig import (
    RUN_CONFIG_FILE,
    RunConfig,
    corpus_fingerprint,
    load_corpus,
    read_run_config,
    resolve_tokenizer,
    training_data,
    write_run_config,
)
from charrnn.tokens import Vocabulary, build_vocabulary
from charrnn.train import TrainConfig, Trainer

TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
RUN_ID = re.compile(r"^r-[0-9a-f]{12}$")
STATUS_FILE, CONTROL_FILE, METRICS_FILE = "run.json", "control.json", "metrics.jsonl"
ACTIVE = ("queued", "running", "paused")
DONE = ("finished", "stopped", "failed", "interrupted")


class RunError(ValueError):
    """A workspace or run that does not exist or cannot do what was asked."""


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
        write_status(folder, name=_clean_name(name), status="queued", created=time.time())
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
        names[path.name] = _clean_name(Path(filename).name)
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
        update_status(self.run_dir(run_id), name=_clean_name(name))

    def delete(self, run_id: str) -> None:
        folder = self.run_dir(run_id)
        if read_status(folder).get("status") in ("running", "paused"):
            raise RunError("Stop the run before deleting it.")
        shutil.rmtree(folder)


def _clean_name(name: str) -> str:
    name = " ".join(str(name).split())[:80]
    return name or "Untitled run"


def read_status(folder: Path) -> dict:
    try:
        return json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_status(folder: Path, **values) -> None:
    atomic_write_text(folder / STATUS_FILE, json.dumps(values, ensure_ascii=False))


def update_status(folder: Path, **values) -> dict:
    status = {**read_status(folder), **values, "updated": time.time()}
    write_status(folder, **status)
    return status


def read_metrics(folder: Path) -> list[dict]:
    """Every complete line of metrics.jsonl (a line being written is skipped)."""
    events = []
    try:
        with open(folder / METRICS_FILE, encoding="utf-8") as handle:
            for line in handle:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass
    return events


def last_event(folder: Path) -> dict | None:
    events = read_metrics(folder)
    return events[-1] if events else None


class FileControl:
    """The trainer's control callable: returns each new message written to control.json."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / CONTROL_FILE
        self.seen: str | None = None
        message = self._read()
        self.seen = message.get("id") if message else None  # old messages are not replayed

    def _read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def __call__(self) -> dict | None:
        message = self._read()
        if not message or message.get("id") == self.seen:
            return None
        self.seen = message.get("id")
        return message


def train_worker(folder: str, threads: int) -> None:
    """Entry point of a worker process: train (or resume) the run in ``folder``."""
    run_dir = Path(folder)
    torch.set_num_threads(max(1, threads))
    update_status(run_dir, status="running", pid=os.getpid(), error=None)
    try:
        config = read_run_config(run_dir)
        control = FileControl(run_dir)

        def on_event(event):
            if event.kind in ("paused", "resumed"):
                update_status(run_dir, status="paused" if event.kind == "paused" else "running")

        hooks = dict(on_event=on_event, control=control)
        if (run_dir / CHECKPOINT_FILE).is_file():
            trainer = _resumed_trainer(run_dir, config, hooks)
        else:
            trainer = _new_trainer(run_dir, config, hooks)
        final = trainer.run()
        update_status(run_dir, status=final.status or "finished", pid=None)
    except Exception as error:  # the worker's last word: shown to the user, never a traceback
        update_status(run_dir, status="failed", pid=None, error=str(error) or type(error).__name__)
        raise SystemExit(1) from None


def _run_corpus(run_dir: Path, config: RunConfig):
    """The run's corpus; only built-ins and the workspace's own uploads are read."""
    reference = config.corpus
    if not reference.startswith("builtin:"):
        corpora = (run_dir.parent / "corpora").resolve()
        if Path(reference).resolve().parent != corpora:
            raise CorpusError(
                "This run's corpus is not in this workspace (was the model uploaded?). "
                "Choose a corpus on the Corpus page and train a new run from this one."
            )
    return load_corpus(
        reference, smiles_column=config.smiles_column, drop_invalid=config.drop_invalid
    )


def _new_trainer(run_dir: Path, config: RunConfig, hooks: dict):
    """A fresh start, or a fine-tune of another run's model of this workspace (init_from)."""
    (run_dir / METRICS_FILE).unlink(missing_ok=True)  # a start that failed before a checkpoint
    corpus = _run_corpus(run_dir, config)
    base = None
    if config.init_from:
        base_dir = Path(config.init_from)
        if base_dir.resolve().parent != run_dir.resolve().parent:
            raise RunError("A run can only start from another run of the same workspace.")
        base = load_checkpoint(base_dir)
        if base.vocabulary.line_based != (corpus.kind == "smiles"):
            raise RunError("The model to start from learned another kind of corpus.")
    vocabulary = base.vocabulary if base else None
    data = training_data(corpus, config.tokenizer, config.train, vocabulary)
    trainer = Trainer(
        data,
        base.model.config if base else config.model,
        config.train,
        run_dir=run_dir,
        model=base.model if base else None,
        run_info={"corpus": config.corpus},
        **hooks,
    )
    write_run_config(run_dir, replace(config, model=trainer.model.config))  # the real vocab size
    return trainer


def _resumed_trainer(run_dir: Path, config: RunConfig, hooks: dict):
    """Continue from the run's checkpoint, on the same corpus and vocabulary."""
    corpus = _run_corpus(run_dir, config)
    if corpus_fingerprint(corpus) != config.corpus_sha256:
        raise CorpusError(
            "The corpus has changed since this run began, so it cannot continue where it "
            "stopped. Train a new run from this one instead."
        )
    header = read_header(run_dir)
    data = training_data(
        corpus, config.tokenizer, config.train, Vocabulary.from_json(header["vocabulary"])
    )
    _trim_metrics(run_dir, int(header.get("step", 0)))  # steps after it will be logged again
    return Trainer.resume(run_dir, data, **hooks)


def _trim_metrics(run_dir: Path, step: int) -> None:
    """Keep the events up to the checkpoint (and no half-written last line)."""
    kept = [event for event in read_metrics(run_dir) if int(event.get("step", 0)) <= step]
    text = "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in kept)
    atomic_write_text(run_dir / METRICS_FILE, text)


class WorkerProcess:
    """A training worker in a fresh Python process, with multiprocessing's Process methods.

    Not multiprocessing: under Streamlit, __main__ is the app script, and a spawned child
    would run the whole app again before training.
    """

    def __init__(self, run_dir: Path, threads: int):
        code = "import sys; from charrnn.runs import train_worker; "
        code += "train_worker(sys.argv[1], int(sys.argv[2]))"
        package_root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        self.popen = subprocess.Popen(
            [sys.executable, "-c", code, str(run_dir), str(threads)],
            env={**os.environ, "PYTHONPATH": path},
            stdin=subprocess.DEVNULL,
        )
        self.pid = self.popen.pid

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        self.popen.kill()

    def terminate(self) -> None:
        self.popen.terminate()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


class JobRunner:
    """Starts at most ``max_workers`` training processes; queues the rest (one per server)."""

    def __init__(self, max_workers: int | None = None, poll_seconds: float = 0.5):
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        self.queue: list[Path] = []
        self.running: dict[Path, WorkerProcess] = {}
        self.lock = threading.Lock()
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="charrnn-jobs")
        self._thread.start()
        atexit.register(self.shutdown)  # workers end with the server, as daemons would

    def submit(self, run_dir: Path) -> int:
        """Queue a run (new or interrupted); returns its place in the queue (0: starting)."""
        run_dir = Path(run_dir)
        with self.lock:
            if run_dir in self.running or run_dir in self.queue:
                return self.position(run_dir)
            update_status(run_dir, status="queued", error=None)
            self.queue.append(run_dir)
        self._start_waiting()
        return self.position(run_dir)

    def position(self, run_dir: Path) -> int:
        """1-based place in the queue, 0 when running or not queued."""
        queue = list(self.queue)
        return queue.index(Path(run_dir)) + 1 if Path(run_dir) in queue else 0

    def cancel(self, run_dir: Path) -> None:
        with self.lock:
            if Path(run_dir) in self.queue:
                self.queue.remove(Path(run_dir))
                update_status(Path(run_dir), status="stopped")

    def _start_waiting(self) -> None:
        with self.lock:
            while self.queue and len(self.running) < self.max_workers:
                run_dir = self.queue.pop(0)
                # Never oversubscribe the cores: with the default cap, 1 thread per worker.
                threads = max(1, (os.cpu_count() or 1) // self.max_workers)
                self.running[run_dir] = WorkerProcess(run_dir, threads)

    def _reap(self) -> None:
        with self.lock:
            for run_dir, process in list(self.running.items()):
                if process.is_alive():
                    continue
                del self.running[run_dir]
                status = read_status(run_dir).get("status")
                if status in ACTIVE:  # the worker died without saying why
                    update_status(
                        run_dir,
                        status="failed",
                        pid=None,
                        error=f"The training process ended unexpectedly (exit code "
                        f"{process.exitcode}). Resume to continue from the last checkpoint.",
                    )

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self._reap()
            self._start_waiting()

    def shutdown(self) -> None:
        self._stop.set()
        with self.lock:
            for process in self.running.values():
                process.terminate()
            for process in self.running.values():
                process.join(5)


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


# ----- new runs, and models carried in and out as zip files -----------------------------
DEFAULT_STEPS = {"tiny": 1500, "small": 3000, "medium": 5000}
DEFAULT_CHEM_EVERY = {"tiny": 100, "small": 200, "medium": 250}
MODEL_FIELDS = ("cell", "layers", "hidden_size", "embedding_size", "dropout")
EXPORT_FILES = (CHECKPOINT_FILE, CHECKPOINT_JSON, RUN_CONFIG_FILE, METRICS_FILE)
MAX_IMPORT_UNPACKED = 200 * 1024 * 1024  # all files of an uploaded model, unpacked
MAX_IMPORT_RATIO = 200  # unpacked / packed size; real models pack about 1:1, text 1:10
IMPORTED_PREFIX = "imported:"


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


def export_run(run_dir: Path) -> bytes:
    """A zip of the run's model: checkpoint, its description, config and metrics."""
    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT_FILE).is_file():
        raise RunError("This run has no saved model yet: train it first.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in EXPORT_FILES:
            if (run_dir / name).is_file():
                archive.write(run_dir / name, name)
    return buffer.getvalue()


def import_run(
    space: Workspace, data: bytes, name: str = "Uploaded model", max_bytes: int = 100 * 1024**2
) -> str:
    """Add a model zip (as export_run writes it) to the workspace as a finished run.

    Everything is checked before use: the zip's size, its member names (no folders), its
    unpacked size (read with a cap, so a zip bomb is refused), and the checkpoint itself,
    which is loaded with safetensors (a pickle is refused with CheckpointError).
    """
    if len(data) > max_bytes:
        raise RunError(
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise RunError(_NOT_A_MODEL_ZIP) from None
    with archive:
        members = _checked_members(archive)
        staging = space.folder / f".import-{secrets.token_hex(6)}"
        staging.mkdir()
        try:
            for member in members:
                _unpack(archive, member, staging / member.filename)
            return _add_imported(space, staging, name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


_NOT_A_MODEL_ZIP = (
    "This is not a model file from charrnn. Upload the .zip that the Models page's "
    "Download button gave you, unchanged."
)


def _checked_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    names = [member.filename for member in members]
    if len(members) > len(EXPORT_FILES) or len(set(names)) != len(names):
        raise RunError(f"{_NOT_A_MODEL_ZIP} (It holds other files.)")
    if any(name not in EXPORT_FILES for name in names):
        raise RunError(f"{_NOT_A_MODEL_ZIP} (It holds files or folders a model never has.)")
    if CHECKPOINT_FILE not in names:
        raise RunError(f"{_NOT_A_MODEL_ZIP} (It has no {CHECKPOINT_FILE}.)")
    if any(member.flag_bits & 0x1 for member in members):
        raise RunError("The zip is password-protected. Upload it without a password.")
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_IMPORT_UNPACKED:
        raise RunError(
            f"Unpacked, the zip would take {unpacked / 1e6:.0f} MB; the limit is "
            f"{MAX_IMPORT_UNPACKED / 1e6:.0f} MB."
        )
    for member in members:
        if member.file_size > 1024**2 and member.file_size > MAX_IMPORT_RATIO * max(
            member.compress_size, 1
        ):
            raise RunError("The zip unpacks to far more than a model could: it was refused.")
    return members


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member out, never more bytes than it declared (a lying header is refused)."""
    written = 0
    try:
        with archive.open(member) as source, open(target, "wb") as handle:
            while chunk := source.read(1024 * 1024):
                written += len(chunk)
                if written > member.file_size:
                    raise RunError("The zip unpacks to more than it says: it was refused.")
                handle.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        raise RunError(f"{_NOT_A_MODEL_ZIP} (The zip is damaged.)") from None


def _add_imported(space: Workspace, staging: Path, name: str) -> str:
    checkpoint = load_checkpoint(staging / CHECKPOINT_FILE)  # CheckpointError: not a model
    header = read_header(staging / CHECKPOINT_FILE)
    atomic_write_text(staging / CHECKPOINT_JSON, json.dumps(header, indent=2, ensure_ascii=False))
    try:
        config = read_run_config(staging)
    except CheckpointError:
        config = None
    try:
        train_config = (
            config.train if config else TrainConfig.from_json(checkpoint.info["train_config"])
        )
    except (KeyError, TypeError, ValueError):
        train_config = TrainConfig()
    reference = config.corpus if config else ""
    if not reference.startswith("builtin:"):  # a file on another computer: only its name
        file_name = re.sub(r"[^A-Za-z0-9._ -]", "", Path(reference).name)[:60]
        reference = IMPORTED_PREFIX + (file_name or "unknown corpus")
    vocabulary = checkpoint.vocabulary
    write_run_config(
        staging,
        RunConfig(
            corpus=reference,
            corpus_kind="smiles" if vocabulary.line_based else "text",
            corpus_sha256=config.corpus_sha256 if config else "",
            tokenizer=vocabulary.tokenizer,
            model=checkpoint.model.config,
            train=train_config,
            smiles_column=config.smiles_column if config else None,
            drop_invalid=config.drop_invalid if config else False,
            preset=config.preset if config else None,
        ),
    )
    events = [_clean_event(event) for event in read_metrics(staging)]
    text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events if e)
    atomic_write_text(staging / METRICS_FILE, text)
    write_status(staging, name=_clean_name(name), status="finished", created=time.time())
    run_id = f"r-{secrets.token_hex(6)}"
    os.replace(staging, space.folder / run_id)
    return run_id


_EVENT_NUMBERS = ("elapsed", "train_loss", "validation_loss", "learning_rate", "eta", "progress")
_EVENT_NUMBERS += ("tokens_per_second", "epoch", "validity", "uniqueness", "novelty")


def _clean_event(event) -> dict | None:
    """An uploaded metrics line, kept only with the fields and types a run writes."""
    if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
        return None
    if not isinstance(event.get("step"), int) or isinstance(event.get("step"), bool):
        return None
    clean = {"kind": event["kind"][:20], "step": event["step"]}
    for key in _EVENT_NUMBERS:
        value = event.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            clean[key] = value
    if isinstance(event.get("total_steps"), int):
        clean["total_steps"] = event["total_steps"]
    if isinstance(event.get("status"), str):
        clean["status"] = event["status"][:20]
    samples = event.get("samples")
    if isinstance(samples, list):
        clean["samples"] = [str(sample)[:2000] for sample in samples[:10]]
    return clean
