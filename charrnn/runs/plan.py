"""A new run's configuration from the Train page's choices: preset, overrides, fine-tuning.

The corpus (which must belong to the workspace) is read once, away from the web server
(runconfig.corpus_facts), so the vocabulary size is known.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from charrnn.core.checkpoint import CheckpointError, read_header
from charrnn.core.model import PRESETS, ModelConfig, preset_config
from charrnn.core.tokens import Vocabulary
from charrnn.core.train import TrainConfig
from charrnn.limits import RunBudget, memory_budget, run_budget
from charrnn.runs.config import RunConfig, corpus_facts
from charrnn.runs.folder import RunError

if TYPE_CHECKING:
    from charrnn.runs.workspace import Workspace

DEFAULT_STEPS = {"tiny": 1500, "small": 3000, "medium": 5000}
DEFAULT_CHEM_EVERY = {"tiny": 100, "small": 200, "medium": 250}
MODEL_FIELDS = ("cell", "layers", "hidden_size", "embedding_size", "dropout")
ASSUMED_VOCABULARY = 100  # the Train page's estimate, made without reading the corpus


def new_run_config(
    space: Workspace,
    corpus: dict,
    preset: str,
    model: dict | None = None,
    train: dict | None = None,
    init_from: str | None = None,
) -> RunConfig:
    """The RunConfig of a new run on a corpus chosen on the Corpus page (the corpus is read).

    ``model`` overrides the preset's fields (MODEL_FIELDS); ``train`` gives TrainConfig
    values (steps default by preset). ``init_from`` is the id of a finished run of the same
    workspace whose model is fine-tuned: its architecture and tokenizer are kept.
    """
    reference = str(corpus.get("reference", ""))
    if not space.owns_corpus(reference):
        raise RunError("The corpus is no longer here. Choose it again on the Corpus page.")
    facts = corpus_facts(  # read and checked away from the web server, once per file
        reference,
        smiles_column=corpus.get("smiles_column"),
        drop_invalid=bool(corpus.get("drop_invalid")),
    )
    smiles = facts["kind"] == "smiles"
    values = dict(train or {})
    if values.get("minutes") is not None:
        values.setdefault("steps", None)  # a time limit alone
    elif values.get("steps") is None:
        values["steps"] = DEFAULT_STEPS.get(preset, DEFAULT_STEPS["small"])
    values.setdefault("chem_every", DEFAULT_CHEM_EVERY.get(preset, 100) if smiles else 0)
    if not smiles:
        values.update(augment=False, chem_every=0)
    train_config = TrainConfig(**values)
    if init_from:
        base_dir = space.run_dir(init_from)
        header = read_header(base_dir)
        vocabulary = Vocabulary.from_json(header["vocabulary"])
        if vocabulary.line_based != smiles:
            learned = "molecules (SMILES)" if vocabulary.line_based else "text"
            raise RunError(
                f"The model to start from learned {learned}, and this corpus is "
                f"{'molecules' if smiles else 'text'}. Start from a model of the same kind."
            )
        model_config = ModelConfig.from_json(header["model_config"])
        tokenizer, preset_name, init_path = vocabulary.tokenizer, None, str(base_dir)
    else:
        tokenizer = facts["tokenizer"]
        overrides = {k: v for k, v in (model or {}).items() if k in MODEL_FIELDS}
        model_config = preset_config(preset, facts["vocab_size"], **overrides)
        preset_name, init_path = preset, None
    check_budget(space, model_config, train_config, facts["characters"])
    return RunConfig(
        corpus=reference,
        corpus_kind=facts["kind"],
        corpus_sha256=facts["sha256"],
        tokenizer=tokenizer,
        model=model_config,
        train=train_config,
        smiles_column=corpus.get("smiles_column"),
        drop_invalid=bool(corpus.get("drop_invalid")),
        preset=preset_name,
        init_from=init_path,
    )


def check_budget(space: Workspace, model: ModelConfig, train: TrainConfig, characters: int) -> None:
    """Refuse (RunError) a run past this server's limits, saying what would fit."""
    budget = run_budget(
        asdict(model),
        train.batch_size,
        train.sequence_length,
        memory_budget(space.server_settings.worker_memory_mb),
        characters,
    )
    if budget.problem:
        raise RunError(budget.problem)


def planned_budget(
    space: Workspace,
    corpus: dict,
    preset: str,
    model: dict | None = None,
    train: dict | None = None,
    init_from: str | None = None,
) -> RunBudget:
    """The Train page's estimate before Train is pressed, without reading the corpus: its
    vocabulary is taken as ASSUMED_VOCABULARY characters and its size from the file's.

    Train itself (new_run_config) checks the real figures.
    """
    values = {**PRESETS.get(preset, PRESETS["small"]), "vocab_size": ASSUMED_VOCABULARY}
    values |= {k: v for k, v in (model or {}).items() if k in MODEL_FIELDS}
    if init_from:
        try:
            values = dict(read_header(space.run_dir(init_from))["model_config"])
        except (CheckpointError, RunError, KeyError, TypeError):
            pass  # new_run_config says what is wrong when Train is pressed
    defaults = TrainConfig()
    reference = str(corpus.get("reference", ""))
    try:
        characters = 0 if reference.startswith("builtin:") else Path(reference).stat().st_size
    except OSError:
        characters = 0
    return run_budget(
        values,
        int((train or {}).get("batch_size") or defaults.batch_size),
        int((train or {}).get("sequence_length") or defaults.sequence_length),
        memory_budget(space.server_settings.worker_memory_mb),
        characters,
    )
