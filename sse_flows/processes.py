"""Child processes that cannot outlive a command, and the signal policy of every command.

joblib's loky workers (used by scikit-learn searches and the model ensembles) are separate
processes. Three rules keep them quiet and short-lived:

* :func:`joblib_children_config` makes every loky worker ask the Linux kernel to kill it when
  its parent dies (``PR_SET_PDEATHSIG``, so a ``kill -9`` of the command leaves nothing
  computing on) and ignore SIGINT (a Ctrl-C reaches the whole process group; the command,
  not each worker, decides what to do, so no worker prints a ``KeyboardInterrupt``
  traceback). A worker is started with SIGINT blocked, so that a Ctrl-C while its
  interpreter starts waits until it ignores SIGINT instead of raising in its imports.
* :func:`stop_on_signals` turns SIGINT and SIGTERM into :class:`CommandInterrupted` in the
  command's main thread; the command line (``sse_flows.cli``) then stops the children with
  :func:`terminate_children`, prints one line and exits 130 or 143.
* :func:`terminate_children` stops the loky executor and every child process *except* the
  resource trackers (loky's and multiprocessing's). Those ignore SIGINT and SIGTERM by
  design and exit on their own, after cleaning up, when the command exits; killing one
  makes loky start a new tracker that prints a ``KeyError`` traceback for every semaphore
  the old one knew.

The kernel's "parent" of a loky worker is the *thread* that started it: loky starts its
workers from the thread that first runs parallel work (the command's main thread here), so a
short-lived thread that runs joblib work under this configuration would take its workers
with it when it ends; loky then starts new ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator

__all__ = [
    "CommandInterrupted",
    "die_with_parent",
    "ignore_signals",
    "silence_abort_noise",
    "init_child_process",
    "joblib_children_config",
    "stop_on_signals",
    "terminate_children",
]

_PR_SET_PDEATHSIG = 1

#: the signals that stop a command (Ctrl-C, and ``kill``/a scheduler's stop)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: modules whose ``_resource_tracker`` process must never be killed (see module docstring)
_RESOURCE_TRACKER_MODULES = (
    "joblib.externals.loky.backend.resource_tracker",
    "multiprocessing.resource_tracker",
)


class CommandInterrupted(BaseException):
    """A command was stopped by SIGINT or SIGTERM.

    A ``BaseException`` (like ``KeyboardInterrupt``), so the work it interrupts cannot
    swallow it with ``except Exception``.

    Parameters
    ----------
    signum
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def signal_name(self) -> str:
        """``"SIGINT"`` or ``"SIGTERM"``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum

    def describe(self, command: str | None = None) -> str:
        """One line for the user: which command stopped, and why.

        Parameters
        ----------
        command
            The ``sse-flows`` sub-command that was running (None: stopped while starting).
        """
        what = f"sse-flows {command}" if command else "sse-flows"
        return f"{what} stopped by {self.signal_name}; run it again to finish."


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise :class:`CommandInterrupted` in the main thread on SIGINT or SIGTERM.

    Outside the main thread (where Python delivers no signals) this does nothing. The
    previous handlers are restored on exit. Code that handles the interruption should call
    :func:`ignore_signals` first, so that a second Ctrl-C does not interrupt its cleanup.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        silence_abort_noise()
        raise CommandInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


#: warnings that only say the interrupted work was cancelled (module, message)
ABORT_WARNINGS = (("joblib", "tasks which were still being processed by the workers have been"),)


def silence_abort_noise() -> None:
    """Hide what an interruption itself causes in joblib: its "tasks cancelled" warning, and
    the exceptions of loky's executor-manager thread while its workers are being stopped
    (it can race with the shutdown and raise a ``KeyError`` for a work item just dropped).

    Exceptions of other threads still reach the previous ``threading.excepthook``.
    """
    for module, message in ABORT_WARNINGS:
        warnings.filterwarnings("ignore", message=f".*{message}.*", module=f"{module}.*")
    previous = threading.excepthook
    if getattr(previous, "_sse_flows_quiet", False):
        return

    def excepthook(args) -> None:
        if type(args.thread).__module__.startswith("joblib."):
            return  # loky's own thread, stopping with its executor
        previous(args)

    excepthook._sse_flows_quiet = True  # type: ignore[attr-defined]
    threading.excepthook = excepthook


def ignore_signals() -> None:
    """Ignore further SIGINT/SIGTERM in this process (while it stops; main thread only)."""
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def _resource_tracker_pids() -> set[int]:
    """Pids of the resource-tracker processes this process started (loky's, stdlib's)."""
    pids = set()
    for name in _RESOURCE_TRACKER_MODULES:
        tracker = getattr(sys.modules.get(name), "_resource_tracker", None)
        pid = getattr(tracker, "_pid", None)
        if pid:
            pids.add(int(pid))
    return pids


def terminate_children(timeout: float = 5.0) -> list[int]:
    """Stop this process's child processes (joblib/loky workers) quietly; return their pids.

    The loky executor is shut down (its workers killed), then every other descendant gets
    SIGTERM, and SIGKILL after ``timeout`` seconds. Resource trackers are left alone: they
    ignore both signals, clean up and exit when this process exits (see the module
    docstring for why killing one prints tracebacks).

    Parameters
    ----------
    timeout
        Seconds to wait for the children after SIGTERM.
    """
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    if executor is not None:  # only one that exists: never start workers to stop them
        try:
            executor.shutdown(wait=False, kill_workers=True)
        except Exception:  # noqa: BLE001 - best effort; psutil below stops the rest
            pass
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with the scientific stack
        return []
    trackers = _resource_tracker_pids()
    children = []
    for child in psutil.Process().children(recursive=True):
        try:
            is_tracker = child.pid in trackers or "resource_tracker" in " ".join(child.cmdline())
        except psutil.Error:
            continue  # gone already
        if not is_tracker:
            children.append(child)
    for child in children:
        try:
            child.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass
    return [child.pid for child in children]


def die_with_parent(parent_pid: int | None = None) -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; elsewhere a no-op).

    Parameters
    ----------
    parent_pid
        The parent expected; if it is already gone (the process was re-parented), exit now.

    Returns
    -------
    bool
        True when the request was registered.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        registered = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request: do not run orphaned
    return registered


def init_child_process(parent_pid: int | None = None) -> None:
    """Initializer of a loky worker: ignore SIGINT (then unblock it), die with the parent.

    Parameters
    ----------
    parent_pid
        The command's pid (see :func:`die_with_parent`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # started blocked (_spawned_with_sigint_blocked)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    die_with_parent(parent_pid)


@contextlib.contextmanager
def _spawned_with_sigint_blocked() -> Iterator[None]:
    """loky starts its worker processes with SIGINT blocked (inherited through exec).

    loky itself starts its resource tracker this way. The calling thread blocks SIGINT only
    while it spawns; a SIGINT meanwhile stays pending for this process, it is not lost.
    """
    try:
        from joblib.externals.loky.backend import fork_exec as spawning
    except ImportError:  # pragma: no cover - Windows: no fork_exec, no process groups
        yield
        return
    original = spawning.fork_exec
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - POSIX has it
        yield
        return

    def fork_exec(*args, **kwargs):
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return original(*args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    spawning.fork_exec = fork_exec
    try:
        yield
    finally:
        spawning.fork_exec = original


@contextlib.contextmanager
def joblib_children_config() -> Iterator[None]:
    """joblib configuration whose loky workers ignore SIGINT and die with this process."""
    from joblib import parallel_config

    with _spawned_with_sigint_blocked(), parallel_config(
        backend="loky", initializer=init_child_process, initargs=(os.getpid(),)
    ):
        yield
