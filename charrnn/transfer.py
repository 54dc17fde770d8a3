"""Download and upload a trained run as a zip: its checkpoint, description, config and metrics.

An upload is checked before use (size, member names, unpacked size, the checkpoint itself,
the workspace's bounds on runs and disk) and becomes a finished run of the workspace; its
corpus, from another computer, is only named.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import time
import zipfile
import zlib
from pathlib import Path

from charrnn.checkpoint import (
    CHECKPOINT_FILE,
    CHECKPOINT_JSON,
    CheckpointError,
    atomic_write_text,
    load_checkpoint,
    read_header,
)
from charrnn.runconfig import RUN_CONFIG_FILE, RunConfig, read_run_config, write_run_config
from charrnn.runfiles import METRICS_FILE, RunError, clean_name, read_metrics, write_status
from charrnn.runs import Workspace
from charrnn.settings import MB
from charrnn.train import TrainConfig

EXPORT_FILES = (CHECKPOINT_FILE, CHECKPOINT_JSON, RUN_CONFIG_FILE, METRICS_FILE)
MAX_IMPORT_UNPACKED = 200 * 1024 * 1024  # all files of an uploaded model, unpacked
MAX_IMPORT_RATIO = 200  # unpacked / packed size; real models pack about 1:1, text 1:10
IMPORTED_PREFIX = "imported:"


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
    which is loaded with safetensors (a pickle is refused with CheckpointError). Before
    anything is written, the workspace must have room for one more run and for the unpacked
    files (charrnn.runs.WorkspaceFullError otherwise).
    """
    if len(data) > max_bytes:
        raise RunError(
            f"The file is {len(data) / MB:.1f} MB; the limit is {max_bytes / MB:.0f} MB."
        )
    space.check_run_room()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise RunError(_NOT_A_MODEL_ZIP) from None
    with archive, space.adding():
        space.check_run_room()  # again, now that no other tab can add a run meanwhile
        members = _checked_members(archive)
        space.check_disk_room(sum(member.file_size for member in members))
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
            f"Unpacked, the zip would take {unpacked / MB:.0f} MB; the limit is "
            f"{MAX_IMPORT_UNPACKED / MB:.0f} MB."
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
    write_status(staging, name=clean_name(name), status="finished", created=time.time())
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
