"""Materials sources: the offline MP snapshot (default) and the live MP API.

>>> from sse_flows.sources import get_source
>>> source = get_source("snapshot")
>>> records = source.li_records()             # list[MaterialRecord]
>>> entries = source.entries_in_chemsys(["Li", "P", "S"])
"""

from __future__ import annotations

from sse_flows.sources.base import MaterialsSource, SourceUnavailableError
from sse_flows.sources.mp_api import MPApiSource
from sse_flows.sources.schemas import MaterialRecord
from sse_flows.sources.snapshot import SnapshotSource

__all__ = [
    "MaterialRecord",
    "MaterialsSource",
    "MPApiSource",
    "SnapshotSource",
    "SourceUnavailableError",
    "get_source",
    "source_name",
]

SOURCE_NAMES = ("snapshot", "mp")


def source_name(name: str | None = None) -> str:
    """``name``, or the SOURCE setting (``SSE_FLOWS_SOURCE``, default ``'snapshot'``) when
    ``None``: how ``screen``, ``submit`` and ``demo`` pick their materials pool."""
    if name is None:
        from sse_flows.settings import get_settings

        return get_settings().SOURCE
    return name


def get_source(name: str | None = None, api_key: str | None = None) -> MaterialsSource:
    """The materials source called ``name``.

    Parameters
    ----------
    name
        ``'snapshot'`` (offline MP 2019 snapshot) or ``'mp'`` (live Materials Project);
        ``None``: the SOURCE setting (:func:`source_name`).
    api_key
        MP API key for ``'mp'`` (default: settings ``MP_API_KEY``).

    Raises
    ------
    SourceUnavailableError
        For ``'mp'`` without a key or network (the message says how to fall back).
    ValueError
        For an unknown name.
    """
    name = source_name(name)
    if name == "snapshot":
        return SnapshotSource()
    if name == "mp":
        return MPApiSource(api_key=api_key)
    raise ValueError(f"unknown materials source {name!r}; choose one of {', '.join(SOURCE_NAMES)}")
