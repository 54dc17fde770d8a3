"""Steer: build a score, and let reinforcement learning move a molecule model toward it.

The engine is charrnn.runs.steer_run (a steering run is a run folder, steered by a worker).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import model_choice, score_builder, ui
from charrnn.chem.drawing import grid_svg
from charrnn.chem.hits_export import hits_csv, hits_sdf
from charrnn.errors import UserError
from charrnn.runs.models import model_choices
from charrnn.runs.status import ACTIVE, RunStatus
from charrnn.runs.steer_config import SteerConfig
from charrnn.runs.steer_run import is_steering_run, new_steering_run, read_hits, starting_point

HITS_DRAWN = 12
space = ui.workspace()
runner = ui.job_runner()
st.title("Steer")
st.caption(
    "Say what molecules you want, and the model learns to write more of them: it writes a "
    "batch, each molecule gets a score, and the model becomes more likely to write the "
    "high scorers, while staying close to the model it started from, so it keeps writing "
    "real chemistry (reinforcement learning, as REINVENT does it)."
)

choice = model_choice.choose(
    space,
    model_choices(space, molecules_only=True),
    "steer_model",
    "The model to steer: a shipped prior or one of your molecule runs.",
    'Steering needs a model of molecules. On Home, press "Generate molecules".',
)
start = choice.id if choice.shipped else str(space.run_dir(choice.id))

st.subheader("1. What you want")
score_builder.goals(space)
score = score_builder.current(space)
if score:
    score_builder.parts(space, score)
score_builder.add_form(space, score)
if score is None:
    st.info("Choose a goal or add a part to build a score.")
    st.stop()

st.subheader("2. How the model does now")
if st.button("Score 128 of its molecules", key="steer_baseline"):
    try:
        with st.spinner("Writing and scoring 128 molecules…"):
            st.session_state["steer_baseline_result"] = starting_point(start, score, 128)
    except UserError as error:
        st.error(ui.plain(str(error)))
baseline = st.session_state.get("steer_baseline_result")
if baseline:
    summary = baseline["summary"]
    columns = st.columns(4)
    columns[0].metric("Mean score", f"{summary.get('mean_score', 0):.3f}")
    columns[1].metric("Best score", f"{summary.get('best_score', 0):.3f}")
    columns[2].metric("Meet every part", f"{summary.get('all_pass', 0):.0%}")
    columns[3].metric("Valid", f"{summary.get('validity', 0):.0%}")

st.subheader("3. Steer")
with st.expander("What reinforcement learning does here", expanded=False):
    st.markdown(
        "The model writes molecules, gets a reward (the score), and becomes more likely to "
        "write high-reward ones; a copy of the model you started from (the *prior*) keeps "
        "it writing real chemistry. **Sigma** says how much the score counts against the "
        "prior: higher steers harder but forgets more. The **diversity filter** stops "
        "rewarding a ring system (scaffold) once 25 molecules of it scored well, so the "
        "model keeps looking instead of writing one molecule again and again. **Replay** "
        "shows the model the best molecules found so far again in later batches."
    )
left, middle, right = st.columns(3)
method = left.radio(
    "Method",
    ["reinvent", "hillclimb"],
    format_func={"reinvent": "REINVENT", "hillclimb": "Hill climbing"}.get,
    key="steer_method",
)
minutes = middle.number_input("Minutes", 0.5, 30.0, 3.0, 0.5, key="steer_minutes")
sigma = right.number_input("Sigma", 0.0, 500.0, 60.0, 10.0, key="steer_sigma")
seed = left.number_input("Seed", 0, 2**31 - 1, 0, key="steer_seed")
replay = middle.checkbox("Replay the best molecules", True, key="steer_replay")
diverse = right.checkbox("Diversity filter", True, key="steer_diversity")
if st.button("Start steering", key="steer_start", type="primary"):
    try:
        settings = SteerConfig(
            method=method,
            minutes=float(minutes),
            sigma=float(sigma),
            seed=int(seed),
            replay_size=100 if replay else 0,
            diversity_bucket=25 if diverse else 0,
            threads=1,
        )
        with st.spinner("Checking the score and the model…"):
            run_id = new_steering_run(space, choice.id, score, settings, f"{choice.name}, steered")
        runner.submit(space.run_dir(run_id))
        space.update_choices(run=run_id, model=None, steer_run=run_id)
    except UserError as error:
        st.error(ui.plain(str(error)))


def live(run_id: str) -> None:
    """The steering run's progress, charts and best molecules (redrawn while it works)."""
    run = space.summary(run_id)
    if run.status in ACTIVE:
        st.session_state["steer_watching"] = run_id
    elif st.session_state.pop("steer_watching", None) == run_id:
        st.rerun(scope="app")  # it has ended: the page redraws without the live refresh
    steps = [event for event in space.metrics(run_id, None) if event.get("kind") == "step"]
    st.markdown(f"**{ui.escape_markdown(run.name)}**: {run.status}")
    if run.status in ACTIVE:
        buttons = st.columns([1, 1, 4])
        if run.status == RunStatus.RUNNING and buttons[0].button("Pause", key="steer_pause"):
            space.send(run_id, "pause")
        if run.status == RunStatus.PAUSED and buttons[0].button("Resume", key="steer_resume"):
            space.send(run_id, "resume")
        if buttons[1].button("Stop", key="steer_stop"):
            space.send(run_id, "stop")
    if not steps:
        st.caption("Waiting for the first step…")
        return
    last = steps[-1]
    if last.get("progress") is not None:
        st.progress(min(1.0, float(last["progress"])), text=f"Step {last['step']}")
    if last.get("warning"):
        st.warning(last["warning"])
    columns = st.columns(6)
    columns[0].metric("Mean score", f"{last.get('mean_score', 0):.3f}")
    columns[1].metric("Best so far", f"{last.get('best_so_far', 0):.3f}")
    columns[2].metric("Meet every part", f"{last.get('all_pass', 0):.0%}")
    columns[3].metric("Valid", f"{last.get('validity', 0):.0%}")
    columns[4].metric("Different", f"{last.get('uniqueness', 0):.0%}")
    columns[5].metric("Ring systems", last.get("scaffolds", 0))
    frame = pd.DataFrame(
        [
            {"step": e["step"], "score": e.get(key), "measure": label}
            for e in steps
            for key, label in (("mean_score", "mean"), ("best_score", "best of the batch"))
        ]
    )
    ui.line_chart(frame, "step", "score", "measure", yaxis_title="score (0 to 1)")
    rates = last.get("pass_rates") or {}
    if rates:
        st.caption("Share of the last batch meeting each part:")
        st.dataframe(pd.DataFrame([rates]), hide_index=True)
    hits(run_id)


