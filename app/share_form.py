"""The "share with the class" form that Generate and the guessing game put under a result:
the person's name (offered again from the workspace) and a button that publishes to the
class gallery; once shared, a link to the gallery instead.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app import ui
from charrnn.errors import UserError
from charrnn.runs import gallery


def _publish(prefix: str, publish: Callable[..., None], args: tuple) -> None:
    """The button's callback: ``publish(author, *args)``; a UserError is shown below it."""
    try:
        publish(st.session_state.get(f"{prefix}_author", ""), *args)
    except UserError as error:
        st.session_state[f"{prefix}_share_problem"] = str(error)


def share_form(
    space,
    prefix: str,
    *,
    shared: bool,
    heading: str,
    done: str,
    caption: str,
    button: str,
    publish: Callable[..., None],
    args: tuple = (),
) -> None:
    """The form under ``heading``; widget keys start with ``prefix`` (``{prefix}_author``,
    ``{prefix}_publish``). ``publish(author, *args)`` publishes, or raises a UserError."""
    st.subheader(heading)
    if shared:
        st.success(done)
        st.page_link("pages/gallery.py", label="Open the class gallery", icon=":material/groups:")
        return
    st.caption(caption)
    st.session_state.setdefault(f"{prefix}_author", space.choices.get("author", ""))
    with st.form(f"{prefix}_share_form", border=False):
        st.text_input(
            "Your name, as the room will see it",
            key=f"{prefix}_author",
            max_chars=gallery.MAX_AUTHOR_CHARACTERS,
        )
        st.form_submit_button(
            button,
            key=f"{prefix}_publish",
            icon=":material/groups:",
            on_click=_publish,
            args=(prefix, publish, args),
        )
    problem = st.session_state.pop(f"{prefix}_share_problem", None)
    if problem:
        st.error(ui.plain(problem))
