"""What every page shares: the workspace from the URL, the server's job runner, the sidebar.

Pages stay thin; state that must survive a refresh lives in the workspace on disk.
"""

from __future__ import annotations

import sys
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from charrnn.core import inside
from charrnn.core.checkpoint import CHECKPOINT_FILE, OUT_OF_MEMORY, load_checkpoint
from charrnn.errors import UserError
from charrnn.runs.backends import job_backend
from charrnn.runs.folder import RunError
from charrnn.runs.housekeeping import cleanup_idle_workspaces
from charrnn.runs.report import escape_markdown, run_labels
from charrnn.runs.settings import load_settings
from charrnn.runs.status import ACTIVE, RunStatus
from charrnn.runs.transfer import clean_import_staging
from charrnn.runs.workspace import Workspace, new_token

STATUS_ICONS = {
    RunStatus.QUEUED: "⏳",
    RunStatus.RUNNING: "🏃",
    RunStatus.PAUSED: "⏸️",
    RunStatus.FINISHED: "✅",
    RunStatus.STOPPED: "⏹️",
    RunStatus.FAILED: "❌",
    RunStatus.INTERRUPTED: "⚠️",
}


def max_upload_bytes() -> int:
    """The upload limit: the server's setting, never above Streamlit's own maxUploadSize."""
    return load_settings().upload_limit_bytes(st.get_option("server.maxUploadSize"))


@st.cache_resource
def job_runner():
    """One job runner per server, set up from the server's settings (charrnn.runs.settings):
    local worker processes, or the Ray cluster's coordinator with CHARRNN_RAY_ADDRESS.

    Runs a dead server left behind show as interrupted; idle workspaces and the chemistry
    statistics cache are cleaned up now and then about once an hour.
    """
    settings = load_settings()

    def housekeeping() -> None:
        from charrnn.chem.trainingset import trim_cache  # RDKit: loaded only when needed

        cleanup_idle_workspaces(settings.home, settings.idle_days)
        clean_import_staging(settings.home)  # what a server killed mid-import left
        trim_cache()

    housekeeping()
    return job_backend(settings, housekeeping)


def cluster_notice(runner) -> str | None:
    """Why jobs cannot start now (the Ray backend's cluster cannot be reached), shown at the
    top of a page that starts jobs; None when they can."""
    problem = runner.problem()
    if problem:
        st.warning(problem, icon=":material/cloud_off:")
    return problem


NAVIGATED, WANTED_PAGE = "app_navigation_ran", "app_wanted_page"
WANTED_QUERY = "app_wanted_query"  # the address's query (e.g. a recipe link's), kept for it


def through_the_app(page_file: str) -> None:
    """A page's address opened before the app's navigation ran in this session (e.g. a
    bookmark after a server restart) makes Streamlit run the page file alone, without the
    sidebar: go through streamlit_app.py, which then opens the page asked for."""
    if st.session_state.get(NAVIGATED):
        return
    st.session_state[WANTED_PAGE] = f"pages/{Path(page_file).name}"
    st.session_state[WANTED_QUERY] = st.query_params.to_dict()  # switch_page drops it
    if st.query_params.get("ws"):
        st.session_state["ws"] = st.query_params.get("ws")
    st.switch_page("streamlit_app.py")


GIVEN = "ws_given"  # the token this browser session was given (its folder may not exist yet)


def workspace() -> Workspace:
    """This visitor's workspace, from ?ws= in the URL (a new token if there is none).

    A visit writes nothing: the folder is made on the workspace's first write. A link to no
    folder is refused unless it is the token this session was given, so nobody picks one.
    """
    # The calling page's file (inspect.stack() would read every frame's source: slow).
    through_the_app(sys._getframe(1).f_code.co_filename)
    token = st.query_params.get("ws") or st.session_state.get("ws")
    space = None
    if token:
        try:
            if token == st.session_state.get(GIVEN):
                space = Workspace.pending(token)
            else:
                space = Workspace(token)
        except UserError as error:
            st.warning(f"{error} A fresh workspace was opened for you.")
    if space is None:
        space = Workspace.pending(new_token())
        st.session_state[GIVEN] = space.token
    st.session_state["ws"] = space.token
    if st.query_params.get("ws") != space.token:
        st.query_params["ws"] = space.token  # page switches drop the query string
    return space


def current_corpus(space: Workspace) -> dict | None:
    """The corpus chosen on the Corpus page: {"reference", "name", "kind", ...} or None."""
    chosen = space.choices.get("corpus")
    if chosen and space.owns_corpus(chosen.get("reference", "")):
        return chosen
    return None


def current_run(space: Workspace):
    run_id = space.choices.get("run")
    if not run_id:
        return None
    try:
        return space.summary(run_id)
    except RunError:
        return None


