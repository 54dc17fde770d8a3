"""The molecule field every page shares: a typed SMILES, and the JSME editor to draw it.

Apply in the editor writes the typed field; a typed molecule RDKit can read is drawn in the
editor. The typed field is the fallback: it works when the editor does not load. JSME comes
bundled with streamlit-jsme and is served from this server, never fetched from the internet
(app/jsme_editor.py).
"""

from __future__ import annotations

import streamlit as st

from app.jsme_editor import jsme_editor
from charrnn.chem.smiles import parse_smiles

MAX_MOLECULE_CHARACTERS = 200
EDITOR_HEIGHT = 360


def drawable(typed: str) -> str:
    """What the editor starts from: the typed SMILES if RDKit reads it as a whole molecule
    (a prompt is often only the start of one), else an empty canvas."""
    text = typed.strip()
    if not text or len(text) > MAX_MOLECULE_CHARACTERS:  # checked before RDKit sees it
        return ""
    return text if parse_smiles(text) is not None else ""


def editor(seed: str, key: str) -> str:
    """The JSME editor showing ``seed``; the SMILES of the last drawing applied ("": none)."""
    try:
        return jsme_editor(seed, height=EDITOR_HEIGHT, key=key)
    except ImportError:  # the typed field still works
        st.caption("The molecule editor is not installed on this server: type the SMILES.")
        return ""


def typed(key: str) -> None:
    """A person typed in the field: a new editor (drawn from the text) replaces the old one,
    so that pressing Apply on the same drawing as before is heard again."""
    st.session_state[f"{key}_editor"] = st.session_state.get(f"{key}_editor", 0) + 1
    st.session_state.pop(f"{key}_applied", None)


def molecule_input(label: str, key: str, *, placeholder: str = "", help: str | None = None) -> str:
    """A SMILES typed under ``key`` or drawn in the "Draw it" expander below it."""
    st.session_state.setdefault(key, "")
    field = st.container()  # the typed field goes above the editor, but is made after it:
    applied = f"{key}_applied"  # a drawing may still set its text in this run
    drawer = st.expander("Draw it", key=f"{key}_draw", on_change="rerun", icon=":material/draw:")
    with drawer:
        if drawer.open:  # the editor is sent only when asked for
            st.caption(
                "Draw a molecule and press **Apply**: its SMILES goes into the field above. "
                "A whole molecule typed above is drawn here."
            )
            editor_key = f"{key}_sketch{st.session_state.get(f'{key}_editor', 0)}"
            drawn = editor(drawable(st.session_state[key]), key=editor_key)
            if drawn and drawn != st.session_state.get(applied):
                st.session_state[applied] = drawn
                if len(drawn) > MAX_MOLECULE_CHARACTERS:
                    st.warning(
                        f"This drawing's SMILES has {len(drawn)} characters; the field takes "
                        f"at most {MAX_MOLECULE_CHARACTERS}. Draw a smaller molecule."
                    )
                else:
                    st.session_state[key] = drawn
                    st.rerun()  # the editor is told the field's new text at once
        else:
            st.session_state.pop(applied, None)  # a new editor starts empty
    value = field.text_input(
        label,
        key=key,
        max_chars=MAX_MOLECULE_CHARACTERS,
        placeholder=placeholder,
        help=help,
        on_change=typed,
        args=(key,),
    )
    if len(value) >= MAX_MOLECULE_CHARACTERS:  # a longer paste is cut to this without a word
        field.caption(
            f"The field holds at most {MAX_MOLECULE_CHARACTERS} characters: a longer molecule "
            "was cut there, so what RDKit reads may not be what you pasted."
        )
    return value
