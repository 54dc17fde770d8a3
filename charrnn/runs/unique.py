"""Sample until N unique (SMILES-RNN's --unique): batches of samples until N different valid
molecules (canonical SMILES) or N different lines of text are found, or the tries run out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from charrnn.chem.smiles import canonical_smiles
from charrnn.core.model import CharRNN
from charrnn.core.representation import to_smiles, writes_selfies
from charrnn.core.sample import Sample, SampleConfig, sample
from charrnn.core.tokens import Vocabulary
from charrnn.errors import SettingsError

Kind = Literal["molecules", "lines"]
BATCH_SIZE = 200  # samples per batch once the first small batches found too few
FIRST_BATCH = 16  # the smallest batch; batches double from here up to BATCH_SIZE
SEED_SPACE = 2**63

Writer = Callable[[CharRNN, Vocabulary, SampleConfig], list[Sample]]
Progress = Callable[[int, int], None]  # (found so far, tries so far)


@dataclass(frozen=True)
class UniqueResult:
    """What sample_unique found: each different item once, with the log-likelihood of the
    first sample that wrote it, and how many samples (tries) it took."""

    kind: Kind
    # canonical SMILES (a SELFIES model's: what it wrote) or a line, its log-likelihood
    found: tuple[tuple[str, float], ...]
    wanted: int
    tries: int
    max_tries: int

    @property
    def stopped_at_bound(self) -> bool:
        return len(self.found) < self.wanted

    @property
    def message(self) -> str:
        noun = "different valid molecules" if self.kind == "molecules" else "different lines"
        if not self.stopped_at_bound:
            return f"Found {self.wanted:,} {noun} in {self.tries:,} samples."
        return (
            f"Stopped after {self.tries:,} samples, the most allowed, with {len(self.found):,} "
            f"of the {self.wanted:,} {noun} wanted. Allow more tries, raise the temperature, "
            "or train the model longer."
        )


def line_of(text: str, prompt: str) -> str | None:
    """The line a text sample writes: the prompt's last line and what follows it up to the
    first line break, trimmed; None when that is empty."""
    line = (prompt.rsplit("\n", 1)[-1] + text[len(prompt) :].split("\n", 1)[0]).strip()
    return line or None


def identity(text: str, kind: Kind, prompt: str) -> str | None:
    """What makes a sample different from another: its canonical SMILES (None if invalid),
    or its line."""
    return canonical_smiles(text) if kind == "molecules" else line_of(text, prompt)


def _batch_seed(seed: int | None, batch: int) -> int | None:
    return None if seed is None else (seed + batch) % SEED_SPACE


def sample_unique(
    model: CharRNN,
    vocabulary: Vocabulary,
    config: SampleConfig,
    wanted: int,
    max_tries: int,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    write: Writer = sample,
) -> UniqueResult:
    """Sample in batches until ``wanted`` different valid molecules (line-based SMILES
    corpora) or different lines (text) are found, or ``max_tries`` samples are drawn.

    ``config.num_samples`` is not used; batch k is drawn with seed ``config.seed + k``, so
    a seed gives the same result again. In the web process, fit ``config`` and
    ``max_tries`` to the budget first (sampling_budget.bounded_tries).
    """
    if wanted < 1 or max_tries < 1:
        raise SettingsError("The number wanted and the most tries must both be at least 1.")
    kind: Kind = "molecules" if vocabulary.line_based else "lines"
    written = writes_selfies(vocabulary)  # kept as written: Generate shows both strings
    found: dict[str, tuple[str, float]] = {}
    tries, batch, size = 0, 0, FIRST_BATCH
    while len(found) < wanted and tries < max_tries:
        size = min(batch_size, max_tries - tries, max(size, 2 * (wanted - len(found))))
        chunk = replace(config, num_samples=size, seed=_batch_seed(config.seed, batch))
        for item in write(model, vocabulary, chunk):
            key = identity(to_smiles(item.text, vocabulary), kind, config.prompt)
            if key is not None and key not in found and len(found) < wanted:
                found[key] = (item.text if written else key, item.log_likelihood)
        tries, batch, size = tries + size, batch + 1, size * 2
        if progress is not None:
            progress(len(found), tries)
    return UniqueResult(kind, tuple(found.values()), wanted, tries, max_tries)
