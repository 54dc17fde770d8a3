"""The Train page's engine choice: PyTorch, or the from-scratch NumPy RNN, with both speeds.

Kept apart from pages/train.py so that page stays short; logic lives in charrnn.core.numpy_train.
"""

from __future__ import annotations

import streamlit as st

from charrnn.runs.speeds import SPEED_SAMPLE_CHARACTERS, corpus_engine_speeds


@st.cache_data(max_entries=16, show_spinner="Timing both engines for a few seconds…")
def measured_speeds(corpus: dict, hidden_size: int) -> dict:
    return corpus_engine_speeds(corpus, hidden_size)


def engine_choice(corpus: dict, preset: str, base: dict) -> str:
    """PyTorch, or the from-scratch NumPy RNN (tiny models), with both engines' speeds."""
    engine = st.radio(
        "Engine",
        ["torch", "numpy"],
        format_func={"torch": "PyTorch", "numpy": "From scratch (NumPy)"}.get,
        horizontal=True,
        key="train_engine",
        disabled=preset != "tiny",
        help="From scratch: a one-layer plain RNN written with NumPy only, every step by hand "
        "(charrnn/core/numpy_rnn.py). For the tiny size.",
    )
    if preset != "tiny":
        return "torch"
    if engine == "numpy":
        st.caption(
            "The NumPy engine trains a one-layer plain RNN (cell type, layers, embedding and "
            "dropout are fixed) with Adagrad and no weight decay, as in Karpathy's min-char-rnn."
        )
    if st.button("Compare the speed of both engines on this corpus", key="train_speeds"):
        speeds = measured_speeds(corpus, int(base["hidden_size"]))
        left, right = st.columns(2)
        left.metric("NumPy, by hand", f"{speeds['numpy']:,.0f} characters/s")
        right.metric("PyTorch", f"{speeds['torch']:,.0f} characters/s")
        st.caption(
            f"The same plain RNN ({speeds['hidden_size']} units, {speeds['sequence_length']} "
            f"characters per step, one thread each, on the first {SPEED_SAMPLE_CHARACTERS:,} "
            "characters of the corpus). For a model this small, hand-written NumPy "
            "keeps up; what PyTorch gives is everything else: gradients without writing them "
            "(the NumPy engine has a hand-written backward pass for one cell type only), LSTM "
            "and GRU cells, "
            "layers, dropout, and GPUs."
        )
    return engine
