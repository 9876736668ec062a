"""What ``sse-flows worker`` tells: a FIZZLED Firework (exit 3), each Firework by name, and
a RUNNING Firework left behind by a killed worker (stale until the next worker re-queues it).

Issue 27, cases 4 (worker part) and 7 (progress lines, stale RUNNING). The flows are the
tiny sleeping/failing jobs of ``quick_jobs``; nothing trains or runs MD.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent

STALE = "RUNNING (stale: no worker holds the lock; run `sse-flows worker` to requeue)"


@pytest.fixture()
def quick_jobs(monkeypatch):
    """The ``quick_jobs`` module, importable here and by worker subprocesses."""
    monkeypatch.syspath_prepend(str(HERE))
    import quick_jobs

    return quick_jobs


def _fw_ids() -> dict[str, int]:
    from sse_flows.stores import get_launchpad

    fireworks = get_launchpad().fireworks.find({}, {"name": 1, "fw_id": 1})
    return {fw["name"]: fw["fw_id"] for fw in fireworks}


def _states() -> dict[str, str]:
    from sse_flows.stores import get_launchpad

    lpad = get_launchpad()
    return {fw["name"]: fw["state"] for fw in lpad.fireworks.find({}, {"name": 1, "state": 1})}


def test_worker_exits_3_naming_the_fizzled_firework(sse_home, tmp_path, quick_jobs):
    """A worker that ran a Firework that FIZZLED exits 3 (not 0) with one line naming it,
    its error, and `sse-flows status`; the progress lines name each Firework by name and
    id (not by a count); the job's traceback goes to the launch folder, not the terminal."""
    from sse_flows.cli import cli
    from sse_flows.launcher import submit_flow

    submit_flow(quick_jobs.failing_flow(str(tmp_path)))
    ids = _fw_ids()
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.stderr
    (only_line,) = result.stdout.strip().splitlines()  # stdout: the JSON summary alone
    summary = json.loads(only_line)
    assert summary["fireworks_run"] == 2 and summary["fizzled"] == [ids["boom"]]
    lines = result.stderr.strip().splitlines()
    assert f"[worker] done: ok (fw {ids['ok']})" in lines
    for name in ("ok", "boom"):  # each Firework's start is named before its end
        start = next(i for i, line in enumerate(lines)
                     if line.startswith(f"[worker] running: {name} (fw {ids[name]}), log: "))
        assert f"(fw {ids[name]})" in lines[start + 1] and "running" not in lines[start + 1]
    boom = f"boom (fw {ids['boom']}): RuntimeError: boom failed on purpose"
    progress = next(line for line in lines if line.startswith("[worker] FIZZLED:"))
    assert progress.startswith(f"[worker] FIZZLED: {boom} (full error: ")
    error_log = Path(progress.rsplit("(full error: ", 1)[1].rstrip(")"))
    assert "Traceback" in error_log.read_text()  # the traceback is kept, off the terminal
    # FireWorks' and jobflow's INFO lines are kept in the launch folder too
    assert f"RUNNING fw_id: {ids['boom']}" in (error_log.parent / "launch.log").read_text()
    assert lines[-1].startswith(f"worker ran 2 Fireworks; FIZZLED: {boom}.")
    assert "see `sse-flows status`" in lines[-1]
    assert len(lines) == 5, result.stderr  # start and end of each, the verdict, nothing else


def test_worker_exits_0_when_every_firework_completes(sse_home, tmp_path, quick_jobs):
    """The exit code 3 is for a fizzle only: a clean run still exits 0."""
    from sse_flows.cli import cli
    from sse_flows.launcher import submit_flow

    submit_flow(quick_jobs.chain([("first", 0.0), ("second", 0.0)], str(tmp_path)))
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["fizzled"] == []
    assert "FIZZLED" not in result.stderr


