"""Chemistry: did the model learn chemistry? MOSES's metrics, property histograms, good molecules.

The check runs as a job in a worker; its report is kept in the run folder (charrnn.runs.assessment).
"""

from __future__ import annotations

import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import model_choice, molecule_downloads, ui
from charrnn.chem.drawing import grid_svg
from charrnn.chem.properties import PROPERTY_INFO
from charrnn.core.checkpoint import read_header
from charrnn.corpora.builtins import builtin_corpora
from charrnn.errors import UserError
from charrnn.runs import assessment
from charrnn.runs.assessment import AssessmentSettings
from charrnn.runs.folder import RunError
from charrnn.runs.models import model_choices, results_folder
from charrnn.runs.priors import find_prior
from charrnn.runs.report import escape_markdown
from charrnn.runs.status import CheckStatus

HEADLINE = ("valid", "unique@1000", "novelty", "intdiv1")
SAMPLE_COUNTS = (100, 300, 1000, 3000, 10000)
TRAINING_COLOUR, GENERATED_COLOUR = "#9aa5b1", "#e4572e"
space = ui.workspace()
runner = ui.job_runner()
st.title("Chemistry")
cluster_problem = ui.cluster_notice(runner)
st.caption(
    "Did the model learn chemistry? It writes many molecules, and we measure them the way "
    "the MOSES benchmark does, against the molecules it learned from."
)


def compare_with() -> str:
    """A shipped prior's training set is not shipped: the user picks what to compare with."""
    options = {f"builtin:{c.id}": c.title for c in builtin_corpora() if c.kind == "smiles"}
    corpus = ui.current_corpus(space)
    if corpus and corpus.get("kind") == "smiles" and not corpus.get("smiles_column"):
        options = {corpus["reference"]: f"{corpus['name']} (your corpus)"} | options
    return st.selectbox(
        "Compare with",
        list(options),
        format_func=options.get,
        key="chemistry_reference",
        help="The prior learned from the MOSES set (1.5 million drug-like molecules), which "
        "is not shipped. Its molecules are measured against the corpus you choose here: "
        "novelty, FCD and the property histograms are relative to it.",
    )


def check_form(choice, reference: str, busy: bool) -> None:
    """The check's settings and its button; while a check runs they stay on screen, greyed
    (a widget left undrawn would lose its value: the next check would start from 1,000)."""
    first, second, third = st.columns([2, 2, 1.4], vertical_alignment="bottom")
    count = first.select_slider(
        "Molecules to write",
        SAMPLE_COUNTS,
        value=1000,
        key="chemistry_samples",
        disabled=busy,
        help="More molecules give steadier numbers but take longer. MOSES uses 30,000.",
    )
    temperature = second.slider(
        "Temperature",
        0.1,
        2.0,
        1.0,
        0.05,
        key="chemistry_temperature",
        disabled=busy,
        help="MOSES measures at 1.0: the model's own distribution. Lower gives more valid "
        "but less varied molecules.",
    )
    fcd = third.checkbox(
        "Include FCD",
        value=True,
        key="chemistry_fcd",
        disabled=busy,
        help="The Fréchet ChemNet Distance. The first check on a corpus runs ChemNet over "
        "all its molecules (a minute or more on a big corpus); later checks reuse that.",
    )
    if st.button(
        "Check the chemistry",
        key="chemistry_start",
        type="primary",
        disabled=busy or bool(cluster_problem),
    ):
        settings = AssessmentSettings(
            samples=count, temperature=temperature, fcd=fcd, reference=reference
        )
        try:
            folder = results_folder(space, choice.id, create=True)
        except UserError as error:  # e.g. the workspace is full
            st.error(ui.plain(str(error)))
            return
        assessment.request(folder, settings)
        try:
            runner.submit(folder, "assess")
        except UserError as error:  # the course's cluster cannot be reached
            st.error(ui.plain(str(error)))
            return
        st.rerun()


def live_status(folder) -> None:
    """Progress of a check that is waiting or running; reruns the page when it is done."""
    status = assessment.read_status(folder)
    if status.get("status") not in assessment.ACTIVE:
        if st.session_state.pop("chemistry_watching", False):
            st.rerun(scope="app")
        return
    st.session_state["chemistry_watching"] = True
    try:
        place = runner.position(folder, "assess")
        wait = runner.expected_wait(folder, "assess") if place else None
        own = runner.waits_for_own_job(folder) if place else False
    except UserError as error:  # the course's cluster cannot be reached
        st.warning(ui.plain(str(error)))
        return
    if place:
        minutes = f", about {max(1, round(wait / 60))} min" if wait else ""
        if own:
            st.info(
                "Waiting for your training run: each person runs one job at a time on this "
                "server. Pause does not free it; stop the run (its model is saved) to check now."
            )
        else:
            st.info(f"Waiting for a free worker: number {place} in the queue{minutes}.")
    else:
        stage = status.get("stage") or "Working"
        st.progress(float(status.get("fraction") or 0.0), text=f"{stage}…")
    if st.button("Cancel the check", key="chemistry_cancel"):
        try:
            runner.cancel(folder, "assess")
            process = runner.process(folder, "assess")
            if process:
                process.terminate()
        except UserError as error:  # the course's cluster cannot be reached
            st.error(ui.plain(str(error)))
            return
        assessment.write_status(folder, status=CheckStatus.CANCELLED)
        st.rerun(scope="app")


