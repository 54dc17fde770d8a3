"""Inside: what the network does as it reads, step by step (charrnn.core.inside and
hidden_units do the work).

Chances of the next character, the loss of each step, the hidden state, and the units that
follow something nameable; for the toy pattern, how the state settles into a cycle.
"""

from __future__ import annotations

import random

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app import model_choice, ui
from charrnn.core import hidden_units, inside
from charrnn.core.detectors import detectors
from charrnn.core.representation import as_written, to_smiles, writes_selfies
from charrnn.core.sample import MAX_SEED, SampleConfig, sample
from charrnn.core.sampling_budget import bounded_config
from charrnn.errors import UserError
from charrnn.runs.config import load_corpus, read_run_config
from charrnn.runs.models import model_choices
from charrnn.runs.priors import is_prior
from charrnn.runs.report import text_html

TEXT_LIMIT = 600  # characters traced on this page
TARGET_COLOUR, OTHER_COLOUR = "#e4572e", "#9aa5b1"
STATIC = {"displayModeBar": False}
PRIOR_TEXTS, PRIOR_TEXTS_TITLE = "builtin:nci-5k", "NCI first 5K (RDKit)"
space = ui.workspace()
st.title("Inside the network")
st.caption(
    "A recurrent network reads one character at a time. After each one it updates its "
    "memory (the hidden state: a list of numbers) and guesses the next character. "
    "Here you watch it do that on a text of your choice."
)


@st.cache_data(max_entries=8, show_spinner=False)
def corpus_text(reference: str, column: str | None, drop_invalid: bool) -> tuple[str, list[str]]:
    corpus = load_corpus(reference, smiles_column=column, drop_invalid=drop_invalid)
    return corpus.text or "", list(corpus.lines or [])


def written(molecule: str, vocabulary) -> str:
    """A SMILES as the model reads it: a SELFIES model's SELFIES ("" and why, if none)."""
    try:
        return as_written(molecule, vocabulary)
    except UserError as error:
        st.error(ui.plain(str(error)))
        return ""


def choose_text(model, vocabulary, model_id: str, smiles: bool) -> str:
    source = st.radio(
        "Text to read",
        ["From the corpus", "A sample the model writes", "Type your own"],
        horizontal=True,
        key="inside_source",
    )
    if source == "Type your own":
        default = "c1ccccc1C(=O)O" if smiles else "The quick brown fox. "
        label = "Your molecule (SMILES)" if writes_selfies(vocabulary) else "Your text"
        typed = st.text_input(label, default, max_chars=TEXT_LIMIT, key="inside_typed")
        return written(typed, vocabulary) if smiles else typed
    if source == "A sample the model writes":
        if (
            st.button("Write another", key="inside_resample")
            or "inside_sample" not in st.session_state
        ):
            config = SampleConfig(
                temperature=0.8,
                max_length=120 if smiles else 300,
                seed=random.randint(1, MAX_SEED),
                prompt="" if smiles else "\n",
            )
            config, _ = bounded_config(model, vocabulary, config)  # shorter for big models
            st.session_state["inside_sample"] = sample(model, vocabulary, config)[0].text
        return st.session_state["inside_sample"]
    if is_prior(model_id):  # its training set is not shipped: molecules of a built-in
        st.caption(f"Molecules from {PRIOR_TEXTS_TITLE}: the prior's own set is not shipped.")
        text, lines = corpus_text(PRIOR_TEXTS, None, True)
    else:
        config = read_run_config(space.run_dir(model_id))
        if not space.owns_corpus(config.corpus):
            st.info("This run's corpus is not in this workspace: pick another source.")
            return ""
        text, lines = corpus_text(config.corpus, config.smiles_column, config.drop_invalid)
    if smiles:
        number = st.number_input("Molecule number", 1, len(lines), 1, key="inside_line")
        return written(lines[int(number) - 1], vocabulary)
    longest = max(0, len(text) - 300)
    start = st.slider("Start at character", 0, longest, 0, 100, key="inside_start")
    return text[start : start + 300]


def probability_chart(view: inside.StepView) -> go.Figure:
    labels = [label for label, _ in view.top]
    figure = go.Figure(
        go.Bar(
            y=[f"{label} " for label in labels],  # plotly reads a little HTML: keep labels plain
            x=[p for _, p in view.top],
            orientation="h",
            marker_color=[TARGET_COLOUR if lab == view.target else OTHER_COLOUR for lab in labels],
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=80 + 26 * len(labels),
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="chance of coming next", range=[0, 1], tickformat=".0%"),
        yaxis=dict(type="category", autorange="reversed"),
    )
    return figure


def step_section(trace: inside.Trace) -> None:
    st.subheader("1. Step through the text")
    positions = len(trace.losses)
    position = st.slider("Step", 1, positions, min(positions, 12), key="inside_step") - 1
    view = inside.step_view(trace, position)
    st.html(text_html(trace.pieces, current=position))
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.caption(f"After reading {view.input!r}, the model's ten likeliest next characters:")
        st.plotly_chart(probability_chart(view), key="inside_bars", config=STATIC)
    with right:
        st.metric("The true next character", view.target)
        st.metric("Its chance", f"{view.target_probability:.1%}", help="p in the formula below")
        st.metric("Its rank", f"{view.target_rank}", help="1 = the model's first guess")
        st.metric("Loss of this step", f"{view.loss:.3f}", help="−ln p: 0 when p = 100%")
    with st.expander("How the loss is computed, with these numbers"):
        st.latex(r"p = \frac{e^{z_\text{true}}}{\sum_j e^{z_j}} \qquad \text{loss} = -\ln p")
        st.text(view.worked_example["text"])
    curve = inside.loss_curve(trace)
    figure = go.Figure(
        [
            go.Scatter(
                y=curve.losses, name="loss of each step", mode="lines", line_color="#9aa5b1"
            ),
            go.Scatter(y=curve.running_mean, name="mean so far", line_color=TARGET_COLOUR),
        ]
    )
    figure.add_vline(x=position, line_dash="dot")
    figure.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="step")
    st.caption("The loss of every step: training makes the mean of these fall.")
    st.plotly_chart(figure, key="inside_losses", config=STATIC)


