"""What a worker process does before anything heavy, and how a server recognises it later.

No torch here: a worker dies with the server and gets its memory limit before importing it.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
MB = 1024 * 1024
MEMORY_MESSAGE = (
    "This run needed more memory than the server allows each run ({limit}). "
    "Choose a smaller model or batch."
)
CHECK_MEMORY_MESSAGE = (
    "This check needed more memory than the server allows each job ({limit}). "
    "Check fewer molecules."
)


def child_environment() -> dict[str, str]:
    """The environment of a child process started with ``python -c``: this package's folder on
    PYTHONPATH, and glibc's allocator capped (it reserves 64 MB of address space per thread:
    16 threads took 2.0 GB instead of 1.2 GB), so a memory limit counts memory."""
    package_root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    arenas = os.environ.get("MALLOC_ARENA_MAX", "2")
    return {**os.environ, "PYTHONPATH": path, "MALLOC_ARENA_MAX": arenas}


def prepare_worker(parent_pid: int, memory_mb: float = 0, nice: int = 0) -> None:
    """Run first in a worker: end with the parent, limit memory, step back for the pages.

    The parent-death signal is tied to the thread that started us (the job runner's own
    thread); if the parent is already gone, we leave at once.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the server died before the signal was armed
        raise SystemExit(1)
    if memory_mb and memory_mb > 0:
        limit = int(memory_mb * MB)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if nice:
        os.nice(int(nice))


def memory_limit_text() -> str:
    """This process's memory limit in words ("4 GB"), or "" when it has none."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return ""
    gigabytes = limit / 1024 / MB
    return f"{gigabytes:g} GB" if gigabytes >= 1 else f"{limit / MB:.0f} MB"


def out_of_memory(error: BaseException) -> bool:
    """Whether an error is an allocation failure (Python's, torch's or the C library's)."""
    if isinstance(error, MemoryError):
        return True
    text = str(error).lower()
    signs = ("can't allocate memory", "cannot allocate memory", "out of memory", "bad_alloc")
    return isinstance(error, (RuntimeError, OSError)) and any(sign in text for sign in signs)


def memory_message(template: str = MEMORY_MESSAGE) -> str:
    """The plain reason shown for a job that ran out of its memory."""
    return template.format(limit=memory_limit_text() or "the memory it has")


def process_identity(pid: int) -> str | None:
    """What tells this process apart from a later one with the same pid: the machine's boot,
    the pid and the process's start time (from /proc). None when there is no such process (or it
    has ended and waits to be collected)."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (name) "; a name may hold spaces
    if fields[0] in ("Z", "X"):  # ended, not yet collected by its parent: gone for us
        return None
    return f"{boot}:{pid}:{fields[19]}"  # field 22: start time in clock ticks since boot
