"""Generate: write new text or molecules with a trained run, and see why it chose them.

Sliders shape the sampling; the "why" panel shows what temperature, top-k and top-p do.
"""

from __future__ import annotations

import streamlit as st

from app import (
    decorate_view,
    model_choice,
    molecule_downloads,
    sampling_mode,
    share_form,
    sketcher,
    ui,
    why_panel,
)
from charrnn.chem.drawing import grid_svg
from charrnn.core.representation import writes_selfies
from charrnn.core.sample import MAX_SEED, sample
from charrnn.core.sampling_budget import bounded_config
from charrnn.errors import UserError
from charrnn.runs import gallery
from charrnn.runs.folder import read_generated, save_generated
from charrnn.runs.generate_view import (
    as_molecules,
    distinct_valid,
    made_text,
    molecule_table,
    sample_config,
    samples_text,
    share_text,
    shared_items,
)
from charrnn.runs.models import model_choices, results_folder
from charrnn.runs.status import RunStatus


def kept_samples(space, model_id: str) -> dict | None:
    """The last samples made with this model in this workspace (None: none yet)."""
    try:
        return read_generated(results_folder(space, model_id))
    except UserError:  # a prior nothing was made with yet, or a run deleted meanwhile
        return None


def show_text(samples: list[tuple[str, float]]) -> None:
    st.caption("Log-likelihood: how natural the model finds a sample (closer to 0 = more typical).")
    for number, (text, log_likelihood) in enumerate(samples, start=1):
        st.caption(f"Sample {number} · log-likelihood {log_likelihood:.1f}")
        st.code(text, language=None, wrap_lines=True)
    st.download_button(
        "Download all samples (.txt)",
        samples_text(samples).encode("utf-8"),
        file_name="samples.txt",
        mime="text/plain",
        key="generate_download_text",
        on_click="ignore",
    )


def show_molecules(samples: list[tuple[str, float]], vocabulary) -> None:
    table = molecule_table(samples, vocabulary)
    texts = list(table["SMILES"])
    first, second = st.columns(2)
    first.metric("Valid molecules", f"{int(table['valid'].sum())} of {len(texts)}")
    second.metric("Different molecules (among the valid)", distinct_valid(table))
    legends = [f"log-likelihood {ll:.1f}" for _, ll in samples]
    st.image(grid_svg(texts, legends=legends, columns=4))  # an <img>: scripts never run
    red = (
        "Red cards are strings RDKit cannot read as a molecule. "
        if not table["valid"].all()
        else ""
    )
    st.caption(
        f"{red}Log-likelihood: how natural the model finds a molecule (closer to 0 = more typical)."
    )
    st.dataframe(table, hide_index=True)
    molecule_downloads.molecules(as_molecules(samples, vocabulary))


def publish(author: str, space, model_id: str, run_name: str, smiles: bool, vocabulary) -> None:
    """Publish the model's kept samples to the class gallery (a UserError says why not)."""
    made = kept_samples(space, model_id)
    if not made:
        return
    entry_id = gallery.publish(
        None,
        space.token,
        author,
        "molecules" if smiles else "text",
        shared_items(made, smiles, vocabulary),
        run_name,
    )
    save_generated(results_folder(space, model_id), **{**made, "shared": entry_id})
    space.update_choices(author=" ".join(author.split()))  # offered again next time


def share(space, made: dict, model_id: str, run_name: str, smiles: bool, vocabulary) -> None:
    """The "Share with the class" form under the samples."""
    share_form.share_form(
        space,
        "generate",
        shared=bool(made.get("shared")),
        heading="Share with the class",
        done="Shared: everyone in the room can see it in the class gallery.",
        caption=share_text(made, smiles),
        button="Publish to the class gallery",
        publish=publish,
        args=(space, model_id, run_name, smiles, vocabulary),
    )


