"""Corpus: pick a built-in corpus or upload a file, look inside it, and choose it for training.

Shows a preview, its size and characters, and for molecules the lines RDKit cannot read;
molecules can be cleaned (app/corpus_molecules.py) before they are used.
"""

from __future__ import annotations

import os

import streamlit as st

from app import corpus_molecules, ui
from charrnn.corpora.builtins import builtin_corpora, is_downloaded, load_builtin
from charrnn.corpora.download import megabytes
from charrnn.corpora.reading import (
    CSV_EXTENSIONS,
    SDF_EXTENSIONS,
    SMILES_EXTENSIONS,
    stored_filename,
)
from charrnn.corpora.uploads import (
    CorpusPreview,
    check_upload_bounded,
    csv_choices_bounded,
    preview_of,
)
from charrnn.errors import UserError

KIND_LABELS = {"text": "text", "smiles": "molecules (SMILES)"}
UPLOAD_TYPES = ["txt", "text", "md", "smi", "smiles", "csv", "tsv", "sdf", "sd", "gz"]
SHOWN_CHARACTERS = {" ": "␣", "\n": "\\n", "\t": "\\t", "\r": "\\r"}

space = ui.workspace()


def forget_choices() -> None:
    """A new corpus or file starts with the page's questions unanswered."""
    for key in ("drop_invalid", "upload_kind", "upload_column", *corpus_molecules.QUESTIONS):
        st.session_state.pop(key, None)


def character_set(characters: str) -> str:
    """The distinct characters, with spaces, line breaks and other invisibles written out."""
    return "".join(
        SHOWN_CHARACTERS.get(c, c if c.isprintable() else c.encode("unicode_escape").decode())
        for c in characters
    )


@st.cache_data(max_entries=4, show_spinner="Checking the file…")
def read_upload(
    data: bytes, filename: str, kind: str, column: str | None, limit: int
) -> CorpusPreview:
    """The upload checked in a child process with a memory and a time limit: a hostile
    file costs this server nothing, and only what the page shows comes back."""
    return check_upload_bounded(data, filename, kind=kind, smiles_column=column, max_bytes=limit)


@st.cache_data(max_entries=4, show_spinner="Reading the columns…")
def csv_choices(data: bytes, filename: str) -> tuple[list[str], str | None]:
    return csv_choices_bounded(data, filename)


def kept(chosen: dict, save=None, upload_key: str = "") -> dict:
    """The corpus record with its reference: an upload is kept in the workspace (``save``)
    the first time, and its reference remembered under ``upload_key``."""
    saved = st.session_state.setdefault("saved_uploads", {})
    reference = chosen.get("reference") or saved.get(upload_key) or save()
    if upload_key:
        saved[upload_key] = reference
    return {**chosen, "reference": reference}


