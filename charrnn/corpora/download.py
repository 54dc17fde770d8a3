"""Fetch a file over HTTP(S) with a timeout and a size limit, written atomically.

The corpus and builtins modules turn a DownloadFailed into a CorpusError with advice.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

CHUNK_BYTES = 64 * 1024


class DownloadFailed(Exception):
    """A download did not complete; the message is a short reason, e.g. "HTTP 404"."""


def megabytes(size: int) -> str:
    """A size for people: "1.5 MB"."""
    return f"{size / (1024 * 1024):.3g} MB"


def fetch(url: str, destination: str | os.PathLike, *, timeout: float, max_bytes: int) -> Path:
    """Download url to destination; nothing is there unless it all arrived.

    The body is streamed to a temporary file next to destination and renamed into
    place, so an interrupted download never looks like a complete one. timeout applies
    to connecting and to each read. Raises DownloadFailed with a short reason.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise DownloadFailed("only http:// and https:// addresses can be downloaded")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": "charrnn"})
    too_big = f"the file is larger than the {megabytes(max_bytes)} limit"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise DownloadFailed(too_big)
            handle, temporary = tempfile.mkstemp(
                dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
            )
            try:
                with os.fdopen(handle, "wb") as out:
                    received = 0
                    while chunk := response.read(CHUNK_BYTES):
                        received += len(chunk)
                        if received > max_bytes:
                            raise DownloadFailed(too_big)
                        out.write(chunk)
                os.replace(temporary, destination)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
    except urllib.error.HTTPError as error:
        raise DownloadFailed(f"the server answered HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise DownloadFailed(f"no answer within {timeout:g} seconds") from None
        raise DownloadFailed(f"could not connect: {error.reason}") from None
    except TimeoutError:
        raise DownloadFailed(f"no answer within {timeout:g} seconds") from None
    except (OSError, http.client.HTTPException) as error:
        raise DownloadFailed(f"the connection failed: {error}") from None
    return destination
