"""The Steer page's score builder: goals to start from, the parts of the score each with its
desirability curve, and a form to add one. The score is kept in the workspace's choices.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app import sketcher
from charrnn.chem.scorer import Scorer
from charrnn.chem.scoring import COMPONENT_KINDS, DEFAULTS, TITLES, Component, ScoreSpec
from charrnn.errors import UserError
from charrnn.runs.report import escape_markdown

CELECOXIB = "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"
GOALS = {
    "Drug-like sulfonamide (logP 3-5, weight 300-450, QED at least 0.7)": (
        Component("logp", low=3, high=5, soft=0.5),
        Component("weight", low=300, high=450, soft=25),
        Component("qed", low=0.7, soft=0.05),
        Component("contains", target="S(=O)(=O)N"),
    ),
    "Similar to celecoxib (a painkiller)": (Component("similarity", target=CELECOXIB),),
    "Drug-like and easy to make (QED, SA score)": (Component("qed"), Component("sa")),
}
NEEDS_TARGET = ("similarity", "contains", "excludes")
CURVE_SPAN = {"qed": (0, 1), "similarity": (0, 1), "sa": (1, 10), "logp": (-3, 8)}


def current(space) -> ScoreSpec | None:
    """The score being built (kept in the workspace: a refresh keeps it), or None."""
    data = space.choices.get("steer_score")
    try:
        return ScoreSpec.from_json(data) if data else None
    except UserError:
        return None  # a score that no longer reads: start again


def keep(space, components: tuple[Component, ...]) -> None:
    score = ScoreSpec(components=components) if components else None
    if score is not None:
        Scorer(score)  # a pattern RDKit cannot read is refused here (ScoreError)
    space.update_choices(steer_score=score.to_json() if score else None)


def goals(space) -> None:
    goal = st.selectbox("Start from a goal", list(GOALS), key="steer_goal")
    if st.button("Use this goal", key="steer_use_goal"):
        keep(space, GOALS[goal])
        st.rerun()


def curve(component: Component) -> go.Figure:
    low, high = component.low, component.high
    start, end = CURVE_SPAN.get(component.kind, (0, 1))
    if component.kind not in CURVE_SPAN:
        edge = [value for value in (low, high) if value is not None] or [0, 1]
        margin = 3 * (component.soft or 1)
        start, end = max(0, min(edge) - margin), max(edge) + margin
    values = np.linspace(start, end, 120)
    wanted = [component.desirability(float(value)) for value in values]
    figure = go.Figure(go.Scatter(x=values, y=wanted, mode="lines", line_color="#e4572e"))
    figure.update_layout(
        height=140,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title=TITLES[component.kind],
        yaxis=dict(range=[-0.05, 1.05], title="wanted"),
    )
    return figure


def parts(space, score: ScoreSpec) -> None:
    """Each part with its rule in words, its curve, and a way to remove it."""
    for number, component in enumerate(score.components):
        words, picture = st.columns([2, 3], vertical_alignment="center")
        words.markdown(escape_markdown(component.sentence()))
        if words.button("Remove", key=f"steer_remove_{number}"):
            keep(space, score.components[:number] + score.components[number + 1 :])
            st.rerun()
        if component.kind not in NEEDS_TARGET[1:]:
            picture.plotly_chart(
                curve(component), key=f"steer_curve_{number}", config={"displayModeBar": False}
            )
    st.caption(
        "The score is the weighted geometric mean of the parts' desirabilities (0 to 1): a "
        "molecule must do reasonably on every part, and one with a required substructure "
        "missing scores 0."
    )


def add_form(space, score: ScoreSpec | None) -> None:
    # A bordered box, not an st.form: in a form, a drawing would reach the field only on Add.
    with st.container(border=True, key="steer_add"):
        st.markdown("**Add a part**")
        kind = st.selectbox("What to ask for", COMPONENT_KINDS, format_func=TITLES.get)
        first, second, third = st.columns(3)
        low = first.number_input("From (empty: no lower bound)", value=None, key="steer_low")
        high = second.number_input("To (empty: no upper bound)", value=None, key="steer_high")
        weight = third.number_input("Weight", 0.1, 100.0, 1.0, key="steer_weight")
        target = sketcher.molecule_input(
            "Molecule or substructure (similarity, contains, does not contain)",
            key="steer_target",
            placeholder="SMILES or SMARTS, e.g. S(=O)(=O)N",
        )
        if st.button("Add", key="steer_add_part"):
            try:
                if kind in NEEDS_TARGET and not target.strip():
                    raise UserError(f"{TITLES[kind]} needs a molecule or substructure.")
                bounds = {"low": low, "high": high} if kind not in NEEDS_TARGET else {}
                if bounds and low is None and high is None:
                    bounds = {}  # the kind's own window
                elif bounds and DEFAULTS[kind][0] != "window":
                    bounds["shape"] = "window"
                part = Component(kind, weight=weight, target=target.strip(), **bounds)
                keep(space, (score.components if score else ()) + (part,))
            except UserError as error:
                st.error(escape_markdown(str(error)))
            else:
                st.rerun()