def show_corpus(corpus: CorpusPreview, chosen: dict, save=None, upload_key: str = "") -> dict:
    """Preview, sizes, invalid lines, and the button that makes this the current corpus;
    returns the corpus record the settings would hold.

    ``chosen`` is what the settings will hold (an upload has no reference until it is kept:
    ``save`` keeps it in the workspace and returns one, remembered under ``upload_key``).
    """
    summary = corpus.summary
    st.subheader("Preview")
    if corpus.kind == "smiles":
        st.caption(f"The first {len(corpus.first_lines)} molecules:")
        st.code("\n".join(corpus.first_lines), language=None)
    else:
        st.caption(f"The first {len(corpus.first_text):,} characters:")
        st.code(corpus.first_text, language=None, wrap_lines=True)

    cards = st.columns(4 if corpus.kind == "smiles" else 3)
    cards[0].metric("Characters", f"{summary['characters']:,}", border=True)
    cards[1].metric("Lines", f"{summary['lines']:,}", border=True)
    cards[2].metric("Distinct characters", len(summary["unique_characters"]), border=True)
    if corpus.kind == "smiles":
        valid = summary["lines"] - summary["invalid"]
        cards[3].metric(  # the count alone: "4,991 of 4,999" was cut to "4,991 of 4,…"
            "Molecules RDKit can read",
            f"{valid:,}",
            border=True,
            help="RDKit is the chemistry toolkit that checks each line is a real molecule. "
            "The other lines are listed below.",
        )
    st.caption("The characters the network will learn (␣ is a space, \\n a line break):")
    st.code(character_set(summary["unique_characters"]), language=None, wrap_lines=True)

    drop = False
    invalid = corpus.invalid_count
    saved = st.session_state.setdefault("saved_uploads", {})
    reference = chosen.get("reference") or saved.get(upload_key)
    current = ui.current_corpus(space)
    if invalid:
        st.subheader("Lines that are not molecules")
        are = "is not a molecule" if invalid == 1 else "are not molecules"
        st.warning(
            f"{invalid:,} of the {corpus.line_count:,} lines {are} RDKit can read. "
            "A model learns only from real molecules, so they must be left out to train."
        )
        rows = [
            {"Line": line.line_number, "Text": line.text, "Why RDKit can't read it": line.reason}
            for line in corpus.invalid_lines
        ]
        st.dataframe(rows, hide_index=True)
        if len(rows) < invalid:
            st.caption(f"The first {len(rows):,} of them are listed.")
        noun = "line that is not a molecule" if invalid == 1 else "lines that are not molecules"
        # Unticked in the browser too, unless this corpus is already in use without them
        # (e.g. chosen on Home): the page then says so instead of asking again.
        in_use = reference and current == {**chosen, "reference": reference, "drop_invalid": True}
        st.session_state.setdefault("drop_invalid", bool(in_use))
        drop = st.checkbox(f"Leave out the {invalid:,} {noun}", key="drop_invalid")
    chosen = {**chosen, "drop_invalid": drop}
    if reference and current == {**chosen, "reference": reference}:
        st.success("This is your corpus now. Next, train a model on it.")
        if st.button(
            "Go to Train", key="go_train", type="primary", icon=":material/arrow_forward:"
        ):
            st.switch_page("pages/train.py")
        return chosen
    if invalid and not drop:
        st.info("Tick the box above to use this corpus.")
    if st.button(
        "Use this corpus", key="use_corpus", type="primary", disabled=bool(invalid) and not drop
    ):
        try:
            space.update_choices(corpus=kept(chosen, save, upload_key))
        except UserError as error:
            st.error(ui.plain(f"The file could not be kept: {error}"))
            return chosen
        except OSError as error:  # e.g. DiskFullError: its strerror is for people
            st.error(f"The file could not be kept on the server. {error.strerror or error}")
            return chosen
        st.rerun()
    return chosen


def builtin_part() -> None:
    corpora = {corpus.id: corpus for corpus in builtin_corpora()}
    ids = list(corpora)
    reference = (ui.current_corpus(space) or {}).get("reference", "")
    current = reference.removeprefix("builtin:")
    preselected = current in ids and "builtin_choice" not in st.session_state
    choice = st.radio(
        "Built-in corpora",
        ids,
        index=ids.index(current) if preselected else None,
        format_func=lambda i: f"{corpora[i].title} · {KIND_LABELS[corpora[i].kind]}",
        captions=[corpora[i].description for i in ids],
        key="builtin_choice",
        on_change=forget_choices,
    )
    if choice is None:
        st.info("Pick a corpus above to see what is in it.")
        return
    corpus_info = corpora[choice]
    if not is_downloaded(choice):
        st.info(f"{corpus_info.title} is not on this computer yet.")
        if not st.button("Download (1 MB)", key="download_builtin", icon=":material/download:"):
            return
    try:
        with st.spinner(f"Getting {corpus_info.title}…"):
            corpus = load_builtin(choice)
    except UserError as error:
        st.error(str(error))
        return
    chosen = {
        "reference": f"builtin:{choice}",
        "name": corpus_info.title,
        "kind": corpus.kind,
        "smiles_column": None,
    }
    chosen = show_corpus(preview_of(corpus), chosen)
    if corpus.kind == "smiles":
        corpus_molecules.cleaning_part(
            space,
            corpus.text.encode("utf-8"),
            f"{choice}.smi",
            None,
            keep_original=lambda: chosen,
            key=f"builtin:{choice}",
        )


