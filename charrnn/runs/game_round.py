"""A round of the guessing game in a workspace: its text, picked from the model's own corpus
(as the model reads it) or, for a shipped prior, from a built-in set of molecules; kept on disk.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import replace

from charrnn.core.model import CharRNN
from charrnn.core.representation import selfies_of
from charrnn.core.tokens import EOS, Vocabulary, tokenize
from charrnn.corpora.reading import Corpus
from charrnn.errors import UserError
from charrnn.runs import gallery
from charrnn.runs.config import BUILTIN_PREFIX, load_corpus, read_run_config
from charrnn.runs.game import (
    MAX_ROUND_LENGTH,
    ROUND_LENGTH,
    GameError,
    Round,
    guess,
    new_round,
    read_round,
    save_round,
    score,
)
from charrnn.runs.models import results_folder
from charrnn.runs.priors import find_prior, is_prior
from charrnn.runs.workspace import Workspace

PRIOR_MOLECULES = "builtin:nci-5k"  # a prior's own training set is not shipped
CONTEXT_CHARACTERS = 160  # text shown before the first guess (text corpora)
TRIES = 200  # random places (or molecules) looked at for one the model can read


def pick_text(
    text: str, vocabulary: Vocabulary, length: int, rng: random.Random
) -> tuple[list[str], int]:
    """A random place in a text: (its pieces, how many are shown), ``length`` to guess
    after up to CONTEXT_CHARACTERS shown (from the start of a word). Every piece is one the
    model knows."""
    if len(text) < length + 2:
        raise GameError("This corpus is too short for a round: pick another.")
    for _ in range(TRIES):
        end = rng.randrange(min(length + 20, len(text) - length), len(text) - length + 1)
        begin = max(0, end - length - CONTEXT_CHARACTERS)
        if begin > 0:  # start after a space or a line break, when there is one near
            breaks = [text.find(mark, begin, begin + 40) for mark in (" ", "\n")]
            begin = min((b + 1 for b in breaks if b >= 0), default=begin)
        window = text[begin : end + length]
        pieces = tokenize(window, vocabulary.tokenizer)
        if len(pieces) > length and not vocabulary.unknown_characters(window):
            return pieces, len(pieces) - length
    raise GameError(
        "The model does not know the characters of this corpus (was it trained on another "
        "one?): pick another model."
    )


def pick_molecule(
    lines: Sequence[str],
    vocabulary: Vocabulary,
    length: int,
    rng: random.Random,
    spell: Callable[[str], str] = str,
) -> tuple[list[str], int]:
    """A random molecule, as ``spell`` writes it for the model (canonical SMILES, SELFIES):
    its first symbols (the end token after the last), and how many are shown (one or more),
    the others to guess. Only
    molecules the model can read are picked; ``length`` symbols to guess when the molecule
    has them, else as many as it has."""
    best: list[str] = []
    for _ in range(TRIES if lines else 0):
        try:
            written = spell(rng.choice(lines))
        except UserError:  # e.g. one SELFIES cannot write
            continue
        if not written or vocabulary.unknown_characters(written):
            continue
        pieces = [*tokenize(written, vocabulary.tokenizer), EOS]
        if len(pieces) > len(best):
            best = pieces
        if len(pieces) > length:
            break
    if len(best) < 2:
        raise GameError(
            "The model does not know the symbols of these molecules (was it trained on "
            "others?): pick another model."
        )
    length = min(length, len(best) - 1)
    start = rng.randint(1, len(best) - length)
    return best[: start + length], start


@functools.lru_cache(maxsize=4)
def _builtin(reference: str) -> Corpus:
    """A built-in corpus (small, shipped), read once per server."""
    return load_corpus(reference, drop_invalid=True)


def round_corpus(
    space: Workspace, model_id: str, vocabulary: Vocabulary
) -> tuple[str, Corpus, bool]:
    """Where a round's text comes from: (corpus reference, corpus, spelled canonically).

    A run's own corpus when this workspace has it; molecules of PRIOR_MOLECULES for a prior
    (or a molecule run whose corpus is elsewhere), canonical as the priors learned them."""
    canonical = True
    if not is_prior(model_id):
        config = read_run_config(space.run_dir(model_id))
        canonical = config.train.canonical
        if space.owns_corpus(config.corpus):
            if config.corpus.startswith(BUILTIN_PREFIX):
                return config.corpus, _builtin(config.corpus), canonical
            corpus = load_corpus(
                config.corpus,
                smiles_column=config.smiles_column,
                drop_invalid=config.drop_invalid,
            )
            return config.corpus, corpus, canonical
        if not vocabulary.line_based:
            raise GameError(
                "This run's corpus is not in this workspace (the run came from elsewhere), "
                "so there is no text to play with: pick another model."
            )
    return PRIOR_MOLECULES, _builtin(PRIOR_MOLECULES), canonical


def spelling(vocabulary: Vocabulary, canonical: bool) -> Callable[[str], str]:
    """How a corpus molecule is written for the model: canonical or as it is, then SELFIES
    for a SELFIES model (SelfiesError for a molecule SELFIES cannot write)."""
    from charrnn.chem.smiles import canonical_smiles

    def spell(line: str) -> str:
        smiles = (canonical_smiles(line) or line) if canonical else line
        return selfies_of(smiles) if vocabulary.tokenizer == "selfies" else smiles

    return spell


def start_round(
    space: Workspace,
    model_id: str,
    model: CharRNN,
    vocabulary: Vocabulary,
    model_step: int,
    length: int = ROUND_LENGTH,
    seed: int | None = None,
) -> Round:
    """A new round with this model, kept in the workspace (it replaces the last one)."""
    if not 1 <= length <= MAX_ROUND_LENGTH:
        raise GameError(f"A round is 1 to {MAX_ROUND_LENGTH} characters long.")
    rng = random.Random(seed)
    reference, corpus, canonical = round_corpus(space, model_id, vocabulary)
    if vocabulary.line_based:
        lines = list(corpus.lines) if corpus.kind == "smiles" else []
        pieces, start = pick_molecule(
            lines, vocabulary, length, rng, spelling(vocabulary, canonical)
        )
    else:
        pieces, start = pick_text(corpus.text or "", vocabulary, length, rng)
    game = new_round(model, vocabulary, model_id, model_step, reference, pieces, start)
    return save_round(results_folder(space, model_id, create=True), game)


def current_round(space: Workspace, model_id: str) -> Round | None:
    """The round kept for this model in the workspace (None: none yet)."""
    try:
        return read_round(results_folder(space, model_id))
    except UserError:  # a prior nothing was made with yet, a run deleted meanwhile
        return None


def play_guess(
    space: Workspace, model_id: str, vocabulary: Vocabulary, typed: str, step: int
) -> Round:
    """The kept round with the person's guess for ``step`` (0-based), kept again."""
    game = current_round(space, model_id)
    if game is None:
        raise GameError("There is no round to guess in: start one.")
    return save_round(results_folder(space, model_id), guess(game, typed, vocabulary, step))


