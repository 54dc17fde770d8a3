"""What the Corpus page shows of molecules only: an SDF upload's broken records, and the
cleaning step (what changed, shown before the cleaned corpus is kept as a new one)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app import ui
from charrnn.chem.cleaning import CHANGES, MAX_CLEAN_LINES, CleaningReport
from charrnn.corpora.uploads import SdfUpload, check_sdf_upload_bounded, clean_upload_bounded
from charrnn.errors import UserError
from charrnn.runs.cleaned import cleaning_of, keep_cleaned
from charrnn.runs.workspace import Workspace

SHORT = {  # a change, in an example's row
    "fragments": "salt stripped",
    "charges": "neutralised",
    "stereo": "stereo removed",
    "spellings": "rewritten",
    "duplicates": "duplicate",
    "unreadable": "unreadable",
}
QUESTIONS = ("clean_molecules", "clean_stereo")  # forgotten with the page's other choices


@st.cache_data(max_entries=4, show_spinner="Reading the molecules…")
def read_sdf_upload(data: bytes, filename: str, limit: int) -> SdfUpload:
    """An SDF upload read record by record by RDKit, in a child process."""
    return check_sdf_upload_bounded(data, filename, max_bytes=limit)


def show_broken_records(upload: SdfUpload) -> None:
    """The records of an SDF upload RDKit cannot read, by number: they are left out."""
    count = len(upload.broken)
    if not count:
        return
    st.subheader("Records that are not molecules")
    are = "is not a molecule" if count == 1 else "are not molecules"
    they = "it is" if count == 1 else "they are"
    st.warning(
        f"{count:,} of the {upload.record_count:,} records {are} RDKit can read, so {they} "
        "left out. Correct them in your chemistry program to keep them."
    )
    rows = [{"Record": r.number, "Why RDKit can't read it": r.reason} for r in upload.broken]
    st.dataframe(rows, hide_index=True)


@st.cache_data(max_entries=2, show_spinner="Cleaning the molecules (a large file takes a minute)…")
def cleaned(
    data: bytes, filename: str, column: str | None, remove_stereo: bool, limit: int
) -> tuple[CleaningReport, str]:
    """The corpus cleaned in a child process with a memory and a time limit."""
    return clean_upload_bounded(
        data, filename, smiles_column=column, remove_stereo=remove_stereo, max_bytes=limit
    )


def show_report(report: CleaningReport, numbered_by: str = "line") -> None:
    """Molecules in and out, a count per kind of change, examples, unreadable lines."""
    cards = st.columns(3)
    cards[0].metric(f"{numbered_by.title()}s in", f"{report.lines_read:,}", border=True)
    cards[1].metric("Molecules out", f"{report.molecules_kept:,}", border=True)
    changed = sum(1 for count in report.counts.values() if count)
    cards[2].metric("Kinds of change", changed, border=True)
    rows = [
        {"Change": CHANGES[kind], "Molecules": count}
        for kind, count in report.counts.items()
        if count and not (kind == "stereo" and not report.remove_stereo)
    ]
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.success("Nothing to change: every molecule was already clean.")
    if report.examples:
        st.caption("Examples, before → after:")
        st.dataframe(
            [
                {
                    numbered_by.title(): example.line_number,
                    "Before": example.before,
                    "After": example.after,
                    "What changed": ", ".join(SHORT[change] for change in example.changes)
                    + (f" of {numbered_by} {example.duplicate_of}" if example.duplicate_of else ""),
                }
                for example in report.examples
            ],
            hide_index=True,
        )
    if report.unreadable_lines:
        numbers = ", ".join(str(number) for number in report.unreadable_lines)
        more = " …" if report.counts["unreadable"] > len(report.unreadable_lines) else ""
        st.caption(f"Left out as RDKit cannot read them: {numbered_by}s {numbers}{more}.")


def cleaning_part(
    space: Workspace,
    data: bytes,
    filename: str,
    column: str | None,
    *,
    keep_original: Callable[[], dict],
    key: str,
    numbered_by: str = "line",
) -> None:
    """The optional cleaning of a molecule corpus (data, read as filename says), its report,
    and the button that keeps the cleaned corpus as a new one (keep_original() gives the
    original's corpus record, keeping an upload first)."""
    limit = ui.max_upload_bytes()
    st.subheader("Clean the molecules (optional)")
    st.caption(
        "Cleaning keeps the largest fragment of each molecule (salts and solvents go), "
        "neutralises charges, writes each one as canonical SMILES and removes duplicates. "
        f"You see what changed before you use it. Up to {MAX_CLEAN_LINES:,} molecules."
    )
    if not st.checkbox("Clean the molecules", key="clean_molecules"):
        return
    remove_stereo = st.checkbox(
        "Also remove stereo (@, / and \\ marks)",
        key="clean_stereo",
        help="Mirror images and cis/trans forms then count as one molecule.",
    )
    try:
        report, smiles = cleaned(data, filename, column, remove_stereo, limit)
    except UserError as error:
        st.error(ui.plain(str(error)))
        return
    show_report(report, numbered_by)
    kept = st.session_state.setdefault("cleaned_corpora", {})
    key = f"{key}:{remove_stereo}"
    current = ui.current_corpus(space) or {}
    if key in kept and current.get("reference") == kept[key]:
        st.success("The cleaned corpus is your corpus now. The original is kept too.")
        if st.button("Go to Train", key="go_train_cleaned", icon=":material/arrow_forward:"):
            st.switch_page("pages/train.py")
        return
    if st.button("Use the cleaned corpus", key="use_cleaned", type="primary"):
        try:
            corpus = keep_cleaned(
                space, smiles, report, keep_original(), numbered_by=numbered_by, max_bytes=limit
            )
        except UserError as error:
            st.error(ui.plain(f"The cleaned corpus could not be kept: {error}"))
            return
        except OSError as error:  # e.g. DiskFullError: its strerror is for people
            st.error(f"The cleaned corpus could not be kept. {error.strerror or error}")
            return
        kept[key] = corpus["reference"]
        st.rerun()


def how_it_was_cleaned(space: Workspace, corpus: dict) -> None:
    """For a cleaned current corpus: its report (kept in the workspace) and a way back."""
    found = cleaning_of(space, corpus.get("reference", ""))
    if found is None:
        return
    report, original, numbered_by = found
    with st.expander("How this corpus was cleaned"):
        show_report(report, numbered_by)
        st.caption(f"Cleaned from {original.get('name', 'a corpus')}, which is kept as it was.")
        if space.owns_corpus(original.get("reference", "")) and st.button(
            "Use the original instead", key="use_original"
        ):
            space.update_choices(corpus=original)
            st.rerun()
