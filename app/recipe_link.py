"""Recipe links on the Train page: open one (fill the settings; nothing starts) or share one.

What a link may hold, and its checks, are charrnn.runs.recipe's; here are only the Train
page's widget keys and the address bar.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from app import ui
from charrnn.corpora.builtins import builtin_corpora, is_downloaded, load_builtin
from charrnn.corpora.reading import CorpusError
from charrnn.errors import UserError
from charrnn.runs.plan import RunChoice
from charrnn.runs.priors import is_prior
from charrnn.runs.recipe import MARK, TOKEN, Recipe, read_recipe, recipe_query

NOTICE = "recipe_notice"  # the recipe opened last: {"notes": [...], "problems": [...]}
NEW_MODEL = ""  # the Train page's "Start from" value of a new model
BUILTIN = "builtin:"


def open_recipe(space) -> None:
    """When the address holds a recipe: make its built-in corpus the workspace's, fill the
    Train page's widgets (before they are drawn), take the recipe out of the address so a
    refresh keeps the visitor's own changes, and draw the page again. Nothing starts."""
    if MARK not in st.query_params:
        return
    params = st.query_params.to_dict()
    for key in params:
        if key != TOKEN:
            del st.query_params[key]
    visitor = ui.current_corpus(space) or {}
    recipe = read_recipe(params, visitor.get("kind"), space.server_settings.job_minutes)
    notes, problems = [], list(recipe.problems)
    kind = visitor.get("kind")
    choices = {"preset": recipe.preset, "start_from": recipe.init_from or NEW_MODEL}
    if recipe.corpus:
        corpus, note = builtin_choice(recipe.corpus)
        if corpus is None:
            problems.append(note)
        else:
            choices["corpus"], kind = corpus, corpus["kind"]
            notes.append(f"Your corpus is now {corpus['name']}." + (f" {note}" if note else ""))
            st.session_state.pop("builtin_choice", None)  # the Corpus page shows it chosen
    try:
        space.update_choices(**choices)
    except UserError as error:  # e.g. the server keeps as many workspaces as it may
        problems.append(str(error))
    st.session_state.update(widget_values(recipe, smiles=kind == "smiles"))
    st.session_state[NOTICE] = {"notes": notes, "problems": problems}
    st.rerun()  # the sidebar, drawn before, names the recipe's corpus too


def builtin_choice(corpus_id: str) -> tuple[dict | None, str]:
    """A built-in corpus as the workspace's choice (molecules RDKit cannot read left out,
    as on Home), with a sentence about it; (None, why) when it is not on this computer."""
    corpus = next(corpus for corpus in builtin_corpora() if corpus.id == corpus_id)
    if not is_downloaded(corpus_id):
        return None, (
            f"{corpus.title} is not on this computer yet: download it on the Corpus page, "
            "then open the link again."
        )
    invalid, note = 0, ""
    if corpus.kind == "smiles":
        try:
            invalid = len(load_builtin(corpus_id).invalid_lines)
        except CorpusError as error:
            return None, str(error)
        if invalid:
            note = f"{invalid:,} of its lines are not molecules RDKit can read: they are left out."
    chosen = {
        "reference": f"{BUILTIN}{corpus_id}",
        "name": corpus.title,
        "kind": corpus.kind,
        "smiles_column": None,
        "drop_invalid": invalid > 0,
    }
    return chosen, note


def widget_values(recipe: Recipe, smiles: bool) -> dict:
    """The Train page's widget keys and the values a recipe gives them (pages/train.py and
    app/train_form.py draw the widgets under these keys)."""
    prior = is_prior(recipe.init_from)
    kind = "finetune" if prior else recipe.preset  # the keys of a size's own defaults
    train = recipe.train
    values = {
        "train_init_from": recipe.init_from or NEW_MODEL,
        "train_preset": recipe.preset,
        "train_engine": recipe.engine,
        "train_run_name": recipe.name,
        "train_limit": "minutes" if train["minutes"] is not None else "steps",
        "train_sequence_length": train["sequence_length"],
        "train_batch_size": train["batch_size"],
        "train_weight_decay": train["weight_decay"],
    }
    if smiles:
        values["train_representation"] = recipe.representation
        values["train_augment"] = train["augment"]
        values[f"train_chem_every_{kind}"] = train["chem_every"]
        values[f"train_canonical_{kind}"] = train["canonical"]
    if train["minutes"] is not None:
        values["train_minutes"] = train["minutes"]
    else:
        values[f"train_steps_{kind}"] = train["steps"]
    rate_key = "train_learning_rate"
    if recipe.engine == "numpy":
        rate_key += "_numpy"
    elif prior:
        rate_key += "_finetune"
    values[rate_key] = train["learning_rate"]
    for field, value in recipe.model.items():
        values[f"train_{field}_{recipe.preset}"] = value
    if recipe.init_from:
        values["train_freeze_layers"] = train["freeze_layers"]
    return values


def show_notice() -> None:
    """What the recipe opened last did, until Train is pressed (see forget_notice)."""
    notice = st.session_state.get(NOTICE)
    if not notice:
        return
    lines = " ".join(ui.plain(note) for note in notice["notes"])
    st.info(f"Filled from a recipe link: press Train to start. {lines}", icon=":material/link:")
    for problem in notice["problems"]:
        st.warning(ui.plain(problem), icon=":material/warning:")


def forget_notice() -> None:
    st.session_state.pop(NOTICE, None)


def share(corpus: dict, choice: RunChoice, representation: str, name: str) -> None:
    """The "Share these settings as a link" expander: the link, and what it does not carry."""
    reference = str(corpus.get("reference", ""))
    corpus_id = reference.removeprefix(BUILTIN) if reference.startswith(BUILTIN) else None
    query = recipe_query(
        corpus_id,
        choice.preset or "",
        choice.init_from,
        representation,
        choice.train.to_json(),
        choice.model,
        engine=choice.engine,
        name=name,
        corpus_kind=corpus.get("kind", "text"),
    )
    address = st.context.url or "train"  # this page's address, without its query
    with st.expander("Share these settings as a link", icon=":material/share:"):
        st.caption(
            "Anyone who opens this link gets these settings on the Train page of their own "
            "workspace; nothing starts until they press Train. Your workspace is not part of it."
        )
        st.code(f"{address}?{urlencode(query)}", language=None, wrap_lines=True)
        if corpus_id is None:
            st.caption(
                "Your corpus is a file of your own: a link carries the built-in corpora only, "
                "so each visitor trains on the corpus they have chosen."
            )
        if choice.init_from and not is_prior(choice.init_from):
            st.caption("A model of your own workspace cannot travel: the link starts a new one.")
