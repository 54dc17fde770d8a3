"""The "Model" select box of Generate, Chemistry and Inside: the user's runs and the shipped
priors (read-only, labelled as shipped), and loading whichever is chosen.
"""

from __future__ import annotations

import streamlit as st

from app import ui
from charrnn.core import inside
from charrnn.errors import UserError
from charrnn.runs import models
from charrnn.runs.models import ModelChoice
from charrnn.runs.priors import find_prior, is_prior, load_prior
from charrnn.runs.report import escape_markdown

SHIPPED_NOTE = (
    "A shipped prior: trained for you on a large public set, the same for everyone and never "
    "changed here. What you make with it is kept in your workspace."
)


def choose(space, choices: list[ModelChoice], key: str, help: str, empty: str) -> ModelChoice:
    """A "Model" select box (the workspace's current model chosen first); choosing makes it
    the current one. With nothing to choose: ``empty`` and a way Home, then stop."""
    if not choices:
        st.info(empty)
        if st.button("Go to Home", key=f"{key}_go_home", type="primary"):
            st.switch_page("pages/home.py")
        st.stop()
    by_id = {choice.id: choice for choice in choices}
    ids = list(by_id)
    current = models.current_model(space)

    def remember() -> None:
        chosen = st.session_state.get(key)
        if chosen in by_id:
            try:
                models.choose_model(space, chosen)
            except UserError:
                pass  # gone meanwhile (deleted in another tab): the page says so next

    chosen = st.selectbox(
        "Model",
        ids,
        index=ids.index(current) if current in ids else 0,
        format_func=lambda model_id: by_id[model_id].label,
        key=key,
        on_change=remember,
        help=f"{help} Shipped priors are listed after your runs.",
    )
    choice = by_id[chosen]
    if choice.shipped:
        prior = find_prior(choice.id)
        st.caption(f"{SHIPPED_NOTE} {escape_markdown(prior.description)}")
    return choice


@st.cache_resource(max_entries=4, show_spinner="Loading the shipped prior…")
def _load_prior(reference: str):
    """A prior's model, vocabulary and step, read (and checksummed) once per server."""
    model, vocabulary, info = load_prior(reference)
    model.eval()
    return model, vocabulary, int(info.get("step", 0))


def load(space, model_id: str):
    """(model, vocabulary, step) of a run's latest model or a prior, or None (reason shown)."""
    if not is_prior(model_id):
        return ui.load_run_model(space, model_id)
    try:
        return _load_prior(model_id)
    except UserError as error:
        st.error(f"This shipped prior cannot be loaded. {error}")
    return None


@st.cache_resource(max_entries=16, show_spinner="Reading the text with the model…")
def _prior_trace(reference: str, text: str) -> inside.Trace:
    model, vocabulary, _ = _load_prior(reference)
    return inside.trace(model, vocabulary, text)


def cached_trace(space, model_id: str, text: str) -> inside.Trace:
    """The Inside page's trace of ``text`` by a run's latest model or a prior (cached)."""
    if is_prior(model_id):
        return _prior_trace(model_id, text)
    return ui.cached_trace(space, model_id, text)
