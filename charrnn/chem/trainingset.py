"""The training set as the metrics see it: fingerprints, fragments, scaffolds, properties and
ChemNet statistics of every molecule, computed once per training list and cached on disk.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import rdkit

from charrnn.chem.chemnet import chemnet_of
from charrnn.chem.describing import describe_sample

CACHE_VERSION = 1
CACHE_MAX_MB = 500  # the cache's size: past it, the least recently used files are removed
STALE_TEMP_SECONDS = 3600  # a temp file this old was left by a crash


@dataclass(frozen=True)
class TrainingStats:
    """What the metrics need from a training set, computed once and cached on disk.

    Rows are the distinct valid SMILES strings of the training list; `weights` says how
    often each occurs, so duplicates count as often as MOSES would count them.
    """

    key: str
    molecules: int  # training SMILES given
    valid: int  # of which RDKit reads
    canonical_forms: tuple[str, ...]  # per row
    fingerprints: np.ndarray  # (rows, 128) packed Morgan bits
    weights: np.ndarray  # (rows,)
    properties: np.ndarray  # (rows, len(PROPERTY_NAMES))
    fragment_counts: dict[str, int]
    scaffold_counts: dict[str, int]
    fcd_mean: np.ndarray | None = None
    fcd_covariance: np.ndarray | None = None
    from_cache: bool = False

    @functools.cached_property
    def canonical(self) -> frozenset[str]:
        return frozenset(self.canonical_forms)


def stats_key(smiles: Sequence[str]) -> str:
    """The name of a training set's statistics in the cache: its molecules, RDKit's version."""
    digest = hashlib.sha256(f"v{CACHE_VERSION} rdkit {rdkit.__version__}\n".encode())
    for text in smiles:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()[:32]


def stats_cached(smiles: Sequence[str], cache_dir: Path | None = None) -> bool:
    """Whether training_stats finds this training set's statistics in the cache (the first
    check on a corpus describes every molecule; later ones read the cache)."""
    return (Path(cache_dir or default_cache_dir()) / f"{stats_key(smiles)}.npz").is_file()


def default_cache_dir() -> Path:
    """$CHARRNN_CACHE/stats, else ~/.cache/charrnn/stats."""
    root = os.environ.get("CHARRNN_CACHE") or Path.home() / ".cache" / "charrnn"
    return Path(root) / "stats"


def _save(path: Path, stats: TrainingStats) -> None:
    """np.savez with the text parts as one JSON document; written to a temp file, renamed."""
    document = {
        "key": stats.key,
        "molecules": stats.molecules,
        "valid": stats.valid,
        "canonical_forms": stats.canonical_forms,
        "fragments": stats.fragment_counts,
        "scaffolds": stats.scaffold_counts,
    }
    arrays = {
        "document": np.frombuffer(json.dumps(document).encode(), dtype=np.uint8),
        "fingerprints": stats.fingerprints,
        "weights": stats.weights,
        "properties": stats.properties,
    }
    if stats.fcd_mean is not None:
        arrays |= {"fcd_mean": stats.fcd_mean, "fcd_covariance": stats.fcd_covariance}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as file:
        np.savez(file, **arrays)
    os.replace(file.name, path)


def _load(path: Path, key: str) -> TrainingStats | None:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            document = json.loads(arrays["document"].tobytes())
            has_fcd = "fcd_mean" in arrays.files
            stats = TrainingStats(
                key=document["key"],
                molecules=document["molecules"],
                valid=document["valid"],
                canonical_forms=tuple(document["canonical_forms"]),
                fingerprints=arrays["fingerprints"],
                weights=arrays["weights"],
                properties=arrays["properties"],
                fragment_counts=document["fragments"],
                scaffold_counts=document["scaffolds"],
                fcd_mean=arrays["fcd_mean"] if has_fcd else None,
                fcd_covariance=arrays["fcd_covariance"] if has_fcd else None,
                from_cache=True,
            )
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # missing or damaged: computed again
    return stats if stats.key == key else None


def training_stats(
    smiles: Sequence[str],
    cache_dir: str | Path | None = None,
    *,
    fcd: bool = True,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainingStats:
    """Statistics of a training set, read from the cache when this exact list was seen.

    fcd=False skips ChemNet (the slow part: minutes for 100k molecules on a CPU); a later
    call with fcd=True adds it to the cached file. workers: processes and torch threads
    (default: the number of cores). progress, if given, hears a line of text now and then
    while the statistics are computed (nothing when the cache has them).
    """
    say = progress or (lambda line: None)
    smiles = list(smiles)
    workers = workers or os.cpu_count() or 1
    key = stats_key(smiles)
    path = Path(cache_dir or default_cache_dir()) / f"{key}.npz"
    stats = _load(path, key)
    if stats is not None:
        with contextlib.suppress(OSError):
            info = path.stat()  # used now: the last to go when the cache is trimmed (its
            os.utime(path, ns=(time.time_ns(), info.st_mtime_ns))  # access time; content kept)
    else:
        stats = _described(smiles, key, workers, say)
        _save(path, stats)
        say(f"Saved in the cache: {path}")
    if fcd and stats.fcd_mean is None and stats.valid >= 2:
        stats = _with_fcd(stats, workers, say)
        if stats.fcd_mean is not None:
            _save(path, stats)
            say(f"Saved in the cache: {path}")
    trim_cache(path.parent, keep=path)
    return stats


def trim_cache(
    cache_dir: str | Path | None = None,
    max_bytes: int = CACHE_MAX_MB * 1024 * 1024,
    keep: Path | None = None,
    now: float | None = None,
) -> list[str]:
    """Remove the least recently used statistics past ``max_bytes`` (and temp files left by
    a crash); ``keep`` is never removed. Returns the names removed."""
    folder = Path(cache_dir or default_cache_dir())
    now = time.time() if now is None else now
    files, removed = [], []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
                if entry.name.endswith(".tmp") and now - info.st_mtime > STALE_TEMP_SECONDS:
                    files.append((float("-inf"), 0, Path(entry.path)))  # removed first
                elif entry.name.endswith(".npz"):
                    used = max(info.st_atime, info.st_mtime)  # set on each use (above)
                    files.append((used, info.st_size, Path(entry.path)))
    except OSError:  # no cache yet
        return []
    files.sort(key=lambda file: file[0], reverse=True)  # newest first
    total = 0
    for used, size, path in files:
        total += size
        if used != float("-inf") and (total <= max_bytes or path == keep):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path.name)
    return removed


def _every(seconds: float, say: Callable[[str], None], what: str) -> Callable[[int, int], None]:
    """A (done, total) progress callback that says how far `what` got, every so often."""
    start = last = time.perf_counter()

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= seconds or done == total:
            last = now
            say(f"  {what}: {done:,} of {total:,} ({now - start:.0f} s)")

    return report


def _described(
    smiles: list[str], key: str, workers: int, say: Callable[[str], None]
) -> TrainingStats:
    """The RDKit part of the statistics."""
    say(f"Describing the {len(smiles):,} training molecules (once for this training set)...")
    report, done = _every(10, say, "RDKit"), 0

    def each_part(part: list, total: int) -> None:
        nonlocal done
        done += len(part)
        report(done, total)

    sample = describe_sample(smiles, filters=False, workers=workers, each_part=each_part)
    return TrainingStats(
        key=key,
        molecules=len(smiles),
        valid=int(sample.weights.sum()),
        canonical_forms=tuple(record.canonical for record in sample.records),
        fingerprints=sample.fingerprints,
        weights=sample.weights,
        properties=sample.property_array(),
        fragment_counts=dict(sample.counts("fragments")),
        scaffold_counts=dict(sample.counts("scaffold")),
    )


def _with_fcd(stats: TrainingStats, workers: int, say: Callable[[str], None]) -> TrainingStats:
    """The statistics with ChemNet's mean and covariance added (unchanged without fcd_torch)."""
    say("ChemNet activations for FCD (once for this training set; the slowest part)...")
    report = _every(10, say, "ChemNet")
    try:
        gaussian = chemnet_of(stats.canonical_forms, stats.weights, workers, report)
    except ImportError:  # fcd_torch is not installed: FCD is reported as not measured
        say("  fcd_torch is not installed: FCD is not measured.")
        return stats
    return replace(stats, fcd_mean=gaussian[0], fcd_covariance=gaussian[1], from_cache=False)