def memory_section(trace: inside.Trace, kind: str) -> None:
    """The hidden state as a heat map, and the units that follow a detector (kind "text",
    "smiles" or "selfies")."""
    st.subheader("2. The memory: hidden state")
    st.caption(
        "Each row is one unit of the memory, each column one step; orange is positive, "
        "blue negative. Patterns that repeat show what the network keeps track of."
    )
    shown = trace.hidden.T[:128]
    heatmap = go.Figure(
        go.Heatmap(z=shown, colorscale="RdBu_r", zmid=0, hovertemplate="step %{x}, unit %{y}")
    )
    heatmap.update_layout(
        height=320, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="step", yaxis_title="unit"
    )
    st.plotly_chart(heatmap, key="inside_heatmap", config=STATIC)
    found = hidden_units.interpretable_units(trace, detectors(trace.text, kind), top=10)
    st.subheader("3. Units that track something")
    if not found.best:
        st.info("This text is too plain for the detectors: pick a longer or more varied one.")
        return
    st.caption(
        "Each detector is a simple fact about the text (are we inside quotes? how many "
        "brackets are open?). The unit whose activity follows it best, by correlation:"
    )
    descriptions = {d.name: d.description for d in detectors(trace.text, kind)}
    st.dataframe(
        {
            "detector": [match.detector for match in found.best],
            "what it means": [descriptions[match.detector] for match in found.best],
            "unit": [match.unit for match in found.best],
            "correlation": [round(match.correlation, 2) for match in found.best],
        },
        hide_index=True,
    )
    units = [match.unit for match in found.best]
    strongest_first = list(dict.fromkeys(units))
    unit = st.selectbox("Colour the text by unit", strongest_first, key="inside_unit")
    st.html(text_html(trace.pieces, values=hidden_units.unit_colours(trace, unit)))
    chosen = st.multiselect(  # a key per set of units: another model's or text's start full
        "Units over time",
        strongest_first,
        default=strongest_first[:3],
        key=f"inside_units_{'_'.join(map(str, strongest_first))}",
    )
    if not chosen:
        st.caption("Choose one or more units above to draw their activity.")
        return
    lines = go.Figure([go.Scatter(y=trace.hidden[:, u], name=f"unit {u}") for u in chosen])
    lines.update_layout(height=240, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="step")
    st.plotly_chart(lines, key="inside_unit_lines", config=STATIC)


def cycle_section(trace: inside.Trace) -> None:
    view = hidden_units.cycle_view(trace)
    st.subheader("4. A first lesson: the pattern")
    st.caption(
        f"This text repeats every {view.period} characters. Green: the model's best guess "
        f"was right; red: wrong. It guessed {view.accuracy:.0%} right."
    )
    marks = np.where(view.correct, 0.6, -0.6)
    st.html(text_html(trace.pieces, values=-marks))
    figure = go.Figure(go.Scatter(x=view.distance_positions, y=view.distances, mode="lines"))
    figure.update_layout(
        height=220,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title="step",
        yaxis_title="change since one period ago",
    )
    st.caption(
        "How far the memory is from where it was one period earlier: it falls toward 0 as "
        "the network settles into a cycle that mirrors the pattern."
    )
    st.plotly_chart(figure, key="inside_cycle", config=STATIC)


choice = model_choice.choose(
    space,
    model_choices(space),
    "inside_run",
    "Any of your runs that has saved a trained model.",
    'Nothing to look inside yet. On Home, press "Learn a pattern": a tiny model learns it '
    "in seconds and this page shows how.",
)
loaded = model_choice.load(space, choice.id)
if loaded is None:
    st.stop()
model, vocabulary, _ = loaded
smiles = vocabulary.line_based
selfies = writes_selfies(vocabulary)
text = choose_text(model, vocabulary, choice.id, smiles)
if selfies and text:
    st.caption(
        "This model writes SELFIES, one bracketed symbol at a time: each step below is a "
        f"symbol. The molecule in SMILES: {to_smiles(text, vocabulary) or '(no atom)'}"
    )
try:
    trace = model_choice.cached_trace(space, choice.id, text)
except UserError as error:
    st.error(ui.plain(str(error)))
    st.stop()
if trace.truncated:
    st.caption(f"Only the first {len(trace.inputs)} characters are shown.")
step_section(trace)
memory_section(trace, "selfies" if selfies else "smiles" if smiles else "text")
if not smiles and hidden_units.cycle_view(trace).period_agreement >= 0.8:
    cycle_section(trace)
elif not smiles:
    st.caption(  # the "Learn a pattern" corpus itself is in random order: it never repeats
        'Tip: choose "Type your own" and type a text that repeats, like "abcd abcd abcd abcd", '
        'to watch the memory settle into a cycle; a model of "Learn a pattern" (Home) '
        "shows it best."
    )
