"""Planning a run: from what the user chose (RunChoice) to its RunConfig, checked and sized.

The Train page plans in a workspace (its corpus is read away from the web server, by
runs.config.corpus_facts); the command line plans on files of its own (read here).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from charrnn.core.checkpoint import CheckpointError, read_header
from charrnn.core.model import DEFAULT_PRESET, PRESETS, ModelConfig, preset_config
from charrnn.core.numpy_train import numpy_model_config
from charrnn.core.tokens import Vocabulary
from charrnn.core.train_config import TrainConfig
from charrnn.corpora.reading import Corpus
from charrnn.errors import UserError
from charrnn.limits import RunBudget, memory_budget, run_budget
from charrnn.runs.config import RunConfig, corpus_facts, corpus_facts_of, load_corpus
from charrnn.runs.folder import RunError
from charrnn.runs.priors import is_prior, prior_header

if TYPE_CHECKING:
    from charrnn.runs.workspace import Workspace

DEFAULT_STEPS = {"tiny": 1500, "small": 3000, "medium": 5000}
DEFAULT_CHEM_EVERY = {"tiny": 100, "small": 200, "medium": 250}
# Fine-tuning a shipped prior: it already writes valid molecules, so a gentler learning rate
# (it should learn the corpus's style, not forget SMILES), a short warm-up, fewer steps, and
# chemistry checks often enough that validity shows within the first minute.
FINETUNE_LEARNING_RATE = 3e-4
FINETUNE_WARMUP_STEPS = 20
FINETUNE_STEPS = 300
FINETUNE_CHEM_EVERY = 50
MODEL_FIELDS = ("cell", "layers", "hidden_size", "embedding_size", "dropout")
ASSUMED_VOCABULARY = 100  # the Train page's estimate, made without reading the corpus


@dataclass(frozen=True)
class RunChoice:
    """What the user chose for a new run, on the Train page or the command line."""

    corpus: str  # a corpus reference: "builtin:ID" or a file's absolute path
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None  # the size preset (None: DEFAULT_PRESET; unused when fine-tuning)
    model: dict = field(default_factory=dict)  # ModelConfig fields that override the preset's
    smiles_column: str | None = None
    drop_invalid: bool = False
    tokenizer: str = "auto"
    engine: str = "torch"  # "numpy": a one-layer vanilla RNN trained by NumPy
    init_from: str | None = None  # a model to fine-tune: "prior:ID", a run id in a workspace,
    # else a run folder


def plan_run(
    choice: RunChoice, space: Workspace | None = None, corpus: Corpus | None = None
) -> RunConfig:
    """The RunConfig of a new run as chosen; RunError (or CorpusError) when it cannot be.

    In a workspace (the Train page) the corpus must be the workspace's, the model to start
    from one of its runs, the model within the server's memory budget, and augmentation
    and chemistry checks apply to SMILES only. Without one (the command line), ``corpus`` is
    the corpus already read (or it is read here). The vocabulary planned is the trainer's.
    """
    if space is not None and not space.owns_corpus(choice.corpus):
        raise RunError("The corpus is no longer here. Choose it again on the Corpus page.")
    base = _base_model(choice.init_from, space) if choice.init_from else None
    tokenizer = base[0].tokenizer if base else choice.tokenizer
    if choice.tokenizer not in ("auto", tokenizer):
        raise RunError(_other_tokenizer(tokenizer, choice.tokenizer))
    train = choice.train
    augment_seed = train.seed if train.augment else None
    if space is not None:  # read and checked away from the web server, once per file
        facts = corpus_facts(
            choice.corpus,
            choice.smiles_column,
            choice.drop_invalid,
            tokenizer,
            augment_seed,
            train.canonical,
        )
    else:
        corpus = corpus or load_corpus(
            choice.corpus, smiles_column=choice.smiles_column, drop_invalid=choice.drop_invalid
        )
        facts = corpus_facts_of(corpus, tokenizer, augment_seed, train.canonical)
    smiles = facts["kind"] == "smiles"
    if facts["tokenizer"] == "selfies" and not smiles:
        raise RunError("SELFIES is a way to write molecules: choose a corpus of molecules.")
    if not smiles:
        train = replace(train, augment=False, canonical=False, chem_every=0)
    preset = None if base else choice.preset or DEFAULT_PRESET
    if base:
        vocabulary, model_config = base
        if vocabulary.line_based != smiles:
            learned = "molecules (SMILES)" if vocabulary.line_based else "text"
            raise RunError(
                f"The model to start from learned {learned}, and this corpus is "
                f"{'molecules' if smiles else 'text'}. Start from a model of the same kind."
            )
        new_tokens = sorted(set(facts["tokens"]) - set(vocabulary.tokens))
        model_config = replace(model_config, vocab_size=vocabulary.size + len(new_tokens))
        if train.freeze_layers > model_config.layers:
            raise RunError(
                f"The model to start from has {model_config.layers} layer(s): it cannot keep "
                f"{train.freeze_layers} of them frozen."
            )
    else:
        overrides = {k: v for k, v in choice.model.items() if k in MODEL_FIELDS}
        model_config = preset_config(preset, facts["vocab_size"], **overrides)
        new_tokens = []
        train = replace(train, freeze_layers=0)  # a new model has nothing to keep
    if choice.engine == "numpy":  # plain Adagrad on a one-layer RNN, as in min-char-rnn
        model_config = numpy_model_config(model_config, model_config.vocab_size)
        train = replace(train, weight_decay=0.0, average=0.0, freeze_layers=0)
    if space is not None:
        check_budget(space, model_config, train, facts["characters"])
    return RunConfig(
        corpus=choice.corpus,
        corpus_kind=facts["kind"],
        corpus_sha256=facts["sha256"],
        tokenizer=facts["tokenizer"],
        model=model_config,
        train=train,
        smiles_column=choice.smiles_column,
        drop_invalid=choice.drop_invalid,
        preset=preset,
        init_from=_init_reference(choice.init_from, space),
        engine=choice.engine,
        added_tokens=tuple(new_tokens),
        unwritable=int(facts.get("unwritable", 0)),
        unwritable_examples=tuple(facts.get("unwritable_examples", ())),
    )


def _other_tokenizer(base: str, chosen: str) -> str:
    """Why a model cannot start from one that reads its text another way, in words."""
    if "selfies" in (base, chosen):
        writes, wanted = ("SELFIES", "SMILES") if base == "selfies" else ("SMILES", "SELFIES")
        return (
            f"The model to start from writes molecules as {writes}, so it cannot go on to "
            f"write them as {wanted}. Start a new model, or one that writes {wanted}."
        )
    return f"The model to start from uses the {base} tokenizer."


def _init_reference(init_from: str | None, space: Workspace | None) -> str | None:
    """What config.json keeps of the model started from: "prior:ID", or the run's folder."""
    if not init_from or is_prior(init_from):
        return init_from
    return str(space.run_dir(init_from) if space else Path(init_from).resolve())


