"""The chemistry statistics cache keeps within its size: the least recently used files go."""

from __future__ import annotations

import os

from charrnn.chem.trainingset import STALE_TEMP_SECONDS, trim_cache

NOW = 1_000_000.0


def cached(folder, name: str, size: int, used: float):
    path = folder / name
    path.write_bytes(b"x" * size)
    os.utime(path, (used, used))
    return path


def test_the_least_recently_used_statistics_go_first(tmp_path):
    oldest = cached(tmp_path, "a.npz", 400, NOW - 300)
    recent = cached(tmp_path, "b.npz", 400, NOW - 10)
    middle = cached(tmp_path, "c.npz", 400, NOW - 100)
    assert trim_cache(tmp_path, max_bytes=900, now=NOW) == ["a.npz"]
    assert recent.exists() and middle.exists() and not oldest.exists()
    assert trim_cache(tmp_path, max_bytes=900, now=NOW) == []  # within its size now


def test_the_file_just_used_stays_and_crash_leftovers_go(tmp_path):
    big = cached(tmp_path, "big.npz", 5000, NOW - 500)
    left = cached(tmp_path, "tmpabc.tmp", 10, NOW - STALE_TEMP_SECONDS - 1)
    writing = cached(tmp_path, "tmpdef.tmp", 10, NOW - 5)  # being written now
    other = cached(tmp_path, "other.npz", 10, NOW)
    removed = trim_cache(tmp_path, max_bytes=1000, keep=big, now=NOW)
    assert sorted(removed) == ["tmpabc.tmp"]
    assert big.exists() and writing.exists() and other.exists() and not left.exists()


def test_no_cache_folder_is_fine(tmp_path):
    assert trim_cache(tmp_path / "none") == []