def sidebar(space: Workspace) -> None:
    with st.sidebar:
        corpus = current_corpus(space)
        st.markdown("**Corpus**")
        st.caption(escape_markdown(corpus["name"]) if corpus else "none chosen yet: open Corpus")
        run = current_run(space)
        st.markdown("**Run**")
        active = run is not None and run.status in ACTIVE
        # Live while active; every 5 s: a room of visitors each refreshing it costs the server.
        st.fragment(run_caption, run_every=5.0 if active else None)(space)
        if space.exists():
            st.caption("Bookmark this page's address to come back to your work.")
        else:  # an address bookmarked now leads nowhere: nothing is kept under it yet
            st.caption(
                "Nothing is saved yet. Once you pick a corpus or a model, bookmark this "
                "page's address to come back to your work."
            )


def run_caption(space: Workspace) -> None:
    run = current_run(space)
    if run:
        total = f"/{run.total_steps}" if run.total_steps else ""
        icon = STATUS_ICONS.get(run.status, "")
        name = escape_markdown(run.name)
        st.caption(f"{icon} {name}: {run.status}, step {run.step}{total}")
    else:
        st.caption("no run yet: open the Train page")


def run_folder(space: Workspace, run_id: str) -> Path:
    return space.run_dir(run_id)


def plain(message: str) -> str:
    """A message holding user text, escaped so st.error shows it as it is (no Markdown)."""
    return "".join("\\" + c if c in "\\`*_[]()<>#|$~&!" else c for c in message)


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load_model(folder: str, modified: float):
    """A run's model, vocabulary and step; ``modified`` (the file's mtime) renews the cache.

    Only the weights are read (no optimizer state), after the checkpoint's header is checked.
    """
    checkpoint = load_checkpoint(Path(folder), training_state=False)
    return checkpoint.model, checkpoint.vocabulary, checkpoint.step


def load_run_model(space: Workspace, run_id: str):
    """(model, vocabulary, step) of a run's latest saved model, or None with the reason shown."""
    try:
        folder = space.run_dir(run_id)
        return _load_model(str(folder), (folder / CHECKPOINT_FILE).stat().st_mtime)
    except UserError as error:
        st.error(f"This model cannot be loaded. {error}")
    except MemoryError:  # anything the checkpoint's loading did not turn into a message
        st.error(f"This model cannot be loaded. {OUT_OF_MEMORY}")
    except OSError:
        st.error("This run's saved model has just gone away (deleted?). Pick another run.")
    return None


@st.cache_resource(max_entries=16, show_spinner="Reading the text with the model…")
def _trace(folder: str, modified: float, text: str) -> inside.Trace:
    model, vocabulary, _ = _load_model(folder, modified)
    return inside.trace(model, vocabulary, text)


def cached_trace(space: Workspace, run_id: str, text: str) -> inside.Trace:
    """The Inside page's trace of ``text`` by the run's latest model (cached per text)."""
    folder = space.run_dir(run_id)
    return _trace(str(folder), (folder / CHECKPOINT_FILE).stat().st_mtime, text)


def choose_run(space: Workspace, runs: list, key: str, help: str, empty: str) -> str:
    """A "Model" select box over ``runs`` (the current run first chosen); choosing one makes
    it the workspace's current run. With no runs: ``empty`` and a way Home, then stop."""
    if not runs:
        st.info(empty)
        if st.button("Go to Home", key=f"{key}_go_home", type="primary"):
            st.switch_page("pages/home.py")
        st.stop()
    ids = [run.id for run in runs]
    current = space.choices.get("run")

    def remember() -> None:
        chosen = st.session_state.get(key)
        if chosen in {run.id for run in space.runs()}:  # never a stale choice
            space.update_choices(run=chosen)

    return st.selectbox(
        "Model",
        ids,
        index=ids.index(current) if current in ids else 0,
        format_func=run_labels(runs).get,
        key=key,
        on_change=remember,
        help=help,
    )


def line_chart(frame, x: str, y: str, color: str, **layout) -> None:
    """One line with markers per value of `color`, in order of first appearance, as
    plotly.express.line draws it; built from graph objects, about ten times faster (these
    charts are redrawn every second while runs train, for every visitor)."""
    figure = go.Figure()
    for name in dict.fromkeys(frame[color]):
        part = frame[frame[color] == name]
        figure.add_scatter(
            x=part[x],
            y=part[y],
            name=str(name),
            mode="lines+markers",
            hovertemplate=f"{color}={name}<br>{x}=%{{x}}<br>{y}=%{{y}}<extra></extra>",
        )
    figure.update_layout(
        xaxis_title=x,
        yaxis_title=y,
        legend_title_text=color,
        legend_tracegroupgap=0,
        margin=dict(l=10, r=10, t=30, b=10),  # plotly's own leaves a band of white above
    )
    figure.update_layout(**layout)
    st.plotly_chart(figure)


def csv_download(label: str, table, file_name: str, key: str) -> None:
    """A button that downloads a pandas table as CSV (no rerun when pressed)."""
    st.download_button(
        label,
        table.to_csv(index=False).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
    )
