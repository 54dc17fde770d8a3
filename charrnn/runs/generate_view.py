"""What the Generate page decides about samples: the sampling settings a request becomes,
the samples' table and download, and which of them "Share with the class" publishes.

A SELFIES model's samples are kept as it wrote them; the table shows both strings, and the
drawings, downloads and the gallery get the SMILES they decode to.
"""

from __future__ import annotations

import random

import pandas as pd

from charrnn.chem.smiles import canonical_set, smiles_problem
from charrnn.core.representation import NO_ATOM, to_smiles, writes_selfies
from charrnn.core.sample import MAX_SEED, SampleConfig
from charrnn.core.tokens import Vocabulary
from charrnn.runs import gallery

NEW_SEED = 0  # the seed the page offers for "new samples each time"


def sample_config(
    temperature: float,
    top_k: int,
    top_p: float,
    prompt: str,
    max_length: int,
    num_samples: int,
    seed: int = NEW_SEED,
) -> SampleConfig:
    """The page's settings as a SampleConfig; seed 0 becomes a fresh random seed (shown, so
    the same samples can be had again)."""
    return SampleConfig(
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        prompt=prompt,
        max_length=max_length,
        num_samples=num_samples,
        seed=int(seed) or random.randint(1, MAX_SEED),
    )


def samples_text(samples: list[tuple[str, float]]) -> str:
    """All samples as one text file, each under a line with its number and log-likelihood."""
    return "\n\n".join(
        f"--- sample {n} (log-likelihood {ll:.2f}) ---\n{text}"
        for n, (text, ll) in enumerate(samples, start=1)
    )


def made_text(made: dict) -> str:
    """How the kept samples were made: their seed and the step of the model."""
    made_at = f" by the model of step {made['step']:,}" if made.get("step") is not None else ""
    return f"Made with seed {made['seed']}{made_at}: enter the seed above to get these again."


def as_molecules(
    samples: list[tuple[str, float]], vocabulary: Vocabulary | None
) -> list[tuple[str, float]]:
    """The samples as SMILES with their log-likelihoods (a SELFIES model's decoded)."""
    if vocabulary is None or not writes_selfies(vocabulary):
        return list(samples)
    return [(to_smiles(text, vocabulary), ll) for text, ll in samples]


def molecule_table(
    samples: list[tuple[str, float]], vocabulary: Vocabulary | None = None
) -> pd.DataFrame:
    """One row a sample: its SELFIES (a SELFIES model's) and SMILES, valid or not (and
    why), its log-likelihood."""
    molecules = as_molecules(samples, vocabulary)
    texts = [text for text, _ in molecules]
    selfies = vocabulary is not None and writes_selfies(vocabulary)
    problems = [smiles_problem(text) if text or not selfies else NO_ATOM for text in texts]
    written = {"SELFIES": [text for text, _ in samples]} if selfies else {}
    return pd.DataFrame(
        {
            **written,
            "SMILES": texts,
            "valid": [problem is None for problem in problems],
            "reason if invalid": [problem or "" for problem in problems],
            "log-likelihood": [round(ll, 2) for _, ll in samples],
        }
    )


def distinct_valid(table: pd.DataFrame) -> int:
    """How many different molecules the valid SMILES of a molecule_table spell."""
    return len(canonical_set(list(table.loc[table["valid"], "SMILES"])))


def shared_items(made: dict, smiles: bool, vocabulary: Vocabulary | None = None) -> list[str]:
    """What "Share with the class" publishes: the first samples (molecules as SMILES),
    within the gallery's caps."""
    texts = [text for text, _ in as_molecules(made["samples"], vocabulary)]
    if smiles:
        return texts[: gallery.MAX_MOLECULES]
    return [text[: gallery.MAX_TEXT_CHARACTERS] for text in texts[: gallery.MAX_TEXTS]]


def share_text(made: dict, smiles: bool) -> str:
    """What the share form says it will publish: all samples or the first few, how cut."""
    count, items = len(made["samples"]), shared_items(made, smiles)
    noun = "molecules" if smiles else "samples"
    which = f"these {count} {noun}" if len(items) == count else f"the first {len(items)} {noun}"
    cut = "" if smiles else f" (at most {gallery.MAX_TEXT_CHARACTERS:,} characters each)"
    return (
        f"Publish {which}{cut} with your name and this run's name to the class gallery, "
        "where everyone in the room can see them. You can withdraw them there."
    )