def hits(run_id: str) -> None:
    found = read_hits(space.run_dir(run_id))
    if not found or not found.get("rows"):
        return
    rows = found["rows"]
    st.markdown("**The best molecules so far**")
    drawn = rows[:HITS_DRAWN]
    legends = [f"score {row['score']:.2f}" for row in drawn]
    st.image(grid_svg([row["smiles"] for row in drawn], legends=legends, columns=4))
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    first, second = st.columns(2)
    first.download_button(
        "Download the hits (.csv)",
        hits_csv(rows).encode("utf-8"),
        "hits.csv",
        key="steer_download_csv",
        on_click="ignore",
    )
    second.download_button(
        "Download the hits (.sdf)",
        hits_sdf(rows).encode("utf-8"),
        "hits.sdf",
        key="steer_download_sdf",
        on_click="ignore",
    )


steering = space.choices.get("steer_run")
try:
    folder = space.run_dir(steering) if steering else None
except UserError:
    folder = None  # deleted meanwhile
if folder and is_steering_run(folder):
    st.subheader("Your steering run")
    active = space.summary(steering).status in ACTIVE
    st.fragment(live, run_every=1.5 if active else None)(steering)
    if not active:
        st.caption(
            "The steered model is a run like any other: use it on Generate, Chemistry and "
            "Inside, or steer it further from here."
        )
