"""One signal policy for every command: SIGINT or SIGTERM ends it with one line and exit code
130 or 143, and its joblib (loky) children go quietly (issue 27, case 5).

Each test runs a real ``sse-flows`` command in its own process group while its loky worker
processes fit models, then sends SIGINT to the whole group (what Ctrl-C in a terminal does:
the children get it too) or SIGTERM to the command alone (``kill``, ``timeout``, a
scheduler). Before the policy, the worker's clean-up killed loky's resource tracker, and the
tracker that loky started in its place printed a ``KeyError`` traceback for every semaphore
it had never seen; a loky worker that was starting when Ctrl-C came printed a
``KeyboardInterrupt`` traceback; ``train`` died of SIGTERM without a word (exit -15) while
loky reported leaked semaphores.
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

psutil = pytest.importorskip("psutil")

#: what must never reach the terminal when a command is stopped
NOISE = ("Traceback", "KeyError", "KeyboardInterrupt", "resource_tracker", "leaked",
         "have been cancelled")

#: the smallest discovery flow whose first stage (the evaluation) runs loky workers
TINY_FLOW = ["--evaluation-splits", "2", "--algorithms", "gb,rf", "--vote-splits", "2",
             "--no-grouped", "--max-md", "0", "--md-top", "0", "--control", "none",
             "--negative-control", "none"]  # fmt: skip


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SSE_FLOWS_HOME"] = str(home)
    env["OMP_NUM_THREADS"] = "1"
    return env


def _stop_when_ready(args: list[str], env: dict, ready, how: str):
    """Run ``sse-flows ARGS`` in a new process group; once ``ready(process)`` holds, send
    SIGINT to the group (``how="group"``) or SIGTERM to the process (``how="process"``).

    Returns
    -------
    tuple
        ``(exit code, stdout, stderr, pids of the descendants when the signal was sent)``.
    """
    command = subprocess.Popen(
        [sys.executable, "-m", "sse_flows.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300  # a cap for a loaded machine, not a timing
        while not ready(command):
            assert command.poll() is None, "the command ended before its children started"
            assert time.monotonic() < deadline, "the command's loky workers never started"
            time.sleep(0.1)
        descendants = [child.pid for child in psutil.Process(command.pid).children(True)]
        if how == "group":
            os.killpg(command.pid, signal.SIGINT)
        else:
            command.send_signal(signal.SIGTERM)
        out, err = command.communicate(timeout=180)
    finally:
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
            command.communicate()
    return command.returncode, out, err, descendants


def _all_gone(pids: list[int], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
        if not alive:
            return True
        time.sleep(0.2)
    return False


SIGNALS = [("group", signal.SIGINT, 130), ("process", signal.SIGTERM, 143)]
IDS = ["ctrl-c-to-the-group", "sigterm-to-the-command"]


def _loky_workers(command) -> int:
    try:
        children = psutil.Process(command.pid).children(recursive=True)
        return sum("popen_loky_posix" in " ".join(child.cmdline()) for child in children)
    except psutil.Error:
        return 0


@pytest.mark.parametrize(("how", "signum", "code"), SIGNALS, ids=IDS)
def test_worker_stopped_while_the_evaluation_stage_fits_is_quiet(how, signum, code, sse_home):
    """The worker exits 130/143 with one line naming the Firework it put back to READY,
    stderr has no traceback (no resource-tracker KeyError, no child KeyboardInterrupt), and
    no child process outlives it."""
    from sse_flows.cli import cli
    from sse_flows.stores import get_launchpad

    submitted = CliRunner().invoke(cli, ["submit", *TINY_FLOW, "--json"])
    assert submitted.exit_code == 0, submitted.output
    lpad = get_launchpad()
    evaluation = lpad.fireworks.find_one({"name": "evaluate models"}, {"fw_id": 1})["fw_id"]

    returncode, out, err, descendants = _stop_when_ready(
        ["worker"], _env(sse_home), lambda command: _loky_workers(command) >= 2, how
    )
    name = signal.Signals(signum).name
    assert returncode == code, err
    lines = err.strip().splitlines()
    assert lines[-1] == (
        f"worker stopped by {name}: Firework evaluate models (fw {evaluation}) put back to "
        "READY; run `sse-flows worker` to resume."
    ), err
    assert all(line.startswith(("[worker] done: ", "[worker] running: "))
               for line in lines[:-1]), err  # fmt: skip
    assert not any(word in err or word in out for word in NOISE), err
    assert get_launchpad().fireworks.find_one({"fw_id": evaluation})["state"] == "READY"
    assert len(descendants) >= 2 and _all_gone(descendants), "a child process outlived it"


@pytest.mark.parametrize(("how", "signum", "code"), SIGNALS, ids=IDS)
def test_train_stopped_while_its_loky_workers_fit_is_quiet(how, signum, code, tmp_path):
    """`train` (a command without a worker) follows the same policy: exit 130/143, its last
    line says what stopped, no traceback or loky warning, no child process left."""
    args = ["train", "--splits", "10", "--no-grouped", "--algorithms", "gb,rf", "--json"]
    returncode, out, err, descendants = _stop_when_ready(
        args, _env(tmp_path / "home"), lambda command: _loky_workers(command) >= 2, how
    )
    name = signal.Signals(signum).name
    assert returncode == code, err
    assert err.strip().splitlines()[-1] == (
        f"sse-flows train stopped by {name}; run it again to finish."
    ), err
    assert not any(word in err or word in out for word in NOISE), err
    assert not any(line.startswith("{") and json.loads(line) for line in out.splitlines())
    assert _all_gone(descendants), "a child process outlived it"
