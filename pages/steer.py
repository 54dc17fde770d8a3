"""Steer: build a score, and let reinforcement learning move a molecule model toward it.

The engine is charrnn.runs.steer_run (a steering run is a run folder, steered by a worker);
the views are app.score_builder and app.steer_view.
"""

from __future__ import annotations

import streamlit as st

from app import model_choice, score_builder, steer_view, ui
from charrnn.errors import UserError
from charrnn.runs.models import model_choices
from charrnn.runs.status import ACTIVE
from charrnn.runs.steer_run import is_steering_run, new_steering_run, read_steer_file
from charrnn.runs.train_view import unused_name

space = ui.workspace()
runner = ui.job_runner()
st.title("Steer")
cluster_problem = ui.cluster_notice(runner)
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
with st.container():  # always here, even empty: the box below keeps its place, so its
    # molecule editor is not rebuilt (a rebuilt one comes back blank)
    if score:
        score_builder.parts(space, score)
score_builder.add_form(space, score)
if score is None:
    st.info("Choose a goal or add a part to build a score.")
    st.stop()

st.subheader("2. How the model does now")
steer_view.baseline(space, start, score)

st.subheader("3. Steer")
steer_view.explanation()
try:
    settings = steer_view.settings(score)
except UserError as error:
    settings = None
    st.error(ui.plain(str(error)))
startable = settings is not None and not cluster_problem
if st.button("Start steering", key="steer_start", type="primary", disabled=not startable):
    try:
        with st.spinner("Checking the score and the model…"):
            taken = [run.name for run in space.runs()]
            name = unused_name(f"{choice.name}, steered", taken)
            run_id = new_steering_run(space, choice.id, score, settings, name)
        runner.submit(space.run_dir(run_id))
        space.update_choices(run=run_id, model=None, steer_run=run_id)
    except UserError as error:
        st.error(ui.plain(str(error)))


steering = space.choices.get("steer_run")
try:
    folder = space.run_dir(steering) if steering else None
except UserError:
    folder = None  # deleted meanwhile
if folder and is_steering_run(folder):
    st.subheader("Your steering run")
    active = space.summary(steering).status in ACTIVE
    try:
        steered_score = read_steer_file(folder)[1]
    except UserError:
        steered_score = None
    st.fragment(steer_view.live, run_every=1.5 if active else None)(space, steering, steered_score)
    if not active:
        st.caption(
            "The steered model is a run like any other: use it on Generate, Chemistry and "
            "Inside, or steer it further from here."
        )
