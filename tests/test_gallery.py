"""The class gallery's store: publish, list, withdraw, remove, its caps and its privacy.

Everything lives in a temporary workspaces root; no Streamlit.
"""

from __future__ import annotations

import json

import pytest

from charrnn.runs import gallery
from charrnn.runs.gallery import GalleryError
from charrnn.runs.workspace import new_workspace

MARKUP = "<script>alert(1)</script> **bold** [a](javascript:x)"


@pytest.fixture
def alice(root) -> str:
    return new_workspace(root)


@pytest.fixture
def bob(root) -> str:
    return new_workspace(root)


def test_a_published_entry_is_seen_by_everyone_newest_first(root, alice, bob):
    first = gallery.publish(root, alice, "Alice", "text", ["hello", "world"], "my run")
    second = gallery.publish(root, bob, "  Bob\n  Smith ", "molecules", ["CCO", "c1ccccc1"], "m")
    seen = gallery.entries(root)
    assert [entry.id for entry in seen] == [second, first]
    newest, oldest = seen
    assert (newest.author, newest.kind, newest.items) == (
        "Bob Smith",
        "molecules",
        ("CCO", "c1ccccc1"),
    )
    assert (oldest.author, oldest.run_name, oldest.items) == ("Alice", "my run", ("hello", "world"))
    assert newest.created >= oldest.created
    assert not any(entry.mine for entry in seen)  # no viewer: nothing is "mine"
    assert [entry.mine for entry in gallery.entries(root, viewer_token=alice)] == [False, True]
    assert [entry.mine for entry in gallery.entries(root, viewer_token=bob)] == [True, False]
    assert len(gallery.entries(root, limit=1)) == 1


def test_the_workspace_token_is_never_shown_nor_stored(root, alice):
    entry_id = gallery.publish(root, alice, "Alice", "text", ["x"], "run")
    (entry,) = gallery.entries(root, viewer_token=alice)
    assert alice not in repr(entry) and alice[:8] not in repr(entry)
    public = {"id", "author", "kind", "items", "run_name", "created", "mine", "score"}
    assert set(vars(entry)) == public
    stored = (gallery.gallery_dir(root) / f"{entry_id}.json").read_text()
    assert alice not in stored  # only a hash of it: a copied gallery folder gives nobody access


def test_markup_and_unusual_text_are_stored_verbatim(root, alice):
    texts = [MARKUP, "tab\there\nnew line", "émoji 🚀 \x00 control", "\ud800 lone surrogate"]
    gallery.publish(root, alice, "<b>Eve</b> **x**", "text", texts, "<i>run</i>")
    (entry,) = gallery.entries(root)
    assert entry.items == tuple(texts)
    assert entry.author == "<b>Eve</b> **x**" and entry.run_name == "<i>run</i>"


def test_only_the_author_can_withdraw_and_the_instructor_can_remove_any(root, alice, bob):
    mine = gallery.publish(root, alice, "Alice", "text", ["a"], "run")
    theirs = gallery.publish(root, bob, "Bob", "text", ["b"], "run")
    with pytest.raises(GalleryError, match="Only the person who shared"):
        gallery.withdraw(root, theirs, alice)
    assert gallery.withdraw(root, mine, alice) is True
    assert gallery.withdraw(root, mine, alice) is False  # already gone: nothing to do
    assert [entry.id for entry in gallery.entries(root)] == [theirs]
    assert gallery.remove(root, theirs) is True
    assert gallery.remove(root, theirs) is False
    assert gallery.entries(root) == []


def test_ids_from_outside_never_reach_other_files(root, alice):
    (root / "secret.json").write_text("{}")
    for bad in ("../secret", "../../etc/passwd", "g-1/../../secret", "", None):
        with pytest.raises(GalleryError):
            gallery.remove(root, bad)
        with pytest.raises(GalleryError):
            gallery.withdraw(root, bad, alice)
    assert (root / "secret.json").exists()
    with pytest.raises(GalleryError, match="link is not valid"):
        gallery.publish(root, "../x", "Alice", "text", ["a"], "run")


@pytest.mark.parametrize(
    ("author", "kind", "items", "problem"),
    [
        ("   ", "text", ["a"], "Write your name"),
        ("Alice", "text", [], "nothing to share"),
        ("\u200b\u200d\u2066", "text", ["a"], "Write your name"),  # invisible only
        ("Alice", "text", ["", "  "], "nothing to share"),
        ("Alice", "poems", ["a"], "Only text or molecules"),
        ("Alice", "text", "a string, not a list", "list of samples"),
        ("Alice", "text", ["a"] * 11, "at most 10 samples"),
        ("Alice", "text", ["a" * 2001], "at most 2,000 characters"),
        ("Alice", "molecules", ["C"] * 25, "at most 24 molecules"),
    ],
)
def test_what_cannot_be_shared_is_explained(root, alice, author, kind, items, problem):
    with pytest.raises(GalleryError, match=problem):
        gallery.publish(root, alice, author, kind, items, "run")
    assert gallery.entries(root) == []


def test_caps_at_the_limits_are_accepted_and_names_are_shortened(root, alice):
    gallery.publish(root, alice, "A" * 100, "text", ["a" * 2000] * 10, "R" * 200)
    gallery.publish(root, alice, "Alice", "molecules", ["C"] * 24, "run")
    molecules, texts = gallery.entries(root)
    assert len(molecules.items) == 24 and len(texts.items) == 10
    assert texts.author == "A" * 40 and len(texts.run_name) <= 80


