"""The Steer page's views: how the chosen model scores now, the steering settings, and a
steering run's live progress, best molecules and before/after histograms.

What must survive a refresh is kept in the workspace (the baseline in its choices, the run in
its folder); these functions only lay out widgets over charrnn.runs.steer_run.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import ui
from charrnn.chem.drawing import grid_svg
from charrnn.chem.hits_export import hits_csv, hits_sdf
from charrnn.chem.scoring import TITLES, ScoreSpec
from charrnn.errors import UserError
from charrnn.runs.status import ACTIVE, RunStatus
from charrnn.runs.steer_config import MAX_BATCH, MAX_SEED, SteerConfig
from charrnn.runs.steer_run import read_batches, read_hits, starting_point

HITS_DRAWN = 12
BASELINE_SAMPLES = 128
# Steering toward one molecule (a similarity part) needs a harder push: with sigma 120 and
# 128 molecules a step the best of a batch reached celecoxib's neighbourhood (docs/benchmarks.md).
SIMILARITY_PUSH = {"sigma": 120.0, "batch_size": 128}
FILTERS = {
    "scaffold": "By ring system",
    "molecule": "By molecule",
    "off": "Off",
}


def part_titles(score: ScoreSpec) -> list[str]:
    """Each part's short title, in the order of score.names (which may repeat a kind)."""
    titles = []
    for component in score.components:
        title = TITLES[component.kind]
        if component.target:
            title = f"{title} {component.target[:24]}"
        titles.append(title)
    return titles


def pass_rate_table(score: ScoreSpec, names: list[str], rates: dict) -> pd.DataFrame:
    titles = part_titles(score) if len(score.components) == len(names) else names
    return pd.DataFrame(
        [
            {"part": title, "share of the batch meeting it": f"{rates.get(name, 0):.0%}"}
            for title, name in zip(titles, names, strict=True)
        ]
    )


def baseline(space, start: str, score: ScoreSpec) -> None:
    """ "How the model does now": its own molecules scored (kept in the workspace, for this
    model and score, so a refresh keeps it)."""
    if st.button(f"Score {BASELINE_SAMPLES} of its molecules", key="steer_baseline"):
        try:
            with st.spinner(f"Writing and scoring {BASELINE_SAMPLES} molecules…"):
                result = starting_point(start, score, BASELINE_SAMPLES)
        except UserError as error:
            st.error(ui.plain(str(error)))
        else:
            kept = {"start": start, "score": score.to_json(), "summary": result["summary"]}
            kept["names"] = result["names"]
            space.update_choices(steer_baseline=kept)
    kept = space.choices.get("steer_baseline") or {}
    if kept.get("start") != start or kept.get("score") != score.to_json():
        st.caption(
            "Before steering, see how the model's own molecules score: that is where it starts."
        )
        return
    summary = kept["summary"]
    columns = st.columns(4)
    columns[0].metric("Mean score", f"{summary.get('mean_score', 0):.3f}")
    columns[1].metric("Best score", f"{summary.get('best_score', 0):.3f}")
    columns[2].metric("Meet every part", f"{summary.get('all_pass', 0):.0%}")
    columns[3].metric("Valid", f"{summary.get('validity', 0):.0%}")
    rates = summary.get("pass_rates") or {}
    if rates:
        st.dataframe(pass_rate_table(score, kept.get("names", list(rates)), rates), hide_index=True)


def explanation() -> None:
    with st.expander("What reinforcement learning does here", expanded=False):
        st.markdown(
            "The model writes molecules, gets a reward (the score), and becomes more likely "
            "to write high-reward ones; a copy of the model you started from (the *prior*) "
            "keeps it writing real chemistry. **Sigma** says how much the score counts "
            "against the prior: higher steers harder but forgets more. The **diversity "
            "filter** keeps the model looking instead of writing one molecule again and "
            "again: a molecule written before earns nothing, and *by ring system* also stops "
            "rewarding a ring system (scaffold) once 25 molecules of it scored well, which "
            "spreads the search over many chemotypes; *by molecule* keeps rewarding close "
            "relatives, which is what you want when steering toward one molecule "
            "(similarity). **Replay** shows the model the best molecules found so far again "
            "in later batches. **Hill climbing** is simpler: the model is trained on the best "
            "molecules found so far, like ordinary training."
        )


