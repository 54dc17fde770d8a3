"""The class gallery: samples and molecule grids that participants chose to share with the room,
and the scores of the guessing game (a leaderboard: the lowest loss first).

One JSON file per entry in <workspaces root>/gallery/, named by a generated id; the author's
workspace is kept only as a hash, so an entry can be withdrawn by its author and nobody else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from charrnn.errors import UserError
from charrnn.files import atomic_write_text
from charrnn.runs.status import clean_name, one_visible_line
from charrnn.runs.workspace import TOKEN, default_root

GALLERY_FOLDER = "gallery"
# shared samples, shared SMILES drawn, or a guessing game's score (charrnn.runs.game)
EntryKind = Literal["text", "molecules", "game"]
KINDS: tuple[EntryKind, ...] = get_args(EntryKind)
MAX_TEXTS, MAX_TEXT_CHARACTERS = 10, 2000
MAX_MOLECULES = 24
MAX_AUTHOR_CHARACTERS = 40
MAX_SCORE_CHARACTERS = 200  # a game entry's one line: how the round went
MAX_ENTRIES = 500  # past this, the oldest entries are dropped: a room cannot fill the disk
MAX_ENTRIES_PER_WORKSPACE = 20  # past this, that workspace's own oldest entries are dropped
POSTS_PER_MINUTE = 5  # from one workspace: more are refused until the minute has passed
RATE_WINDOW_SECONDS = 60.0
ENTRY_ID = re.compile(r"^g-\d{16}-[0-9a-f]{8}$")  # microseconds since 1970, then random


class GalleryError(UserError, ValueError):
    """Something that cannot be shared or withdrawn; the message says what to do."""


@dataclass(frozen=True)
class Entry:
    """What every viewer may see of an entry; ``mine``: published from the viewer's workspace."""

    id: str
    author: str
    kind: EntryKind
    items: tuple[str, ...]
    run_name: str
    created: float
    mine: bool = False
    score: float | None = None  # a game's: the person's loss in nats per character


def gallery_dir(root: Path | None = None) -> Path:
    return Path(root or default_root()) / GALLERY_FOLDER


def _owner(workspace_token: str) -> str:
    """The workspace as stored with an entry: a hash, never the token itself."""
    return hashlib.sha256(workspace_token.encode("utf-8")).hexdigest()


def _check_token(workspace_token: str) -> None:
    if not isinstance(workspace_token, str) or not TOKEN.fullmatch(workspace_token):
        raise GalleryError("This workspace link is not valid. Open the app again to get one.")


def _entry_path(root: Path | None, entry_id: str) -> Path:
    if not isinstance(entry_id, str) or not ENTRY_ID.fullmatch(entry_id):
        raise GalleryError("There is no such entry in the gallery.")
    return gallery_dir(root) / f"{entry_id}.json"


def _clean_items(kind: str, items: list[str]) -> list[str]:
    if kind not in KINDS:
        raise GalleryError(f"Only {' or '.join(KINDS)} can be shared, not {kind!r}.")
    if isinstance(items, str) or not all(isinstance(item, str) for item in items):
        raise GalleryError("Share a list of samples (texts or SMILES).")
    items = list(items)
    if not any(item.strip() for item in items):
        raise GalleryError("There is nothing to share: generate some samples first.")
    most = MAX_TEXTS if kind == "text" else MAX_MOLECULES
    if len(items) > most:
        raise GalleryError(f"Share at most {most} {'samples' if kind == 'text' else kind}.")
    if kind == "text" and max(len(item) for item in items) > MAX_TEXT_CHARACTERS:
        raise GalleryError(f"A shared sample can be at most {MAX_TEXT_CHARACTERS:,} characters.")
    if kind == "molecules" and max(len(item) for item in items) > MAX_TEXT_CHARACTERS:
        raise GalleryError("These strings are too long to be molecules.")
    if kind == "game" and (len(items) != 1 or len(items[0]) > MAX_SCORE_CHARACTERS):
        raise GalleryError("A game is shared as one line on how the round went.")
    return items


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def publish(
    root: Path | None,
    workspace_token: str,
    author: str,
    kind: EntryKind,
    items: list[str],
    run_name: str,
    score: float | None = None,
) -> str:
    """Share samples ("text"), SMILES ("molecules") or a guessing game's line and ``score``
    ("game": the player's loss, lower is better) with the room; returns the entry's id.

    Texts and names are stored exactly as given (pages must show them as plain text).
    """
    _check_token(workspace_token)
    author = one_visible_line(author)[:MAX_AUTHOR_CHARACTERS].strip()
    if not author:
        raise GalleryError("Write your name (or a nickname) so the room knows who shared this.")
    items = _clean_items(kind, items)
    if (kind == "game") != (score is not None) or (score is not None and not _finite(score)):
        raise GalleryError("A game is shared with its score, and only a game has one.")
    _count_post(_owner(workspace_token))
    folder = gallery_dir(root)
    now = time.time()
    entry_id = f"g-{_stamp():016d}-{secrets.token_hex(4)}"
    record = {
        "id": entry_id,
        "author": author,
        "kind": kind,
        "items": items,
        "run_name": clean_name(run_name),
        "created": now,
        "owner": _owner(workspace_token),
        **({"score": float(score)} if score is not None else {}),
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / f"{entry_id}.json", json.dumps(record))  # ASCII: any text fits
    except OSError as error:  # a full disk above all: its message is for people
        raise GalleryError(f"The server could not save this entry ({error}). Try later.") from None
    _prune(root, record["owner"])
    return entry_id


