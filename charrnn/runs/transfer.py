"""Download and upload a trained run as a zip: its model, description, config and metrics.

A download holds the model's weights only (what an upload uses), written without holding
more than one copy in memory. An upload is checked before use (size, member names and
sizes, the checkpoint's header before its tensors, the workspace's bounds on runs and
disk) and becomes a finished run of the workspace; its corpus, from elsewhere, is only named.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from charrnn.core.checkpoint import (
    CHECKPOINT_FILE,
    CHECKPOINT_JSON,
    CheckpointError,
    load_checkpoint,
)
from charrnn.core.checkpoint_header import MAX_UPLOAD_HEADER_BYTES, write_model_only
from charrnn.core.train_config import TrainConfig
from charrnn.files import DiskFullError, atomic_write_text, is_disk_full
from charrnn.runs.config import RUN_CONFIG_FILE, RunConfig, read_run_config, write_run_config
from charrnn.runs.folder import METRICS_FILE, RunError, has_model
from charrnn.runs.settings import MB
from charrnn.runs.status import RunStatus, clean_name, write_status
from charrnn.runs.workspace import TOKEN, Workspace

EXPORT_FILES = (CHECKPOINT_FILE, CHECKPOINT_JSON, RUN_CONFIG_FILE, METRICS_FILE)
MAX_IMPORT_UNPACKED = 200 * 1024 * 1024  # all files of an uploaded model, unpacked
MAX_MEMBER_BYTES = {CHECKPOINT_JSON: 16 * MB, RUN_CONFIG_FILE: 1 * MB, METRICS_FILE: 32 * MB}
MAX_EVENT_CHARS = 64 * 1024  # one metrics line (ten samples of 2,000 characters fit)
MAX_IMPORT_RATIO = 200  # unpacked / packed size; real models pack about 1:1, text 1:10
IMPORTED_PREFIX = "imported:"
STAGING_PREFIX = ".import-"


def export_run(run_dir: Path) -> bytes:
    """A zip of the run's model (its weights only), description, config and metrics.

    Written to a temporary file beside the run and read back once: the server holds one copy
    of the (stored, not compressed) zip, about the size of the model's weights.
    """
    run_dir = Path(run_dir)
    if not has_model(run_dir):
        raise RunError("This run has no saved model yet: train it first.")
    try:
        with tempfile.TemporaryFile(dir=run_dir, prefix=".download-") as handle:
            _write_export(run_dir, handle)
            handle.seek(0)
            return handle.read()
    except OSError as error:
        if not is_disk_full(error):
            raise
    buffer = io.BytesIO()  # no room on the disk for the temporary file: build it in memory
    _write_export(run_dir, buffer)
    return buffer.getvalue()


def _write_export(run_dir: Path, out: BinaryIO) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        member = zipfile.ZipInfo(CHECKPOINT_FILE, time.localtime()[:6])
        member.compress_type, member.external_attr = zipfile.ZIP_STORED, 0o644 << 16
        with open(run_dir / CHECKPOINT_FILE, "rb") as source:
            with archive.open(member, "w", force_zip64=True) as target:
                meta = write_model_only(source, target)
        archive.writestr(CHECKPOINT_JSON, json.dumps(meta, indent=2, ensure_ascii=False))
        for name in (RUN_CONFIG_FILE, METRICS_FILE):
            if (run_dir / name).is_file():
                archive.write(run_dir / name, name)


def import_run(
    space: Workspace, data: bytes, name: str = "Uploaded model", max_bytes: int = 100 * 1024**2
) -> str:
    """Add a model zip (as export_run writes it) to the workspace as a finished run.

    Everything is checked before use: the zip's size, its member names (no folders), its
    unpacked size (read with a cap, so a zip bomb is refused), and the checkpoint itself:
    its header (description and tensor shapes, against the server's limits) before any
    tensor is read; a pickle is refused with CheckpointError. Before anything is written,
    the workspace must have room for one more run and for the unpacked files
    (charrnn.runs.bounds.WorkspaceFullError otherwise). The run keeps the model's weights only.
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
        _remove_staging(space.folder)  # under the lock, any staging folder is a killed import's
        staging = space.folder / f"{STAGING_PREFIX}{secrets.token_hex(6)}"
        staging.mkdir()
        try:
            for member in members:
                if member.filename != CHECKPOINT_JSON:  # written again from the checkpoint
                    _unpack(archive, member, staging / member.filename)
            return _add_imported(space, staging, name)
        except OSError as error:
            if is_disk_full(error) and not isinstance(error, DiskFullError):
                raise DiskFullError("the uploaded model") from error
            raise
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
        most = MAX_MEMBER_BYTES.get(member.filename)
        if most is not None and member.file_size > most:
            raise RunError(
                f"The zip's {member.filename} takes {member.file_size / MB:.0f} MB; a model's "
                f"takes at most {most / MB:.0f} MB. Upload the zip the Download button gave you."
            )
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
    path = staging / CHECKPOINT_FILE
    checkpoint = load_checkpoint(  # the header is checked first; CheckpointError: not a model
        path, training_state=False, max_header_bytes=MAX_UPLOAD_HEADER_BYTES
    )
    with open(path, "rb") as source, open(staging / ".model-only", "wb") as target:
        header = write_model_only(source, target, MAX_UPLOAD_HEADER_BYTES)
    os.replace(staging / ".model-only", path)  # an uploaded run is never resumed
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
    _clean_metrics(staging)
    write_status(staging, name=clean_name(name), status=RunStatus.FINISHED, created=time.time())
    run_id = f"r-{secrets.token_hex(6)}"
    os.replace(staging, space.folder / run_id)
    return run_id


def _clean_metrics(staging: Path) -> None:
    """Keep the uploaded metrics lines a run writes, one line at a time (bounded memory)."""
    path = staging / METRICS_FILE
    with open(staging / ".metrics-clean", "w", encoding="utf-8") as out:
        if path.is_file():
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in _short_lines(handle, MAX_EVENT_CHARS):
                    try:
                        event = _clean_event(json.loads(line))
                    except (ValueError, RecursionError):
                        continue
                    if event:
                        out.write(json.dumps(event, ensure_ascii=False) + "\n")
    os.replace(staging / ".metrics-clean", path)


def _short_lines(handle: TextIO, most: int) -> Iterator[str]:
    """The lines of ``handle`` of at most ``most`` characters; longer ones are skipped unread."""
    while line := handle.readline(most + 1):
        if len(line) <= most or line.endswith("\n"):
            yield line
            continue
        while line and not line.endswith("\n"):  # the rest of a long line
            line = handle.readline(most)


def _remove_staging(folder: Path) -> int:
    """Remove the upload staging folders in a workspace folder; how many there were."""
    removed = 0
    for staging in folder.glob(f"{STAGING_PREFIX}*"):
        if staging.is_dir() and not staging.is_symlink():
            shutil.rmtree(staging, ignore_errors=True)
            removed += 1
    return removed


def clean_import_staging(root: Path, older_than_seconds: float = 3600.0) -> int:
    """Remove upload staging folders (``.import-*``) that a killed server left in the
    workspaces under ``root`` and that are older than ``older_than_seconds``; how many.

    For the server's housekeeping: an import in progress takes seconds, so an hour-old
    staging folder is a leftover (the next import into that workspace removes them too).
    """
    cutoff = time.time() - older_than_seconds
    removed = 0
    if not Path(root).is_dir():
        return 0
    for space in Path(root).iterdir():
        if not TOKEN.fullmatch(space.name) or space.is_symlink() or not space.is_dir():
            continue
        for staging in space.glob(f"{STAGING_PREFIX}*"):
            try:
                old = staging.lstat().st_mtime < cutoff
            except OSError:
                continue
            if old and staging.is_dir() and not staging.is_symlink():
                shutil.rmtree(staging, ignore_errors=True)
                removed += 1
    return removed


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
