"""The Generate page's "Decorate a scaffold": a scaffold with attachment points (*), how many
tries, and the decorations drawn with the scaffold shaded, invalid ones explained, exported.
"""

from __future__ import annotations

import streamlit as st

from app import sketcher, ui
from charrnn.chem.decorate import MAX_SCAFFOLD_LENGTH, MAX_TRIES, Decorations, decorate
from charrnn.chem.drawing import grid_svg, molecule_svg
from charrnn.chem.export import export_sdf
from charrnn.core.sample import MAX_SEED, SampleConfig
from charrnn.errors import UserError
from charrnn.runs.decorations import (
    bounded_decoration,
    decorations_csv,
    read_decorations,
    save_decorations,
    trained_with_augmentation,
)
from charrnn.runs.models import results_folder
from charrnn.runs.priors import is_prior

TASKS = ("write", "decorate")
DEFAULT_TRIES = 200
SHOWN = 24  # valid decorations drawn
WHICH_MODELS = (
    "Models trained with SMILES augmentation (Train: *SMILES augmentation*) read scaffolds "
    "best: the scaffold is written so that it ends at the attachment point, a spelling that "
    "a model which learned one (canonical) spelling of each molecule, like the shipped "
    "prior, has rarely seen, so it misreads some scaffolds (an indole with two points: 27% "
    "valid as shipped, 55% after five minutes of fine-tuning with augmentation)."
)
HOW = (
    "Each * is filled in turn: the app writes the molecule so far so that it ends at that "
    "attachment point and lets the model carry on; what it writes there is the new group."
)


def chosen() -> bool:
    """The task radio at the top of Generate for molecule models: True for decorating."""
    task = st.radio(
        "Task",
        TASKS,
        format_func={"write": "Write molecules", "decorate": "Decorate a scaffold"}.get,
        key="generate_task",
        horizontal=True,
        help="Write molecules from scratch (or from a start), or give a scaffold with "
        "attachment points (*) and let the model add groups there.",
    )
    return task == "decorate"


def _note_on_model(augmented: bool | None) -> None:
    if augmented:
        st.success("This model was trained with SMILES augmentation: it reads scaffolds well.")
    elif augmented is False:
        st.info(WHICH_MODELS)
    else:
        st.caption(WHICH_MODELS)


def _settings() -> tuple[str, SampleConfig]:
    scaffold = sketcher.molecule_input(
        "Scaffold, with * at each attachment point",
        "decorate_scaffold",
        placeholder="for example *c1ccc(*)cc1 or O=C(*)N1CCCCC1",
        help="A SMILES with up to four * marks, each bonded to one atom: the model adds a "
        "group at each. Attachment points written [1*] or [*:1] work too. A scaffold typed "
        "here is drawn in the editor; a drawing comes back here, where * marks can be added.",
    )[:MAX_SCAFFOLD_LENGTH]
    first, second = st.columns(2)
    tries = first.number_input(
        "Tries",
        1,
        MAX_TRIES,
        DEFAULT_TRIES,
        step=50,
        key="decorate_tries",
        help="Decorations made; the same molecule made again is counted, not shown twice.",
    )
    length = second.slider(
        "Longest group (symbols)",
        5,
        120,
        60,
        5,
        key="decorate_length",
        help="A group still unfinished at this length counts as invalid.",
    )
    first, second = st.columns(2)
    temperature = first.slider(
        "Temperature",
        0.0,
        2.0,
        1.0,
        0.05,
        key="decorate_temperature",
        help="low = the usual groups, high = surprising ones (and more mistakes)",
    )
    seed = second.number_input(
        "Seed (0 = new each time)",
        0,
        MAX_SEED,
        0,
        key="decorate_seed",
        help="The same seed with the same settings gives the same decorations again.",
    )
    config = SampleConfig(
        temperature=temperature,
        max_length=int(length),
        num_samples=int(tries),
        seed=int(seed) or None,
    )
    return scaffold, config


