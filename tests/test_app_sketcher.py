"""The molecule field (app.sketcher): what is drawn and what is typed stay in sync, the typed
field works without the editor, and Generate and Steer take a drawn molecule.

The editor's state is set as its Apply button would set it (the browser test presses it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from app_support import no_exceptions, open_page
from streamlit.testing.v1 import AppTest

from app.sketcher import MAX_MOLECULE_CHARACTERS, drawable
from charrnn.runs.folder import read_generated
from charrnn.runs.models import results_folder
from charrnn.runs.workspace import Workspace, new_workspace

PHENOL = "Oc1ccccc1"


def field_page():
    import streamlit as st

    from app import sketcher

    st.write(f"value={sketcher.molecule_input('Molecule', key='mol')!r}")


@pytest.fixture
def environment(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHARRNN_PRIORS", raising=False)
    return tmp_path / "home"


def editor(at) -> dict:
    """What the page sent to the editor (the molecule it draws), or {} when not shown."""
    shown = at.get("bidi_component")
    return json.loads(shown[0].proto.json) if shown else {}


def draw(at, key: str, smiles: str) -> AppTest:
    """Apply a drawing in the editor under the field ``key``."""
    typed_over = at.session_state[f"{key}_editor"] if f"{key}_editor" in at.session_state else 0
    at.session_state[f"{key}_sketch{typed_over}"] = {"result": smiles}
    return at.run()


def test_the_editor_starts_from_whole_molecules_only():
    assert drawable(" CCO ") == "CCO"
    assert drawable("c1ccc(") == ""  # the start of a molecule, as a prompt often is
    assert drawable("") == drawable("C" * (MAX_MOLECULE_CHARACTERS + 1)) == ""


def test_drawn_and_typed_stay_in_sync():
    at = AppTest.from_function(field_page).run()
    assert editor(at) == {}  # closed: the editor is not even sent
    at.session_state["mol_draw"] = True  # "Draw it" opened
    at.text_input(key="mol").input("CCO").run()
    no_exceptions(at)
    assert editor(at)["molecule"] == "CCO"  # typed, then drawn
    draw(at, "mol", PHENOL)
    assert at.text_input(key="mol").value == PHENOL  # drawn, then typed
    assert "value='Oc1ccccc1'" in at.markdown[0].value
    at.text_input(key="mol").input("CC(").run()
    assert editor(at)["molecule"] == ""  # a part of a molecule is not drawn
    draw(at, "mol", PHENOL)  # the same drawing as before, applied again, is heard
    assert at.text_input(key="mol").value == PHENOL
    draw(at, "mol", "C" * (MAX_MOLECULE_CHARACTERS + 1))
    assert "at most 200" in at.warning[0].value
    assert at.text_input(key="mol").value == PHENOL


def test_the_typed_field_works_without_the_editor(monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit_jsme", None)  # import fails
    at = AppTest.from_function(field_page).run()
    at.session_state["mol_draw"] = True
    at.text_input(key="mol").input("CCO").run()
    no_exceptions(at)
    assert any("not installed" in caption.value for caption in at.caption)
    assert "value='CCO'" in at.markdown[0].value


def test_generate_starts_every_molecule_with_the_drawing(environment):
    token = new_workspace(environment)
    at = open_page(token, "generate")
    assert at.selectbox(key="generate_run").value == "prior:moses"
    at.session_state["generate_prompt_sm_draw"] = True
    at.run()
    draw(at, "generate_prompt_sm", PHENOL)
    no_exceptions(at)
    assert at.text_input(key="generate_prompt_sm").value == PHENOL
    at.slider(key="generate_count_sm").set_value(4)
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    space = Workspace(token, environment)
    made = read_generated(results_folder(space, "prior:moses"))["samples"]
    assert len(made) == 4 and all(text.startswith(PHENOL) for text, _ in made)


def test_steer_takes_a_drawn_similarity_target(environment):
    token = new_workspace(environment)
    at = open_page(token, "steer")
    at.session_state["steer_target_draw"] = True
    at.run()
    draw(at, "steer_target", PHENOL)
    assert at.text_input(key="steer_target").value == PHENOL
    next(box for box in at.selectbox if box.label == "What to ask for").set_value("similarity")
    at.button(key="steer_add_part").click().run()
    no_exceptions(at)
    (part,) = Workspace(token, environment).choices["steer_score"]["components"]
    assert (part["kind"], part["target"]) == ("similarity", PHENOL)


def test_the_editor_script_fetches_nothing():
    """streamlit-jsme's own script adds JSME from unpkg.com when its bundled copy is slow to
    load; the editor's script waits for the bundled copy and names no address."""
    from app import jsme_editor

    assert "http" not in jsme_editor._SCRIPT
    assert "createElement('script')" not in jsme_editor._SCRIPT


def test_a_molecule_cut_at_the_fields_limit_is_said_to_be_cut():
    at = AppTest.from_function(field_page).run()
    at.text_input(key="mol").input("C" * MAX_MOLECULE_CHARACTERS).run()
    no_exceptions(at)
    assert any("at most" in caption.value for caption in at.caption)
    at.text_input(key="mol").input("CCO").run()
    assert not any("at most" in caption.value for caption in at.caption)
