"""How fast each engine trains a corpus: the Train page's comparison, bounded for a page.

`charrnn.core.numpy_train.engine_speeds` on the first part of a corpus, one thread each.
"""

from __future__ import annotations

import torch

from charrnn.core.batches import prepare_data
from charrnn.core.numpy_train import engine_speeds, use_blas_threads
from charrnn.runs.config import load_corpus

SPEED_SAMPLE_CHARACTERS = 200_000  # the speed comparison reads no more of a corpus
SPEED_MAX_HIDDEN = 512
SPEED_MAX_SECONDS = 3.0  # per engine


def corpus_engine_speeds(corpus: dict, hidden_size: int, seconds: float = 1.5) -> dict:
    """`engine_speeds` on a corpus as the Corpus page describes it ({"reference", ...}),
    one thread (the workshop setting), bounded for a page: on its first
    SPEED_SAMPLE_CHARACTERS characters as plain characters (an upload is read no further
    and not parsed), a hidden size of at most SPEED_MAX_HIDDEN, at most SPEED_MAX_SECONDS
    per engine."""
    data = prepare_data(_speed_sample(corpus))
    hidden_size = max(1, min(int(hidden_size), SPEED_MAX_HIDDEN))
    seconds = min(float(seconds), SPEED_MAX_SECONDS)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return engine_speeds(data, data.vocabulary.size, hidden_size, seconds)
    finally:
        torch.set_num_threads(threads)
        use_blas_threads(threads)


def _speed_sample(corpus: dict) -> str:
    """The first SPEED_SAMPLE_CHARACTERS characters of a corpus (built-ins are small)."""
    reference, most = str(corpus["reference"]), SPEED_SAMPLE_CHARACTERS
    if reference.startswith("builtin:"):
        loaded = load_corpus(reference)
        return loaded.text[:most] if loaded.kind == "text" else "\n".join(loaded.lines)[:most]
    with open(reference, "rb") as handle:
        return handle.read(4 * most).decode("utf-8", errors="replace")[:most]
