"""The embedded LaunchPad's file store: mongomock-persistence internals in one place.

FireWorks' ``LaunchPad`` talks to MongoDB through ``pymongo.MongoClient``;
mongomock-persistence offers a drop-in client whose databases live in one process's
memory (a ``ServerStore``) and are written to a JSON file. Three things it does not offer
publicly are done here:

* building a LaunchPad on that client (FireWorks has no client argument: its module-level
  ``MongoClient`` is swapped while the LaunchPad is created);
* writing the file atomically (temp file + rename) instead of truncating it in place;
* writing only when told to: the exit-time write of every process is detached, and
  :func:`write_server_store` writes one LaunchPad's state now.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fireworks import LaunchPad

__all__ = ["install_atomic_writes", "open_launchpad", "write_server_store"]

#: mongomock-persistence reads the file named by this variable when a client is created
SERVER_STORE_FILE_VARIABLE = "MONGOMOCK_SERVERSTORE_FILE"


def install_atomic_writes(write_atomic: Callable[[Path, str], None]) -> None:
    """Make every ``ServerStore`` write its file with ``write_atomic`` (once per process).

    Parameters
    ----------
    write_atomic : callable
        ``write_atomic(path, text)``: writes ``text`` to ``path`` atomically.
    """
    import bson.json_util
    from mongomock_persistence.store import ServerStore

    if getattr(ServerStore, "_sse_flows_atomic", False):
        return

    def _to_file(self) -> None:
        if self._filename:
            write_atomic(Path(self._filename), bson.json_util.dumps(self.to_dict()))

    ServerStore._to_file = _to_file
    ServerStore._sse_flows_atomic = True


def open_launchpad(path: Path, name: str) -> LaunchPad:
    """A FireWorks LaunchPad whose database ``name`` lives in the server-store file ``path``.

    Parameters
    ----------
    path : Path
        The server-store file (read now; it must exist and hold a server store).
    name : str
        The LaunchPad's database name.

    Returns
    -------
    LaunchPad
        Loaded from ``path``; it never writes the file back by itself at exit (call
        :func:`write_server_store`).
    """
    import fireworks.core.launchpad as fw_launchpad
    import mongomock_persistence
    from mongomock.gridfs import enable_gridfs_integration

    enable_gridfs_integration()  # the LaunchPad opens a GridFS fallback collection
    os.environ[SERVER_STORE_FILE_VARIABLE] = str(path)
    original = fw_launchpad.MongoClient
    fw_launchpad.MongoClient = mongomock_persistence.MongoClient
    try:
        lpad = fw_launchpad.LaunchPad(host="localhost", name=name, strm_lvl="ERROR")
    finally:
        fw_launchpad.MongoClient = original
    finalizer = getattr(lpad.connection._store, "_finalizer", None)
    if finalizer is not None:
        finalizer.detach()
    return lpad


def write_server_store(lpad: LaunchPad) -> None:
    """Write the state of a LaunchPad made by :func:`open_launchpad` to its file now.

    Parameters
    ----------
    lpad : LaunchPad
        A LaunchPad on a mongomock-persistence client.
    """
    lpad.connection._store._to_file()
