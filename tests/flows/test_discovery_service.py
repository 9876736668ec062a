"""The discovery flow on the embedded store: worker kill and restart, duplicates, queries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

#: a small but complete run: every stage, real data, CHGNet MD of a few steps
SMALL_RUN = [
    "--md-engine",
    "chgnet",  # 3-5x faster on a CPU than the default sevennet
    "--algorithms",
    "gb,lgbm",
    "--evaluation-splits",
    "2",
    "--vote-splits",
    "3",
    "--min-votes",
    "2",
    "--max-md",
    "1",
    "--temperatures",
    "800,1200",
    "--steps",
    "12",
    "--equil-steps",
    "4",
    "--min-lattice-length",
    "8",
    "--trajectory-interval",
    "2",
    "--md-max-atoms",
    "100",
    "--no-relax",
]


def _cli(*args, env=None, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "sse_flows.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"sse-flows {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result


def _launch_counts(lpad):
    counts = {}
    for launch in lpad.launches.find({}, {"fw_id": 1}):
        counts[launch["fw_id"]] = counts.get(launch["fw_id"], 0) + 1
    return counts


@pytest.fixture()
def env(sse_home):
    environment = dict(os.environ)
    environment["SSE_FLOWS_HOME"] = str(sse_home)
    return environment


def test_flow_survives_worker_kill_and_completes_without_rerunning_stages(env):
    from sse_flows.flows.results import workflow_status
    from sse_flows.stores import get_job_store, get_launchpad

    submitted = json.loads(
        _cli("submit", *SMALL_RUN, "--no-grouped", "--json", env=env).stdout.splitlines()[-1]
    )
    again = json.loads(
        _cli("submit", *SMALL_RUN, "--no-grouped", "--json", env=env).stdout.splitlines()[-1]
    )
    assert again["duplicate"] and again["workflow_id"] == submitted["workflow_id"]

    started = time.monotonic()
    worker = subprocess.Popen(
        [sys.executable, "-m", "sse_flows.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # kill -9 as soon as the screening stage is written as COMPLETED
    deadline = time.monotonic() + 600
    done_before_kill = []
    while time.monotonic() < deadline:
        states = {s["name"]: s["state"] for s in workflow_status()["stages"]}
        done_before_kill = [n for n, st in states.items() if st == "COMPLETED"]
        if "screen" in done_before_kill:
            break
        time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=60)
    assert "screen" in done_before_kill
    lpad = get_launchpad()
    ids = {fw["name"]: fw["fw_id"] for fw in lpad.fireworks.find({}, {"name": 1, "fw_id": 1})}

    restarted = _cli("worker", env=env)
    worked_s = time.monotonic() - started
    assert json.loads(restarted.stdout.splitlines()[-1])["fireworks_run"] >= 1
    status = workflow_status()
    assert status["state"] == "COMPLETED", status
    # each stage's run time is its finished launch's: all there, and together no longer
    # than the two workers ran (the killed launch never finished, so it is not counted)
    run_s = [s["run_s"] for s in status["stages"]]
    assert all(seconds is not None and seconds >= 0 for seconds in run_s), status["stages"]
    assert 0 < sum(run_s) <= worked_s
    names = [s["name"] for s in status["stages"]]
    assert any(n.startswith("chgnet md ") for n in names)  # the dynamic fan-out
    categories = {s["name"]: s["category"] for s in status["stages"]}
    assert categories["screen"] == categories["vote"] == "python"
    assert all(c == "md" for n, c in categories.items() if n.startswith("chgnet "))
    # stages completed before the kill ran exactly once
    counts = _launch_counts(get_launchpad())
    for name in done_before_kill:
        assert counts[ids[name]] == 1, name
    # one output document per stage job, and the ranking holds the positive control
    store = get_job_store()
    flow_uuid = status["flow_uuid"]
    for name in ("screen", "vote", "select candidates"):
        assert store.count({"hosts": flow_uuid, "name": name}) == 1, name
    results = json.loads(_cli("results", "--json", env=env).stdout.splitlines()[-1])
    roles = {row["role"] for row in results["candidates"]}
    assert {"positive_control", "negative_control"} <= roles
    control = next(r for r in results["candidates"] if r["role"] == "positive_control")
    assert control["md_status"] in ("ok", "failed")  # ran; a failure carries its reason
    assert control["md_status"] == "ok" or control["md_reason"]
    assert results["md_reduced_protocol"] is True


def test_a_rerun_stage_reports_its_latest_finished_launch_not_the_sum():
    from datetime import datetime, timedelta, timezone

    from fireworks.core.firework import Launch

    from sse_flows.flows.results import finished_run_seconds

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def launch(launch_id, fw_id, ran_s, end_state="COMPLETED"):
        history = [{"state": "RUNNING", "created_on": t0}]
        if end_state:
            history.append({"state": end_state, "created_on": t0 + timedelta(seconds=ran_s)})
        return Launch(state=end_state or "RUNNING", launch_dir=".", fw_id=fw_id,
                      launch_id=launch_id, state_history=history).to_db_dict()

    launches = [
        launch(1, 5, 40.0, end_state=None),  # killed worker: never finished
        launch(2, 5, 3.0),
        launch(3, 6, 10.0, end_state="FIZZLED"),
        launch(4, 6, 2.5),  # rerun after the failure
        launch(5, 7, 0.0, end_state=None),  # still running
    ]
    assert finished_run_seconds(launches) == pytest.approx({5: 3.0, 6: 2.5})