def histogram_chart(name: str, shares: dict) -> go.Figure:
    info = PROPERTY_INFO[name]
    edges = shares["edges"]
    centres = [(low + high) / 2 for low, high in zip(edges[:-1], edges[1:], strict=True)]
    width = edges[1] - edges[0]
    figure = go.Figure(
        [
            go.Bar(
                x=centres,
                y=shares[series],
                width=width,
                name=label,
                marker_color=colour,
                opacity=0.6,
                hovertemplate="%{x:.3g}: %{y:.1%}",
            )
            for series, label, colour in (
                ("training", "training molecules", TRAINING_COLOUR),
                ("generated", "generated", GENERATED_COLOUR),
            )
        ]
    )
    unit = f" ({info.unit})" if info.unit else ""
    figure.update_layout(
        barmode="overlay",
        height=260,
        margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text=f"{info.name}{unit}", font=dict(size=14)),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"),
        yaxis=dict(title="share", tickformat=".0%"),
        showlegend=name == "weight",
    )
    return figure


def show_report(report: dict, step: int) -> None:
    settings = report["settings"]
    made = time.strftime("%d %b %H:%M", time.localtime(report["created"]))
    against = report.get("compared_with")
    against = f"molecules of {escape_markdown(against)}" if against else "training molecules"
    st.caption(
        f"{settings['samples']:,} molecules written at temperature {settings['temperature']:g} "
        f"by the model at step {report['step']:,} ({made}), compared with "
        f"{report['training']['valid']:,} {against}."
    )
    if report.get("written_as") == "SELFIES":
        st.caption(
            "This model writes SELFIES: each of its strings is decoded to SMILES, and the "
            "molecules are measured as SMILES, exactly as for a SMILES model."
        )
    if report["step"] != step:
        st.info("The model has trained further since this check: check again to update it.")
    metrics = {metric["key"]: metric for metric in report["metrics"]}
    for metric in report["metrics"]:
        if metric["flag"]:
            st.warning(metric["flag"])
    columns = st.columns(len(HEADLINE))
    for column, key in zip(columns, HEADLINE, strict=True):
        metric = metrics.get(key)
        if metric:
            value = "n/a" if metric["value"] is None else f"{metric['value']:.3f}"
            column.metric(metric["name"], value, help=f"{metric['explanation']} {metric['good']}")
    st.subheader("Every measure, explained")
    table = pd.DataFrame(
        {
            "Measure": [m["name"] for m in report["metrics"]],
            "Value": [
                "not measured" if m["value"] is None else f"{m['value']:.4f}"
                for m in report["metrics"]
            ],
            "What it measures": [m["explanation"] for m in report["metrics"]],
            "What good looks like": [m["good"] for m in report["metrics"]],
        }
    )
    st.table(table, hide_index=True)  # a static table wraps the sentences (a grid cut them)
    st.subheader("Properties: generated against training")
    st.caption(
        "Where the orange bars sit on the grey ones, the model writes molecules like those "
        "it learned from. Hover a bar for its share."
    )
    histograms = assessment.property_histograms(report)
    columns = st.columns(2)
    for number, (name, shares) in enumerate(histograms.items()):
        with columns[number % 2]:
            st.plotly_chart(
                histogram_chart(name, shares),
                key=f"chemistry_hist_{name}",
                config={"displayModeBar": False},
            )
    passing = assessment.passing_molecules(report)
    st.subheader("Molecules that passed the filters")
    st.caption(
        "Valid, no reactive or troublesome groups (MOSES's MCF and PAINS alerts), ordinary "
        "atoms, no charges. New ones (not in the training set) come first."
    )
    if passing:
        legends = [("new" if row["novel"] else "in training set") for row in passing]
        st.image(grid_svg([row["canonical"] for row in passing], legends=legends, columns=4))
    else:
        st.info("No generated molecule passed the filters yet: train longer.")
    first, second = st.columns(2)
    with first:
        ui.csv_download(
            "Download every molecule with its properties (.csv)",
            pd.DataFrame(report["samples"]),
            "chemistry.csv",
            "chemistry_download",
        )
    valid = [(row["canonical"], None) for row in report["samples"] if row["valid"]]
    second.download_button(
        "Download the valid molecules (.sdf)",
        lambda: molecule_downloads.sdf_bytes(valid),  # made when pressed: RDKit on each
        file_name="chemistry.sdf",
        mime="chemical/x-mdl-sdfile",
        key="chemistry_download_sdf",
        on_click="ignore",
        help="Each valid molecule with 2D coordinates and its properties as SD fields.",
    )


choice = model_choice.choose(
    space,
    model_choices(space, molecules_only=True),
    "chemistry_run",
    "Your runs that learned molecules and have saved a model.",
    'Chemistry needs a model trained on molecules. On Home, press "Generate molecules": '
    "a tiny model learns the NCI molecules in a few minutes.",
)
reference = compare_with() if choice.shipped else ""
if choice.shipped:
    step = int(find_prior(choice.id).training.get("steps", 0))
    try:
        folder = results_folder(space, choice.id)
    except RunError:
        folder = None  # not yet checked in this workspace
else:
    try:
        folder = space.run_dir(choice.id)
        step = int(read_header(folder).get("step", 0))
    except (UserError, OSError):
        st.error("This run has just gone away (deleted?). Pick another one.")
        st.stop()

status = assessment.read_status(folder) if folder else {}
active = status.get("status") in assessment.ACTIVE
check_form(choice, reference, busy=active)
if status.get("status") in (CheckStatus.FAILED, CheckStatus.INTERRUPTED):
    st.error(f"The last check did not finish. {escape_markdown(status.get('error') or '')}")
if folder:
    st.fragment(live_status, run_every=1.0 if active else None)(folder)
report = assessment.read_report(folder) if folder else None
if report:
    show_report(report, step)
elif not active:
    st.info("Press the button to write molecules and measure them (about half a minute).")