def test_the_worker_shows_what_runs_and_echoes_the_jobs_progress_lines(
    sse_home, quick_jobs
):
    """Whoever watches a worker sees which Firework runs, where its log is, and the job's
    own progress lines (also kept in that log); --quiet shows none of them."""
    from sse_flows.cli import cli
    from sse_flows.launcher import submit_flow

    submit_flow(quick_jobs.progress_flow())
    fw_id = _fw_ids()["chatty"]
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 0, result.output
    running, progress, done = result.stderr.strip().splitlines()
    assert running.startswith(f"[worker] running: chatty (fw {fw_id}), log: ")
    assert progress == "[chatty] halfway"
    assert done == f"[worker] done: chatty (fw {fw_id})"
    log = Path(running.split(", log: ", 1)[1])
    assert "[chatty] halfway" in log.read_text() and f"RUNNING fw_id: {fw_id}" in log.read_text()
    assert len(result.stdout.strip().splitlines()) == 1  # stdout: the JSON summary alone

    submit_flow(quick_jobs.progress_flow())
    quiet = CliRunner().invoke(cli, ["worker", "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert json.loads(quiet.stdout.strip().splitlines()[-1])["fireworks_run"] == 1
    assert "[chatty]" not in quiet.stderr and "[worker]" not in quiet.stderr


def _kill9_worker_while_running(env: dict, logs: Path) -> int:
    """Start a worker, SIGKILL it while its first job sleeps; return the dead worker's pid."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "sse_flows.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300  # a cap for a loaded machine, not a timing
        while not (logs / "first.runs").exists():
            assert worker.poll() is None, "the worker ended before its first job ran"
            assert time.monotonic() < deadline, "the worker never started its first job"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    return worker.pid


def test_status_and_results_mark_a_killed_workers_running_firework_stale(
    sse_home, tmp_path, quick_jobs
):
    """After a kill -9 of the worker, `status` and `results` say that the RUNNING Firework
    is stale (no worker holds the lock) and how to requeue it; while a live process holds
    the lock it is not called stale; the next worker re-queues and finishes it."""
    from sse_flows.cli import cli
    from sse_flows.flows.results import workflow_status
    from sse_flows.launcher import submit_flow
    from sse_flows.stores import launchpad_session

    logs = tmp_path / "logs"
    logs.mkdir()
    submission = submit_flow(quick_jobs.chain([("first", 120.0), ("second", 0.0)], str(logs)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    dead_pid = _kill9_worker_while_running(env, logs)
    first = _fw_ids()["first"]
    assert _states()["first"] == "RUNNING"
    lock = sse_home / "stores" / "launchpad.lock"
    assert f"(pid {dead_pid})" in lock.read_text()  # what a killed holder leaves behind

    status = CliRunner().invoke(cli, ["status"])
    assert status.exit_code == 0, status.output
    header = status.stdout.splitlines()[0]
    assert header.endswith(STALE), status.stdout
    stage = next(line for line in status.stdout.splitlines() if line.strip().startswith(str(first)))
    assert "RUNNING" in stage and "stale" in stage
    as_json = json.loads(CliRunner().invoke(cli, ["status", "--json"]).stdout)
    assert as_json["state"] == "RUNNING" and as_json["stale_fw_ids"] == [first]
    results = CliRunner().invoke(cli, ["results"])
    assert results.exit_code == 0, results.output
    assert f"workflow {submission.workflow_id} is {STALE}" in results.stdout

    with launchpad_session(purpose="test holder"):  # a live holder: not stale
        assert workflow_status()["stale_fw_ids"] == []

    (logs / "fast").write_text("")  # the rerun does not sleep
    again = CliRunner().invoke(cli, ["worker"])
    assert again.exit_code == 0, again.output
    assert f"re-queued lost Fireworks: [{first}]" in again.stderr
    assert set(_states().values()) == {"COMPLETED"}
    after = CliRunner().invoke(cli, ["status"])
    assert "stale" not in after.stdout and "COMPLETED" in after.stdout.splitlines()[0]
