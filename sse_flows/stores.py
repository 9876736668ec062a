"""The one place that builds the jobflow ``JobStore`` and the FireWorks ``LaunchPad``.

Two back ends, chosen by settings alone (the calling code never changes):

* **embedded** (default, no server): the JobStore is two maggma ``MontyStore`` s on disk
  (sqlite), ``docs`` plus an additional ``data`` store for large objects, and the LaunchPad is
  FireWorks' mongomock server-store file. Both live under ``$SSE_FLOWS_HOME/stores``.
* **MongoDB** (``SSE_FLOWS_MONGODB_URI`` set): a ``MongoURIStore`` for the docs, a
  ``GridFSURIStore`` for the data, and a real FireWorks LaunchPad on the same database.

The mongomock server store lives in the memory of one process and is written to its file
only when that process exits cleanly. :class:`EmbeddedLaunchPadSession` makes this safe:
it holds an exclusive file lock (one launcher at a time, a clear error for the second),
reloads the file on entry and writes it atomically after every state change it is told
about (``flush``), so a ``kill -9`` loses at most the Firework that was running.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sse_flows.settings import ConfigError, SseFlowsSettings, get_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fireworks import LaunchPad
    from jobflow import JobStore

#: name of the embedded LaunchPad database and file names under ``HOME/stores``
LAUNCHPAD_FILE = "launchpad.json"
LOCK_FILE = "launchpad.lock"
JOBSTORE_DIR = "jobstore"
LAUNCHPAD_DB = "sse_flows_fireworks"


class StoreError(ConfigError):
    """A store cannot be reached or used; the message names the problem and the fix."""


class LauncherBusyError(StoreError):
    """Another process holds the embedded LaunchPad."""


# --------------------------------------------------------------------------------------
# JobStore
# --------------------------------------------------------------------------------------
def job_store_spec(settings: SseFlowsSettings | None = None) -> dict[str, Any]:
    """The JobStore as a serializable dict (what a ``jobflow.yaml`` would hold)."""
    return get_job_store(settings, connect=False).as_dict()


def get_job_store(
    settings: SseFlowsSettings | None = None, connect: bool = True, read_only: bool = False
) -> JobStore:
    """Build the JobStore (``docs`` + additional ``data`` store) from settings.

    Parameters
    ----------
    settings
        Settings to use (default: the process settings).
    connect
        Connect (and, for the embedded store, create the database files) before returning.
        Creating the embedded database once, up front, avoids MontyDB's race when several
        processes create the same new database at once.
    read_only
        The caller only reads (``results``, ``report``). An embedded JobStore that cannot
        be written (a read-only ``SSE_FLOWS_HOME``) is then read from a temporary copy,
        because MontyDB writes its configuration and SQLite its WAL index on every
        connection; the copy is removed when the process exits.
    """
    from jobflow import JobStore

    settings = settings or get_settings()
    if settings.embedded:
        from maggma.stores import MontyStore

        path = settings.embedded_dir / JOBSTORE_DIR
        if read_only and _cannot_write_tree(path):
            check_job_store_files(path)
            path = _temporary_copy(path)
        path.mkdir(parents=True, exist_ok=True)
        docs = MontyStore("outputs", database_path=str(path), database_name="sse_flows")
        data = MontyStore("outputs_data", database_path=str(path), database_name="sse_flows")
    else:
        from maggma.stores import GridFSStore, MongoStore

        uri = settings.MONGODB_URI
        database = settings.MONGODB_DATABASE
        docs = MongoStore.from_uri(uri, "outputs", database=database)
        data = GridFSStore.from_uri(uri, "outputs_data", database=database)
    store = JobStore(docs, additional_stores={"data": data})
    if connect:
        if settings.embedded:
            check_job_store_files(settings.embedded_dir / JOBSTORE_DIR)
        else:
            check_mongodb(settings)
        store.connect()
    return store


def _cannot_write_tree(path: Path) -> bool:
    """True when ``path`` exists and it, or a file or folder in it, cannot be written."""
    if not path.is_dir():
        return False
    return any(not os.access(item, os.W_OK) for item in (path, *path.rglob("*")))


def _temporary_copy(path: Path) -> Path:
    """A private copy of the folder ``path`` (removed at exit) that a reader may open."""
    import atexit
    import shutil

    root = Path(tempfile.mkdtemp(prefix="sse_flows-read-only-jobstore-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    copy = root / path.name
    shutil.copytree(path, copy)
    for item in (copy, *copy.rglob("*")):
        item.chmod(0o700 if item.is_dir() else 0o600)
    return copy


#: the first 16 bytes of every SQLite database file
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_job_store_files(path: Path) -> None:
    """Refuse, with the file and the fix, an embedded JobStore file that is damaged.

    Each collection of the embedded JobStore is one SQLite file (``*.collection``). A file
    that does not start with the SQLite header, or is shorter than its header says (a
    truncated copy, a full disk), would fail later inside a query with "database disk
    image is malformed". Only the 100-byte headers are read, so this is fast at any size.
    """
    for file in sorted(path.glob("*/*.collection")):
        problem = _sqlite_problem(file)
        if problem:
            raise StoreError(
                f"The embedded JobStore file {file} is damaged ({problem}). Move the folder "
                f"{path} aside (the job outputs in it are lost) or restore it from a backup; "
                "nothing was changed."
            )


def _sqlite_problem(file: Path) -> str | None:
    try:
        size = file.stat().st_size
        with open(file, "rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if size == 0:
        return None  # SQLite treats an empty file as an empty database
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return "not an SQLite database"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter, valid_for = header[24:28], header[92:96]
    if counter == valid_for and pages and size < pages * page_size:
        return f"truncated: {size} bytes of {pages * page_size}"
    if size % page_size:
        return f"truncated: {size} bytes is not a whole number of {page_size}-byte pages"
    return None


def check_mongodb(settings: SseFlowsSettings) -> None:
    """Fail fast, with the fix, when the configured MongoDB does not answer."""
    import pymongo
    from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError

    uri = settings.MONGODB_URI or ""
    if not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise StoreError(
            f"SSE_FLOWS_MONGODB_URI={_redact(uri)!r} is not a valid MongoDB URI (it must start "
            "with mongodb:// or mongodb+srv://). Fix it, or unset it to use the embedded stores."
        )
    try:
        client = pymongo.MongoClient(
            settings.MONGODB_URI, serverSelectionTimeoutMS=settings.MONGODB_TIMEOUT_MS
        )
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        raise StoreError(
            f"SSE_FLOWS_MONGODB_URI is not a valid MongoDB URI ({exc}). Fix it, or unset it to "
            "use the embedded stores under SSE_FLOWS_HOME."
        ) from exc
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        raise StoreError(
            f"MongoDB at {_redact(settings.MONGODB_URI)} is unreachable "
            f"({type(exc).__name__}). Start the server or fix SSE_FLOWS_MONGODB_URI; unset it to "
            "use the embedded stores."
        ) from exc
    finally:
        client.close()


def _redact(uri: str | None) -> str:
    if not uri or "@" not in uri:
        return str(uri)
    scheme, rest = uri.split("://", 1) if "://" in uri else ("", uri)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


# --------------------------------------------------------------------------------------
# LaunchPad
# --------------------------------------------------------------------------------------
def launchpad_file(settings: SseFlowsSettings | None = None) -> Path:
    """Path of the embedded LaunchPad's server-store file."""
    settings = settings or get_settings()
    return settings.embedded_dir / LAUNCHPAD_FILE


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a kill leaves either the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _embedded_launchpad(settings: SseFlowsSettings) -> LaunchPad:
    """A LaunchPad on the mongomock server-store file (loaded from disk now)."""
    from sse_flows.adapters.mongomock_store import install_atomic_writes, open_launchpad

    path = launchpad_file(settings)
    if not path.exists():
        existing = next(folder for folder in (path.parent, *path.parents) if folder.exists())
        if not os.access(existing, os.W_OK):
            raise StoreError(
                f"No discovery workflow in SSE_FLOWS_HOME={settings.HOME}: it has no LaunchPad "
                f"file {path} (nothing was submitted from it) and cannot be written. Set "
                "SSE_FLOWS_HOME to the folder you submitted from."
            )
        _write_atomic(path, "{}")
    else:
        _check_launchpad_file(path)
    install_atomic_writes(_write_atomic)
    # Never write this process's copy back implicitly at exit: a reader would overwrite the
    # launcher's newer state. Writes happen only through EmbeddedLaunchPadSession.flush().
    return guard_heartbeat(_initialized(open_launchpad(path, LAUNCHPAD_DB)), embedded=True)


