"""The error of the data build steps, below every module that raises it."""

from __future__ import annotations


class DataBuildError(RuntimeError):
    """A raw table cannot be turned into a derived table; the message names file and row."""
