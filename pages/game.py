"""Guess the next character: play against a model on a text (or a molecule) of its corpus;
both get a score in the unit of the Train page's loss (charrnn.runs.game does the work).
"""

from __future__ import annotations

import math

import streamlit as st

from app import model_choice, share_form, ui
from charrnn.core.inside import token_label
from charrnn.core.tokens import EOS
from charrnn.errors import UserError
from charrnn.runs.game import (
    MAX_ROUND_LENGTH,
    ROUND_LENGTH,
    SURE,
    Round,
    guessable,
    person_step_loss,
    score,
)
from charrnn.runs.game_round import (
    PRIOR_MOLECULES,
    current_round,
    play_guess,
    share_round,
    start_round,
    trained_loss,
)
from charrnn.runs.models import model_choices
from charrnn.runs.report import escape_markdown, text_html

PROBLEM = "game_problem"  # a message from the last button's callback


def start(space, model_id: str, model, vocabulary, step: int) -> None:
    try:
        length = int(st.session_state.get("game_length", ROUND_LENGTH))
        start_round(space, model_id, model, vocabulary, step, length)
    except UserError as error:
        st.session_state[PROBLEM] = str(error)


def submit(space, model_id: str, vocabulary, step: int) -> None:
    try:
        play_guess(space, model_id, vocabulary, st.session_state.get("game_guess", ""), step)
    except UserError as error:
        st.session_state[PROBLEM] = str(error)


def share(space, game: Round, model_id: str, model_name: str) -> None:
    """The "Share your score" form under a finished round: the class gallery's leaderboard."""
    share_form.share_form(
        space,
        "game",
        shared=bool(game.shared),
        heading="Share your score with the class",
        done="Shared: your score is on the class gallery's leaderboard.",
        caption="Your name and your score go on the leaderboard of the class gallery.",
        button="Put my score on the leaderboard",
        publish=lambda author: share_round(space, model_id, author, model_name),
    )


def chance(probability: float) -> str:
    return f"{probability:.1%}" if probability >= 0.0005 else "< 0.1%"


def label(token: str) -> str:
    """A token as a person reads it ("␣ space", "⏎ newline", "⏹ end"...)."""
    return token_label(token)


def show_text(game: Round) -> None:
    """The text so far: the revealed characters blue when guessed right, orange when not;
    the next one to guess as a yellow "?"."""
    done = game.steps[: game.guessed]
    pieces = [game.shown] + [label(s.target) if s.target == EOS else s.target for s in done]
    values = [0.0] + [-0.35 if s.right else 0.45 for s in done]
    current = None
    if not game.finished:
        pieces.append("?")
        values.append(0.0)
        current = len(pieces) - 1
    st.html(f'<div style="font-size:1.5rem">{text_html(pieces, values, current)}</div>')


def show_step(game: Round, number: int, unit: str) -> None:
    """What the last guess revealed: the truth, the person's guess, the model's five."""
    step = game.steps[number]
    truth, guessed = escape_markdown(label(step.target)), escape_markdown(label(step.guess))
    if step.right:
        st.success(f"**{number + 1}.** Right: the next {unit} was **{truth}**.")
    else:
        st.warning(f"**{number + 1}.** You guessed **{guessed}**; the next {unit} was **{truth}**.")
    if step.guess in step.problems and not step.right:
        why = escape_markdown(step.problems[step.guess])
        st.caption(f"Your guess would make the molecule invalid: {why}.")
    rows = {
        f"the model's guesses for {unit} {number + 1}": [label(t) for t, _ in step.model_top],
        "its chance": [chance(p) for _, p in step.model_top],
        "the true one": ["✓" if t == step.target else "" for t, _ in step.model_top],
    }
    if game.kind == "smiles":
        rows["why it would make the molecule invalid"] = [
            step.problems.get(t, "") for t, _ in step.model_top
        ]
    st.dataframe(rows, hide_index=True)
    if step.target not in [t for t, _ in step.model_top]:
        st.caption(
            f"The true {unit} was not among the model's five: it gave it "
            f"{chance(step.model_probability)}."
        )


