"""The instructor's login, guarded server-wide: wrong passwords from every session count
together, and past a few a minute every attempt waits out a pause that doubles each time.

Failed attempts are logged (never what was typed); a configured password shorter than
MIN_PASSWORD_LENGTH leaves the instructor page switched off.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time

from charrnn.errors import UserError

MIN_PASSWORD_LENGTH = 10
FAILURES_ALLOWED = 5  # wrong passwords within WINDOW_SECONDS before a pause
WINDOW_SECONDS = 60.0
FIRST_PAUSE_SECONDS = 30.0  # then 60, 120, ... up to LONGEST_PAUSE_SECONDS
LONGEST_PAUSE_SECONDS = 3600.0

log = logging.getLogger("charrnn.runs.login")


class LoginPausedError(UserError, ValueError):
    """Too many wrong passwords on this server lately: every attempt waits a while."""


def password_problem(expected: str) -> str | None:
    """Why a configured password cannot be used, in plain words, or None."""
    if len(expected) < MIN_PASSWORD_LENGTH:
        return (
            f"The instructor password set on this server is shorter than "
            f"{MIN_PASSWORD_LENGTH} characters, so the instructor view stays switched off. "
            f"Set a password of at least {MIN_PASSWORD_LENGTH} characters, restart the "
            "server and open this page again."
        )
    return None


class LoginGuard:
    """One per server: counts wrong passwords from all sessions, and pauses logins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.failures: list[float] = []  # times of recent wrong passwords
        self.paused_until = 0.0
        self.pauses = 0  # pauses in a row: each one twice as long as the last

    def wait_seconds(self, now: float | None = None) -> float:
        """How long every attempt must still wait (0: none)."""
        now = time.monotonic() if now is None else now
        return max(0.0, self.paused_until - now)

    def attempt(self, typed: str, expected: str, now: float | None = None) -> bool:
        """Whether ``typed`` is the password; LoginPausedError while logins are paused."""
        now = time.monotonic() if now is None else now
        with self._lock:
            wait = self.wait_seconds(now)
            if wait > 0:
                raise LoginPausedError(
                    "Too many wrong passwords were typed on this server, so logging in is "
                    f"paused. Try again in {_say_seconds(wait)}."
                )
            if password_problem(expected) is None and hmac.compare_digest(
                str(typed).encode("utf-8"), str(expected).encode("utf-8")
            ):
                self.failures, self.pauses = [], 0
                return True
            self.failures = [at for at in self.failures if now - at < WINDOW_SECONDS] + [now]
            log.warning(
                "A wrong instructor password was typed (%d in the last minute).",
                len(self.failures),
            )
            if len(self.failures) >= FAILURES_ALLOWED:
                pause = min(FIRST_PAUSE_SECONDS * 2**self.pauses, LONGEST_PAUSE_SECONDS)
                self.paused_until, self.failures = now + pause, []
                self.pauses += 1
                log.warning("Instructor logins are paused for %.0f s.", pause)
            return False


def _say_seconds(seconds: float) -> str:
    whole = math.ceil(seconds)
    if whole < 120:
        return f"{whole} second{'s' if whole != 1 else ''}"
    return f"{math.ceil(whole / 60)} minutes"


INSTRUCTOR = LoginGuard()  # the server's one guard (one Streamlit server is one process)