def _make(space, model_id: str, model, vocabulary, scaffold: str, config: SampleConfig) -> None:
    try:
        config, note = bounded_decoration(model, scaffold, config)
        if note:
            st.info(note)
        with st.spinner("Decorating…"):
            made = decorate(model, vocabulary, scaffold, config)
    except UserError as error:
        st.error(ui.plain(str(error)))
        return
    try:
        save_decorations(results_folder(space, model_id, create=True), made, config.seed)
    except OSError as error:  # e.g. DiskFullError: its strerror is for people
        st.warning(f"These decorations could not be kept. {error.strerror or error}")
        st.session_state["decorate_unsaved"] = made.to_json()


def _kept(space, model_id: str):
    try:
        return read_decorations(results_folder(space, model_id))
    except UserError:  # a prior nothing was made with yet
        return None


def _show(made) -> None:
    valid = [item for item in made.found if item.valid]
    invalid = [item for item in made.found if not item.valid]
    st.subheader("Decorations")
    drawing, numbers = st.columns([1, 2])
    drawing.image(molecule_svg(made.scaffold, (220, 160), legend="the scaffold"))
    first, second = numbers.columns(2)
    first.metric("Valid decorations", f"{made.valid_tries:,} of {made.tries:,} tries")
    second.metric("Different valid molecules", f"{made.unique_valid:,}")
    numbers.caption(
        f"{HOW} The model carried on from `{made.prompt}` at the first point."
        if made.prompt
        else HOW
    )
    if valid:
        shown = valid[:SHOWN]
        legends = [f"×{item.count} · log-likelihood {item.log_likelihood:.1f}" for item in shown]
        st.image(
            grid_svg(
                [item.smiles for item in shown],
                legends=legends,
                columns=4,
                highlights=[item.scaffold_atoms for item in shown],
            )
        )  # an <img>: scripts never run
        st.caption(
            "The scaffold is shaded; ×N: how many tries gave this molecule. "
            + (
                f"The {SHOWN} most frequent are drawn; the download has all."
                if len(valid) > SHOWN
                else ""
            )
        )
    if invalid:
        with st.expander(f"Why {sum(item.count for item in invalid):,} tries failed"):
            st.dataframe(
                {
                    "what was written": [item.smiles for item in invalid],
                    "why it is not a decoration": [item.reason for item in invalid],
                    "tries": [item.count for item in invalid],
                },
                hide_index=True,
            )
    first, second = st.columns(2)
    first.download_button(
        "Download all (.csv)",
        lambda: decorations_csv(made).encode("utf-8"),
        file_name="decorations.csv",
        mime="text/csv",
        key="decorate_download_csv",
        on_click="ignore",
        help="Each molecule once: valid or not and why, the tries that gave it, the groups "
        "written at each attachment point, log-likelihood and properties.",
    )
    second.download_button(
        "Download the valid ones (.sdf)",
        lambda: export_sdf([(item.smiles, item.log_likelihood) for item in valid]).text.encode(),
        file_name="decorations.sdf",
        mime="chemical/x-mdl-sdfile",
        key="decorate_download_sdf",
        on_click="ignore",
        disabled=not valid,
    )


def show(space, model_id: str, model, vocabulary) -> None:
    """The whole "Decorate a scaffold" task: note on the model, settings, button, results."""
    run_folder = None if is_prior(model_id) else space.run_dir(model_id)
    _note_on_model(trained_with_augmentation(run_folder, model_id))
    scaffold, config = _settings()
    if st.button("Decorate", key="decorate_button", type="primary"):
        st.session_state.pop("decorate_unsaved", None)
        _make(space, model_id, model, vocabulary, scaffold, config)
    unsaved = st.session_state.get("decorate_unsaved")
    made = Decorations.from_json(unsaved) if unsaved else _kept(space, model_id)
    if made is not None:
        _show(made)
