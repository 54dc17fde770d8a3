"""Guess the next character: a person and a model guess the next characters of a corpus text
(or the next symbols of a molecule), both scored in nats per character, like training.

A round is plain data (Round, Step), kept as game.json in the folder where pages keep what
they made with the model (models.results_folder), so a refresh keeps it. The person's guess
counts as sure: it gets the chance SURE and the other characters share the rest, so a wrong
guess costs a finite loss; the model's loss is -ln of the chance it gave the true character,
the same cross-entropy the training loss averages. How a round's text is picked:
charrnn.runs.game_text.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from charrnn.core import inside
from charrnn.core.model import CharRNN
from charrnn.core.next_token import readable_token
from charrnn.core.sample import banned_tokens
from charrnn.core.tokens import EOS, Vocabulary
from charrnn.errors import UserError
from charrnn.files import atomic_write_text

SURE = 0.99  # the chance a person's guess is taken to give the character it names
ROUND_LENGTH = 10  # characters to guess in a round, unless asked otherwise
MAX_ROUND_LENGTH = 40
TOP = 5  # the model's guesses shown at each step
GAME_FILE = "game.json"
GAME_FORMAT = "charrnn-game-1"
GameKind = Literal["text", "smiles", "selfies"]
# Words a person may type for characters a text box cannot hold or show
ALIASES = {
    "space": " ",
    "newline": "\n",
    "enter": "\n",
    "return": "\n",
    "\\n": "\n",
    "tab": "\t",
    "\\t": "\t",
    "end": EOS,
}


class GameError(UserError, ValueError):
    """A guess or a round the game cannot take; the message says what to do."""


@dataclass(frozen=True)
class Step:
    """One character to guess: the truth, the model's likeliest guesses, the person's guess."""

    target: str  # the true next token, as the vocabulary writes it (EOS: the molecule ends)
    model_top: tuple[tuple[str, float], ...]  # the model's TOP likeliest (token, chance)
    model_loss: float  # -ln (the model's chance of the target), in nats
    guess: str | None = None  # the person's token; None until guessed
    problems: dict[str, str] = field(default_factory=dict)  # token -> why it would make the
    # molecule invalid (SMILES only; for the model's guesses and the person's, where known)

    @property
    def model_probability(self) -> float:
        return math.exp(-self.model_loss)

    @property
    def right(self) -> bool:
        return self.guess == self.target

    @property
    def model_right(self) -> bool:
        return bool(self.model_top) and self.model_top[0][0] == self.target


@dataclass(frozen=True)
class Round:
    """A text shown, then characters to guess one after another."""

    model_id: str  # a run id or "prior:ID"
    model_step: int  # the training step of the model that made the model's guesses
    kind: GameKind
    source: str  # the corpus the text comes from ("builtin:ID" or an upload's reference)
    shown: str  # the text shown before the first guess, as the model reads it
    steps: tuple[Step, ...]
    choices: int  # how many tokens could come next: a wrong sure guess shares 1 - SURE
    created: float = 0.0
    shared: str | None = None  # the class gallery's entry of its score, once shared

    @property
    def guessed(self) -> int:
        """How many steps the person has guessed (they are guessed in order)."""
        return sum(step.guess is not None for step in self.steps)

    @property
    def finished(self) -> bool:
        return self.guessed == len(self.steps)

    def text_so_far(self) -> str:
        """The shown text and the true characters revealed so far (the end token left out)."""
        return self.shown + "".join(s.target for s in self.steps[: self.guessed] if s.target != EOS)

    def to_json(self) -> dict:
        return {"format": GAME_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> Round:
        if data.get("format") != GAME_FORMAT:
            raise ValueError(f"not a {GAME_FORMAT} round")
        steps = tuple(
            Step(
                target=str(step["target"]),
                model_top=tuple((str(token), float(p)) for token, p in step["model_top"]),
                model_loss=float(step["model_loss"]),
                guess=None if step.get("guess") is None else str(step["guess"]),
                problems={str(k): str(v) for k, v in step.get("problems", {}).items()},
            )
            for step in data["steps"]
        )
        kind = data["kind"]
        if kind not in ("text", "smiles", "selfies"):
            raise ValueError(f"unknown kind {kind!r}")
        return cls(
            model_id=str(data["model_id"]),
            model_step=int(data["model_step"]),
            kind=kind,
            source=str(data["source"]),
            shown=str(data["shown"]),
            steps=steps,
            choices=int(data["choices"]),
            created=float(data.get("created", 0.0)),
            shared=None if data.get("shared") is None else str(data["shared"]),
        )


def person_step_loss(right: bool, choices: int) -> float:
    """The loss of a sure guess: -ln SURE when right, else -ln of the true character's share
    of the rest, (1 - SURE) / (choices - 1)."""
    if right or choices < 2:
        return -math.log(SURE)
    return -math.log((1 - SURE) / (choices - 1))


@dataclass(frozen=True)
class Score:
    """A round's score so far: mean losses in nats per character (lower is better)."""

    steps: int  # how many steps were guessed
    person_loss: float
    model_loss: float
    model_sure_loss: float  # had the model been sure of its first guess, as the person is
    person_right: int
    model_right: int  # the model's first guess was the true character


def score(game: Round) -> Score | None:
    """The mean losses over the steps guessed so far (None before the first guess)."""
    done = game.steps[: game.guessed]
    if not done:
        return None
    return Score(
        steps=len(done),
        person_loss=float(np.mean([person_step_loss(s.right, game.choices) for s in done])),
        model_loss=float(np.mean([s.model_loss for s in done])),
        model_sure_loss=float(
            np.mean([person_step_loss(s.model_right, game.choices) for s in done])
        ),
        person_right=sum(s.right for s in done),
        model_right=sum(s.model_right for s in done),
    )


