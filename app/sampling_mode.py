"""The Generate page's choice between plain samples and "N different molecules" (or lines
of text): how many are wanted, the most tries, and finding them with a progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from charrnn.core.sample import SampleConfig
from charrnn.core.sampling_budget import bounded_tries
from charrnn.runs.unique import BATCH_SIZE, sample_unique

MODES = ("samples", "unique")
DEFAULT_WANTED, MOST_WANTED = 20, 200
DEFAULT_TRIES, MOST_TRIES = 1000, 5000  # the server may allow fewer for a large model


@dataclass(frozen=True)
class UniqueRequest:
    wanted: int
    max_tries: int


def noun(smiles: bool) -> str:
    return "different molecules" if smiles else "different lines"


def mode_form(smiles: bool) -> UniqueRequest | None:
    """The mode radio and, for "N different", how many and the most tries (else None)."""
    mode = st.radio(
        "Make",
        MODES,
        format_func={"samples": "Samples", "unique": f"N {noun(smiles)}"}.get,
        key="generate_mode",
        horizontal=True,
        help=f"Samples: exactly what the model writes, repeats and mistakes included. "
        f"N {noun(smiles)}: keep sampling until N {noun(smiles)}"
        + (" (valid ones, each molecule once however it is spelled)" if smiles else "")
        + " are found, or the most tries are used up.",
    )
    if mode == "samples":
        return None
    first, second = st.columns(2)
    wanted = first.number_input(
        f"How many {noun(smiles)}",
        1,
        MOST_WANTED,
        DEFAULT_WANTED,
        key="generate_unique_count",
    )
    tries = second.number_input(
        "Most tries (samples in all)",
        1,
        MOST_TRIES,
        DEFAULT_TRIES,
        step=100,
        key="generate_max_tries",
        help="Sampling stops here even if fewer were found. The shared server may allow "
        "fewer for a large model, and says so.",
    )
    return UniqueRequest(int(wanted), int(tries))


def find_unique(
    model, vocabulary, config: SampleConfig, request: UniqueRequest
) -> tuple[list[tuple[str, float]], dict]:
    """Sample until ``request.wanted`` different ones, within the server's work budget, with
    a progress bar: the found ones and what a kept record says about how they were found."""
    config, most, note = bounded_tries(model, vocabulary, config, request.max_tries, BATCH_SIZE)
    if note:
        st.info(note)
    what = noun(vocabulary.line_based)
    bar = st.progress(0.0, text=f"Looking for {request.wanted:,} {what}…")

    def progress(found: int, tries: int) -> None:
        bar.progress(
            min(found / request.wanted, 1.0),
            text=f"{found:,} of {request.wanted:,} {what} after {tries:,} samples",
        )

    result = sample_unique(model, vocabulary, config, request.wanted, most, progress=progress)
    bar.empty()
    record = dict(
        mode="unique",
        wanted=result.wanted,
        tries=result.tries,
        max_tries=result.max_tries,
        stopped_at_bound=result.stopped_at_bound,
        message=result.message,
    )
    return list(result.found), record


def show_outcome(made: dict) -> None:
    """What a search for N different ones came to: found them, or stopped at the bound."""
    message = str(made.get("message", ""))
    (st.warning if made.get("stopped_at_bound") else st.success)(message)


def show_lines(samples: list[tuple[str, float]]) -> None:
    """Different lines of text: a table of each line and its log-likelihood."""
    st.dataframe(
        {
            "line": [text for text, _ in samples],
            "log-likelihood": [round(ll, 2) for _, ll in samples],
        },
        hide_index=True,
    )