def guard_heartbeat(lpad: LaunchPad, embedded: bool) -> LaunchPad:
    """Make FireWorks' background heartbeat harmless (the rocket's ping thread).

    While a Firework runs, FireWorks pings its launch every hour from a second thread.
    Embedded, the ping is skipped: nothing reads it (the worker's file lock tells a live
    run from a lost one) and the mongomock client is not thread-safe. On MongoDB a ping of
    a launch that is gone (rerun meanwhile) is ignored instead of printing a thread
    traceback ("No Launch exists with launch_id=..."). Pings with a checkpoint (task
    recovery) are always passed on.
    """
    original = lpad.ping_launch

    def ping_launch(launch_id, ptime=None, checkpoint=None):
        if checkpoint is not None:
            return original(launch_id, ptime=ptime, checkpoint=checkpoint)
        if embedded:
            return None
        try:
            return original(launch_id, ptime=ptime)
        except ValueError as exc:
            if "No Launch exists" not in str(exc):
                raise
            logging.getLogger(__name__).debug("heartbeat of a removed launch: %s", exc)
            return None

    lpad.ping_launch = ping_launch
    return lpad


def _initialized(lpad: LaunchPad) -> LaunchPad:
    """Initialize a brand-new (empty) LaunchPad database; never touches one in use."""
    if lpad.fw_id_assigner.count_documents({}) == 0 and lpad.fireworks.count_documents({}) == 0:
        lpad.reset("", require_password=False)
    return lpad


