"""Instructor: the whole room at a glance, behind a password: every job, the load, the gallery.

The password is st.secrets["instructor_password"] or the CHARRNN_INSTRUCTOR_PASSWORD variable.
"""

from __future__ import annotations

import hashlib
import os
import time

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from app import ui
from charrnn.errors import UserError
from charrnn.runs import gallery, instructor, login
from charrnn.runs.report import duration, escape_markdown

PASSWORD_VARIABLE = "CHARRNN_INSTRUCTOR_PASSWORD"
REFRESH_SECONDS = 5.0
CLUSTER_HELP = (
    "This server sends jobs to the Ray cluster named by CHARRNN_RAY_ADDRESS. `ray status` on "
    "its head node says whether it runs; this server's log has Ray's own reason. Runs that "
    "were training stay resumable from their last checkpoint."
)
OUTCOMES = {
    "cancelled": "The job left the queue; its run shows as stopped.",
    "asked": "The run was asked to stop: it saves its model and ends within a few seconds. "
    "Use Kill only if it is still running in a minute.",
    "ended": "The job was ended.",
    "gone": "That job had already ended.",
}


def configured_password() -> str:
    """The instructor password, or "" when none is set (the page is then switched off)."""
    try:
        secret = st.secrets["instructor_password"]
    except (KeyError, FileNotFoundError, StreamlitSecretNotFoundError):  # no secrets file
        secret = ""
    return str(secret or os.environ.get(PASSWORD_VARIABLE, ""))


def fingerprint(password: str) -> str:
    """What the session remembers after a good password: a new password asks again."""
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


def log_in(expected: str) -> None:
    typed = st.session_state.get("instructor_password", "")
    st.session_state["instructor_password"] = ""  # never kept
    try:
        right = login.INSTRUCTOR.attempt(typed, expected)  # counted for the whole server
    except UserError as error:  # too many wrong passwords lately
        st.session_state["instructor_wrong"] = str(error)
        return
    if right:
        st.session_state["instructor_in"] = fingerprint(expected)
    else:
        st.session_state["instructor_wrong"] = "Wrong password."


def act(runner, action: str) -> None:
    try:
        job = instructor.find_job(runner, st.session_state.get("instructor_job"))
        if job is None:
            outcome = OUTCOMES["gone"]
        elif action == "stop":
            outcome = OUTCOMES[instructor.stop_job(runner, job)]
        elif instructor.kill_job(runner, job):
            outcome = "The job's process was ended. A training run keeps its last saved model."
        else:
            outcome = OUTCOMES["gone"]
    except UserError as error:  # the course's Ray cluster cannot be reached
        outcome = str(error)
    st.session_state["instructor_outcome"] = outcome


def jobs(runner) -> None:
    try:
        load = instructor.machine_load(runner)
        rows = instructor.job_rows(runner)
    except UserError as error:  # the course's Ray cluster cannot be reached, or is busy
        st.error(str(error))
        st.caption(CLUSTER_HELP)
        return
    first, second, third = st.columns(3)
    averages = load["load"]
    first.metric(
        "Load (last minute)",
        f"{averages[0]:.2f}" if averages else "unknown",
        help=f"Processes wanting a core, averaged; this machine has {load['cores']} cores.",
    )
    second.metric("Jobs running", f"{load['running']} of {load['workers']} workers")
    third.metric("Jobs waiting", load["queued"])
    outcome = st.session_state.pop("instructor_outcome", None)
    if outcome:
        st.info(outcome)
    if not rows:
        st.info("No jobs running or waiting.")
        return
    table = pd.DataFrame(
        {
            "workspace": [f"{row.workspace}…" for row in rows],
            "run": [row.run_name for row in rows],
            "status": [row.status for row in rows],
            "task": [row.task for row in rows],
            "time": [
                f"waiting {duration(row.seconds)}" if row.queued else duration(row.seconds)
                for row in rows
            ],
            "step": [row.step for row in rows],
        }
    )
    st.dataframe(table, hide_index=True)
    labels = {row.key: f"{row.workspace}… · {row.run_name} · {row.status}" for row in rows}
    chosen = st.selectbox(
        "Job", list(labels), format_func=labels.get, key="instructor_job", index=0
    )
    queued = any(row.queued for row in rows if row.key == chosen)
    stop, kill = st.columns(2)
    stop.button(
        "Stop" if not queued else "Take out of the queue",
        key="instructor_stop",
        icon=":material/stop:",
        on_click=act,
        args=(runner, "stop"),
        help="A training run saves its model and stops, as if its owner had pressed Stop.",
    )
    kill.button(
        "Kill",
        key="instructor_kill",
        icon=":material/dangerous:",
        disabled=queued,
        on_click=act,
        args=(runner, "kill"),
        help="Only for a job that ignores Stop: ends its process at once. A training run "
        "keeps its last saved model and shows as failed.",
    )


def remove(entry_id: str) -> None:
    gallery.remove(None, entry_id)


def class_gallery() -> None:
    shown = gallery.entries()
    if not shown:
        st.info("Nothing has been shared yet.")
        return
    st.caption(f"{len(shown)} entries, newest first. Remove takes one down for everyone.")
    now = time.time()
    for entry in shown:
        with st.container(border=True):
            about, action = st.columns([5, 1], vertical_alignment="center")
            what = f"{len(entry.items)} {'samples' if entry.kind == 'text' else 'molecules'}"
            if entry.kind == "game":
                what = f"a game score, {entry.score:.2f}"
            about.markdown(
                f"**{escape_markdown(entry.author)}** · {escape_markdown(entry.run_name)} · "
                f"{what} · {duration(now - entry.created)} ago"
            )
            action.button(
                "Remove",
                key=f"instructor_remove_{entry.id}",
                icon=":material/delete:",
                on_click=remove,
                args=(entry.id,),
            )
            separator = "\n" if entry.kind == "molecules" else "\n\n"
            st.code(separator.join(entry.items), language=None, wrap_lines=True, height=140)


st.title("Instructor")
expected = configured_password()
if not expected:
    st.info(
        "The instructor view is switched off because no password is set. To switch it on, "
        'either put the line `instructor_password = "..."` in `.streamlit/secrets.toml` '
        f"next to streamlit_app.py, or start the server with `{PASSWORD_VARIABLE}=...` in "
        "its environment. Then open this page again."
    )
    st.stop()
if problem := login.password_problem(expected):
    st.info(problem)
    st.stop()

if st.session_state.get("instructor_in") != fingerprint(expected):
    st.caption("Every job on this server and the class gallery, for whoever runs the session.")
    with st.form("instructor_login"):
        st.text_input("Instructor password", type="password", key="instructor_password")
        st.form_submit_button(
            "Open", key="instructor_open", type="primary", on_click=log_in, args=(expected,)
        )
    if wrong := st.session_state.pop("instructor_wrong", None):
        st.error(str(wrong))
    st.stop()

runner = ui.job_runner()
st.subheader("Jobs on this server")
st.caption(
    "Everyone's training runs and chemistry checks. Workspaces show only the start of "
    "their link. This part updates by itself."
)
st.fragment(jobs, run_every=REFRESH_SECONDS)(runner)
st.subheader("Class gallery")
st.fragment(class_gallery, run_every=REFRESH_SECONDS * 2)()
if st.button("Log out", key="instructor_log_out"):
    st.session_state.pop("instructor_in", None)
    st.rerun()
