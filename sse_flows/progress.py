"""Progress lines of long jobs: in the job's output, and on the terminal of a worker.

A job says how far it got with :func:`report_progress`. The line goes to stdout, which is
the launch folder's ``launch.log`` under ``sse-flows worker`` and the queue's output file
under ``qlaunch``. ``sse-flows worker`` (unless ``--quiet``) also echoes it to its stderr
through :func:`echo_progress`, so whoever watches ``sse-flows demo`` sees each MD material
finish instead of minutes of silence. This module imports nothing from the package.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["echo_progress", "report_progress"]

_ECHO: list[TextIO] = []


def report_progress(line: str) -> None:
    """Print ``line`` to stdout and to every stream :func:`echo_progress` installed.

    Parameters
    ----------
    line : str
        One line, e.g. ``"[md] mp-570379: no diffusion (564 s)"``.
    """
    print(line, flush=True)  # noqa: T201 - the job's output
    for stream in _ECHO:
        if stream is not sys.stdout:
            print(line, file=stream, flush=True)  # noqa: T201


@contextmanager
def echo_progress(stream: TextIO) -> Iterator[None]:
    """Echo the progress lines of the jobs run inside the block to ``stream`` too.

    Parameters
    ----------
    stream : TextIO
        Where to echo them (the worker's stderr).
    """
    _ECHO.append(stream)
    try:
        yield
    finally:
        _ECHO.remove(stream)
