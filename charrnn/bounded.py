"""Run one engine function in a child process with a memory limit and a time limit.

For work on untrusted input that must not weigh on the web server (checking an upload with
RDKit): the answer comes back as JSON, never unpickled, and a child that runs out of memory
or time, or dies, becomes a ChildFailed the caller turns into a plain message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from charrnn.errors import UserError
from charrnn.worker_start import child_environment

CHECK_MEMORY_MB = 3072  # address space: Python + RDKit take about 700 MB of it
CHECK_SECONDS = 180.0
_CHILD = """
import importlib, json, os, sys
from charrnn.errors import UserError
from charrnn.worker_start import out_of_memory, prepare_worker
request_path, answer_path = sys.argv[1], sys.argv[2]
prepare_worker(int(sys.argv[3]), float(sys.argv[4]))
with open(request_path, encoding="utf-8") as handle:
    request = json.load(handle)
module, function = request["target"].split(":")
try:
    result = getattr(importlib.import_module(module), function)(**request["arguments"])
    answer = {"result": result}
except Exception as error:
    if out_of_memory(error):
        answer = {"failed": "memory"}
    elif isinstance(error, UserError):
        answer = {"error": type(error).__name__, "message": str(error)}
    else:
        answer = {"failed": "bug", "message": f"{type(error).__name__}: {error}"}
with open(answer_path, "w", encoding="utf-8") as handle:
    json.dump(answer, handle)
"""


class ChildFailed(Exception):
    """The child ran out of memory ("memory") or time ("time"), or died ("crash")."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def call(
    target: str,
    arguments: dict,
    *,
    memory_mb: float = CHECK_MEMORY_MB,
    seconds: float = CHECK_SECONDS,
):
    """``module:function(**arguments)`` in a child process; its JSON-able result.

    A user error the function raises (a UserError) is raised again here, of the same class
    where this process knows it, with its message;
    a bug in it is a RuntimeError; running out of memory or time, or dying, is ChildFailed.
    """
    with tempfile.TemporaryDirectory(prefix="charrnn-check-") as folder:
        request, answer = Path(folder) / "request.json", Path(folder) / "answer.json"
        request.write_text(
            json.dumps({"target": target, "arguments": arguments}),
            encoding="utf-8",
        )
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(request), str(answer), str(os.getpid())]
            + [str(memory_mb)],
            env=child_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _, errors = child.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise ChildFailed("time") from None
        try:
            reply = json.loads(answer.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            detail = errors.decode("utf-8", "replace")[-500:]
            memory = "MemoryError" in detail or "bad_alloc" in detail
            raise ChildFailed("memory" if memory else "crash", detail) from None
    if "result" in reply:
        return reply["result"]
    if "error" in reply:
        raise _user_error_class(reply["error"])(reply["message"])
    if reply.get("failed") == "memory":
        raise ChildFailed("memory")
    raise RuntimeError(f"{target} failed in its child process: {reply.get('message')}")


def _user_error_class(name: str) -> type[UserError]:
    """The UserError subclass of that name among those this process has imported (the caller
    has imported the errors it expects), else UserError itself."""
    found, classes = UserError, [UserError]
    while classes:
        error_class = classes.pop()
        if error_class.__name__ == name:
            found = error_class
            break
        classes.extend(error_class.__subclasses__())
    return found
