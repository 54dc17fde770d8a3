"""What the commands share: the exit codes, the options a user gave, a checkpoint folder.

Exit codes: 0 done, 1 failed, 2 a mistake the user can fix, 130 stopped by Ctrl-C.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from charrnn.core.checkpoint import CHECKPOINT_FILE, CheckpointError

EXIT_OK, EXIT_FAILED, EXIT_USER_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def given(args: argparse.Namespace, names: tuple[str, ...]) -> dict:
    """The options among names that the user gave (left out ones are None or False)."""
    values = {name: vars(args)[name] for name in names}
    return {
        name: value for name, value in values.items() if value is not None and value is not False
    }


def checkpoint_folder(run_dir: Path) -> Path:
    """run_dir if it holds a checkpoint, else CheckpointError saying what to do."""
    if not (run_dir / CHECKPOINT_FILE).is_file():
        raise CheckpointError(
            f"There is no checkpoint in {run_dir} (no {CHECKPOINT_FILE}). Train a run there "
            f"first: python -m charrnn train CORPUS --out {shlex.quote(str(run_dir))}"
        )
    return run_dir
