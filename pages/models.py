"""Models: this workspace's runs and the shipped priors. Compare the runs' loss curves,
rename, download, upload, delete; use a prior at once.

A downloaded model is a zip that can be uploaded back here (or on another server).
"""

from __future__ import annotations

import functools
import html
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from app import prior_cards, ui
from charrnn.corpora.builtins import builtin_corpora
from charrnn.errors import UserError
from charrnn.runs.folder import has_model
from charrnn.runs.report import compare_frame, escape_markdown, run_labels
from charrnn.runs.status import ACTIVE, WORKING, RunStatus
from charrnn.runs.steer_run import is_steering_run
from charrnn.runs.transfer import IMPORTED_PREFIX, export_run, import_run

TABLE_REFRESH_SECONDS = 3.0  # while a run is queued, training or paused
BUILTIN_TITLES = {f"builtin:{corpus.id}": corpus.title for corpus in builtin_corpora()}

space = ui.workspace()
runner = ui.job_runner()
st.title("Your models")
if "models_notice" in st.session_state:  # said before the rerun that redrew the table
    st.success(st.session_state.pop("models_notice"))


def corpus_label(reference: str) -> str:
    if reference in BUILTIN_TITLES:
        return BUILTIN_TITLES[reference]
    if reference.startswith(IMPORTED_PREFIX):
        return f"{reference.removeprefix(IMPORTED_PREFIX)} (came with an uploaded model)"
    return space.corpus_name(reference) if reference else "unknown"


def done(message: str) -> None:
    st.session_state["models_notice"] = message
    st.rerun()


def table(runs) -> None:
    rows = [
        {
            "Status": f"{ui.STATUS_ICONS.get(run.status, '')} {run.status}",
            "Name": run.name,
            "Corpus": corpus_label(run.corpus),
            "Step": f"{run.step:,}" + (f" of {run.total_steps:,}" if run.total_steps else ""),
            "Created": datetime.fromtimestamp(run.created).strftime("%Y-%m-%d %H:%M"),
        }
        for run in runs
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def comparison(runs) -> None:
    st.subheader("Compare loss curves")
    names = run_labels(runs)
    default = [  # a steered model has no validation loss: no curve to show
        run.id
        for run in runs
        if run.status == RunStatus.FINISHED and not is_steering_run(space.run_dir(run.id))
    ][:3]
    chosen = st.multiselect(
        "Runs to compare",
        list(names),
        default=default,
        format_func=names.get,
        key="models_compare",
        placeholder="Choose one or more runs",
    )
    labels = {}
    for run_id in chosen:  # one line per run, even when two runs share a name
        label = html.escape(names[run_id])  # plotly reads a little HTML in labels
        labels[label if label not in labels else f"{label} ({run_id[-4:]})"] = run_id
    frame = compare_frame({label: space.metrics(run_id) for label, run_id in labels.items()})
    if frame.empty:
        st.caption("Pick runs that have measured a validation loss to see their curves.")
        return
    ui.line_chart(
        frame,
        "step",
        "validation_loss",
        "run",
        height=360,
        yaxis_title="validation loss (lower is better)",
    )
    drawn = set(frame["run"])
    missing = [html.unescape(label) for label in labels if label not in drawn]
    if missing:
        st.caption(
            f"No validation loss to draw for {escape_markdown('; '.join(missing))}: a steered "
            "model is not measured on a corpus, and a new run measures its first after a while."
        )
    corpora = {run.corpus for run in runs if run.id in chosen}
    if len(corpora) > 1:
        st.caption(
            "These runs learned from different corpora, so their losses do not say which "
            "model is better: some texts are easier to predict than others (a short pattern "
            "far more than molecules or Shakespeare). Compare runs on the same corpus."
        )
    else:
        st.caption(
            "The lowest curve at the end is the model that best predicts text (or molecules) "
            "it has not seen."
        )


def manage(runs) -> None:
    st.subheader("Manage a model")
    ids = [run.id for run in runs]
    current = space.choices.get("run")
    by_id = {run.id: run for run in runs}
    run_id = st.selectbox(
        "Model",
        ids,
        index=ids.index(current) if current in ids else 0,
        format_func=run_labels(runs).get,  # unique, and steady while a run's status changes
        key="models_manage_run",
    )
    run, folder = by_id[run_id], space.run_dir(run_id)
    use, rename, download = st.columns(3)
    with use:
        if current == run_id:
            st.caption("This is your current model, used on Generate.")
        elif st.button(
            "Make current", key="models_make_current", help="Use it on the Generate page."
        ):
            space.update_choices(run=run_id, model=None)
            done(f"{escape_markdown(run.name)} is now your current model.")
    with rename:
        new_name = st.text_input("New name", value=run.name, key=f"models_new_name_{run_id}")
        if st.button("Rename", key="models_rename"):
            space.rename(run_id, new_name)
            done("Renamed.")
    with download:
        if has_model(folder):
            stem = re.sub(r"[^A-Za-z0-9_-]+", "-", run.name).strip("-") or "model"
            st.download_button(
                "Download the model (.zip)",
                data=functools.partial(export_run, folder),
                file_name=f"{stem[:40]}.zip",
                mime="application/zip",
                on_click="ignore",
                key="models_download",
                help="The trained weights, their description, the settings and the curves.",
            )
        else:
            st.caption("Nothing to download yet: the run has not saved a model.")
    with st.expander("Delete this model"):
        if run.status in WORKING:
            st.caption("Stop the run on the Train page before deleting it.")
            return
        sure = st.checkbox("Yes, delete this run", key=f"models_confirm_delete_{run_id}")
        if st.button("Delete", key="models_delete", disabled=not sure, type="primary"):
            try:
                runner.cancel(folder)  # if it is still waiting in the queue
                space.delete(run_id)
            except UserError as error:
                st.error(str(error))
                return
            if current == run_id:
                space.update_choices(run=None)
            done(f"Deleted {escape_markdown(run.name)}.")


def upload() -> None:
    st.subheader("Add a model from a file")
    file = st.file_uploader(
        "A model .zip downloaded from this app", type=["zip"], key="models_upload_model"
    )
    if file is None:
        return
    name = Path(file.name).stem[:80] or "Uploaded model"
    if st.button(f"Add {ui.plain(name)} to my models", key="models_import", type="primary"):
        try:
            with st.spinner("Checking the model..."):
                run_id = import_run(space, file.getvalue(), name, ui.max_upload_bytes())
        except UserError as error:
            st.error(ui.plain(str(error)))  # it may quote the uploaded file: shown as typed
            return
        except OSError as error:  # e.g. DiskFullError: its strerror is for people
            st.error(f"The model could not be added on the server. {error.strerror or error}")
            return
        done(f"Added {escape_markdown(space.summary(run_id).name)}. It is in the list above.")


def live_table() -> None:
    """The table, redrawn every few seconds while a run trains (status and step move)."""
    table(space.runs())


runs = space.runs()
if runs:
    active = any(run.status in ACTIVE for run in runs)
    st.fragment(live_table, run_every=TABLE_REFRESH_SECONDS if active else None)()
    comparison(runs)
    manage(runs)
else:
    st.info("You have no models yet. Train one: it appears here as soon as it starts.")
    if st.button("Go to Train", key="models_to_train", type="primary"):
        st.switch_page("pages/train.py")
st.divider()
prior_cards.section(space)
st.divider()
upload()
