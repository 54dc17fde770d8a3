"""Recipe links: the Train page's corpus and settings as a short URL query, and back, checked.

An instructor shares one link; opening it fills each visitor's own Train page and starts
nothing. Names a link cannot hold, and values past the Train page's ranges, are explained
in plain words and left at their defaults. The workspace token (?ws=) is never in a recipe.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from charrnn.core.model import CELLS, DEFAULT_PRESET, PRESETS
from charrnn.core.numpy_train import ADAGRAD_LEARNING_RATE
from charrnn.core.representation import REPRESENTATIONS
from charrnn.core.train_config import TrainConfig
from charrnn.corpora.builtins import builtin_corpora
from charrnn.runs.config import Engine
from charrnn.runs.plan import (
    DEFAULT_CHEM_EVERY,
    DEFAULT_STEPS,
    FINETUNE_CHEM_EVERY,
    FINETUNE_LEARNING_RATE,
    FINETUNE_STEPS,
)
from charrnn.runs.priors import PREFIX, is_prior, shipped_priors
from charrnn.runs.train_ranges import MODEL_NUMBERS, TRAIN_NUMBERS, NumberRange, minutes_range

MARK = "recipe"  # ?recipe=1 marks a link as a recipe
TOKEN = "ws"  # the visitor's workspace token: the app's own, never a recipe's
NEW_MODEL = "new"  # start=new: a new, untrained model
ENGINES: tuple[Engine, ...] = ("torch", "numpy")
LONGEST_VALUE = 100  # characters; a longer value is refused before it is read
LONGEST_NAME = 80  # a run's name (runs.status.clean_name keeps as many)
SHOWN_UNKNOWN = 5  # unknown names a message lists
MODEL_PARAMETERS = {  # short parameter -> ModelConfig field
    "cell": "cell",
    "layers": "layers",
    "hidden": "hidden_size",
    "embedding": "embedding_size",
    "dropout": "dropout",
}
TRAIN_PARAMETERS = {  # short parameter -> TrainConfig field
    "steps": "steps",
    "minutes": "minutes",
    "batch": "batch_size",
    "sequence": "sequence_length",
    "lr": "learning_rate",
    "decay": "weight_decay",
    "augment": "augment",
    "canonical": "canonical",
    "chem": "chem_every",
    "freeze": "freeze_layers",
}
SWITCHES = {"augment": "SMILES augmentation", "canonical": "Spell each molecule the standard way"}
SMILES_ONLY = ("augment", "canonical", "chem_every")  # TrainConfig fields text never uses
CHOICES = ("corpus", "start", "rep", "preset", "engine")
KNOWN = {MARK, TOKEN, *CHOICES, *MODEL_PARAMETERS, *TRAIN_PARAMETERS, "name"}


@dataclass(frozen=True)
class Recipe:
    """What a recipe link fills the Train page with: every value, a default where the link
    gave none or one that could not be used (``problems`` says why, in plain words)."""

    corpus: str | None = None  # a built-in corpus's id (None: the visitor's own corpus)
    init_from: str | None = None  # a shipped prior ("prior:ID"), or None: a new model
    representation: str = "smiles"  # how molecules are written (molecule corpora only)
    preset: str = DEFAULT_PRESET
    engine: Engine = "torch"
    model: dict = field(default_factory=dict)  # ModelConfig's fields ({}: a prior's own)
    train: dict = field(default_factory=dict)  # the Train page's TrainConfig fields
    name: str = ""  # the run's name ("": the page's suggestion)
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Recipe:
        return cls(**{**data, "problems": tuple(data.get("problems", ()))})


def corpus_kinds() -> dict[str, str]:
    """The built-in corpora a recipe can name: {id: "text" or "smiles"}."""
    return {corpus.id: corpus.kind for corpus in builtin_corpora()}


def default_start(kind: str, representation: str) -> str | None:
    """What the Train page starts from unless told: molecules written as SMILES, the first
    shipped prior; anything else, a new model."""
    priors = shipped_priors() if kind == "smiles" and representation == "smiles" else []
    return priors[0].reference if priors else None


def defaults(preset: str, init_from: str | None, engine: str) -> tuple[dict, dict]:
    """The Train page's own values for these choices: (the model's fields, the training's)."""
    finetune = is_prior(init_from)
    base = TrainConfig()
    learning_rate = base.learning_rate
    if engine == "numpy":
        learning_rate = ADAGRAD_LEARNING_RATE
    elif finetune:
        learning_rate = FINETUNE_LEARNING_RATE
    train = {
        "steps": FINETUNE_STEPS if finetune else DEFAULT_STEPS[preset],
        "minutes": None,
        "batch_size": base.batch_size,
        "sequence_length": base.sequence_length,
        "learning_rate": learning_rate,
        "weight_decay": base.weight_decay,
        "augment": False,
        "canonical": finetune,
        "chem_every": FINETUNE_CHEM_EVERY if finetune else DEFAULT_CHEM_EVERY[preset],
        "freeze_layers": 0,
    }
    return ({} if init_from else dict(PRESETS[preset])), train


