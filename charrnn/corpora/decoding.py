"""Corpora: turn an untrusted file's bytes into text, or say what is wrong with it.

Size first, then gzip (counted as it inflates), binary files, UTF-16 and bad UTF-8.
"""

from __future__ import annotations

import gzip
import io
import zlib

from charrnn.corpora.download import megabytes
from charrnn.errors import UserError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a zip archive, or an Excel or Word file",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
}


class CorpusError(UserError, ValueError):
    """Bad corpus input; message is for a non-programmer and says what to do."""


def too_big(size: int, max_bytes: int) -> CorpusError:
    """The error for a file of size bytes over the max_bytes limit."""
    return CorpusError(
        f"The file is {megabytes(size)}, more than the {megabytes(max_bytes)} limit. "
        "Upload a smaller file, for example the first part of this one."
    )


def decode_bytes(raw: bytes, max_bytes: int, *, gzipped: bool) -> str:
    """Bytes to text with \\n line ends, or CorpusError saying what is wrong."""
    if len(raw) > max_bytes:
        raise too_big(len(raw), max_bytes)
    if gzipped or raw.startswith(b"\x1f\x8b"):
        raw = _gunzip(raw, max_bytes)
    if not raw.strip():
        raise CorpusError("The file is empty. Choose a file with some text in it.")
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError(
            "The file is saved as UTF-16. Open it in a text editor, save it as UTF-8 "
            "and upload it again."
        )
    known = [what for sign, what in _BINARY_SIGNATURES.items() if head.startswith(sign)]
    controls = sum(byte < 32 and byte not in b"\t\n\r\f\x1b" for byte in head)
    if known or b"\0" in head or controls * 10 > len(head):
        what = known[0] if known else "for example an image or a zip archive"
        raise CorpusError(
            f"This looks like a binary file ({what}), not plain text. Please upload "
            "plain text: .txt for text, .smi or .csv for molecules."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise CorpusError(
            f"The file is not UTF-8 text: line {line} has the byte "
            f"0x{raw[error.start]:02X} (byte offset {error.start}). Open the file in "
            "a text editor, save it with the UTF-8 encoding and upload it again."
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError("The file has only blank space. Choose one with some text.")
    return text


def _gunzip(raw: bytes, max_bytes: int) -> bytes:
    """Decompress while counting, so a small file that inflates hugely stops early."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            while chunk := stream.read(1024 * 1024):
                out += chunk
                if len(out) > max_bytes:
                    raise CorpusError(
                        "Uncompressed, the file is more than the "
                        f"{megabytes(max_bytes)} limit. Upload a smaller file, for "
                        "example the first part of this one."
                    )
    except (OSError, EOFError, zlib.error):
        raise CorpusError(
            "The file is not a valid .gz file (it may be damaged or cut short). "
            "Compress it again, or upload it uncompressed."
        ) from None
    return bytes(out)
