"""The Models page's "Shipped priors" section: what each prior is, how it was trained and how
good its molecules are (its model card's figures), and a way to use it at once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from charrnn.errors import UserError
from charrnn.runs import models
from charrnn.runs.priors import Prior, shipped_priors
from charrnn.runs.report import escape_markdown

# The model card's figures, in the order MOSES prints them, with a newcomer's gloss.
FIGURES = (
    ("valid", "Validity", "share of samples that are molecules"),
    ("unique@10000", "Uniqueness@10k", "share of 10,000 valid ones that differ"),
    ("novelty", "Novelty", "share not in its training set"),
    ("fcd", "FCD", "distance to real molecules (0 = same distribution)"),
    ("snn", "SNN", "similarity to the nearest real molecule"),
    ("scaf", "Scaf", "similar mix of ring systems (1 = same)"),
    ("intdiv1", "IntDiv1", "variety among the samples"),
    ("filters", "Filters", "share passing medicinal-chemistry filters"),
)


def section(space) -> None:
    """Every shipped prior as a card; nothing at all when none is shipped here."""
    priors = shipped_priors()
    if not priors:
        return
    st.subheader("Shipped priors")
    st.caption(
        "Models trained for you on large public sets: read-only, the same for everyone. Use "
        "one as it is on Generate, Chemistry and Inside, or fine-tune it on your own molecules "
        "on the Train page (it starts from the prior by default for molecule corpora)."
    )
    for prior in priors:
        card(space, prior)


def card(space, prior: Prior) -> None:
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(prior.title)}** · `{prior.reference}`")
        st.caption(escape_markdown(prior.description))
        training = prior.training
        minutes = round(float(training.get("training_seconds", 0)) / 60)
        st.caption(
            f"Data: {escape_markdown(prior.data)}. Trained {int(training.get('steps', 0)):,} "
            f"steps in {minutes} min on {training.get('threads', 1)} CPU thread(s)."
        )
        metrics = prior.figures.get("metrics", {})
        rows = [
            {"Measure": name, "Value": metrics[key], "What it says": gloss}
            for key, name, gloss in FIGURES
            if key in metrics
        ]
        if rows:
            samples = prior.figures.get("samples", 0)
            reference = prior.figures.get("reference", 0)
            st.caption(
                f"{samples:,} of its molecules (temperature 1) against {reference:,} held-out "
                "molecules of its data set, measured as MOSES does:"
            )
            st.dataframe(
                pd.DataFrame(rows),
                hide_index=True,
                column_config={"Value": st.column_config.NumberColumn(format="%.3f")},
            )
        if st.button(
            "Use it on Generate", key=f"models_use_{prior.id}", icon=":material/auto_awesome:"
        ):
            try:
                models.choose_model(space, prior.reference)
            except UserError as error:
                st.error(str(error))
            else:
                st.switch_page("pages/generate.py")
