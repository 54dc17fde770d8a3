"""A run folder's self-description (config.json) and the corpus it names: a file or builtin:ID.

The command line writes it before training starts, and reads it to resume, sample and evaluate.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal, get_args

from charrnn.core.batches import TrainingData, prepare_data
from charrnn.core.checkpoint import CheckpointError
from charrnn.core.model import ModelConfig
from charrnn.core.representation import NAMES, selfies_lines, unwritable_sentence
from charrnn.core.tokens import SPECIALS, Tokenizer, Vocabulary, build_vocabulary
from charrnn.core.train_config import TrainConfig
from charrnn.corpora.builtins import load_builtin
from charrnn.corpora.reading import Corpus, CorpusError, CorpusKind, read_corpus
from charrnn.files import atomic_write_text

RUN_CONFIG_FILE = "config.json"
RUN_FORMAT = "charrnn-run-1"
BUILTIN_PREFIX = "builtin:"
SHOWN_INVALID_LINES = 5  # how many invalid lines an error message names
Engine = Literal["torch", "numpy"]  # numpy: a one-layer vanilla RNN (charrnn.core.numpy_train)
ENGINES: tuple[Engine, ...] = get_args(Engine)


@dataclass(frozen=True)
class RunConfig:
    """What a run was trained on and how: enough to resume it or to score it again."""

    corpus: str  # "builtin:ID" or the corpus file's absolute path
    corpus_kind: CorpusKind
    corpus_sha256: str  # of the text trained on, to notice a corpus file that changed
    tokenizer: Tokenizer
    model: ModelConfig
    train: TrainConfig
    smiles_column: str | None = None  # the CSV column the SMILES came from
    drop_invalid: bool = False  # invalid SMILES lines were left out, by the user's choice
    preset: str | None = None  # the size preset the model started from
    init_from: str | None = None  # what this one was fine-tuned from: "prior:ID" or a run folder
    engine: Engine = "torch"  # what trains it (older runs: torch)
    added_tokens: tuple[str, ...] = ()  # symbols of the corpus the model started from lacked
    # SELFIES runs (tokenizer "selfies"): how many corpus molecules SELFIES cannot write, and
    # the first few with why; training leaves them out
    unwritable: int = 0
    unwritable_examples: tuple[str, ...] = ()

    @property
    def representation(self) -> str:
        """How the molecules are written for the model, in words: SMILES or SELFIES."""
        return NAMES["selfies"] if self.tokenizer == "selfies" else NAMES["smiles"]

    def unwritable_sentence(self) -> str:
        """The molecules SELFIES could not write and training left out, in words."""
        return unwritable_sentence(self.unwritable, self.unwritable_examples)

    def added_tokens_sentence(self) -> str:
        """The symbols fine-tuning adds, in words ("" when none)."""
        if not self.added_tokens:
            return ""
        count = len(self.added_tokens)
        shown = ", ".join(self.added_tokens[:12]) + (", ..." if count > 12 else "")
        symbols = "symbol" if count == 1 else "symbols"
        return (
            f"Added {count} {symbols} that the model you started from never saw: {shown}. "
            "It learns them from your corpus."
        )

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.engine!r}")

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(model=self.model.to_json(), train=self.train.to_json())
        return {"format": RUN_FORMAT, **data}

    @classmethod
    def from_json(cls, data: dict) -> RunConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["model"] = ModelConfig.from_json(data["model"])
        values["train"] = TrainConfig.from_json(data["train"])
        values["added_tokens"] = tuple(data.get("added_tokens", ()))
        values["unwritable_examples"] = tuple(data.get("unwritable_examples", ()))
        return cls(**values)


def write_run_config(run_dir: Path, config: RunConfig) -> Path:
    """Write ``run_dir/config.json`` atomically (the folder is made if needed)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / RUN_CONFIG_FILE
    atomic_write_text(path, json.dumps(config.to_json(), indent=2, ensure_ascii=False) + "\n")
    return path


def read_run_config(run_dir: Path) -> RunConfig:
    """The RunConfig of a run folder; CheckpointError if it has none or it is damaged."""
    path = Path(run_dir) / RUN_CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{run_dir} has no {RUN_CONFIG_FILE}, so it is not a run folder made by "
            "`python -m charrnn train`. Check the folder name."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != RUN_FORMAT:
            raise ValueError(f"its format is {data.get('format')!r}, not {RUN_FORMAT!r}")
        return RunConfig.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{path} is damaged ({error}). Train the run again.") from None


