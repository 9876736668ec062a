"""Small jobflow jobs for the worker-kill tests (imported by the worker subprocess too)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from jobflow import Flow, job


@job
def slow_step(name: str, seconds: float, log_dir: str, after: dict | None = None,
              release: str | None = None) -> dict:
    """Record that it ran (one line per run), wait ``seconds`` (or, with ``release``, until
    that file exists, at most ``seconds``), return its name and its predecessor's."""
    with open(Path(log_dir) / f"{name}.runs", "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (release and Path(release).exists()):
        time.sleep(0.1)
    return {"name": name, "after": after["name"] if after else None}


def chain(n: int, seconds: float, log_dir: str, release: str | None = None) -> Flow:
    """``n`` jobs, each waiting for the previous one's output (see :func:`slow_step`)."""
    jobs = []
    for i in range(n):
        after = jobs[-1].output if jobs else None
        step = slow_step(f"step{i}", seconds, log_dir, after=after, release=release)
        step.name = f"step{i}"
        jobs.append(step)
    return Flow(jobs, name="kill-test-chain")


def _sleep_and_report(log_dir: str, seconds: float) -> int:
    with open(Path(log_dir) / "children.pids", "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    return os.getpid()


@job
def parallel_step(log_dir: str, seconds: float) -> list[int]:
    """Two joblib (loky) worker processes that sleep, as scikit-learn searches use them."""
    from joblib import Parallel, delayed

    return Parallel(n_jobs=2)(delayed(_sleep_and_report)(log_dir, seconds) for _ in range(2))
