"""Home: what this app does, the ten-minute path, and one-click starts.

Each start picks a built-in corpus and a size preset, then opens the Train page.
"""

from __future__ import annotations

import streamlit as st

from app import ui
from charrnn.corpora.builtins import builtin_corpora, is_downloaded, load_builtin
from charrnn.corpora.reading import CorpusError
from charrnn.errors import UserError
from charrnn.runs.priors import DEFAULT_MOLECULE_PRIOR

# (button key, label, built-in corpus, size preset, what it does)
STARTS = (
    (
        "start_molecules",
        "Generate molecules",
        "nci-5k",
        "tiny",
        "Fine-tunes a model that already knows 1.5 million drug-like molecules on about "
        "5,000 molecules of the NCI set, then invents new ones.",
    ),
    (
        "start_pattern",
        "Learn a pattern",
        "toy-pattern",
        "tiny",
        "A first lesson: learns to spell abc, abcd and abcde, in a minute or two.",
    ),
    (
        "start_python_docs",
        "Write like Python's docs",
        "python-docs",
        "small",
        "Learns from Python's help pages and writes technical English.",
    ),
    (
        "start_shakespeare",
        "Write like Shakespeare",
        "tiny-shakespeare",
        "small",
        "Learns from Shakespeare's plays and writes new lines for his characters.",
    ),
)

space = ui.workspace()
corpora = {corpus.id: corpus for corpus in builtin_corpora()}


def start(corpus_id: str, preset: str, drop_invalid: bool) -> None:
    """Make a built-in corpus and a preset the workspace's choice, then open Train."""
    corpus = corpora[corpus_id]
    chosen = {
        "reference": f"builtin:{corpus_id}",
        "name": corpus.title,
        "kind": corpus.kind,
        "smiles_column": None,
        "drop_invalid": drop_invalid,
    }
    try:
        start_from = f"prior:{DEFAULT_MOLECULE_PRIOR}" if corpus.kind == "smiles" else None
        space.update_choices(corpus=chosen, preset=preset, start_from=start_from)
    except UserError as error:  # e.g. the server keeps as many workspaces as it may
        st.error(ui.plain(str(error)))
        return
    st.switch_page("pages/train.py")


def invalid_count(corpus_id: str) -> tuple[int, int]:
    """How many lines of a built-in SMILES corpus RDKit cannot read, and how many it has."""
    try:
        corpus = load_builtin(corpus_id)
    except CorpusError:
        return 0, 0
    return len(corpus.invalid_lines), len(corpus.lines)


st.title("Teach a small neural network to write")
st.markdown(
    "This app trains a small neural network that reads text, or molecules written as "
    "SMILES, one character at a time.  \n"
    "As it reads, it learns which character is likely to come next.  \n"
    "Then it writes new text, or new molecules, one character at a time, in the style of "
    "what it read."
)

st.subheader("Your first ten minutes")
STEPS = (
    (
        "pages/corpus.py",
        "1. Corpus",
        ":material/description:",
        "Pick a built-in text or set of molecules, or upload your own file.",
    ),
    (
        "pages/train.py",
        "2. Train",
        ":material/model_training:",
        "Choose a size and press Train. Watch the error fall and the samples get better.",
    ),
    (
        "pages/generate.py",
        "3. Generate",
        ":material/auto_awesome:",
        "Ask the trained model for new text or new molecules.",
    ),
    (
        "pages/chemistry.py",
        "4. Chemistry",
        ":material/science:",
        "For molecules: did it learn chemistry? Measured the way researchers do.",
    ),
    (
        "pages/inside.py",
        "5. Inside",
        ":material/visibility:",
        "Watch the network read, guess the next character, and remember.",
    ),
    (
        "pages/models.py",
        "6. Models",
        ":material/inventory_2:",
        "Compare your runs, download a model, or delete one.",
    ),
)
for number, (page, label, icon, line) in enumerate(STEPS):
    if number % 3 == 0:
        row = st.columns(3)  # row by row, so the steps read 1 to 6 in order
    with row[number % 3].container(border=True):
        st.page_link(page, label=f"**{label}**", icon=icon)
        st.caption(line)
MORE = (
    (
        "pages/game.py",
        "Guess the next character",
        ":material/sports_esports:",
        "Play against a model: who predicts the next character better? Scored like the loss "
        "on the Train page.",
    ),
    (
        "pages/steer.py",
        "Steer",
        ":material/explore:",
        "For molecules: teach a model to write the molecules you ask for.",
    ),
)
for column, (page, label, icon, line) in zip(st.columns(3), MORE, strict=False):
    with column.container(border=True):
        st.page_link(page, label=f"**{label}**", icon=icon)
        st.caption(line)

st.subheader("Or start with one click")
st.caption("Each button picks a corpus and a model for you and opens the Train page.")
cards = st.columns(2)
for number, (key, label, corpus_id, preset, blurb) in enumerate(STARTS):
    if corpus_id not in corpora:
        continue  # e.g. RDKit's data files are missing on this computer
    with cards[number % 2].container(border=True):
        if not is_downloaded(corpus_id):
            st.markdown(f"**{label}**")
            st.caption(f"{blurb} Download it once (about 1 MB) on the Corpus page first.")
            if st.button("Download it on the Corpus page", key=f"{key}_download"):
                st.session_state["corpus_source"] = "Built-in"
                st.session_state["builtin_choice"] = corpus_id
                st.switch_page("pages/corpus.py")
            continue
        invalid, total = invalid_count(corpus_id) if corpora[corpus_id].kind == "smiles" else (0, 0)
        if st.button(label, key=key, type="primary", width="stretch"):
            start(corpus_id, preset, drop_invalid=invalid > 0)
        smiles = corpora[corpus_id].kind == "smiles"
        st.caption(blurb if smiles else f"{blurb} Size: {preset}.")
        if invalid:
            are = "line is not a molecule" if invalid == 1 else "lines are not molecules"
            st.caption(f"{invalid} of its {total:,} {are} RDKit can read; they are left out.")
