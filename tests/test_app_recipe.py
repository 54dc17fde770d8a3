"""Recipe links on the Train page (Streamlit's AppTest): a link opened fills the settings in
the visitor's own workspace and starts nothing; a bad value is explained; the link the page
shows opens the same settings elsewhere and never holds the workspace token."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from app_support import APP, no_exceptions
from streamlit.testing.v1 import AppTest

from charrnn.runs.plan import DEFAULT_STEPS, FINETUNE_STEPS
from charrnn.runs.status import ACTIVE
from charrnn.runs.workspace import Workspace

LESSON = {
    "recipe": "1",
    "corpus": "toy-pattern",
    "preset": "tiny",
    "cell": "gru",
    "hidden": "96",
    "steps": "500",
    "lr": "0.002",
    "name": "Lesson one",
}


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path / "workspaces"))
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHARRNN_PRIORS", raising=False)


def open_link(query: dict) -> AppTest:
    """A new visitor (no ws) opens the Train page's address with this query."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()  # the app's first run draws Home; a visitor's browser goes to /train directly
    at.switch_page("pages/train.py").run()
    no_exceptions(at)
    return at


def workspace(at: AppTest) -> Workspace:
    return Workspace.pending(at.session_state["ws"])


def shown(at: AppTest, kind: str) -> str:
    """The text of the elements of a kind, as read on screen (Markdown escapes removed)."""
    return "\n".join(element.value for element in getattr(at, kind)).replace("\\", "")


def test_a_recipe_fills_the_train_page_and_starts_nothing():
    at = open_link(LESSON)
    assert "Filled from a recipe link: press Train to start." in shown(at, "info")
    assert not at.warning
    space = workspace(at)
    assert space.choices["corpus"]["reference"] == "builtin:toy-pattern"
    assert at.text[0].value == "Corpus: Toy pattern (a first lesson)"
    assert at.radio(key="train_preset").value == "tiny"
    assert at.selectbox(key="train_cell_tiny").value == "gru"
    assert at.number_input(key="train_hidden_size_tiny").value == 96
    assert at.number_input(key="train_steps_tiny").value == 500
    assert at.number_input(key="train_learning_rate").value == 0.002
    assert at.text_input(key="train_run_name").value == "Lesson one"
    assert space.runs() == []  # nothing started
    assert set(at.query_params) == {"ws"}  # a refresh does not fill the page again

    at.number_input(key="train_steps_tiny").set_value(800).run()  # the visitor's own change
    at.run()
    assert at.number_input(key="train_steps_tiny").value == 800
    assert space.runs() == []
    at.button(key="train_start").click().run()  # pressed: a run, and the notice is gone
    no_exceptions(at)
    assert [run.name for run in space.runs()] == ["Lesson one"]
    assert "Filled from a recipe link" not in shown(at, "info")
    [run] = space.runs()  # stopped, so that no job outlives this test in the shared runner
    deadline = time.monotonic() + 120
    while space.summary(run.id).status in ACTIVE:
        assert time.monotonic() < deadline, "the run did not stop"
        if space.summary(run.id).status == "running":
            space.send(run.id, "stop")
        time.sleep(0.5)


def test_a_bad_value_is_explained_and_left_at_its_default():
    at = open_link(
        {"recipe": "1", "corpus": "python-docs", "preset": "tiny", "steps": "9999999", "x": "1"}
    )
    assert "Filled from a recipe link" in shown(at, "info")
    warnings = shown(at, "warning")
    assert "Steps: 9,999,999 is outside what the Train page accepts (10 to 200,000)" in warnings
    assert "“x”" in warnings and "does not know" in warnings
    assert at.radio(key="train_preset").value == "tiny"
    assert at.number_input(key="train_steps_tiny").value == DEFAULT_STEPS["tiny"]
    assert workspace(at).runs() == []


def test_molecules_start_from_the_shipped_prior_of_the_recipe():
    assert FINETUNE_STEPS != 120
    at = open_link({"recipe": "1", "corpus": "nci-5k", "steps": "120", "augment": "1"})
    assert at.selectbox(key="train_init_from").value == "prior:moses"
    assert at.number_input(key="train_steps_finetune").value == 120
    assert at.checkbox(key="train_augment").value is True
    assert workspace(at).choices["corpus"]["reference"] == "builtin:nci-5k"
    assert workspace(at).runs() == []


def test_the_link_the_page_shows_opens_the_same_settings_elsewhere():
    at = open_link({"recipe": "1", "corpus": "toy-pattern"})
    at.radio(key="train_preset").set_value("tiny").run()
    at.number_input(key="train_steps_tiny").set_value(700).run()
    at.number_input(key="train_batch_size").set_value(24).run()
    at.text_input(key="train_run_name").set_value("Shared").run()
    token = at.session_state["ws"]
    link = next(code.value for code in at.code if "recipe=1" in code.value)
    assert token not in link and "ws=" not in link
    query = dict(parse_qsl(urlsplit(link).query))
    assert query == {
        "recipe": "1",
        "corpus": "toy-pattern",
        "preset": "tiny",
        "steps": "700",
        "batch": "24",
        "name": "Shared",
    }

    other = open_link(query)  # another visitor: another workspace, the same settings
    assert other.session_state["ws"] != token
    assert not other.warning
    assert other.radio(key="train_preset").value == "tiny"
    assert other.number_input(key="train_steps_tiny").value == 700
    assert other.number_input(key="train_batch_size").value == 24
    assert other.text_input(key="train_run_name").value == "Shared"
    assert workspace(other).runs() == []
