"""A job's worker as a fresh Python process (no torch here: the job runner, and Ray's
coordinator, start workers without importing what the workers need).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from charrnn.worker_start import child_environment

# What a worker process can do: task -> (module, entry function taking folder and threads).
TASKS = {
    "train": ("charrnn.runs.worker", "train_worker"),
    "assess": ("charrnn.runs.assessment", "assess_worker"),
}


class WorkerProcess:
    """A training worker in a fresh Python process, with multiprocessing's Process methods.

    Not multiprocessing: under Streamlit, __main__ is the app script, and a spawned child
    would run the whole app again before training. Start it from a thread that lives as
    long as the server (the job runner's): the worker ends when that thread does.
    """

    def __init__(
        self, run_dir: Path, threads: int, task: str = "train", nice: int = 0, memory_mb: float = 0
    ):
        """nice: added to the process's niceness before it imports anything, so that a
        server's pages get the CPU before training does; memory_mb: its address-space limit
        (0: none), set before torch is imported."""
        module, function = TASKS[task]
        code = "import sys; from charrnn.worker_start import prepare_worker; "
        code += f"prepare_worker(int(sys.argv[3]), float(sys.argv[4]), {int(nice)}); "
        code += f"from {module} import {function}; {function}(sys.argv[1], int(sys.argv[2]))"
        arguments = [str(run_dir), str(threads), str(os.getpid()), str(float(memory_mb or 0))]
        self.popen = subprocess.Popen(
            [sys.executable, "-c", code, *arguments],
            env=child_environment(),
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