def show_scores(game: Round, unit: str, space, model_id: str) -> None:
    result = score(game)
    if result is None:
        return
    st.subheader("The score" if game.finished else f"The score after {result.steps}")
    you, model = st.columns(2)
    you.metric(
        "You",
        f"{result.person_loss:.2f}",
        help=f"nats per {unit}: the mean loss of your guesses, lower is better",
    )
    you.caption(f"{result.person_right} of {result.steps} right")
    model.metric(
        "The model",
        f"{result.model_loss:.2f}",
        help=f"nats per {unit}: the mean loss of its chances, lower is better",
    )
    model.caption(f"its first guess right {result.model_right} of {result.steps} times")
    wrong = person_step_loss(False, game.choices)
    st.caption(
        f"Both scores are losses in nats per {unit}, lower is better. Your guess counts as "
        f"sure: it gets a {SURE:.0%} chance and the other {game.choices - 1} {unit}s share "
        f"the last {1 - SURE:.0%}, so a right guess costs −ln {SURE} = "
        f"{-math.log(SURE):.2f} and a wrong one −ln({1 - SURE:.2f}/{game.choices - 1}) = "
        f"{wrong:.2f}. The model's loss is −ln of the chance it gave the true {unit}: the "
        "very loss the model learns to lower, the loss curve on the Train page."
    )
    if game.finished:
        winner = "You win" if result.person_loss < result.model_loss else "The model wins"
        if result.person_loss == result.model_loss:
            winner = "A draw"
        st.info(
            f"**{winner}.** Had the model been as sure of its first guesses as you are of "
            f"yours, it would have scored {result.model_sure_loss:.2f}: spreading its chances "
            "over several guesses is how a model keeps its loss low when it is unsure."
        )
    known = trained_loss(space, model_id)
    if known:
        value, curve = known
        st.caption(
            f"This model's {curve} loss on the Train page ended at {value:.2f} nats per "
            f"{unit}: the mean over many texts of the number in the model's score here."
        )


def show_table(game: Round) -> None:
    done = game.steps[: game.guessed]
    st.dataframe(
        {
            "true": [label(s.target) for s in done],
            "yours": [label(s.guess) for s in done],
            "your loss": [round(person_step_loss(s.right, game.choices), 2) for s in done],
            "model's first guess": [label(s.model_top[0][0]) for s in done],
            "model's chance of the true one": [chance(s.model_probability) for s in done],
            "model's loss": [round(s.model_loss, 2) for s in done],
        },
        hide_index=True,
    )


space = ui.workspace()
st.title("Guess the next character")
st.caption(
    "You and the model read the same text and guess what comes next, one character at a "
    "time. After each guess you see the model's five likeliest guesses and the true one; "
    "at the end of the round both get a score, in the unit of the loss you see falling "
    "while a model trains."
)
choice = model_choice.choose(
    space,
    model_choices(space),
    "game_run",
    "Any of your runs that has saved a trained model.",
    "There is no trained model to play against yet: train one first.",
)
loaded = model_choice.load(space, choice.id)
if loaded is None:
    st.stop()
model, vocabulary, step = loaded
unit = "symbol" if vocabulary.line_based else "character"
game = current_round(space, choice.id)

settings, button = st.columns([1, 1], vertical_alignment="bottom")
settings.number_input(
    f"{unit.capitalize()}s to guess in a round",
    1,
    MAX_ROUND_LENGTH,
    ROUND_LENGTH,
    key="game_length",
)
button.button(
    "New round" if game else "Start a round",
    key="game_start",
    type="secondary" if game and not game.finished else "primary",
    on_click=start,
    args=(space, choice.id, model, vocabulary, step),
)
problem = st.session_state.pop(PROBLEM, None)
if problem:
    st.error(ui.plain(problem))
if game is None:
    st.stop()

if game.source == PRIOR_MOLECULES and choice.shipped:
    st.caption("Molecules from NCI first 5K (RDKit): the prior's own training set is not shipped.")
else:
    st.caption(f"From the corpus {escape_markdown(space.corpus_name(game.source))}.")
if game.model_step != step:
    st.caption(f"The model's guesses come from the model saved at step {game.model_step}.")
if game.kind == "smiles":
    st.caption(
        "A molecule is guessed one symbol at a time: an atom (C, Cl, [nH]), a bond (=, #), "
        "a branch ( ), a ring digit, or end."
    )
elif game.kind == "selfies":
    st.caption("This model writes SELFIES: guess the next bracketed symbol, like [C] or [=O].")
show_text(game)
if game.guessed:
    st.caption(f"Blue: {unit}s you guessed right; orange: the ones you missed.")

if not game.finished:
    with st.form("game_form", clear_on_submit=True, border=False):
        st.text_input(
            f"Your guess for {unit} {game.guessed + 1} of {len(game.steps)}",
            key="game_guess",
            max_chars=24,
            help="Type one character. For those a box cannot show, type a word: space, "
            "newline, end.",
        )
        st.form_submit_button(
            "Guess",
            key="game_submit",
            type="primary",
            on_click=submit,
            args=(space, choice.id, vocabulary, game.guessed),
        )
if game.guessed:
    show_step(game, game.guessed - 1, unit)
    show_scores(game, unit, space, choice.id)
    with st.expander("Every step of this round", expanded=game.finished):
        show_table(game)
if game.finished:
    share(space, game, choice.id, choice.name)
with st.expander(f"The {unit}s this model knows ({game.choices})"):
    st.code("   ".join(label(token) for token in guessable(vocabulary)), language=None)