def share_round(space: Workspace, model_id: str, author: str, model_name: str) -> Round:
    """Publish a finished round's score to the class gallery's leaderboard (gallery.publish:
    the name as the gallery takes it); the round remembers its entry, and the workspace the
    name, offered again next time."""
    game = current_round(space, model_id)
    if game is None or not game.finished:
        raise GameError("Finish the round first: its score is shared at the end.")
    if game.shared:
        return game
    result = score(game)
    unit = "character" if game.kind == "text" else "symbol"
    line = (
        f"{result.person_right} of {result.steps} right; the model {result.model_loss:.2f} "
        f"nats per {unit} ({result.model_right} of {result.steps} first guesses right)"
    )
    entry = gallery.publish(
        None, space.token, author, "game", [line], model_name, score=result.person_loss
    )
    space.update_choices(author=" ".join(author.split()))
    return save_round(results_folder(space, model_id), replace(game, shared=entry))


def trained_loss(space: Workspace, model_id: str) -> tuple[float, str] | None:
    """The model's last loss on its Train page: (value, "validation" or "training"), the
    validation loss when it has one; a prior's from its training. None when unknown."""
    if is_prior(model_id):
        value = find_prior(model_id).training.get("validation_loss")
        return (float(value), "validation") if isinstance(value, int | float) else None
    try:
        events = space.metrics(model_id)
    except UserError:
        return None
    for field, curve in (("validation_loss", "validation"), ("train_loss", "training")):
        for event in reversed(events):
            if isinstance(event.get(field), int | float):
                return float(event[field]), curve
    return None
