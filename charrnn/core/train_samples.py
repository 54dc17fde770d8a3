"""What a Trainer samples as it learns: augmented spellings of its molecules, previews
shown at evaluations, and the chemistry (validity, uniqueness, novelty) of fresh samples.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import torch

from charrnn.core.batches import TrainingData
from charrnn.core.model import CharRNN
from charrnn.core.representation import SelfiesError, as_written, to_smiles
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import UnknownCharacterError
from charrnn.core.train_config import TrainConfig

if TYPE_CHECKING:
    from charrnn.chem.smiles import BasicMetrics


def augmented(
    data: TrainingData, indices: list[int], generator: torch.Generator
) -> list[list[int]]:
    """The training lines at ``indices``, each in a random spelling of its molecule (its own
    ids where a spelling has a token the vocabulary lacks); seeded from ``generator``. A
    SELFIES model reads the SELFIES of a random SMILES spelling."""
    from charrnn.chem.smiles import randomized_smiles

    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    rng = random.Random(seed)
    vocabulary, sequences = data.vocabulary, []
    for i in indices:
        try:
            spelling = randomized_smiles(to_smiles(data.train_lines[i], vocabulary), rng)
            written = as_written(spelling, vocabulary)
            sequences.append(vocabulary.encode(written, add_bos=True, add_eos=True))
        except (UnknownCharacterError, SelfiesError):
            sequences.append(data.train[i])
    return sequences


def preview_samples(
    model: CharRNN, data: TrainingData, config: TrainConfig, step: int
) -> list[str]:
    """``config.preview_samples`` samples at temperature 0.8, seeded by the run and step."""
    if not config.preview_samples:
        return []
    options = SampleConfig(
        temperature=0.8,
        num_samples=config.preview_samples,
        max_length=120 if data.line_based else 200,
        seed=config.seed * 100_003 + step,
    )
    return [s.text for s in sample(model, data.vocabulary, options)]


def sample_chemistry(
    model: CharRNN,
    data: TrainingData,
    config: TrainConfig,
    step: int,
    training_canonical: frozenset[str],
) -> BasicMetrics:
    """Validity, uniqueness and novelty of ``config.chem_samples`` fresh samples (as SMILES:
    a SELFIES model's decoded).

    The sampler has its own seed (from the run's seed and the step), so the training
    random numbers, and with them a resumed run, stay exactly as without the check.
    """
    from charrnn.chem.smiles import basic_metrics

    options = SampleConfig(
        num_samples=config.chem_samples,
        max_length=200,
        seed=(config.seed + 1) * 1_000_003 + step,
        precision=config.precision,
    )
    generated = [
        to_smiles(s.text, data.vocabulary) for s in sample(model, data.vocabulary, options)
    ]
    return basic_metrics(generated, training_canonical)
