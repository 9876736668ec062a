"""Tiny jobflow jobs for the reliability tests (imported by worker subprocesses too)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from jobflow import Flow, job


@job
def sleepy(name: str, seconds: float, log_dir: str, after: str | None = None) -> str:
    """Record one line per run in ``<log_dir>/<name>.runs``, sleep, return ``name``.

    No sleep once the file ``<log_dir>/fast`` exists (a rerun after an interruption).
    """
    with open(Path(log_dir) / f"{name}.runs", "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    if not (Path(log_dir) / "fast").exists():
        time.sleep(seconds)
    return name


@job
def broken(name: str) -> str:
    """A job that always fails (its Firework FIZZLES)."""
    raise RuntimeError(f"{name} failed on purpose")


@job
def chatty(name: str) -> str:
    """A job that reports its progress once (``[<name>] halfway``)."""
    from sse_flows.progress import report_progress

    report_progress(f"[{name}] halfway")
    return name


def progress_flow() -> Flow:
    """One job, ``chatty``, that reports its progress."""
    talk = chatty("chatty")
    talk.name = "chatty"
    return Flow([talk], name="reliability-progress")


def chain(steps: list[tuple[str, float]], log_dir: str) -> Flow:
    """Jobs ``(name, seconds)`` that run one after the other, each waiting for the last."""
    jobs = []
    for name, seconds in steps:
        step = sleepy(name, seconds, log_dir, after=jobs[-1].output if jobs else None)
        step.name = name
        jobs.append(step)
    return Flow(jobs, name="reliability-chain")


def failing_flow(log_dir: str) -> Flow:
    """``ok`` completes, ``boom`` fizzles: a workflow with a FIZZLED stage."""
    ok = sleepy("ok", 0.0, log_dir)
    ok.name = "ok"
    boom = broken("boom")
    boom.name = "boom"
    return Flow([ok, boom], name="reliability-fizzled")
