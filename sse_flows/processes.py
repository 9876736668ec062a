"""Child processes that cannot outlive the worker.

joblib's loky workers (used by scikit-learn searches and the model ensembles) are separate
processes; when the sse-flows worker is killed with SIGKILL they would keep computing,
orphaned, until loky's idle timeout. :func:`die_with_parent_config` makes every loky worker
ask the Linux kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``).

The kernel's "parent" is the *thread* that started the worker: loky starts its workers
from the thread that first runs parallel work (the command's main thread here), so a
short-lived thread that runs joblib work under this configuration would take its workers
with it when it ends; loky then starts new ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator

__all__ = ["die_with_parent", "die_with_parent_config"]

_PR_SET_PDEATHSIG = 1


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


@contextlib.contextmanager
def die_with_parent_config() -> Iterator[None]:
    """joblib configuration under which every loky worker dies with this process."""
    from joblib import parallel_config

    with parallel_config(
        backend="loky", initializer=die_with_parent, initargs=(os.getpid(),)
    ):
        yield
