"""Files written so that nothing is ever half-written: atomic writes (temp file + rename),
and a full disk told apart in words people understand. No torch here."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from safetensors import SafetensorError

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)  # no space left; disk quota used up


class DiskFullError(OSError):
    """The server's disk is full: a file could not be written and its previous copy is kept.

    An OSError (errno ENOSPC) whose message is for people: ``str(error)`` is that message.
    """

    def __init__(self, what: str = "a file"):
        super().__init__(
            errno.ENOSPC,
            f"The server's disk is full: {what} could not be saved (the copy saved before "
            "is kept). Ask the person who runs the server to free some space, then try "
            "again; a run continues from its last checkpoint.",
        )

    def __str__(self) -> str:
        return self.strerror


def is_disk_full(error: BaseException) -> bool:
    """Whether an error means the disk (or the user's disk quota) is full."""
    if isinstance(error, OSError):
        return error.errno in DISK_FULL_ERRNOS
    # safetensors reports a failed write as SafetensorError("... (os error 28)").
    text = str(error) if isinstance(error, SafetensorError) else ""
    return any(f"(os error {number})" in text for number in DISK_FULL_ERRNOS)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file so that readers see the old or the new content, never half.

    A full disk raises DiskFullError (the old content is kept, no temporary file is left).
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never half."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            raise DiskFullError(f"the file {path.name}") from error
        raise