def _check_launchpad_file(path: Path) -> None:
    """Refuse, with the file and the fix, a LaunchPad file that is not a server store.

    Nothing is written: the damaged file stays as it is for the user to inspect.
    """
    import bson.json_util

    fix = (
        f"Move it aside (mv {path} {path}.damaged) to start an empty LaunchPad (workflow "
        "states are lost; job outputs in the JobStore are kept), or restore it from a backup."
    )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(
            f"The embedded LaunchPad file {path} cannot be read ({exc}). {fix}"
        ) from None
    if not text.strip():
        raise StoreError(f"The embedded LaunchPad file {path} is empty. {fix}")
    try:
        content = bson.json_util.loads(text)
    except ValueError as exc:
        raise StoreError(
            f"The embedded LaunchPad file {path} is corrupt ({type(exc).__name__}: {exc}). {fix}"
        ) from None
    problem = _server_store_problem(content)
    if problem:
        raise StoreError(
            f"The embedded LaunchPad file {path} does not hold a LaunchPad ({problem}). {fix}"
        )


def _server_store_problem(content: Any) -> str | None:
    """Why ``content`` is not a mongomock server store ({db: {collection: {name, documents}}})."""
    if not isinstance(content, dict):
        return f"a JSON {type(content).__name__} instead of an object of databases"
    for db_name, database in content.items():
        if not isinstance(database, dict):
            return f"database {db_name!r} is not an object"
        for name, collection in database.items():
            if (
                not isinstance(collection, dict)
                or not isinstance(collection.get("documents"), list)
                or "name" not in collection
            ):
                return f"collection {db_name}.{name} has no 'name' and 'documents'"
    return None


def get_launchpad(settings: SseFlowsSettings | None = None) -> LaunchPad:
    """Build the FireWorks LaunchPad from settings.

    Embedded: the state on disk now (use :func:`launchpad_session` to change it safely).
    MongoDB: a real LaunchPad; an unreachable server fails at once with the fix.
    """
    settings = settings or get_settings()
    if settings.embedded:
        return _embedded_launchpad(settings)
    from fireworks import LaunchPad

    check_mongodb(settings)
    lpad = _initialized(
        LaunchPad.from_dict(
            {
                "host": settings.MONGODB_URI,
                "uri_mode": True,
                "name": settings.MONGODB_DATABASE,
                "mongoclient_kwargs": {"serverSelectionTimeoutMS": settings.MONGODB_TIMEOUT_MS},
                "strm_lvl": "ERROR",
            }
        )
    )
    return guard_heartbeat(lpad, embedded=False)


@dataclass
class EmbeddedLaunchPadSession:
    """Exclusive, crash-safe use of the embedded LaunchPad by one process.

    Attributes
    ----------
    launchpad
        The LaunchPad (loaded from disk when the lock was taken).
    path
        The server-store file.
    """

    launchpad: LaunchPad
    path: Path | None

    def flush(self) -> None:
        """Write the LaunchPad state to disk atomically (no-op for MongoDB)."""
        if self.path is None:
            return
        from sse_flows.adapters.mongomock_store import write_server_store

        write_server_store(self.launchpad)


@contextmanager
def launchpad_session(
    settings: SseFlowsSettings | None = None, purpose: str = "launcher"
) -> Iterator[EmbeddedLaunchPadSession]:
    """Hold the LaunchPad for a series of changes.

    Embedded: take the exclusive lock (a second holder gets :class:`LauncherBusyError`
    naming the process that holds it), load the file, and write it back on exit. MongoDB:
    no lock is needed, the server is shared.
    """
    settings = settings or get_settings()
    if not settings.embedded:
        yield EmbeddedLaunchPadSession(get_launchpad(settings), None)
        return
    settings.embedded_dir.mkdir(parents=True, exist_ok=True)
    lock_path = settings.embedded_dir / LOCK_FILE
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the session
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise LauncherBusyError(
            f"The embedded LaunchPad in {settings.embedded_dir} is in use by {holder}. The "
            "embedded store allows one launcher at a time: wait for it to finish (or stop it), "
            "or configure SSE_FLOWS_MONGODB_URI to run several workers."
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{purpose} (pid {os.getpid()})")
        handle.flush()
        session = EmbeddedLaunchPadSession(_embedded_launchpad(settings), launchpad_file(settings))
        try:
            yield session
        finally:
            session.flush()
    finally:
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def describe_stores(settings: SseFlowsSettings | None = None) -> dict[str, str]:
    """Human-readable locations of the configured stores."""
    settings = settings or get_settings()
    if settings.embedded:
        return {
            "mode": "embedded",
            "home": str(settings.HOME),
            "jobstore": f"MontyStore (sqlite) in {settings.embedded_dir / JOBSTORE_DIR}",
            "launchpad": f"mongomock server-store file {launchpad_file(settings)}",
        }
    return {
        "mode": "mongodb",
        "home": str(settings.HOME),
        "jobstore": f"MongoURIStore + GridFSURIStore on {_redact(settings.MONGODB_URI)}",
        "launchpad": f"LaunchPad on {_redact(settings.MONGODB_URI)}/{settings.MONGODB_DATABASE}",
    }