def corpus_reference(corpus: str) -> str:
    """How config.json names a corpus: builtin:ID as it is, a file as its absolute path."""
    if corpus.startswith(BUILTIN_PREFIX):
        return corpus
    return str(Path(corpus).expanduser().resolve())


def load_corpus(
    reference: str, *, smiles_column: str | None = None, drop_invalid: bool = False
) -> Corpus:
    """The corpus a reference names (a file path or builtin:ID), or CorpusError.

    SMILES lines RDKit cannot read are never dropped silently: without drop_invalid their
    presence is a CorpusError naming how many there are and the first few, with reasons.
    """
    if reference.startswith(BUILTIN_PREFIX):
        corpus = load_builtin(reference.removeprefix(BUILTIN_PREFIX))
    else:
        corpus = read_corpus(reference, smiles_column=smiles_column)
    if not corpus.invalid_lines:
        return corpus
    if drop_invalid:
        return corpus.without_invalid()
    raise CorpusError(
        describe_invalid_lines(corpus)
        + " Correct or delete those lines, or pass --drop-invalid to train without them."
    )


def facts_of(
    reference: str,
    smiles_column: str | None = None,
    drop_invalid: bool = False,
    tokenizer: str = "auto",
    augment_seed: int | None = None,
    canonical: bool = False,
) -> dict:
    """corpus_facts_of the corpus a reference names, read and checked once."""
    corpus = load_corpus(reference, smiles_column=smiles_column, drop_invalid=drop_invalid)
    return corpus_facts_of(corpus, tokenizer, augment_seed, canonical)


def spelled_lines(corpus: Corpus, canonical: bool) -> list[str]:
    """The molecules as training reads them: as written, or each in its RDKit canonical
    spelling (a line RDKit cannot read stays as written)."""
    if not canonical:
        return list(corpus.lines)
    from charrnn.chem.smiles import canonical_smiles

    return [canonical_smiles(line) or line for line in corpus.lines]


def augmented_spellings(lines: list[str], seed: int) -> list[str]:
    """Two random spellings of each molecule (seeded): what augmentation adds to the
    vocabulary, so the trainer's spellings can be encoded."""
    from charrnn.chem.smiles import randomized_smiles

    rng = random.Random(seed)
    return [randomized_smiles(line, rng) for line in lines for _ in range(2)]


def written_lines(
    corpus: Corpus, tokenizer: Tokenizer, canonical: bool, augment_seed: int | None = None
) -> tuple[list[str], list[str], list]:
    """The molecules as the model reads them (SMILES spelled as ``canonical`` says, or their
    SELFIES for the "selfies" tokenizer), the augmented spellings for ``augment_seed`` (none
    without one), and the molecules SELFIES cannot write (representation.Unwritable)."""
    lines = spelled_lines(corpus, canonical)
    extra = augmented_spellings(lines, augment_seed) if augment_seed is not None else []
    if tokenizer != "selfies":
        return lines, extra, []
    lines, unwritable = selfies_lines(lines)
    return lines, selfies_lines(extra)[0], unwritable


def corpus_facts_of(
    corpus: Corpus,
    tokenizer: str = "auto",
    augment_seed: int | None = None,
    canonical: bool = False,
) -> dict:
    """What planning a run needs from its corpus: its kind, its fingerprint, its size in
    characters, the tokenizer ("auto" resolved) and the tokens of its vocabulary (as
    training writes the molecules, with the augmented spellings training_data adds for
    ``augment_seed``), and their count; for SELFIES, the molecules it cannot write."""
    smiles = corpus.kind == "smiles"
    tokenizer = resolve_tokenizer(tokenizer, corpus)
    unwritable: list = []
    if smiles:
        lines, extra, unwritable = written_lines(corpus, tokenizer, canonical, augment_seed)
        texts = lines + extra
    else:
        texts = [corpus.text]
    vocabulary = build_vocabulary(texts, tokenizer, line_based=smiles)
    return {
        "kind": corpus.kind,
        "sha256": corpus_fingerprint(corpus),
        "characters": sum(map(len, corpus.lines)) if smiles else len(corpus.text),
        "tokenizer": tokenizer,
        "vocab_size": vocabulary.size,
        "tokens": [token for token in vocabulary.tokens if token not in SPECIALS],
        "unwritable": len(unwritable),
        "unwritable_examples": [item.describe() for item in unwritable[:SHOWN_INVALID_LINES]],
    }


