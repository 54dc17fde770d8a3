"""The "Guess the next character" page, played like a visitor would: a round to its score
with a tiny text run and with the shipped prior; a refresh keeps the round."""

from __future__ import annotations

import math

import pytest
from app_support import APP, no_exceptions
from streamlit.testing.v1 import AppTest
from test_app_generate import TEXT_CORPUS, finished_run

from charrnn.core.tokens import EOS
from charrnn.runs.game_round import current_round
from charrnn.runs.workspace import Workspace, new_workspace

PAGE = "pages/game.py"
PRIOR = "prior:moses"


@pytest.fixture(scope="module")
def text_space(home) -> tuple[str, str]:
    token = new_workspace(home)
    space = Workspace(token, home)
    reference = space.save_corpus(TEXT_CORPUS, "markup.txt", 10**6)
    return token, finished_run(space, "tiny text", reference, "text", 60)


def game_page(monkeypatch, home, token, run_id=None) -> AppTest:
    """The game page in workspace ``token`` (``run_id`` its current run), as a visitor."""
    monkeypatch.setenv("CHARRNN_HOME", str(home))
    if run_id:
        Workspace(token, home).update_choices(run=run_id)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = token
    at.run()
    at.switch_page(PAGE)
    return at.run()


def play(at, space: Workspace, model_id: str, right: int) -> None:
    """Guess every step: the first ``right`` ones right, the others wrong (a token the model
    knows that is not the true one)."""
    game = current_round(space, model_id)
    for number, step in enumerate(game.steps):
        wrong = next(t for t, _ in step.model_top if t != step.target)
        token = step.target if number < right else wrong
        typed = {"\n": "newline", " ": " ", EOS: "end"}.get(token, token)
        at.text_input(key="game_guess").input(typed)
        at.button(key="game_submit").click().run()
        no_exceptions(at)
        assert not at.error, [e.value for e in at.error]
        assert current_round(space, model_id).guessed == number + 1


def scores(at) -> dict[str, float]:
    return {metric.label: float(metric.value) for metric in at.metric}


def test_a_round_with_a_text_run_played_to_its_score(monkeypatch, home, text_space):
    token, run_id = text_space
    space = Workspace(token, home)
    at = game_page(monkeypatch, home, token, run_id)
    no_exceptions(at)
    assert at.title[0].value == "Guess the next character"
    assert at.selectbox(key="game_run").value == run_id
    assert at.button(key="game_start").label == "Start a round"
    assert not at.get("text_input") or "game_guess" not in [w.key for w in at.text_input]
    at.number_input(key="game_length").set_value(6)
    at.button(key="game_start").click().run()
    no_exceptions(at)
    game = current_round(space, run_id)
    assert game is not None and len(game.steps) == 6 and game.kind == "text"
    assert at.text_input(key="game_guess").label == "Your guess for character 1 of 6"
    # A character the model never saw is refused, and the round waits
    at.text_input(key="game_guess").input("Q")
    at.button(key="game_submit").click().run()
    assert "knows no character" in at.error[0].value
    assert current_round(space, run_id).guessed == 0
    play(at, space, run_id, right=4)
    assert "game_guess" not in [w.key for w in at.text_input]  # the round is over
    result = scores(at)
    right, wrong = -math.log(0.99), -math.log(0.01 / (game.choices - 1))
    assert result["You"] == pytest.approx((4 * right + 2 * wrong) / 6, abs=0.01)
    game = current_round(space, run_id)
    model_loss = sum(step.model_loss for step in game.steps) / len(game.steps)
    assert result["The model"] == pytest.approx(model_loss, abs=0.005)
    text = " ".join(caption.value for caption in at.caption)
    assert "nats per character" in text and "Train page" in text
    assert "4 of 6 right" in text
    assert any("wins" in info.value or "draw" in info.value for info in at.info)
    assert at.button(key="game_start").label == "New round"
    # A refresh (a new session) finds the round where it was
    again = game_page(monkeypatch, home, token, run_id)
    no_exceptions(again)
    assert scores(again) == result
    # Shared to the class gallery's leaderboard, under the name the person gives
    again.button(key="game_publish").click().run()
    assert "Write your name" in again.error[0].value
    again.text_input(key="game_author").input("Ada <b>L</b>")
    again.button(key="game_publish").click().run()
    no_exceptions(again)
    assert "leaderboard" in again.success[0].value
    assert current_round(space, run_id).shared
    again.switch_page("pages/gallery.py").run()
    no_exceptions(again)
    board = again.dataframe[0].value  # the leaderboard comes first
    assert list(board["name"]) == ["Ada <b>L</b>"]  # plain text in a table, as typed
    assert list(board["score"]) == [round(result["You"], 2)]
    assert list(board["model"]) == ["tiny text"]


def test_a_round_with_the_shipped_prior_in_a_new_workspace(monkeypatch, home):
    token = new_workspace(home)
    at = game_page(monkeypatch, home, token)
    no_exceptions(at)
    assert at.selectbox(key="game_run").value == PRIOR
    at.button(key="game_start").click().run()
    no_exceptions(at)
    space = Workspace(token, home)
    game = current_round(space, PRIOR)
    assert game.kind == "smiles" and len(game.steps) == 10
    text = " ".join(caption.value for caption in at.caption)
    assert "NCI first 5K" in text and "one symbol at a time" in text
    # A guess that breaks the molecule says why
    first = game.steps[0]
    at.text_input(key="game_guess").input(")" if first.target != ")" else "C")
    at.button(key="game_submit").click().run()
    no_exceptions(at)
    if current_round(space, PRIOR).steps[0].problems.get(")"):
        assert any("invalid" in caption.value for caption in at.caption)
    # the rest of the round
    game = current_round(space, PRIOR)
    for number, step in enumerate(game.steps[1:], start=1):
        typed = "end" if step.target == EOS else step.target
        at.text_input(key="game_guess").input(typed)
        at.button(key="game_submit").click().run()
        no_exceptions(at)
        assert current_round(space, PRIOR).guessed == number + 1
    result = scores(at)
    assert set(result) == {"You", "The model"}
    game = current_round(space, PRIOR)
    model_loss = sum(step.model_loss for step in game.steps) / len(game.steps)
    assert result["The model"] == pytest.approx(model_loss, abs=0.005)
    text = " ".join(caption.value for caption in at.caption)
    assert "nats per symbol" in text and "validation loss on the Train page ended at 0.52" in text
