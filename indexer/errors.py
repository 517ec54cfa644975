"""The small error hierarchy. Library code raises these; only the CLI and Slack edges turn them into user text."""

from __future__ import annotations


class RegwatchError(Exception):
    """Base class. `hint` says what the user can do about it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(RegwatchError):
    """A setting is missing or has a wrong value."""


class ParseError(RegwatchError):
    """A document could not be read; the rest of a run goes on."""

    def __init__(self, path: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {message}", hint=hint)
        self.path = path
        self.reason = message


class StoreError(RegwatchError):
    """The vector store, lexical index or ledger failed."""


class FetchError(RegwatchError):
    """A source could not be fetched."""


class NotIndexedError(RegwatchError):
    """A command needs an index that does not exist yet."""