@functools.lru_cache(maxsize=32)
def _builtin_facts(reference: str, smiles_column: str | None, drop_invalid: bool, *options) -> dict:
    return facts_of(reference, smiles_column, drop_invalid, *options)


def corpus_facts(
    reference: str,
    smiles_column: str | None = None,
    drop_invalid: bool = False,
    tokenizer: str = "auto",
    augment_seed: int | None = None,
    canonical: bool = False,
) -> dict:
    """facts_of, without weighing on the web server: a built-in (small, shipped) is read here
    once; an upload is read in a child process with a memory and a time limit
    (charrnn.bounded), and its facts are kept beside the file for the next Train press."""
    if reference.startswith(BUILTIN_PREFIX):
        options = (tokenizer, augment_seed, canonical)
        return dict(_builtin_facts(reference, smiles_column, drop_invalid, *options))
    from charrnn import bounded  # a child process: nothing heavy here

    path = Path(reference)
    try:
        info = path.stat()
    except OSError:
        raise CorpusError("The corpus file is no longer here. Choose it again.") from None
    kept = path.with_name(f".{path.name}.facts.json")
    key = f"{info.st_size}:{info.st_mtime_ns}:{smiles_column}:{bool(drop_invalid)}"
    key += f":{tokenizer}:{augment_seed}:{'canonical' if canonical else 'as-written'}:tokens"
    try:
        known = json.loads(kept.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if isinstance(known, dict) and isinstance(known.get(key), dict):
        return known[key]
    arguments = {"reference": reference, "smiles_column": smiles_column, "tokenizer": tokenizer}
    arguments |= {"augment_seed": augment_seed, "canonical": canonical}
    try:
        facts = bounded.call(
            "charrnn.runs.config:facts_of", {**arguments, "drop_invalid": drop_invalid}
        )
    except bounded.ChildFailed as failure:
        raise CorpusError(
            "Reading this corpus needed more memory or time than the server gives one file "
            f"({failure.reason}). Upload a smaller file, for example the first part of it."
        ) from None
    try:
        atomic_write_text(kept, json.dumps({key: facts}))
    except OSError:
        pass  # read again next time
    return facts


def describe_invalid_lines(corpus: Corpus, shown: int = SHOWN_INVALID_LINES) -> str:
    """A sentence for people: how many lines are not molecules, and the first few, why."""
    invalid = corpus.invalid_lines
    first = "; ".join(f"line {line.line_number}: {line.reason}" for line in invalid[:shown])
    more = f"; and {len(invalid) - shown} more" if len(invalid) > shown else ""
    are = "is not a molecule" if len(invalid) == 1 else "are not molecules"
    return f"{len(invalid)} of the {len(corpus.lines)} lines {are} RDKit can read ({first}{more})."


def corpus_fingerprint(corpus: Corpus) -> str:
    """The SHA-256 of the text trained on: resuming on a changed corpus is refused."""
    return hashlib.sha256(corpus.text.encode("utf-8")).hexdigest()


def resolve_tokenizer(tokenizer: Tokenizer | Literal["auto"], corpus: Corpus) -> Tokenizer:
    """ "auto" is the SMILES tokenizer for SMILES corpora and characters for text."""
    if tokenizer == "auto":
        return "smiles" if corpus.kind == "smiles" else "char"
    return tokenizer


def training_data(
    corpus: Corpus,
    tokenizer: Tokenizer,
    config: TrainConfig,
    vocabulary: Vocabulary | None = None,
) -> TrainingData:
    """Token ids of a corpus split as ``config`` says (its seed and validation fraction).

    The same corpus and config give the same split and vocabulary every time, which is what
    resuming and evaluating a run rely on. With augmentation, two random spellings of each
    molecule (seeded) also enter the vocabulary, so the trainer's spellings can be encoded.
    The "selfies" tokenizer trains on the SELFIES of the molecules SELFIES can write (the
    plan reported the others: RunConfig.unwritable).
    """
    if corpus.kind == "text":
        return prepare_data(
            corpus.text,
            tokenizer=tokenizer,
            validation_fraction=config.validation_fraction,
            vocabulary=vocabulary,
        )
    augment_seed = config.seed if config.augment else None
    lines, extra, _ = written_lines(corpus, tokenizer, config.canonical, augment_seed)
    return prepare_data(
        lines=lines,
        tokenizer=tokenizer,
        validation_fraction=config.validation_fraction,
        seed=config.seed,
        vocabulary=vocabulary,
        extra_texts=extra,
    )