def test_names_show_what_they_say(root, alice):
    """Zero-width and right-to-left override characters are taken out of names, so a name
    can be neither invisible nor shown reversed."""
    gallery.publish(root, alice, "Al\u200bice \u202eevol", "text", ["a"], "my\u2067 run\u200d")
    [entry] = gallery.entries(root)
    assert (entry.author, entry.run_name) == ("Alice evol", "my run")


def test_the_gallery_keeps_only_the_newest_entries(root, monkeypatch):
    monkeypatch.setattr(gallery, "MAX_ENTRIES", 5)
    published = [
        gallery.publish(root, new_workspace(root), f"P{n}", "text", [str(n)], "r") for n in range(8)
    ]
    assert [entry.id for entry in gallery.entries(root)] == published[::-1][:5]
    assert len(list(gallery.gallery_dir(root).iterdir())) == 5  # the files are gone, too


def test_one_workspace_cannot_push_everyone_else_out(root, alice, bob, monkeypatch):
    monkeypatch.setattr(gallery, "MAX_ENTRIES_PER_WORKSPACE", 3)
    monkeypatch.setattr(gallery, "POSTS_PER_MINUTE", 100)  # the rate has its own test
    other = gallery.publish(root, bob, "Bob", "text", ["b"], "r")
    flood = [gallery.publish(root, alice, "Alice", "text", [str(n)], "r") for n in range(6)]
    assert [entry.id for entry in gallery.entries(root)] == flood[::-1][:3] + [other]


def test_one_workspace_cannot_post_faster_than_the_gallery_allows(root, alice, bob, monkeypatch):
    for n in range(gallery.POSTS_PER_MINUTE):
        gallery.publish(root, alice, "Alice", "text", [str(n)], "r")
    with pytest.raises(GalleryError, match="in the last minute.*Wait [0-9]+ seconds"):
        gallery.publish(root, alice, "Alice", "text", ["one more"], "r")
    gallery.publish(root, bob, "Bob", "text", ["b"], "r")  # others still can
    monkeypatch.setattr(gallery, "RATE_WINDOW_SECONDS", 0.0)  # a minute later
    gallery.publish(root, alice, "Alice", "text", ["later"], "r")


def test_broken_files_are_ignored(root, alice):
    good = gallery.publish(root, alice, "Alice", "text", ["fine"], "run")
    folder = gallery.gallery_dir(root)
    record = json.loads((folder / f"{good}.json").read_text())
    broken = {
        "g-0000000000000001-00000001": "{not json",
        "g-0000000000000002-00000002": "[]",
        "g-0000000000000003-00000003": json.dumps(
            {**record, "id": "g-0000000000000003-00000003", "items": "x"}
        ),
        "g-0000000000000004-00000004": json.dumps(
            {**record, "id": "g-0000000000000004-00000004", "kind": "html"}
        ),
        "g-0000000000000005-00000005": json.dumps(record),  # its id is another file's
        "g-0000000000000006-00000006": "\xff\xfe binary",
    }
    for name, text in broken.items():
        (folder / f"{name}.json").write_text(text, encoding="latin-1")
    (folder / "notes.txt").write_text("not an entry")
    assert [entry.id for entry in gallery.entries(root)] == [good]
    before = gallery.fingerprint(root)
    gallery.remove(root, "g-0000000000000001-00000001")  # the instructor can clear one away
    assert gallery.fingerprint(root) != before
    assert gallery.entries(root, limit=1)[0].id == good


def test_an_empty_or_missing_gallery_has_no_entries(root):
    assert gallery.entries(root) == []
    assert gallery.fingerprint(root) == gallery.fingerprint(root)


def test_a_full_disk_is_explained(root, alice, monkeypatch):
    def full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gallery, "atomic_write_text", full)
    with pytest.raises(GalleryError, match="could not save"):
        gallery.publish(root, alice, "Alice", "text", ["a"], "run")


def test_an_id_with_a_trailing_newline_is_refused(root, alice):
    entry_id = gallery.publish(root, alice, "Alice", "text", ["a"], "run")
    with pytest.raises(GalleryError):
        gallery.remove(root, entry_id + "\n")
    assert len(gallery.entries(root)) == 1


def test_game_scores_make_a_leaderboard_lowest_loss_first(root, alice, bob):
    line = "6 of 10 right; the model 1.92 nats per symbol"
    slow = gallery.publish(root, alice, "Alice", "game", [line], "prior", score=3.12)
    fast = gallery.publish(root, bob, "Bob", "game", [line], "my run", score=0.5)
    gallery.publish(root, bob, "Bob", "text", ["hello"], "my run")  # not a game
    best = gallery.leaderboard(root)
    assert [(entry.id, entry.score) for entry in best] == [(fast, 0.5), (slow, 3.12)]
    assert best[0].items == (line,) and best[0].author == "Bob"
    assert gallery.entries(root)[0].score is None  # the text entry has no score
    assert gallery.leaderboard(root, limit=1)[0].id == fast
    with pytest.raises(GalleryError, match="with its score"):
        gallery.publish(root, alice, "Alice", "game", [line], "prior")
    with pytest.raises(GalleryError, match="with its score"):
        gallery.publish(root, alice, "Alice", "game", [line], "prior", score=float("nan"))
    with pytest.raises(GalleryError, match="with its score"):
        gallery.publish(root, alice, "Alice", "text", ["x"], "prior", score=1.0)
    with pytest.raises(GalleryError, match="one line"):
        gallery.publish(root, alice, "Alice", "game", [line, line], "prior", score=1.0)
    path = gallery.gallery_dir(root) / f"{slow}.json"  # a game without a score is broken
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "score": "low"}))
    assert [entry.id for entry in gallery.leaderboard(root)] == [fast]