def kind_of(vocabulary: Vocabulary) -> GameKind:
    if not vocabulary.line_based:
        return "text"
    return "selfies" if vocabulary.tokenizer == "selfies" else "smiles"


def guessable(vocabulary: Vocabulary) -> list[str]:
    """The tokens that may come next (the model's chances spread over these)."""
    banned = set(banned_tokens(vocabulary))
    return [token for i, token in enumerate(vocabulary.tokens) if i not in banned]


def read_guess(typed: str, vocabulary: Vocabulary) -> str:
    """The token a person's typing names: the token itself, or a word for one that cannot be
    typed ("space", "newline", "end"). GameError for anything else."""
    allowed = guessable(vocabulary)
    for candidate in (typed, typed.strip(), ALIASES.get(typed.strip().lower())):
        if candidate and candidate in allowed:
            return candidate
    readable = {readable_token(token): token for token in allowed}
    if typed.strip() in readable:
        return readable[typed.strip()]
    if not typed.strip() and typed != " ":
        raise GameError("Type your guess for the next character first.")
    unit = "symbol" if vocabulary.line_based else "character"
    raise GameError(
        f"This model knows no {unit} “{typed.strip() or typed}”, so it cannot come next. "
        f"Type one {unit} it knows (they are listed under the text)."
    )


def play_steps(
    model: CharRNN, vocabulary: Vocabulary, pieces: list[str], start: int
) -> tuple[Step, ...]:
    """The steps of a round: pieces[start:] are to be guessed after pieces[:start] (a
    molecule's last target may be EOS: it ends there). The model reads the pieces once."""
    targets = pieces[start:]
    line_based = vocabulary.line_based
    text = "".join(piece for piece in pieces if piece != EOS)
    trace = inside.trace(model, vocabulary, text)
    # a line is read from its begin token (position t predicts piece t); text from its first
    # character (position t reads piece t and predicts piece t + 1)
    first = start if line_based else start - 1
    if first + len(targets) > len(trace.losses):
        raise GameError("This text is too long for the model to read in one go: pick another.")
    banned = set(banned_tokens(vocabulary))
    smiles = kind_of(vocabulary) == "smiles"
    steps = []
    for offset, target in enumerate(targets):
        position = first + offset
        chances = trace.probabilities[position]
        order = [int(i) for i in np.argsort(-chances, kind="stable") if int(i) not in banned]
        top = tuple((vocabulary.tokens[i], float(chances[i])) for i in order[:TOP])
        so_far = "".join(pieces[: start + offset])
        problems = {}
        if smiles:
            problems = {
                token: reason
                for token, _ in top
                if token != target and (reason := molecule_problem(so_far, token))
            }
        steps.append(Step(target, top, float(trace.losses[position]), problems=problems))
    return tuple(steps)


def molecule_problem(start: str, token: str) -> str | None:
    """Why writing ``token`` after ``start`` would leave a SMILES RDKit cannot read, where
    the project can say it (None: it might still become a molecule)."""
    from charrnn.chem.smiles import smiles_problem
    from charrnn.chem.syntax import dead_end_reason

    if token == EOS:
        reason = smiles_problem(start) if start else "there is no atom yet"
        return f"the molecule would end here, but {reason}" if reason else None
    return dead_end_reason(start + token)


def guess(game: Round, typed: str, vocabulary: Vocabulary, step: int | None = None) -> Round:
    """The round with the person's guess for its next step. ``step`` (0-based), when given,
    is the step the guess was typed for: a round that moved on meanwhile refuses it."""
    if game.finished:
        raise GameError("This round is over: start a new one.")
    if step is not None and step != game.guessed:
        raise GameError("This round moved on (in another tab?): here is where it is now.")
    token = read_guess(typed, vocabulary)
    index = game.guessed
    current = game.steps[index]
    problems = dict(current.problems)
    if game.kind == "smiles" and token != current.target and token not in problems:
        so_far = game.shown + "".join(s.target for s in game.steps[:index])
        reason = molecule_problem(so_far, token)
        if reason:
            problems[token] = reason
    steps = list(game.steps)
    steps[index] = replace(current, guess=token, problems=problems)
    return replace(game, steps=tuple(steps))


# ----- the round kept on disk -------------------------------------------------------------
def save_round(folder: Path, game: Round) -> Round:
    """Keep the round in ``folder`` (atomically); returns it."""
    text = json.dumps(game.to_json(), ensure_ascii=False)
    atomic_write_text(Path(folder) / GAME_FILE, text)
    return game


def read_round(folder: Path) -> Round | None:
    """The round kept in ``folder``, or None (none yet, or a damaged file)."""
    try:
        data = json.loads((Path(folder) / GAME_FILE).read_text(encoding="utf-8"))
        return Round.from_json(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def new_round(
    model: CharRNN,
    vocabulary: Vocabulary,
    model_id: str,
    model_step: int,
    source: str,
    pieces: list[str],
    start: int,
) -> Round:
    """A round over ``pieces`` (tokens as the model writes them): the first ``start`` shown,
    the others to guess."""
    if not 0 < start < len(pieces):
        raise GameError("This text is too short for a round: pick another corpus.")
    return Round(
        model_id=model_id,
        model_step=int(model_step),
        kind=kind_of(vocabulary),
        source=source,
        shown="".join(pieces[:start]),
        steps=play_steps(model, vocabulary, pieces, start),
        choices=len(guessable(vocabulary)),
        created=time.time(),
    )