def upload_part() -> None:
    limit = ui.max_upload_bytes()
    uploaded = st.file_uploader(
        "Upload a text file (.txt), molecules (.smi, one SMILES per line; .sdf) or a table (.csv)",
        type=UPLOAD_TYPES,
        key="corpus_upload",
        on_change=forget_choices,
        help=f"Up to {limit // (1024 * 1024)} MB. Files compressed with gzip (.gz) work too.",
    )
    if uploaded is None:
        st.info(
            f"Choose a file on your computer, or drag it here (up to {limit // (1024 * 1024)} "
            "MB). A file marked in red was not accepted: point at it to see why."
        )
        return
    if uploaded.size > limit:  # refused before its bytes are read or hashed
        st.error(
            f"The file is {megabytes(uploaded.size)}, more than the {megabytes(limit)} limit. "
            "Upload a smaller file, for example the first part of this one."
        )
        return
    data, filename = uploaded.getvalue(), uploaded.name
    extension = os.path.splitext(filename.lower().removesuffix(".gz"))[1]
    column, sdf = None, None
    try:
        if extension in SDF_EXTENSIONS:
            kind = "smiles"
            sdf = corpus_molecules.read_sdf_upload(data, filename, limit)
        elif extension in CSV_EXTENSIONS:
            kind = "smiles"
            columns, guess = csv_choices(data, filename)
            column = st.selectbox(
                "Which column holds the molecules (SMILES)?",
                columns,
                index=columns.index(guess) if guess in columns else None,
                key="upload_column",
                placeholder="Choose the column with the SMILES",
            )
        else:
            # A new file's kind comes from its name, set through Session State: a default
            # index alone would leave the browser showing (and sending) the last file's kind.
            guess = "smiles" if extension in SMILES_EXTENSIONS else "text"
            st.session_state.setdefault("upload_kind", guess)
            kind = st.radio(
                "Read this file as",
                list(KIND_LABELS),
                format_func=KIND_LABELS.get,
                key="upload_kind",
                horizontal=True,
                help="Molecules: one SMILES per line. Text: anything else.",
            )
        corpus = sdf.preview if sdf else read_upload(data, filename, kind, column, limit)
    except UserError as error:
        st.error(ui.plain(str(error)))  # it may quote the file: as typed
        return
    chosen = {"name": filename, "kind": corpus.kind, "smiles_column": column}
    if sdf:  # kept as the SMILES read from it
        corpus_molecules.show_broken_records(sdf)
        smiles = sdf.smiles.encode("utf-8")
        keep = lambda: space.save_corpus(smiles, sdf.smiles_filename, limit)  # noqa: E731
    else:
        keep = lambda: space.save_corpus(data, stored_filename(filename, kind), limit)  # noqa: E731
    upload_key = f"{uploaded.file_id}:{kind}"
    chosen = show_corpus(corpus, chosen, save=keep, upload_key=upload_key)
    if corpus.kind == "smiles":
        corpus_molecules.cleaning_part(
            space,
            data,
            filename,
            column,
            keep_original=lambda: kept(chosen, keep, upload_key),
            key=upload_key,
            numbered_by="record" if sdf else "line",
        )


st.title("Corpus")
st.markdown(
    "A corpus is what the network learns from: a text, or a list of molecules written as "
    "SMILES. Pick one that comes with the app, or upload your own."
)
now = ui.current_corpus(space)
if now:
    st.caption("Your corpus now:")
    st.text(now["name"])
    corpus_molecules.how_it_was_cleaned(space, now)
source = st.radio(
    "Where is your corpus?",
    ["Built-in", "Upload"],
    key="corpus_source",
    horizontal=True,
    on_change=forget_choices,
)
if source == "Built-in":
    builtin_part()
else:
    upload_part()
