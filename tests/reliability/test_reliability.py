"""The reliability catalogue (docs/reliability.md): every bad input and fault, one row each.

Each row runs one ``sse-flows`` command in a fresh SSE_FLOWS_HOME and checks three things:
the exit code (0 ok, 1 error, 2 usage, 3 "ran, verdict failed"), a fragment of the one-line
message, and that nothing was lost: every file of the home and of the inputs is unchanged.
No row trains a model or runs MD: bad input must be refused before any work starts. The
worker-signal cases run a real worker on a tiny flow of sleeping jobs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
#: a folder in which nobody, not even root, can create files (Linux sysfs)
SYS = Path("/sys")


def _sys_refuses_files() -> bool:
    try:
        (SYS / "sse_flows_probe").mkdir()
    except OSError:
        return True
    (SYS / "sse_flows_probe").rmdir()  # pragma: no cover - a writable /sys
    return False


SYS_READ_ONLY = SYS.is_dir() and _sys_refuses_files()


@dataclass
class Case:
    """One row of the catalogue.

    Parameters
    ----------
    id
        Name of the case (pytest id; docs/reliability.md lists the same names).
    args
        Command-line arguments; ``{tmp}`` is replaced by the test's folder, ``{home}`` by
        SSE_FLOWS_HOME.
    code
        Expected exit code.
    fragment
        Text the output must contain.
    setup
        State of SSE_FLOWS_HOME: "fresh" (does not exist), "completed" (a finished
        workflow), "fizzled" (a workflow with a FIZZLED stage), or a damage applied to
        "completed": "empty-launchpad", "foreign-launchpad", "truncated-jobstore",
        "garbage-jobstore".
    home
        SSE_FLOWS_HOME relative to the test folder ({tmp}/...), or an absolute path; None:
        ``{tmp}/home``.
    needs
        "sys": skip unless /sys refuses new files; "non-root": skip as root (root writes
        read-only folders).
    """

    id: str
    args: list[str]
    code: int
    fragment: str
    setup: str = "fresh"
    home: str | None = None
    needs: str | None = None
    marks: list = field(default_factory=list)


CASES = [
    # ---- submit / demo: every option is checked before anything is submitted ----------
    Case("submit-max-md-negative", ["submit", "--max-md", "-1"], 2, "'--max-md': must be >= 0"),
    # the line ends after the root cause: --chunk-steps, which the user did not give, is
    # not named
    Case("submit-steps-zero", ["submit", "--steps", "0"], 2,
         "invalid MD protocol: --steps must be >= 1, got 0\n"),
    Case("submit-steps-negative", ["submit", "--steps", "-5"], 2, "--steps must be >= 1"),
    Case("submit-temperatures-nonpositive", ["submit", "--temperatures", "-300,0"], 2,
         "--temperatures must be in (0, 5000] K"),
    Case("submit-temperatures-too-high", ["submit", "--temperatures", "1e6"], 2,
         "--temperatures must be in (0, 5000] K"),
    Case("submit-temperatures-not-numbers", ["submit", "--temperatures", "abc"], 2,
         "not a comma-separated list of numbers"),
    Case("submit-evaluation-splits-zero", ["submit", "--evaluation-splits", "0"], 2,
         "'--evaluation-splits': must be >= 2"),
    Case("submit-vote-splits-zero", ["submit", "--vote-splits", "0"], 2,
         "'--vote-splits': must be >= 1"),
    Case("submit-min-votes-over-splits", ["submit", "--min-votes", "1000"], 2,
         "'--min-votes': must be <= 10, got 1000 (at most the 10 models"),  # open recipe
    Case("submit-min-lattice-negative", ["submit", "--min-lattice-length", "-10"], 2,
         "--min-lattice-length must be in (0, 50] A"),
    Case("submit-trajectory-interval-zero", ["submit", "--trajectory-interval", "0"], 2,
         "--trajectory-interval must be >= 1"),
    Case("submit-algorithms-unknown", ["submit", "--algorithms", "foo"], 2,
         "unknown algorithm(s) foo"),
    Case("submit-algorithms-empty", ["submit", "--algorithms", ""], 2, "'--algorithms': is empty"),
    Case("submit-md-max-atoms-zero", ["submit", "--md-max-atoms", "0"], 2,
         "'--md-max-atoms': must be >= 1"),
    Case("submit-md-scope-unknown", ["submit", "--md-scope", "everything"], 2,
         "'--md-scope': must be 'candidates', 'pool' or 'top-N'"),
    Case("submit-md-scope-top-zero", ["submit", "--md-scope", "top-0"], 2,
         "'--md-scope': must be 'candidates', 'pool' or 'top-N' with N >= 1"),
    Case("submit-md-materials-per-job-zero",
         ["submit", "--md-scope", "pool", "--md-materials-per-job", "0"], 2,
         "'--md-materials-per-job': must be >= 1"),
    Case("submit-control-without-li", ["submit", "--control", "NaCl"], 2, "has no Li"),
    Case("submit-training-without-conductivity", ["submit", "--training", "{tmp}/formulas.csv"],
         2, "line 1: missing column(s) sigma_S_cm"),
    Case("demo-algorithms-unknown", ["demo", "--algorithms", "foo"], 2,
         "unknown algorithm(s) foo"),
    Case("demo-steps-zero", ["demo", "--steps", "0"], 2, "--steps must be >= 1"),
    Case("demo-out-under-a-file", ["demo", "--out", "{tmp}/a_file/report"], 2,
         "a file, not a folder"),
    # ---- train / predict ---------------------------------------------------------------
    Case("train-algorithms-empty", ["train", "--algorithms", ""], 2, "'--algorithms': is empty"),
    Case("train-algorithms-unknown", ["train", "--algorithms", "foo"], 2, "unknown algorithm"),
    Case("train-save-doc-under-a-file", ["train", "--save-doc", "{tmp}/a_file/doc.json"], 2,
         "a file, not a folder"),
    Case("train-training-without-conductivity", ["train", "--training", "{tmp}/formulas.csv"],
         2, "line 1: missing column(s) sigma_S_cm"),
    Case("predict-output-is-input", ["predict", "{tmp}/formulas.csv", "-o", "{tmp}/formulas.csv"],
         2, "is also an input file"),
    Case("predict-output-under-a-file",
         ["predict", "{tmp}/formulas.csv", "-o", "{tmp}/a_file/out.csv"], 2,
         "a file, not a folder"),
    Case("predict-output-read-only-fs", ["predict", "{tmp}/formulas.csv", "-o", "/sys/out.csv"],
         2, "cannot write in /sys", needs="sys"),
    Case("predict-output-read-only-dir",
         ["predict", "{tmp}/formulas.csv", "-o", "{tmp}/read_only/out.csv"], 2,
         "cannot write in", needs="non-root"),
    Case("predict-output-on-proc", ["predict", "{tmp}/formulas.csv", "-o", "/proc/version"],
         2, "cannot write in /proc (a proc file system, kept by the kernel", needs="sys"),
    Case("predict-min-votes-over-splits",
         ["predict", "{tmp}/formulas.csv", "-o", "{tmp}/out.csv", "--splits", "3",
          "--min-votes", "5"], 2, "'--min-votes': must be <= 3"),
    Case("predict-min-votes-over-default-members",
         ["predict", "{tmp}/formulas.csv", "-o", "{tmp}/out.csv", "--min-votes", "1000"], 2,
         "'--min-votes': must be <= 10"),
    # ---- md: size and sense guards -----------------------------------------------------
    Case("md-supercell-too-large",
         ["md", "{tmp}/Li2O.json", "--device", "cpu", "--min-length", "40"], 2,
         "has 8748 atoms, over the limit of 2000"),
    Case("md-max-atoms-zero", ["md", "{tmp}/Li2O.json", "--device", "cpu", "--max-atoms", "0"],
         2, "'--max-atoms': must be >= 1"),
    Case("md-temperatures-not-numbers",
         ["md", "{tmp}/Li2O.json", "--device", "cpu", "--temperatures", "abc"], 2,
         "not a comma-separated list of numbers"),
    Case("md-temperatures-too-high",
         ["md", "{tmp}/Li2O.json", "--device", "cpu", "--temperatures", "1e6"], 2,
         "--temperatures must be in (0, 5000] K"),
    Case("md-steps-zero", ["md", "{tmp}/Li2O.json", "--device", "cpu", "--steps", "0"], 2,
         "--steps must be >= 1"),
    Case("md-no-lithium", ["md", "{tmp}/NaCl.json", "--device", "cpu"], 2, "has no Li"),
    # ---- analyze -----------------------------------------------------------------------
    Case("analyze-plot-under-a-file",
         ["analyze", "{tmp}/runs", "--plot", "{tmp}/a_file/plot.png"], 2, "a file, not a folder"),
    Case("analyze-plot-read-only-fs", ["analyze", "{tmp}/runs", "--plot", "/sys/plot.png"], 2,
         "cannot write in /sys", needs="sys"),
    Case("analyze-plot-unknown-format", ["analyze", "{tmp}/runs", "--plot", "{tmp}/plot.xyz"],
         2, "cannot write .xyz"),
    # three runs at 900 K without run ids: analysed as replicas, never joined by proximity
    Case("analyze-independent-runs-same-temperature", ["analyze", "{tmp}/runs"], 0,
         "900 K: 3 replicas (independent runs)"),
    # ---- SSE_FLOWS_HOME ----------------------------------------------------------------
    Case("home-empty", ["status"], 2, "SSE_FLOWS_HOME is empty", home=""),
    Case("home-is-a-file", ["submit"], 2, "is a file, not a folder", home="{tmp}/a_file"),
    Case("home-under-a-file", ["worker"], 2, "which is a file", home="{tmp}/a_file/home"),
    Case("home-read-only-fs", ["worker"], 2, "cannot be written", home="/sys/sse_flows_home",
         needs="sys"),
    Case("home-read-only-dir", ["worker"], 2, "cannot be written", home="{tmp}/read_only",
         needs="non-root"),
    # ---- store damage: one line naming the file and the fix, nothing overwritten ---------
    *[
        Case(f"launchpad-empty-{cmd}", [cmd], 1, "launchpad.json is empty. Move it aside",
             setup="empty-launchpad")
        for cmd in ("status", "results", "worker", "report")
    ],
    *[
        Case(f"launchpad-not-a-launchpad-{cmd}", [cmd], 1, "does not hold a LaunchPad",
             setup="foreign-launchpad")
        for cmd in ("status", "worker")
    ],
    Case("launchpad-not-json", ["status"], 1, "is corrupt", setup="garbled-launchpad"),
    *[
        Case(f"jobstore-truncated-{cmd}", [cmd], 1, "outputs.collection is damaged (truncated",
             setup="truncated-jobstore")
        for cmd in ("results", "report", "worker")
    ],
    Case("jobstore-garbage", ["results"], 1, "not an SQLite database", setup="garbage-jobstore"),
    # ---- workflow states ---------------------------------------------------------------
    Case("status-completed", ["status"], 0, "COMPLETED", setup="completed"),
    Case("status-fizzled-stage", ["status"], 3, "FIZZLED", setup="fizzled"),
    Case("results-fizzled-stage", ["results"], 3, "FIZZLED: boom failed", setup="fizzled"),
]


# --------------------------------------------------------------------------------------
# fixtures: input files and store states
# --------------------------------------------------------------------------------------
def _use_home(monkeypatch, home: str | Path) -> None:
    from sse_flows.settings import reset_settings

    monkeypatch.setenv("SSE_FLOWS_HOME", str(home))
    for var in ("SSE_FLOWS_MONGODB_URI", "SSE_FLOWS_CONFIG_FILE", "SSE_FLOWS_MP_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    reset_settings()


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """Homes with a completed and with a fizzled workflow, built once (tiny jobs)."""
    sys.path.insert(0, str(HERE))
    from quick_jobs import chain, failing_flow

    from sse_flows.launcher import run_worker, submit_flow

    root = tmp_path_factory.mktemp("templates")
    logs = root / "logs"
    logs.mkdir()
    patch = pytest.MonkeyPatch()
    homes = {}
    try:
        for name, flow in (
            ("completed", chain([("first", 0.0), ("second", 0.0)], str(logs))),
            ("fizzled", failing_flow(str(logs))),
        ):
            home = root / name
            _use_home(patch, home)
            submit_flow(flow)
            run_worker(progress=False)
            homes[name] = home
    finally:
        patch.undo()
        from sse_flows.settings import reset_settings

        reset_settings()
    return homes


def _damage(home: Path, setup: str) -> None:
    stores = home / "stores"
    collection = stores / "jobstore" / "sse_flows" / "outputs.collection"
    if setup == "empty-launchpad":
        (stores / "launchpad.json").write_text("")
    elif setup == "foreign-launchpad":
        (stores / "launchpad.json").write_text('{"foo": 1}')
    elif setup == "garbled-launchpad":
        text = (stores / "launchpad.json").read_text()
        (stores / "launchpad.json").write_text(text[: len(text) // 2])
    elif setup == "truncated-jobstore":
        data = collection.read_bytes()
        collection.write_bytes(data[: len(data) // 2 + 100])
    elif setup == "garbage-jobstore":
        collection.write_bytes(b"\x00not a database\x00" * 64)


def _inputs(tmp: Path) -> None:
    """The input files the rows refer to."""
    import numpy as np
    from pymatgen.core import Lattice, Structure

    from sse_flows.analysis.synthetic import random_walk_run

    (tmp / "a_file").write_text("a regular file\n")
    (tmp / "read_only").mkdir()
    (tmp / "read_only").chmod(0o555)
    (tmp / "formulas.csv").write_text("formula\nLi3PS4\nLi7La3Zr2O12\n")
    li2o = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    (tmp / "Li2O.json").write_text(li2o.to_json())
    nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"],
                                     [[0, 0, 0], [0.5, 0.5, 0.5]])
    (tmp / "NaCl.json").write_text(nacl.to_json())
    runs = tmp / "runs"
    runs.mkdir()
    for seed in (1, 2, 3):  # three independent runs, all at 900 K
        run = random_walk_run(0.5, temperature=900.0, n_cells=3, n_frames=60, n_host=4, seed=seed)
        (runs / f"run{seed}.json").write_text(json.dumps(run.as_dict()))
    assert np.isfinite(li2o.volume)


def _snapshot(*roots: Path) -> dict[str, str]:
    """sha256 of every file under ``roots`` (what "nothing lost" compares)."""
    hashes = {}
    for root in roots:
        if root.is_file():
            hashes[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
        elif root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    hashes[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def _expand(text: str, tmp: Path, home: str) -> str:
    return text.replace("{tmp}", str(tmp)).replace("{home}", home)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_catalogue(case: Case, tmp_path, monkeypatch, templates):
    """The case gets its exit code and one-line message, and nothing is lost."""
    if case.needs == "sys" and not SYS_READ_ONLY:
        pytest.skip("needs /sys (Linux), where no one can create files")
    if case.needs == "non-root" and IS_ROOT:
        pytest.skip("root can write read-only folders")
    from sse_flows.cli import cli

    tmp = tmp_path
    _inputs(tmp)
    home = str(tmp / "home") if case.home is None else _expand(case.home, tmp, "")
    if case.setup != "fresh":
        template = templates["fizzled" if case.setup == "fizzled" else "completed"]
        shutil.copytree(template, home)
        _damage(Path(home), case.setup)
    _use_home(monkeypatch, home)
    monkeypatch.chdir(tmp)
    args = [_expand(arg, tmp, home) for arg in case.args]
    before = _snapshot(tmp)
    try:
        result = CliRunner().invoke(cli, args, catch_exceptions=True)
        after = _snapshot(tmp)
    finally:
        (tmp / "read_only").chmod(0o755)
        from sse_flows.settings import reset_settings

        reset_settings()
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case.id}: a Python exception escaped: {result.exception!r}\n{output}"
    )
    assert "Traceback" not in output
    assert result.exit_code == case.code, f"{case.id}: exit {result.exit_code}\n{output}"
    fragment = _expand(case.fragment, tmp, home)
    assert fragment in output, f"{case.id}: {fragment!r} not in:\n{output}"
    if case.code:
        errors = [line for line in output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 or case.code == 3, output
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert not changed, f"{case.id}: files changed or created: {sorted(changed)}"


# --------------------------------------------------------------------------------------
# worker signals: a real worker process on a chain of sleeping jobs
# --------------------------------------------------------------------------------------
def _states() -> dict[str, str]:
    from sse_flows.stores import get_launchpad

    lpad = get_launchpad()
    return {fw["name"]: fw["state"] for fw in lpad.fireworks.find({}, {"name": 1, "state": 1})}


def _worker(env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sse_flows.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a terminal's Ctrl-C would reach the group; we signal it
    )


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")],
    ids=["worker-sigint", "worker-sigterm"],
)
def test_worker_signal_puts_the_running_firework_back(signum, code, name, sse_home, tmp_path,
                                                      monkeypatch):
    """A signal stops the worker (exit 128+n, no traceback); the job is READY again, status
    showed it RUNNING, completed ones stay completed, and the next worker resumes it."""
    monkeypatch.syspath_prepend(str(HERE))
    from quick_jobs import chain

    from sse_flows.cli import cli
    from sse_flows.launcher import submit_flow

    logs = tmp_path / "logs"
    logs.mkdir()
    submit_flow(chain([("first", 0.0), ("second", 60.0), ("third", 0.0)], str(logs)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    worker = _worker(env)
    try:
        assert _wait_for(lambda: (logs / "second.runs").exists()), "worker never reached second"
        status = CliRunner().invoke(cli, ["status"])
        assert "RUNNING" in status.output and status.exit_code == 0, status.output
        worker.send_signal(signum)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == code, err
    assert "Traceback" not in err and "Traceback" not in out
    assert f"worker stopped by {name}" in err and "put back to READY" in err
    states = _states()
    assert states == {"first": "COMPLETED", "second": "READY", "third": "WAITING"}
    # the next worker resumes: "second" runs again (now without sleeping), "first" does not
    (logs / "fast").write_text("")
    again = subprocess.run(
        [sys.executable, "-m", "sse_flows.cli", "worker"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert set(_states().values()) == {"COMPLETED"}
    runs = {p.stem: len(p.read_text().split()) for p in logs.glob("*.runs")}
    assert runs == {"first": 1, "second": 2, "third": 1}


def test_worker_signal_stops_its_child_processes(sse_home, tmp_path, monkeypatch):
    """Children of an interrupted job (here: one ``sleep`` process) do not outlive it.

    Run in a separate process: ``terminate_children`` stops *every* child, which in the
    test process would include pytest's own joblib helpers.
    """
    pytest.importorskip("psutil")
    script = (
        "import json, subprocess, psutil\n"
        "from sse_flows.launcher import terminate_children\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "stopped = terminate_children(timeout=5.0)\n"
        "alive = psutil.pid_exists(child.pid) and psutil.Process(child.pid).status() != 'zombie'\n"
        "print(json.dumps({'child': child.pid, 'stopped': stopped, 'alive': alive}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["child"] in result["stopped"]
    assert not result["alive"]
