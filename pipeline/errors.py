"""Error types that map to the command line's exit codes.

``UserError`` and subclasses mean bad input or usage: the CLI prints one ``error: ...`` line
and exits 2 (a subclass may set ``exit_code``, as ``SourceUnavailable`` does). Anything else is
unexpected and exits 1.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or usage; the message is shown to the user as is."""


class ConfigError(UserError):
    """A configuration file or value is invalid."""


class DataError(UserError):
    """Price data is missing, unreadable or fails validation."""


class SourceError(DataError):
    """A data source failed for one ticker (network, empty history, missing column)."""

    def __init__(self, ticker: str, message: str) -> None:
        super().__init__(f"{ticker}: {message}")
        self.ticker = ticker


class SourceUnavailable(SourceError):
    """A source stayed unreachable after its retries (network, timeouts, 429, 5xx).

    Not the user's fault, so it exits 1 (``exit_code``) where other ``UserError``s exit 2:
    a scheduler can tell "retry later" from "fix your input".
    """

    exit_code = 1


class TrainingFailed(UserError):
    """Training diverged (NaN loss, exploding gradients) or had nothing to learn from."""


class LockTimeout(UserError):
    """Another stackcast process holds a lock for too long."""


StackcastError = UserError
"""The one exception type the Python API raises for bad input (``stackcast.StackcastError``)."""