def _count_post(owner: str) -> None:
    """GalleryError past POSTS_PER_MINUTE posts from one workspace (kept in this server)."""
    now = time.monotonic()
    with _posts_lock:
        recent = [at for at in _posts.get(owner, []) if now - at < RATE_WINDOW_SECONDS]
        if len(recent) >= POSTS_PER_MINUTE:
            wait = math.ceil(RATE_WINDOW_SECONDS - (now - recent[0]))
            raise GalleryError(
                f"You shared {len(recent)} entries in the last minute, the most this gallery "
                f"takes. Wait {wait} seconds, then share again."
            )
        if len(_posts) > 10_000:  # forget workspaces that posted long ago
            for key in [key for key, times in _posts.items() if now - times[-1] > 60]:
                del _posts[key]
        _posts[owner] = [*recent, now]


_posts: dict[str, list[float]] = {}  # workspace hash -> times of its recent posts
_posts_lock = threading.Lock()


def _stamp() -> int:
    """Microseconds since 1970, always above the last one given: ids sort in publish order."""
    global _last_stamp
    with _stamp_lock:
        _last_stamp = max(time.time_ns() // 1000, _last_stamp + 1)
        return _last_stamp


_last_stamp, _stamp_lock = 0, threading.Lock()


def _files(root: Path | None) -> list[Path]:
    """The entries' files, newest first (ids start with their creation time)."""
    folder = gallery_dir(root)
    if not folder.is_dir():
        return []
    found = [path for path in folder.glob("g-*.json") if ENTRY_ID.fullmatch(path.stem)]
    return sorted(found, key=lambda path: path.name, reverse=True)


def fingerprint(root: Path | None = None) -> str:
    """Changes whenever an entry is published, withdrawn or removed (cheap: names only)."""
    names = "\n".join(path.name for path in _files(root))
    return hashlib.sha256(names.encode("ascii")).hexdigest()[:16]


def _read(path: Path) -> dict | None:
    """An entry's stored record, or None when the file is broken or not an entry."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("id") != path.stem:
        return None
    items, created = record.get("items"), record.get("created")
    fine = (
        record.get("kind") in KINDS
        and isinstance(items, list)
        and all(isinstance(item, str) for item in items)
        and all(isinstance(record.get(name), str) for name in ("author", "run_name", "owner"))
        and isinstance(created, int | float)
        and not isinstance(created, bool)
        and math.isfinite(created)
        and (record["kind"] != "game" or _finite(record.get("score")))
    )
    return record if fine else None


def _prune(root: Path | None, owner: str) -> None:
    """Drop the oldest entries past the gallery's cap and past this workspace's cap."""
    files = _files(root)
    for path in files[MAX_ENTRIES:]:
        path.unlink(missing_ok=True)
    own = [path for path in files[:MAX_ENTRIES] if (_read(path) or {}).get("owner") == owner]
    for path in own[MAX_ENTRIES_PER_WORKSPACE:]:
        path.unlink(missing_ok=True)


def entries(
    root: Path | None = None, viewer_token: str | None = None, limit: int = 100
) -> list[Entry]:
    """The newest ``limit`` entries (list of Entry), newest first; broken files are skipped.

    Only public fields are returned; ``mine`` says whether ``viewer_token``'s workspace
    published the entry (always False without a token).
    """
    viewer = _owner(viewer_token) if isinstance(viewer_token, str) and viewer_token else None
    shown = []
    for path in _files(root):
        if len(shown) >= limit:
            break
        record = _read(path)
        if record is None:
            continue
        shown.append(
            Entry(
                id=record["id"],
                author=record["author"],
                kind=record["kind"],
                items=tuple(record["items"]),
                run_name=record["run_name"],
                created=float(record["created"]),
                mine=viewer is not None and hmac.compare_digest(viewer, record["owner"]),
                score=float(record["score"]) if record["kind"] == "game" else None,
            )
        )
    return shown


def leaderboard(root: Path | None = None, limit: int = 10) -> list[Entry]:
    """The guessing game's shared scores, the lowest loss first (the oldest first on a tie)."""
    games = [entry for entry in entries(root, limit=MAX_ENTRIES) if entry.kind == "game"]
    return sorted(games, key=lambda entry: (entry.score, entry.created))[:limit]


def withdraw(root: Path | None, entry_id: str, workspace_token: str) -> bool:
    """Take back one's own entry; False when it was already gone. Others' entries: GalleryError."""
    _check_token(workspace_token)
    path = _entry_path(root, entry_id)
    record = _read(path)
    if record is None:
        return False
    if not hmac.compare_digest(record["owner"], _owner(workspace_token)):
        raise GalleryError("Only the person who shared an entry can withdraw it.")
    path.unlink(missing_ok=True)
    return True


def remove(root: Path | None, entry_id: str) -> bool:
    """The instructor takes any entry down; False when it was already gone."""
    path = _entry_path(root, entry_id)
    if not path.exists():
        return False
    path.unlink(missing_ok=True)
    return True