def sampling_form(smiles: bool, unit: str, counted: bool = True, selfies: bool = False) -> dict:
    """The sampling settings, as sample_config's arguments (seed 0: new samples); the
    number of samples only when ``counted`` (not when looking for N different ones)."""
    temperature = st.slider(
        "Temperature",
        0.0,
        2.0,
        0.8,
        0.05,
        key="generate_temperature",
        help="low = safe and repetitive, high = surprising and messy",
    )
    top_k = st.slider(
        "Top-k (0 = off)",
        0,
        100,
        0,
        key="generate_top_k",
        help=f"Only the k likeliest {unit}s may come next. 0 lets every {unit} compete.",
    )
    top_p = st.slider(
        "Top-p (1 = off)",
        0.05,
        1.0,
        1.0,
        0.05,
        key="generate_top_p",
        help=f"Only the likeliest {unit}s that together make up this share of the chances "
        "may come next: lower it to cut off the unlikely ones.",
    )
    if smiles:
        length = st.slider("Longest molecule (symbols)", 10, 300, 120, 10, key="generate_length_sm")
        count = (
            st.slider("Number of molecules", 1, 100, 16, key="generate_count_sm") if counted else 1
        )
        if selfies:  # the editor draws SMILES, which a SELFIES model does not write
            prompt = st.text_input(
                "Start of every molecule (optional)",
                key="generate_prompt_sm",
                max_chars=300,
                placeholder="for example [C][=C][C][=C][C][=C][Ring1][=Branch1]",
                help="Each molecule begins with these symbols (SELFIES, as the model writes "
                "them). Leave empty to let the model start.",
            )
        else:
            prompt = sketcher.molecule_input(
                "Start of every molecule (optional)",
                key="generate_prompt_sm",
                placeholder="for example c1ccccc1",
                help="Each molecule begins with these symbols: type them or draw a molecule. "
                "Leave empty to let the model start.",
            )
    else:
        length = st.slider("Length (characters)", 20, 2000, 300, 10, key="generate_length_text")
        count = (
            st.slider("Number of samples", 1, 10, 3, key="generate_count_text") if counted else 1
        )
        prompt = st.text_area(
            "Prompt (optional)",
            key="generate_prompt_text",
            max_chars=2000,
            height=90,
            help="The model carries on from this text. Leave empty to start on a new line.",
        )
    seed = st.number_input(
        "Seed (0 = new samples each time)",
        0,
        MAX_SEED,
        0,
        key="generate_seed",
        help="The same seed with the same settings gives the same samples again.",
    )
    return dict(
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        prompt=prompt,
        max_length=length,
        num_samples=count,
        seed=seed,
    )


space = ui.workspace()
st.title("Generate")
choices = model_choices(space)
if not choices:
    st.info(
        "There is no trained model here yet. Train one first: a minute on the toy pattern "
        "already gives something to play with, and it shows up here as soon as it has saved."
    )
    if st.button("Go to Train", key="generate_go_train", type="primary"):
        st.switch_page("pages/train.py")
    st.stop()
choice = model_choice.choose(
    space, choices, "generate_run", "Any of your runs that has saved a trained model.", ""
)
loaded = model_choice.load(space, choice.id)
if loaded is None:
    st.stop()
model, vocabulary, step = loaded
if choice.status not in (None, RunStatus.FINISHED, RunStatus.STOPPED):
    st.caption(f"This run is {choice.status}: you are using the model it saved at step {step}.")

smiles = vocabulary.line_based
selfies = writes_selfies(vocabulary)
if smiles and not selfies and decorate_view.chosen():  # a scaffold with attachment points
    decorate_view.show(space, choice.id, model, vocabulary)
    st.stop()
unit = "symbol" if smiles else "character"
settings, why = st.columns([1, 1], gap="large")
with settings:
    unique = sampling_mode.mode_form(smiles)
    chosen = sampling_form(smiles, unit, counted=unique is None, selfies=selfies)

with why, st.expander("Why these characters? (what temperature does)", expanded=True):
    why_panel.show(model, vocabulary, chosen, unit)

made = kept_samples(space, choice.id)  # kept in the run's folder: a refresh finds them
if st.button("Generate", key="generate_button", type="primary"):
    try:
        config, search = sample_config(**chosen), {}
        if unique:  # N different ones: how the search went is kept with them
            samples, search = sampling_mode.find_unique(model, vocabulary, config, unique)
        else:
            config, trimmed = bounded_config(model, vocabulary, config)  # the server is shared
            if trimmed:
                st.info(trimmed)
            with st.spinner("Writing…"):
                results = sample(model, vocabulary, config)
            samples = [(result.text, result.log_likelihood) for result in results]
    except UserError as error:
        st.error(ui.plain(str(error)))  # the last samples below stay
    else:
        made = {"seed": config.seed, "samples": samples, "step": step, **search}
        try:
            made = save_generated(results_folder(space, choice.id, create=True), **made)
        except OSError as error:  # e.g. DiskFullError: its strerror is for people
            st.warning(f"These samples are shown but could not be kept. {error.strerror or error}")
            made["unsaved"] = True  # sharing reads the kept samples: not offered for these

if made:
    st.subheader("Molecules" if smiles else "Samples")
    st.caption(made_text(made))
    if made.get("mode") == "unique":
        sampling_mode.show_outcome(made)
    if selfies:
        st.caption(
            "This model writes SELFIES: each string of its symbols spells a molecule. Below, "
            "what it wrote and the SMILES that spells the same molecule."
        )
    if smiles:
        show_molecules(made["samples"], vocabulary)
    elif made.get("mode") == "unique":
        sampling_mode.show_lines(made["samples"])
        molecule_downloads.lines(made["samples"])
    else:
        show_text(made["samples"])
    if not made.get("unsaved"):
        share(space, made, choice.id, choice.name, smiles, vocabulary)
