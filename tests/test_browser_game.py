"""The "Guess the next character" page in a real browser: a newcomer plays a round against
the shipped prior, typing each guess and pressing Enter, to both scores.

The true symbols are read from the round the page keeps in the workspace, so that the test
can guess some right and some wrong. The screenshot is tests/artifacts/10-game.png.
"""

from __future__ import annotations

import re

import pytest
from browser_support import (
    click_button,
    keyed,
    no_traceback,
    open_page,
    require_chromium,
    screenshot,
)

from charrnn.core.tokens import EOS
from charrnn.runs.game_round import current_round
from charrnn.runs.workspace import Workspace, new_workspace

pytestmark = pytest.mark.browser
sync_api = require_chromium()
expect = sync_api.expect
PRIOR = "prior:moses"


def typed(token: str) -> str:
    return "end" if token == EOS else token


def test_a_round_against_the_prior_played_to_its_score(page, server):
    root = server.home / "workspaces"
    token = new_workspace(root)
    space = Workspace(token, root)
    page.goto(f"{server.url}/?ws={token}")
    open_page(page, "Guess the next character")
    expect(page.locator("h1")).to_have_text("Guess the next character")
    click_button(page, "game_start")
    field = keyed(page, "game_guess")
    expect(field).to_contain_text("Your guess for symbol 1 of 10", timeout=60_000)
    game = current_round(space, PRIOR)
    assert game is not None and len(game.steps) == 10
    for number, step in enumerate(game.steps):
        wrong = next(t for t, _ in step.model_top if t != step.target)
        guess = step.target if number % 3 else wrong  # 1, 4, 7 and 10 wrong
        field.locator("input").fill(typed(guess))
        field.locator("input").press("Enter")
        if number + 1 < len(game.steps):
            expect(field).to_contain_text(f"Your guess for symbol {number + 2} of 10")
        if number == 3:
            screenshot(page, "10-game-playing")  # halfway: the "?" where the next one goes
        no_traceback(page)
    metrics = page.locator('[data-testid="stMetric"]')
    expect(metrics.filter(has_text="The model")).to_be_visible(timeout=30_000)
    expect(metrics.filter(has_text="You")).to_be_visible()
    expect(page.get_by_text("6 of 10 right")).to_be_visible()
    expect(page.get_by_text(re.compile(r"(You win|The model wins|A draw)\."))).to_be_visible()
    assert current_round(space, PRIOR).finished
    assert field.count() == 0  # no more guesses in a finished round
    path = screenshot(page, "10-game")
    assert path.is_file()
    no_traceback(page)
