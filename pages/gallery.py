"""Class gallery: the samples and molecules people in the room chose to share from Generate,
and the leaderboard of "Guess the next character".

Everything shared is shown as plain text or drawings; a person can withdraw their own entries.
"""

from __future__ import annotations

import time

import streamlit as st

from app import ui
from charrnn.chem.drawing import grid_svg
from charrnn.errors import UserError
from charrnn.runs import gallery
from charrnn.runs.report import duration, escape_markdown

REFRESH_SECONDS = 5.0
SHOWN_AT_FIRST = 20  # entries drawn at once; "Show older entries" adds as many again


@st.cache_data(max_entries=256, show_spinner=False)
def molecule_grid(items: tuple[str, ...]) -> str:
    """An entry's molecules drawn once for the whole room (entries never change)."""
    return grid_svg(list(items), columns=6)


def withdraw(entry_id: str, token: str) -> None:
    try:
        gallery.withdraw(None, entry_id, token)
    except UserError as error:
        st.session_state["gallery_problem"] = str(error)


def show_more() -> None:
    st.session_state["gallery_shown"] = st.session_state.get("gallery_shown", SHOWN_AT_FIRST) * 2


def watch(seen: str) -> None:
    """Every few seconds: when someone shared or withdrew something, draw the page again."""
    if gallery.fingerprint() != seen:
        st.rerun()


def ago(seconds: float) -> str:
    return "just now" if seconds < 60 else f"{duration(seconds)} ago"


def show_entry(entry: gallery.Entry, token: str, now: float) -> None:
    with st.container(border=True):
        heading, action = st.columns([5, 1], vertical_alignment="center")
        heading.markdown(f"**{escape_markdown(entry.author)}** · {escape_markdown(entry.run_name)}")
        noun = "sample" if entry.kind == "text" else "molecule"
        what = f"{len(entry.items)} {noun}{'s' * (len(entry.items) != 1)}"
        if entry.kind == "game":
            what = f"Guess the next character: {entry.score:.2f} nats per character"
        heading.caption(f"{what} · shared {ago(now - entry.created)}")
        if entry.mine:
            action.button(
                "Withdraw",
                key=f"gallery_withdraw_{entry.id}",
                on_click=withdraw,
                args=(entry.id, token),
                help="Take this entry out of the gallery. Only you see this button.",
            )
        if entry.kind == "game":
            st.caption(escape_markdown(entry.items[0]))
        elif entry.kind == "text":
            for text in entry.items:
                st.code(text, language=None, wrap_lines=True)  # plain text, never Markdown
        else:
            st.image(molecule_grid(entry.items))  # an <img>: nothing in it can run


space = ui.workspace()
st.title("Class gallery")
st.caption("Samples and molecules that people in this room chose to share. It updates by itself.")
problem = st.session_state.pop("gallery_problem", None)
if problem:
    st.error(ui.plain(problem))

seen = gallery.fingerprint()
st.fragment(watch, run_every=REFRESH_SECONDS)(seen)
limit = st.session_state.get("gallery_shown", SHOWN_AT_FIRST)
shown = gallery.entries(None, space.token, limit=limit + 1)
if not shown:
    st.info(
        "Nothing has been shared yet. To share your own: open Generate, write samples or "
        'molecules with one of your models, then fill in "Share with the class" under them.'
    )
    st.page_link("pages/generate.py", label="Open Generate", icon=":material/auto_awesome:")
    st.stop()

best = gallery.leaderboard()
if best:
    st.subheader("Guess the next character: the leaderboard")
    st.caption(
        "The lowest loss wins (nats per character, for molecules per symbol), as on the "
        "Train page. Play on the page Guess the next character."
    )
    st.dataframe(
        {
            "": list(range(1, len(best) + 1)),
            "name": [entry.author for entry in best],
            "score": [round(entry.score, 2) for entry in best],
            "model": [entry.run_name for entry in best],
            "the round": [entry.items[0] for entry in best],
        },
        hide_index=True,
    )
now = time.time()
for entry in shown[:limit]:
    show_entry(entry, space.token, now)
if len(shown) > limit:
    st.button("Show older entries", key="gallery_show_more", on_click=show_more)
