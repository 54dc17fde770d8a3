"""What the AppTest modules share: open a page of the app in a workspace, check for crashes."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def open_page(token: str, page: str) -> AppTest:
    """The app opened at ?ws=token, then switched to pages/<page>.py, as a visitor would."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = token
    at.run()
    at.switch_page(f"pages/{page}.py")
    return at.run()


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
