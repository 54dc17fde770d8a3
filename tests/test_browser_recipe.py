"""A recipe link in a real browser: opened by a new visitor (a fresh browser context, no
workspace yet), it fills the Train page, starts nothing and explains a bad value; the link
the page then shows opens the same settings for another visitor, in their own workspace.

One `streamlit run` server and Debian's chromium (tests/browser_support.py); the screenshot
is tests/artifacts/11-recipe.png.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from browser_support import (
    caption,
    keyed,
    no_traceback,
    require_chromium,
    screenshot,
    settle,
    visitor,
)

pytestmark = pytest.mark.browser
sync_api = require_chromium()
expect = sync_api.expect

RECIPE = {
    "recipe": "1",
    "corpus": "toy-pattern",
    "preset": "tiny",
    "hidden": "96",
    "steps": "500",
    "lr": "fast",  # not a number: explained, and left at the default
}


def token_of(page) -> str:
    expect(page).to_have_url(re.compile(r"[?&]ws=[^&]+"))
    return re.search(r"[?&]ws=([^&]+)", page.url).group(1)


def runs_of(server, token: str) -> list:
    return sorted((server.home / "workspaces" / token).glob("r-*"))


def filled(page, steps: str, hidden: str, learning_rate: str) -> None:
    """The Train page shows these settings (Advanced settings opened)."""
    expect(page.get_by_text("Corpus: Toy pattern (a first lesson)")).to_be_visible()
    expect(keyed(page, "train_preset").get_by_role("radio", name="Tiny")).to_be_checked()
    advanced = page.locator('[data-testid="stExpander"] summary', has_text="Advanced settings")
    advanced.click()
    expect(keyed(page, "train_steps_tiny").locator("input")).to_have_value(steps)
    expect(keyed(page, "train_hidden_size_tiny").locator("input")).to_have_value(hidden)
    expect(keyed(page, "train_learning_rate").locator("input")).to_have_value(learning_rate)


def test_a_recipe_link_fills_the_train_page_of_a_new_visitor_and_starts_nothing(browser, server):
    context, page = visitor(browser)
    try:
        page.goto(f"{server.url}/train?{urlencode(RECIPE)}")  # the first page of a new server
        expect(page.locator("h1", has_text="Train a model")).to_be_visible(timeout=60_000)
        notice = page.locator('[data-testid="stAlertContentInfo"]')
        expect(
            notice.filter(has_text="Filled from a recipe link: press Train to start")
        ).to_be_visible()
        warning = page.locator('[data-testid="stAlertContentWarning"]')
        expect(warning.filter(has_text="Learning rate: “fast” is not a number")).to_be_visible()
        token = token_of(page)
        expect(page).not_to_have_url(re.compile(r"recipe="))  # a refresh keeps one's changes
        filled(page, "500", "96", "0.0030")
        expect(caption(page, r"^no run yet")).to_be_visible()  # the sidebar: nothing started
        assert runs_of(server, token) == []
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar).to_contain_text("Toy pattern")

        share = page.locator('[data-testid="stExpander"] summary', has_text="Share these settings")
        share.click()
        code = page.locator('[data-testid="stCode"]').filter(has_text="recipe=1")
        expect(code).to_be_visible()
        settle(page)
        no_traceback(page)
        screenshot(page, "11-recipe")
        link = code.inner_text().strip()
        assert link.startswith(f"{server.url}/train?") and token not in link and "ws=" not in link
        assert runs_of(server, token) == []
    finally:
        context.close()

    context, page = visitor(browser)  # another person opens the link the page showed
    try:
        page.goto(link)
        expect(page.locator("h1", has_text="Train a model")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Filled from a recipe link")).to_be_visible()
        expect(page.locator('[data-testid="stAlertContentWarning"]')).to_have_count(0)
        other = token_of(page)
        assert other != token
        filled(page, "500", "96", "0.0030")
        assert runs_of(server, other) == []
        no_traceback(page)
    finally:
        context.close()