def base_model_config(init_from: str, space: Workspace | None) -> ModelConfig | None:
    """The shape of the model a run would start from (None: it cannot be read; Train says
    why when it is pressed)."""
    try:
        return _base_model(init_from, space)[1]
    except (CheckpointError, UserError, KeyError, TypeError, ValueError, OSError):
        return None


def _base_model(init_from: str, space: Workspace | None) -> tuple[Vocabulary, ModelConfig]:
    """The vocabulary and model of the model to fine-tune: a shipped prior's, or those in a
    run's checkpoint header."""
    if is_prior(init_from):
        return prior_header(init_from)
    header = read_header(space.run_dir(init_from) if space else Path(init_from))
    return Vocabulary.from_json(header["vocabulary"]), ModelConfig.from_json(header["model_config"])


def preset_train(preset: str, smiles: bool, **values) -> TrainConfig:
    """A TrainConfig with the preset's defaults (steps; for SMILES, chemistry checks) under
    the values given; ``minutes`` alone is a time limit without a step limit."""
    if values.get("minutes") is not None:
        values.setdefault("steps", None)
    elif values.get("steps") is None:
        values["steps"] = DEFAULT_STEPS.get(preset, DEFAULT_STEPS["small"])
    values.setdefault("chem_every", DEFAULT_CHEM_EVERY.get(preset, 100) if smiles else 0)
    return TrainConfig(**values)


def finetune_train(smiles: bool = True, **values) -> TrainConfig:
    """A TrainConfig for fine-tuning a shipped prior (FINETUNE_*) under the values given;
    ``minutes`` alone is a time limit without a step limit."""
    if values.get("minutes") is not None:
        values.setdefault("steps", None)
    elif values.get("steps") is None:
        values["steps"] = FINETUNE_STEPS
    values.setdefault("learning_rate", FINETUNE_LEARNING_RATE)
    values.setdefault("warmup_steps", FINETUNE_WARMUP_STEPS)
    values.setdefault("chem_every", FINETUNE_CHEM_EVERY if smiles else 0)
    values.setdefault("canonical", smiles)  # spelled as the prior learned molecules
    return TrainConfig(**values)


def new_run_config(
    space: Workspace,
    corpus: dict,
    preset: str,
    model: dict | None = None,
    train: dict | None = None,
    init_from: str | None = None,
    engine: str = "torch",
) -> RunConfig:
    """plan_run in a workspace for its corpus record (the Corpus page's: reference, kind,
    smiles_column, drop_invalid), with TrainConfig values over the preset's defaults."""
    smiles = corpus.get("kind") == "smiles"
    if is_prior(init_from):  # a prior's run: fine-tuning's defaults under the values given
        settings = finetune_train(smiles, **(train or {}))
    else:
        settings = preset_train(preset, smiles, **(train or {}))
    choice = RunChoice(
        corpus=str(corpus.get("reference", "")),
        train=settings,
        preset=preset,
        model=dict(model or {}),
        smiles_column=corpus.get("smiles_column"),
        drop_invalid=bool(corpus.get("drop_invalid")),
        engine=engine,
        init_from=init_from,
    )
    return plan_run(choice, space)


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


def planned_budget(space: Workspace, choice: RunChoice) -> RunBudget:
    """The Train page's estimate before Train is pressed, without reading the corpus: its
    vocabulary is taken as ASSUMED_VOCABULARY characters and its size from the file's.

    Train itself (plan_run) checks the real figures.
    """
    preset = choice.preset or DEFAULT_PRESET
    values = {**PRESETS.get(preset, PRESETS["small"]), "vocab_size": ASSUMED_VOCABULARY}
    values |= {k: v for k, v in choice.model.items() if k in MODEL_FIELDS}
    if choice.init_from:
        try:
            values = asdict(_base_model(choice.init_from, space)[1])
        except (CheckpointError, UserError, KeyError, TypeError):
            pass  # plan_run says what is wrong when Train is pressed
    reference = choice.corpus
    try:
        characters = 0 if reference.startswith("builtin:") else Path(reference).stat().st_size
    except OSError:
        characters = 0
    return run_budget(
        values,
        choice.train.batch_size,
        choice.train.sequence_length,
        memory_budget(space.server_settings.worker_memory_mb),
        characters,
    )
