"""Built-in corpora: a toy pattern, Python's own docs, RDKit's SMILES sets, Shakespeare.

All are made or read on this computer, except Tiny Shakespeare: downloaded once, then kept.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
from dataclasses import dataclass
from pathlib import Path

from charrnn.corpora.download import DownloadFailed, fetch
from charrnn.corpora.reading import DEFAULT_MAX_BYTES, Corpus, CorpusError, read_corpus

TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)


@dataclass(frozen=True)
class BuiltinCorpus:
    """A corpus that ships with the app (or is downloaded once, on request)."""

    id: str
    title: str
    kind: str
    description: str
    needs_download: bool = False


_BUILTINS = (
    BuiltinCorpus(
        "toy-pattern",
        "Toy pattern (a first lesson)",
        "text",
        "About 30,000 characters of the words abc, abcd and abcde in a seeded random "
        "order. A tiny model learns the spelling (after a comes b, after b comes c) in "
        "seconds; what follows c is a dice roll it can only learn as probabilities.",
    ),
    BuiltinCorpus(
        "tiny-shakespeare",
        "Tiny Shakespeare",
        "text",
        "About 1.1 million characters of Shakespeare's plays, the classic corpus of "
        "Andrej Karpathy's char-rnn. Downloaded once (about 1 MB), then kept here.",
        needs_download=True,
    ),
    BuiltinCorpus(
        "python-docs",
        "Python documentation (English prose)",
        "text",
        "About 465,000 characters of the help pages that come with Python: English "
        "technical prose with code examples.",
    ),
    BuiltinCorpus(
        "nci-5k",
        "NCI first 5K (RDKit)",
        "smiles",
        "5,000 molecules of the US National Cancer Institute's open compound set, "
        "shipped with RDKit: a varied mix of small molecules. A good first choice.",
    ),
    BuiltinCorpus(
        "wehi-pains",
        "WEHI screening compounds (RDKit)",
        "smiles",
        "10,000 drug-like screening compounds of the Walter and Eliza Hall Institute, "
        "shipped with RDKit as test data for its PAINS filters.",
    ),
    BuiltinCorpus(
        "chembl-freewilson",
        "ChEMBL congeneric series (RDKit)",
        "smiles",
        "About 1,000 close analogues from one ChEMBL paper (CHEMBL2321810), shipped "
        "with RDKit's Free-Wilson example: one core with different groups attached.",
    ),
)
_RDKIT_FILES = {  # built-in id -> (RDConfig folder attribute, path inside it)
    "nci-5k": ("RDDataDir", "NCI/first_5K.smi"),
    "wehi-pains": ("RDDataDir", "Pains/test_data/wehi_mols.csv"),
    "chembl-freewilson": ("RDContribDir", "FreeWilson/data/CHEMBL2321810.smi"),
}


def _rdkit_file(corpus_id: str) -> Path | None:
    """The data file RDKit ships for a built-in corpus, or None where it is missing."""
    try:
        from rdkit import RDConfig
    except ImportError:
        return None
    folder, inside = _RDKIT_FILES[corpus_id]
    path = Path(getattr(RDConfig, folder), inside)
    return path if path.is_file() else None


def builtin_corpora() -> list[BuiltinCorpus]:
    """The built-in corpora, less those whose shipped file is missing here."""
    return [c for c in _BUILTINS if c.id not in _RDKIT_FILES or _rdkit_file(c.id)]


def load_builtin(corpus_id: str, *, cache_dir: str | os.PathLike | None = None) -> Corpus:
    """A built-in corpus; Tiny Shakespeare is downloaded into cache_dir once."""
    if corpus_id == "tiny-shakespeare":
        path = _cache_folder(cache_dir) / "tiny-shakespeare.txt"
        if not path.is_file():
            try:
                fetch(
                    TINY_SHAKESPEARE_URL,
                    path,
                    timeout=30.0,
                    max_bytes=DEFAULT_MAX_BYTES,
                )
            except DownloadFailed as error:
                raise CorpusError(
                    f"Could not download Tiny Shakespeare ({error}). Check your "
                    "internet connection, or upload a text file instead."
                ) from None
        corpus = read_corpus(path, name="Tiny Shakespeare")
        return dataclasses.replace(corpus, source="builtin:tiny-shakespeare")
    known = [corpus.id for corpus in builtin_corpora()]
    if corpus_id not in known:
        raise CorpusError(
            f"There is no built-in corpus {corpus_id!r}. Choose one of: {', '.join(known)}."
        )
    return _load_offline(corpus_id)


def is_downloaded(corpus_id: str, *, cache_dir: str | os.PathLike | None = None) -> bool:
    """Whether a built-in corpus is here without a download (only Tiny Shakespeare needs one)."""
    if corpus_id == "tiny-shakespeare":
        return (_cache_folder(cache_dir) / "tiny-shakespeare.txt").is_file()
    return True


def _cache_folder(cache_dir: str | os.PathLike | None) -> Path:
    """Where downloads are kept: cache_dir, else $CHARRNN_CACHE, else ~/.cache/charrnn."""
    default = os.environ.get("CHARRNN_CACHE") or Path.home() / ".cache" / "charrnn"
    return Path(cache_dir or default)


@functools.cache
def _load_offline(corpus_id: str) -> Corpus:
    """A built-in corpus made from files on this computer (cached: asked for often)."""
    title = next(corpus.title for corpus in _BUILTINS if corpus.id == corpus_id)
    source = f"builtin:{corpus_id}"
    if corpus_id in _RDKIT_FILES:
        path = _rdkit_file(corpus_id) or ""  # present: load_builtin checked
        corpus = read_corpus(path, kind="smiles", name=title)
        return dataclasses.replace(corpus, source=source)
    if corpus_id == "python-docs":
        from pydoc_data.topics import topics

        text = "\n\n".join(topics[key].strip("\n") for key in sorted(topics))
        return Corpus(title, "text", text, source=source)
    return Corpus(title, "text", _toy_pattern(), source=source)


def _toy_pattern(lines: int = 1200, seed: int = 0) -> str:
    """Lines of 4 to 8 words drawn from abc, abcd and abcde; the same every time."""
    generator = random.Random(seed)
    out = []
    for _ in range(lines):
        size = generator.randint(4, 8)
        words = generator.choices(["abc", "abcd", "abcde"], weights=[6, 3, 1], k=size)
        out.append(" ".join(words) + ".")
    return "\n".join(out) + "\n"