def settings(score: ScoreSpec) -> SteerConfig:
    """The settings widgets, read into a SteerConfig (SettingsError if out of range)."""
    similarity = any(component.kind == "similarity" for component in score.components)
    push = SIMILARITY_PUSH if similarity else {}  # toward one molecule: push harder
    left, middle, right = st.columns(3)
    method = left.radio(
        "Method",
        ["reinvent", "hillclimb"],
        format_func={"reinvent": "REINVENT", "hillclimb": "Hill climbing"}.get,
        key="steer_method",
    )
    minutes = middle.number_input("Minutes", 0.5, 30.0, 3.0, 0.5, key="steer_minutes")
    steps = right.number_input(
        "Steps (0: until the time is up)", 0, 100_000, 0, 50, key="steer_steps"
    )
    sigma = left.number_input(
        "Sigma", 0.0, 500.0, push.get("sigma", SteerConfig.sigma), 10.0, key="steer_sigma"
    )
    batch = middle.number_input(
        "Molecules per step",
        8,
        MAX_BATCH,
        push.get("batch_size", SteerConfig.batch_size),
        8,
        key="steer_batch",
    )
    rate = right.number_input(
        "Learning rate",
        1e-5,
        1e-2,
        SteerConfig.learning_rate,
        1e-4,
        format="%.5f",
        key="steer_learning_rate",
    )
    seed = left.number_input("Seed", 0, MAX_SEED, 0, key="steer_seed")
    diversity = middle.radio(
        "Diversity filter",
        list(FILTERS),
        index=1 if similarity else 0,
        format_func=FILTERS.get,
        key="steer_diversity",
        help="By molecule is the better choice when steering toward one molecule.",
    )
    replay = right.checkbox("Replay the best molecules", True, key="steer_replay")
    return SteerConfig(
        method=method,
        minutes=float(minutes),
        steps=int(steps) or None,
        sigma=float(sigma),
        batch_size=int(batch),
        learning_rate=float(rate),
        seed=int(seed),
        replay_size=100 if replay else 0,
        diversity_bucket=0 if diversity == "off" else SteerConfig.diversity_bucket,
        diversity_by="scaffold" if diversity == "off" else diversity,
        threads=1,
    )


def live(space, run_id: str, score: ScoreSpec | None) -> None:
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
    st.caption(
        f"Step {last['step']}'s batch of molecules, except 'Best so far': the best molecule of "
        "every step until now (one lucky molecule, while the others say how the whole batch does)."
    )
    columns = st.columns(6)
    columns[0].metric("Mean score", f"{last.get('mean_score', 0):.3f}")
    columns[1].metric("Best so far", f"{last.get('best_so_far', 0):.3f}")
    columns[2].metric("Meet every part", f"{last.get('all_pass', 0):.0%}")
    columns[3].metric("Valid", f"{last.get('validity', 0):.0%}")
    columns[4].metric("Different", f"{last.get('uniqueness', 0):.0%}")
    columns[5].metric("Ring systems", last.get("scaffolds", 0))
    scores = pd.DataFrame(
        [
            {"step": e["step"], "score": e.get(key), "measure": label}
            for e in steps
            for key, label in (("mean_score", "mean"), ("best_score", "best of the batch"))
        ]
    )
    ui.line_chart(
        scores, "step", "score", "measure", yaxis=dict(title="score (0 to 1)", range=[0, 1.05])
    )
    shares = pd.DataFrame(
        [
            {"step": e["step"], "share": e.get(key), "measure": label}
            for e in steps
            for key, label in (("validity", "valid"), ("uniqueness", "different"))
        ]
    )
    ui.line_chart(  # from 0: a few percent of noise does not look like a collapse
        shares, "step", "share", "measure", yaxis=dict(title="share of the batch", range=[0, 1.05])
    )
    rates = last.get("pass_rates") or {}
    if rates and score is not None:
        st.caption("Share of the last batch meeting each part:")
        st.dataframe(pass_rate_table(score, list(rates), rates), hide_index=True)
    if run.status not in ACTIVE:
        before_after(space, run_id, score)
    hits(space, run_id)


def histogram(name: str, title: str, first: list, last: list, steps: tuple) -> go.Figure:
    values = [value for value in first + last if value is not None and math.isfinite(value)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    size = (high - low) / 20 or 1.0
    figure = go.Figure()
    for series, label, colour in (
        (first, f"before (step {steps[0]})", "#9aa5b1"),
        (last, f"after (step {steps[1]})", "#e4572e"),
    ):
        figure.add_histogram(
            x=series,
            name=label,
            marker_color=colour,
            opacity=0.65,
            histnorm="percent",
            xbins=dict(start=low, end=high + size, size=size),
        )
    figure.update_layout(
        barmode="overlay",
        height=240,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text=title, font_size=14),
        yaxis_title="% of molecules",
        legend=dict(orientation="h", y=-0.3),
    )
    return figure


def before_after(space, run_id: str, score: ScoreSpec | None) -> None:
    """Histograms of the score and each measured part: the first batch against the last."""
    batches = read_batches(space.run_dir(run_id))
    if not batches:
        return
    first, last = batches["first"], batches["last"]
    steps = (first.get("step", 1), last.get("step", 1))
    names = [name for name in batches.get("names", []) if name in first and name in last]
    titles = dict(zip(names, part_titles(score), strict=False)) if score else {}
    charts = [("score", "Score", first["score"], last["score"])]
    charts += [
        (name, titles.get(name, name), first[name], last[name])
        for name in names
        if not name.startswith(("contains", "excludes"))
    ]
    st.markdown("**Before and after**: the first batch the model wrote, and its last one")
    columns = st.columns(2)
    for number, (name, title, before, after) in enumerate(charts):
        columns[number % 2].plotly_chart(
            histogram(name, title, before, after, steps),
            key=f"steer_histogram_{name}",
            config={"displayModeBar": False},
        )


def hits(space, run_id: str) -> None:
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