def recipe_query(
    corpus_id: str | None,
    preset: str,
    init_from: str | None,
    representation: str,
    train: dict,
    model: dict,
    *,
    engine: str = "torch",
    name: str = "",
    corpus_kind: str = "text",
) -> dict[str, str]:
    """The query of a link to these settings: only what differs from the Train page's own
    values. ``corpus_id``: a built-in corpus (None: each visitor keeps theirs, of
    ``corpus_kind``); ``init_from``: a shipped prior, else a new model (a run of one's own
    workspace cannot travel). Never the workspace token."""
    kind = corpus_kinds().get(corpus_id, corpus_kind) if corpus_id else corpus_kind
    start = init_from if is_prior(init_from) else None
    query = {MARK: "1"}
    if corpus_id:
        query["corpus"] = corpus_id
    if start != default_start(kind, representation):
        query["start"] = start.removeprefix(PREFIX) if start else NEW_MODEL
    if kind == "smiles" and representation != "smiles":
        query["rep"] = representation
    if preset != DEFAULT_PRESET:
        query["preset"] = preset
    if engine != "torch":
        query["engine"] = engine
    model_defaults, train_defaults = defaults(preset, start, engine)
    for parameter, name_of in MODEL_PARAMETERS.items():
        default = model_defaults.get(name_of)  # none when starting from a prior
        if default is not None and model.get(name_of, default) != default:
            query[parameter] = _text(model[name_of])
    for parameter, name_of in TRAIN_PARAMETERS.items():
        if kind != "smiles" and name_of in SMILES_ONLY:
            continue
        value = train.get(name_of, train_defaults[name_of])
        if value is not None and value != train_defaults[name_of]:
            query[parameter] = _text(value)
    if name.strip():
        query["name"] = " ".join(name.split())[:LONGEST_NAME]
    return query


def read_recipe(
    params: dict, corpus_kind: str | None = None, job_minutes: float | None = None
) -> Recipe:
    """The Recipe of a link's query (``params``: {name: value}). Without a corpus in the link,
    ``corpus_kind`` is the visitor's own corpus's; ``job_minutes``: the server's time cap."""
    problems: list[str] = []
    given: dict[str, str] = {}
    unknown = []
    for key, value in params.items():
        value = value[-1] if isinstance(value, list | tuple) and value else value
        if key not in KNOWN:
            unknown.append(" ".join(str(key).split())[:30])  # no line breaks in messages
        elif key in (MARK, TOKEN):
            continue
        elif not isinstance(value, str) or len(value) > LONGEST_VALUE:
            problems.append(f"The value of “{key}” is too long to be a setting: it was left out.")
        else:
            given[key] = " ".join(value.split())  # a line break in a message could format it
    if unknown:
        named = ", ".join(f"“{key}”" for key in unknown[:SHOWN_UNKNOWN])
        more = f" and {len(unknown) - SHOWN_UNKNOWN} more" if len(unknown) > SHOWN_UNKNOWN else ""
        problems.append(
            f"The link holds names this app does not know ({named}{more}): they were left out."
        )
    kinds = corpus_kinds()
    corpus = _choice(given, "corpus", list(kinds), None, "a built-in corpus", problems)
    kind = kinds[corpus] if corpus else (corpus_kind or "text")
    representation = "smiles"
    if kind == "smiles":
        representation = _choice(
            given, "rep", list(REPRESENTATIONS), "smiles", "SMILES or SELFIES", problems
        )
    init_from = _start(given, kind, representation, problems)
    preset = _choice(given, "preset", list(PRESETS), DEFAULT_PRESET, "a model size", problems)
    engine = _choice(given, "engine", list(ENGINES), "torch", "an engine", problems)
    if engine == "numpy" and (preset != "tiny" or init_from):
        problems.append(
            "The NumPy engine trains a new model of the tiny size only: PyTorch is used."
        )
        engine = "torch"
    model, train = defaults(preset, init_from, engine)
    if init_from and any(parameter in given for parameter in MODEL_PARAMETERS):
        problems.append(
            "A model started from keeps its own size: the link's size settings were left out."
        )
    for parameter, name_of in MODEL_PARAMETERS.items():
        if parameter in given and not init_from:
            model[name_of] = _model_value(given[parameter], name_of, model[name_of], problems)
    for parameter, name_of in TRAIN_PARAMETERS.items():
        if parameter in given:
            train[name_of] = _train_value(
                given[parameter], name_of, train[name_of], job_minutes, problems
            )
    if train["minutes"] is not None:
        train["steps"] = None  # the Train page trains for steps or for minutes
    name = " ".join(given.get("name", "").split())
    if len(name) > LONGEST_NAME:
        problems.append(
            f"The run's name is longer than {LONGEST_NAME} characters: it was left out."
        )
        name = ""
    return Recipe(
        corpus, init_from, representation, preset, engine, model, train, name, tuple(problems)
    )


