"""The Generate page's "why" panel: the likeliest next characters before and after the
sampling settings, as a bar chart, with a sentence on what the settings did.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

from charrnn.core.next_token import next_token_probabilities, shaping_sentence
from charrnn.core.sampling_budget import CHART_BUDGET, prompt_problem
from charrnn.errors import UserError

RAW_COLOUR, SHAPED_COLOUR = "#b8bfca", "#e4572e"


def why_chart(rows: list[tuple[str, float, float]]) -> go.Figure:
    labels = [html.escape(token, quote=False) for token, _, _ in rows]  # plotly reads a little HTML
    series = (
        ("what the model learned (temperature 1)", 1, RAW_COLOUR),
        ("with your settings", 2, SHAPED_COLOUR),
    )
    figure = go.Figure(
        [
            go.Bar(
                y=labels,
                x=[row[column] for row in rows],
                orientation="h",
                name=name,
                marker_color=colour,
                hovertemplate="%{y}: %{x:.1%}",
            )
            for name, column, colour in series
        ]
    )
    figure.update_layout(
        barmode="group",
        height=110 + 34 * len(rows),
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
        xaxis=dict(title="probability", range=[0, 1], tickformat=".0%"),
        yaxis=dict(type="category", autorange="reversed"),
    )
    return figure


def show(model, vocabulary, settings: dict, unit: str) -> None:
    """The panel for the page's sampling settings (sampling_form's), redrawn on every rerun."""
    prompt, temperature = settings["prompt"], settings["temperature"]
    top_k, top_p = settings["top_k"], settings["top_p"]
    too_long, rows = None, []
    try:
        too_long = prompt_problem(model, vocabulary, prompt, CHART_BUDGET)  # on every rerun
        rows = (
            []
            if too_long
            else next_token_probabilities(model, vocabulary, prompt, temperature, top_k, top_p)
        )
    except UserError:  # e.g. an unknown character: Generate explains it
        st.info(f"The chart appears when the prompt only has {unit}s the model knows.")
    if too_long:
        st.info(f"The chart appears for a shorter prompt. {too_long}")
    elif rows:
        where = "after your prompt" if prompt else "at the start"
        st.caption(
            f"The {len(rows)} likeliest next {unit}s {where}, before and after your settings."
        )
        st.plotly_chart(why_chart(rows), key="generate_why_chart", config={"displayModeBar": False})
        st.caption(shaping_sentence(temperature, top_k, top_p, unit))
