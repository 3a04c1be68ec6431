"""The error of a data file that is not there (its own module so every loader can raise it)."""

from __future__ import annotations

from ..errors import DataError


class MissingDataError(DataError, FileNotFoundError):
    """A data file that is not there; the message says how to get it."""