def _choice(given: dict, key: str, options: list, default, what: str, problems: list):
    value = given.get(key)
    if value is None or value in options:
        return default if value is None else value
    stays = f"it stays {default}" if default else "it was left out"
    problems.append(
        f"“{key}” is “{value}”, not {what} this app knows ({', '.join(options)}): {stays}."
    )
    return default


def _start(given: dict, kind: str, representation: str, problems: list) -> str | None:
    """What the link starts from: a shipped prior ("prior:ID") or None, a new model."""
    default = default_start(kind, representation)
    value = given.get("start")
    if value is None:
        return default
    if value == NEW_MODEL:
        return None
    priors = {prior.id: prior.reference for prior in shipped_priors()}
    reference = priors.get(value.removeprefix(PREFIX))
    if reference is None:
        there = ", ".join([NEW_MODEL, *priors])
        problems.append(
            f"“start” is “{value}”, not a model this app ships ({there}): "
            "it stays the Train page's choice."
        )
        return default
    if kind != "smiles" or representation != "smiles":
        problems.append(
            "A shipped prior writes molecules as SMILES: it cannot start a model of "
            + ("text" if kind != "smiles" else "SELFIES")
            + ". A new model is used."
        )
        return None
    return reference


def _model_value(text: str, name_of: str, default, problems: list):
    if name_of == "cell":
        if text in CELLS:
            return text
        problems.append(f"“cell” is “{text}”, not one of {', '.join(CELLS)}: it stays {default}.")
        return default
    return _number(text, MODEL_NUMBERS[name_of], default, problems)


def _train_value(text: str, name_of: str, default, job_minutes: float | None, problems: list):
    if name_of in SWITCHES:
        if text in ("1", "0"):
            return text == "1"
        problems.append(
            f"“{name_of}” is “{text}”, not 1 (on) or 0 (off): {SWITCHES[name_of]} stays "
            f"{'on' if default else 'off'}."
        )
        return default
    number_range = minutes_range(job_minutes) if name_of == "minutes" else TRAIN_NUMBERS[name_of]
    return _number(text, number_range, default, problems)


def _number(text: str, number_range: NumberRange, default, problems: list):
    """``text`` as the number a Train page widget takes, else ``default`` and a problem."""
    label = number_range.label
    stays = "It was left out." if default is None else f"It stays {_shown(default)}."
    try:
        value = int(text) if number_range.whole else float(text)
    except ValueError:
        what = "a whole number" if number_range.whole else "a number"
        problems.append(f"{label}: “{text}” is not {what}. {stays}")
        return default
    if not math.isfinite(value) or not number_range.holds(value):
        problems.append(
            f"{label}: {_shown(value)} is outside what the Train page accepts "
            f"({_shown(number_range.lowest)} to {_shown(number_range.highest)}). {stays}"
        )
        return default
    return value


def _shown(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _text(value) -> str:
    """A value as a query parameter: a switch as 1 or 0, a number as short as it round-trips."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value) if isinstance(value, float) else str(value)
