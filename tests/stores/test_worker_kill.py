"""The embedded LaunchPad survives a kill -9 of its worker, and allows one launcher at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture()
def chain_env(sse_home, tmp_path, monkeypatch):
    """Environment for worker subprocesses that can import the test jobs."""
    monkeypatch.syspath_prepend(str(HERE))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    log_dir = tmp_path / "runs"
    log_dir.mkdir()
    return env, log_dir


def _states():
    from sse_flows.stores import get_launchpad

    lpad = get_launchpad()
    return {fw["name"]: fw["state"] for fw in lpad.fireworks.find({}, {"name": 1, "state": 1})}


def _worker(env, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "sse_flows.cli", "worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_kill9_keeps_completed_fireworks_and_a_new_worker_finishes(chain_env):
    from kill_jobs import chain

    from sse_flows.launcher import submit_flow
    from sse_flows.stores import get_job_store

    env, log_dir = chain_env
    flow = chain(4, 1.5, str(log_dir))
    submit_flow(flow)
    assert set(_states().values()) <= {"READY", "WAITING"}

    first = _worker(env)
    # kill -9 while step1 runs, after step0 has completed and been written to disk
    assert _wait_for(lambda: (log_dir / "step1.runs").exists()), "worker never reached step1"
    assert _states().get("step0") == "COMPLETED"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert _states()["step0"] == "COMPLETED"  # not lost with the process
    assert _states()["step3"] in ("WAITING", "READY")

    second = _worker(env)
    out, err = second.communicate(timeout=180)
    assert second.returncode == 0, err
    assert set(_states().values()) == {"COMPLETED"}
    # completed stages were not rerun; only the interrupted one ran twice
    runs = {p.stem: len(p.read_text().split()) for p in log_dir.glob("*.runs")}
    assert runs["step0"] == 1 and runs["step2"] == 1 and runs["step3"] == 1
    assert runs["step1"] == 2
    # exactly one output per job in the JobStore, chained correctly
    store = get_job_store()
    docs = list(store.query({"name": {"$regex": "^step"}}, properties=["uuid", "output"]))
    assert len(docs) == 4
    assert len({d["uuid"] for d in docs}) == 4
    assert sorted(d["output"]["after"] or "" for d in docs) == ["", "step0", "step1", "step2"]


def test_second_launcher_is_refused_with_clear_message(chain_env):
    from kill_jobs import chain

    from sse_flows.launcher import submit_flow

    env, log_dir = chain_env
    release = log_dir / "release"  # the first worker's steps wait for it: no race on load
    submit_flow(chain(2, 300.0, str(log_dir), release=str(release)))
    first = _worker(env)
    try:
        assert _wait_for(lambda: (log_dir / "step0.runs").exists())
        second = _worker(env)
        out, err = second.communicate(timeout=120)
        assert second.returncode != 0
        assert "in use by worker" in err and "one launcher at a time" in err
        assert first.poll() is None  # the first still holds the lock and runs step0
    finally:
        release.touch()
        first.communicate(timeout=300)
    assert first.returncode == 0
    runs = {p.stem: len(p.read_text().split()) for p in log_dir.glob("*.runs")}
    assert runs == {"step0": 1, "step1": 1}  # nothing ran twice


def test_duplicate_submission_returns_existing_workflow(sse_home, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    from kill_jobs import chain

    from sse_flows.launcher import submit_flow
    from sse_flows.stores import get_launchpad

    first = submit_flow(chain(2, 0.0, str(tmp_path)), parameter_hash="abc")
    again = submit_flow(chain(2, 0.0, str(tmp_path)), parameter_hash="abc")
    assert again.duplicate and again.workflow_id == first.workflow_id
    assert get_launchpad().workflows.count_documents({}) == 1
    other = submit_flow(chain(2, 0.0, str(tmp_path)), parameter_hash="def")
    assert not other.duplicate
    assert get_launchpad().workflows.count_documents({}) == 2


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_joblib_children_die_with_a_killed_worker(chain_env):
    """kill -9 of a worker in the middle of a joblib job leaves no orphaned worker process
    computing on (they would otherwise run on until loky's idle timeout)."""
    from kill_jobs import parallel_step

    from sse_flows.launcher import submit_flow

    env, log_dir = chain_env
    submit_flow(parallel_step(str(log_dir), 120.0))
    worker = _worker(env)
    pids_file = log_dir / "children.pids"
    try:
        assert _wait_for(
            lambda: pids_file.exists() and len(pids_file.read_text().split()) == 2, 120
        ), "the joblib children never started"
        children = [int(pid) for pid in pids_file.read_text().split()]
        assert all(_alive(pid) for pid in children)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert _wait_for(lambda: not any(_alive(pid) for pid in children), 10), (
        f"joblib children {children} outlived the killed worker"
    )
