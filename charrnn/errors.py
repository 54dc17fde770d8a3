"""The one base class of every message meant for a user: pages and the CLI catch UserError.

A bug is never a UserError: a page that catches this class shows only what people can act on.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a request the app cannot do; the message says why and what to do."""


class SettingsError(UserError, ValueError):
    """A setting out of its range (model size, training, sampling): the message names it.

    Also a ValueError, as a dataclass's own check of its fields has always been.
    """
