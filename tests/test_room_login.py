"""The instructor's login is guarded for the whole server: wrong passwords typed in many
sessions count together, then every attempt waits a pause that grows; short passwords are
refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from charrnn.runs import login
from charrnn.runs.login import FAILURES_ALLOWED, FIRST_PAUSE_SECONDS, LoginGuard, LoginPausedError

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fresh_guard():
    login.INSTRUCTOR.reset()
    yield
    login.INSTRUCTOR.reset()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path))
    monkeypatch.setenv("CHARRNN_INSTRUCTOR_PASSWORD", PASSWORD)
    return tmp_path


def instructor_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/instructor.py").run()
    assert not at.exception
    return at


def type_password(at: AppTest, password: str) -> list[str]:
    at.text_input(key="instructor_password").input(password)
    at.button(key="instructor_open").click().run()
    assert not at.exception
    return [error.value for error in at.error]


def test_wrong_passwords_pause_logins_for_a_growing_while(caplog):
    guard = LoginGuard()
    caplog.set_level(logging.WARNING, logger="charrnn.runs.login")
    for attempt in range(FAILURES_ALLOWED):
        assert guard.attempt("guess-secret-1", PASSWORD, now=100.0 + attempt) is False
    assert "guess-secret-1" not in caplog.text and "wrong instructor password" in caplog.text
    with pytest.raises(LoginPausedError, match="Try again in 2[0-9] seconds"):
        guard.attempt(PASSWORD, PASSWORD, now=110.0)  # even the right one waits
    assert guard.wait_seconds(now=104.0) == FIRST_PAUSE_SECONDS
    later = 104.0 + FIRST_PAUSE_SECONDS + 1
    for attempt in range(FAILURES_ALLOWED):
        guard.attempt("another guess", PASSWORD, now=later + attempt)
    assert guard.wait_seconds(now=later + FAILURES_ALLOWED - 1) == 2 * FIRST_PAUSE_SECONDS
    assert guard.attempt(PASSWORD, PASSWORD, now=later + 1000) is True


def test_failures_spread_over_more_than_a_minute_do_not_pause():
    guard = LoginGuard()
    for attempt in range(3 * FAILURES_ALLOWED):
        guard.attempt("slow guess", PASSWORD, now=attempt * 20.0)
    assert guard.wait_seconds(now=3 * FAILURES_ALLOWED * 20.0) == 0


def test_guesses_from_many_sessions_count_together(home):
    sessions = [instructor_page() for _ in range(FAILURES_ALLOWED)]
    for at in sessions:  # one wrong guess each: no session alone is past the limit
        assert type_password(at, "wrong guess!") == ["Wrong password."]
    newcomer = instructor_page()
    [message] = type_password(newcomer, PASSWORD)
    assert "logging in is paused" in message and "Try again in" in message
    assert not newcomer.dataframe


def test_a_short_password_leaves_the_page_switched_off(home, monkeypatch):
    monkeypatch.setenv("CHARRNN_INSTRUCTOR_PASSWORD", "short")
    at = instructor_page()
    assert "shorter than 10 characters" in at.info[0].value
    assert not at.text_input
