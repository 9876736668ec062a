"""Run Fireworks from the configured LaunchPad, one at a time, crash-safely.

``run_worker`` is what ``sse-flows worker`` and ``sse-flows demo`` call. On the embedded store
it holds the LaunchPad lock for its whole life (a second launcher is refused), writes the
LaunchPad to disk after every Firework, and on start re-queues Fireworks that a killed worker
left RUNNING or RESERVED (with the lock held, nobody else can be running them). On MongoDB it
is an ordinary FireWorks launcher: lost runs are those whose heartbeat stopped longer than
``lost_run_seconds`` ago (FireWorks' ``detect_lostruns``), as with ``lpad detect_lostruns``.

SIGINT (Ctrl-C) and SIGTERM stop the worker cleanly: the running job is interrupted, its
Firework is put back to READY (``LaunchPad.rerun_fw``), the worker's child processes
(joblib/loky workers) are terminated quietly (:func:`sse_flows.processes.terminate_children`),
and :class:`WorkerInterrupted` tells the caller, which exits 130 or 143 with one line. The
next worker runs that Firework again. A signal that arrives between Fireworks stops the
worker before the next one starts. The embedded LaunchPad is also written when a Firework
starts, so ``sse-flows status`` shows it RUNNING; a Firework RUNNING while no live process
holds the LaunchPad lock was left by a killed worker (:func:`stale_running_fireworks`), and
the next worker re-queues it.
"""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from sse_flows.processes import (
    CommandInterrupted,
    silence_abort_noise,
    terminate_children,
)
from sse_flows.progress import echo_progress
from sse_flows.settings import SseFlowsSettings, get_settings
from sse_flows.stores import LOCK_FILE, get_job_store, launchpad_session

__all__ = [
    "FireworkRun",
    "WorkerInterrupted",
    "WorkerReport",
    "lock_holder_pid",
    "run_worker",
    "stale_running_fireworks",
    "submit_flow",
    "terminate_children",
]


@dataclass
class FireworkRun:
    """One Firework a worker ran, and how it ended."""

    fw_id: int = field(metadata={"description": "The Firework's id on the LaunchPad."})
    name: str = field(metadata={"description": "The Firework's name (its job's name)."})
    state: str = field(metadata={"description": "Its state after the run (COMPLETED, FIZZLED)."})
    error: str | None = field(
        default=None,
        metadata={"description": "FIZZLED: the last line of the job's traceback (the error)."},
    )
    error_log: str | None = field(
        default=None,
        metadata={"description": "FIZZLED: the file in the launch folder with the traceback."},
    )

    def label(self) -> str:
        """``"<name> (fw <id>)"``, as the worker's progress lines and messages name it."""
        return f"{self.name} (fw {self.fw_id})"


@dataclass
class WorkerReport:
    """What one worker run did."""

    fireworks_run: int = 0
    requeued: list[int] = field(default_factory=list)
    launch_dirs: list[str] = field(default_factory=list)
    fireworks: list[FireworkRun] = field(
        default_factory=list,
        metadata={"description": "The Fireworks this worker ran, in order, with their end state."},
    )

    @property
    def fizzled(self) -> list[FireworkRun]:
        """The Fireworks this worker ran that FIZZLED (their job raised)."""
        return [run for run in self.fireworks if run.state == "FIZZLED"]


#: third-party warnings that say nothing actionable to an sse-flows user (module, message)
KNOWN_NOISE = (
    ("atomate2", "NPT thermostat has been moved"),
    ("chgnet", "Converting a tensor with requires_grad=True"),
    ("jobflow", "Some jobs are not connected"),
)


def silence_known_noise() -> None:
    """Hide the known, harmless library warnings on the worker's terminal."""
    import warnings

    for module, message in KNOWN_NOISE:
        warnings.filterwarnings("ignore", message=f".*{message}.*", module=f"{module}.*")


class WorkerInterrupted(CommandInterrupted):
    """The worker was stopped by a signal (a BaseException, so jobs cannot swallow it).

    Parameters
    ----------
    signum
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    requeued
        Fireworks that were running and are READY again.
    requeued_names
        Their names, in the same order (for the message).
    """

    def __init__(
        self,
        signum: int,
        requeued: list[int] | None = None,
        requeued_names: list[str] | None = None,
    ) -> None:
        super().__init__(signum)
        self.requeued = list(requeued or [])
        self.requeued_names = list(requeued_names or [])

    def describe(self, command: str | None = "worker") -> str:
        """One line for the user: what stopped, what was put back, how to resume.

        Parameters
        ----------
        command
            The sub-command that ran the worker (``worker`` or ``demo``).
        """
        command = command or "worker"
        resume = "`sse-flows worker`" if command == "worker" else (
            f"the same `sse-flows {command}` (or `sse-flows worker`)"
        )
        if self.requeued:
            names = self.requeued_names + [""] * (len(self.requeued) - len(self.requeued_names))
            back = ", ".join(
                f"{name} (fw {fw_id})" if name else str(fw_id)
                for fw_id, name in zip(self.requeued, names, strict=True)
            )
            return (
                f"{command} stopped by {self.signal_name}: Firework {back} put back to READY; "
                f"run {resume} to resume."
            )
        return (
            f"{command} stopped by {self.signal_name} between Fireworks; run {resume} to resume."
        )


class _Interrupts:
    """SIGINT/SIGTERM handling of one worker run (main thread only).

    A signal during a job raises :class:`WorkerInterrupted` inside it (FireWorks then
    marks the launch FIZZLED, which :func:`run_worker` undoes); a signal outside a job only
    records itself, and the worker stops before the next Firework. The traceback FireWorks
    prints for the interrupted job goes to ``captured`` instead of the terminal.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.in_job = False
        self.running_fw_id: int | None = None
        self.running_name: str = ""
        self.requeued: list[int] = []
        self.requeued_names: list[str] = []
        self.captured = io.StringIO()
        self._stderr = None

    def handler(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        if self.signum is not None:
            return  # already stopping
        self.signum = signum
        silence_abort_noise()
        if self.in_job:
            self.in_job = False
            self._stderr, sys.stderr = sys.stderr, self.captured
            raise WorkerInterrupted(signum)

    def restore_stderr(self) -> None:
        if self._stderr is not None:
            sys.stderr, self._stderr = self._stderr, None

    @contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handler) for sig in signals}
        try:
            yield self
        finally:
            self.restore_stderr()
            for sig, old in previous.items():
                signal.signal(sig, old)


def _track_jobs(lpad, interrupts: _Interrupts, flush, on_start=None) -> None:
    """Wrap this LaunchPad's checkout/complete so the worker knows when a job runs.

    The LaunchPad is written to disk right after the checkout (so the Firework is seen
    RUNNING by other processes), and a signal already received stops the worker before
    the job starts; ``on_start(firework)`` is called just before the job starts.
    """
    checkout, complete = lpad.checkout_fw, lpad.complete_launch

    def checkout_fw(*args, **kwargs):
        result = checkout(*args, **kwargs)
        firework = result[0] if isinstance(result, tuple) else None
        if firework is not None:
            interrupts.running_fw_id = firework.fw_id
            interrupts.running_name = firework.name or ""
            flush()
            if interrupts.signum is not None:
                raise WorkerInterrupted(interrupts.signum)
            interrupts.in_job = True
            if on_start is not None:
                on_start(firework)
        return result

    def complete_launch(*args, **kwargs):
        interrupts.in_job = False
        return complete(*args, **kwargs)

    lpad.checkout_fw = checkout_fw
    lpad.complete_launch = complete_launch


def _put_back(lpad, fw_id: int | None) -> list[int]:
    """Put the Firework the interrupted job belonged to back to READY; return its id."""
    if fw_id is None:
        return []
    firework = lpad.fireworks.find_one({"fw_id": fw_id}, {"state": 1})
    if firework is None or firework["state"] in ("COMPLETED", "READY", "WAITING"):
        return []
    lpad.rerun_fw(fw_id)
    return [fw_id]


def use_job_store_for_jobflow(settings: SseFlowsSettings | None = None) -> None:
    """Point jobflow's ``SETTINGS.JOB_STORE`` (used by ``JobFiretask``) at our JobStore."""
    import jobflow

    jobflow.SETTINGS.JOB_STORE = get_job_store(settings)


def requeue_lost_runs(launchpad, embedded: bool, lost_run_seconds: int) -> list[int]:
    """Re-queue Fireworks whose worker died; return their ids."""
    expiration = 0 if embedded else lost_run_seconds
    _, lost_fw_ids, _ = launchpad.detect_lostruns(expiration_secs=expiration, rerun=True)
    unreserved = launchpad.detect_unreserved(expiration_secs=expiration, rerun=True)
    return sorted(set(lost_fw_ids) | set(unreserved))


def run_worker(
    settings: SseFlowsSettings | None = None,
    max_fireworks: int | None = None,
    category: str | list[str] | None = None,
    worker_name: str = "sse-flows-worker",
    lost_run_seconds: int = 4 * 3600,
    progress: bool = True,
) -> WorkerReport:
    """Run READY Fireworks until none is left (or ``max_fireworks`` ran).

    Parameters
    ----------
    settings
        Settings (default: the process settings).
    max_fireworks
        Stop after this many Fireworks (None: until the LaunchPad has nothing ready).
    category
        FireWorks category (or list) this worker accepts; None accepts every category.
    worker_name
        Name recorded in each launch.
    lost_run_seconds
        MongoDB back end only: a RUNNING Firework without heartbeat for this long is lost.
    progress
        Print to stderr one line when a Firework starts (``[worker] running: <name> (fw
        <id>), log: <launch folder>/launch.log``) and one when it ends (``[worker] done:
        <name> (fw <id>)``, or ``[worker] FIZZLED: <name> (fw <id>): <error> (full error:
        <file>)``), and echo the jobs' own progress lines
        (:func:`sse_flows.progress.report_progress`, e.g. ``[md] <label>: <verdict> (<s>
        s)``). The traceback of a failed job goes to ``error.log`` in its launch folder,
        not to the terminal.

    Returns
    -------
    WorkerReport
        The Fireworks it ran with their end states (``report.fizzled``: those that failed),
        and the lost ones it re-queued on start.

    Raises
    ------
    WorkerInterrupted
        On SIGINT/SIGTERM, after the running Firework was put back to READY and the child
        processes were stopped.
    """
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import launch_rocket

    settings = settings or get_settings()
    silence_known_noise()
    use_job_store_for_jobflow(settings)
    report = WorkerReport()
    fworker = FWorker(name=worker_name, category=category or [])
    base_dir = settings.HOME / "launches"
    base_dir.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    interrupts = _Interrupts()
    terminal = sys.stderr

    def started(firework) -> None:
        log = Path.cwd() / LAUNCH_LOG  # the rocket runs in its launch folder
        print(f"[worker] running: {firework.name} (fw {firework.fw_id}), log: {log}",
              file=terminal, flush=True)  # fmt: skip

    with interrupts.installed(), launchpad_session(
        settings, purpose=f"worker '{worker_name}'"
    ) as session, echo_progress(terminal) if progress else nullcontext():
        lpad = session.launchpad
        report.requeued = requeue_lost_runs(lpad, settings.embedded, lost_run_seconds)
        session.flush()
        _track_jobs(lpad, interrupts, session.flush, on_start=started if progress else None)
        try:
            while max_fireworks is None or report.fireworks_run < max_fireworks:
                if interrupts.signum is not None:
                    break
                stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
                launch_dir = base_dir / f"launcher_{stamp}"
                launch_dir.mkdir()
                os.chdir(launch_dir)
                interrupts.running_fw_id = None
                interrupts.running_name = ""
                error_log = launch_dir / ERROR_LOG
                launch_log = launch_dir / LAUNCH_LOG
                try:
                    # FireWorks' and jobflow's INFO lines and the job's prints go to the
                    # launch folder: the worker's stdout holds only its JSON summary
                    with open(error_log, "w", encoding="utf-8") as err_file, open(
                        launch_log, "w", encoding="utf-8"
                    ) as out_file, _LAUNCH_OUTPUT.into(out_file), redirect_stdout(_LAUNCH_OUTPUT):
                        ran = launch_rocket(lpad, fworker, strm_lvl="ERROR", err_file=err_file)
                except WorkerInterrupted:
                    ran = True
                finally:
                    interrupts.in_job = False
                    interrupts.restore_stderr()
                    os.chdir(cwd)
                    if error_log.is_file() and error_log.stat().st_size == 0:
                        error_log.unlink()
                if interrupts.signum is not None:
                    _stop(lpad, interrupts, launch_dir, session.flush)
                    break
                session.flush()
                if not ran:
                    launch_log.unlink(missing_ok=True)  # "no FireWorks are ready", nothing run
                    if not any(launch_dir.iterdir()):
                        launch_dir.rmdir()
                    break
                report.fireworks_run += 1
                report.launch_dirs.append(str(launch_dir))
                run = _finished_run(lpad, interrupts, error_log)
                if run is not None:
                    report.fireworks.append(run)
                    if progress:
                        print(_progress_line(run), file=sys.stderr)
            if interrupts.signum is not None:
                raise WorkerInterrupted(
                    interrupts.signum, interrupts.requeued, interrupts.requeued_names
                )
        finally:
            os.chdir(cwd)
    return report


class _LaunchOutput(io.TextIOBase):
    """The worker's stdout while a rocket runs: the current launch folder's log.

    FireWorks and jobflow bind their log handlers to ``sys.stdout`` as they find it, and
    jobflow's handler outlives the launch; this stream stays open and, between launches,
    drops what it is given instead of writing to a closed file.
    """

    def __init__(self) -> None:
        super().__init__()
        self._target: TextIO | None = None

    @contextmanager
    def into(self, target: TextIO):
        self._target = target
        try:
            yield self
        finally:
            self._target = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._target is not None and not self._target.closed:
            self._target.write(text)
        return len(text)

    def flush(self) -> None:
        if self._target is not None and not self._target.closed:
            self._target.flush()


_LAUNCH_OUTPUT = _LaunchOutput()

#: file in a launch folder that holds the traceback of the job that failed there
ERROR_LOG = "error.log"
#: the launch folder's log: FireWorks' and jobflow's INFO lines and what the job printed
LAUNCH_LOG = "launch.log"


def _finished_run(lpad, interrupts: _Interrupts, error_log: Path) -> FireworkRun | None:
    """The Firework the last rocket ran, with its state now (None if it ran none)."""
    if interrupts.running_fw_id is None:
        return None
    doc = lpad.fireworks.find_one({"fw_id": interrupts.running_fw_id}, {"state": 1, "name": 1})
    if doc is None:  # pragma: no cover - a Firework is never deleted while it runs
        return None
    name = doc.get("name") or interrupts.running_name
    run = FireworkRun(fw_id=interrupts.running_fw_id, name=name, state=doc["state"])
    if error_log.is_file():
        lines = [line.strip() for line in error_log.read_text(encoding="utf-8").splitlines()]
        run.error = next((line for line in reversed(lines) if line), None)
        run.error_log = str(error_log)
    return run


def _progress_line(run: FireworkRun) -> str:
    """``[worker] done: <name> (fw <id>)``, or the FIZZLED line with the error and its log."""
    if run.state == "COMPLETED":
        return f"[worker] done: {run.label()}"
    line = f"[worker] {run.state}: {run.label()}"
    if run.error:
        line += f": {run.error}"
    if run.error_log:
        line += f" (full error: {run.error_log})"
    return line


def _stop(lpad, interrupts: _Interrupts, launch_dir: Path, flush) -> None:
    """After a signal: put the running Firework back (saved), stop the children, keep the log.

    The interrupted job's traceback (FireWorks prints it to the launch's ``error.log``) and
    whatever else it printed while stopping go to ``interrupted.log`` in its launch folder.
    """
    requeued = _put_back(lpad, interrupts.running_fw_id)
    flush()
    terminate_children()
    error_log = launch_dir / ERROR_LOG
    captured = interrupts.captured.getvalue()
    if error_log.is_file():
        captured = error_log.read_text(encoding="utf-8") + captured
        error_log.unlink()
    if captured and launch_dir.is_dir():
        (launch_dir / "interrupted.log").write_text(captured, encoding="utf-8")
    interrupts.requeued.extend(requeued)
    interrupts.requeued_names.extend(interrupts.running_name for _ in requeued)


#: how the embedded LaunchPad lock file names its holder (see stores.launchpad_session)
_LOCK_HOLDER_PID = re.compile(r"\(pid (\d+)\)\s*$")


def lock_holder_pid(settings: SseFlowsSettings | None = None) -> int | None:
    """The live process that holds the embedded LaunchPad lock, or None.

    The holder writes ``"<purpose> (pid N)"`` into the lock file and empties it on release;
    a killed holder leaves its line behind, so a pid that is not running (or is a zombie)
    holds nothing. Only the file is read: no lock is taken, so a worker that starts at the
    same moment is never refused because of a reader.

    Parameters
    ----------
    settings
        Settings (default: the process settings).
    """
    settings = settings or get_settings()
    try:
        text = (settings.embedded_dir / LOCK_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _LOCK_HOLDER_PID.search(text.strip())
    if match is None:
        return None
    pid = int(match.group(1))
    return pid if _process_alive(pid) else None


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): kill(0) said it exists
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def stale_running_fireworks(
    fireworks: list[dict], settings: SseFlowsSettings | None = None
) -> list[int]:
    """The RUNNING Fireworks among ``fireworks`` that no worker is running (lost runs).

    On the embedded store every worker holds the LaunchPad lock for its whole life, so a
    Firework RUNNING while no live process holds the lock was left by a worker that was
    killed (``kill -9``, a crash, a lost machine); the next ``sse-flows worker`` re-queues
    it (:func:`requeue_lost_runs`). On MongoDB nothing is said here: lost runs are those
    whose heartbeat stopped (``lpad detect_lostruns``).

    Parameters
    ----------
    fireworks
        LaunchPad Firework documents with at least ``fw_id`` and ``state``.
    settings
        Settings (default: the process settings).

    Returns
    -------
    list of int
        Their ids; empty when none is RUNNING, a process holds the lock, or the store is
        MongoDB.
    """
    settings = settings or get_settings()
    running = sorted(fw["fw_id"] for fw in fireworks if fw.get("state") == "RUNNING")
    if not running or not settings.embedded or lock_holder_pid(settings) is not None:
        return []
    return running


@dataclass
class Submission:
    """Result of submitting a Flow to the LaunchPad."""

    workflow_id: int = field(metadata={"description": "fw_id of the workflow's first Firework."})
    name: str = ""
    parameter_hash: str | None = None
    duplicate: bool = False
    fw_ids: list[int] = field(default_factory=list)


def submit_flow(
    flow,
    settings: SseFlowsSettings | None = None,
    parameter_hash: str | None = None,
    allow_duplicate: bool = False,
) -> Submission:
    """Turn a jobflow Flow into a FireWorks workflow and add it to the LaunchPad.

    A workflow whose ``metadata.sse_flows_parameter_hash`` equals ``parameter_hash`` and that
    is not FIZZLED or DEFUSED is returned instead of adding the same work twice.
    """
    from jobflow.managers.fireworks import flow_to_workflow

    settings = settings or get_settings()
    silence_known_noise()
    get_job_store(settings)  # create the JobStore database once, before any worker
    with launchpad_session(settings, purpose="submit") as session:
        lpad = session.launchpad
        if parameter_hash and not allow_duplicate:
            existing = lpad.workflows.find_one(
                {
                    "metadata.sse_flows_parameter_hash": parameter_hash,
                    "state": {"$nin": ["FIZZLED", "DEFUSED"]},
                },
                sort=[("created_on", -1)],
            )
            if existing:
                return Submission(
                    workflow_id=min(existing["nodes"]),
                    name=existing["name"],
                    parameter_hash=parameter_hash,
                    duplicate=True,
                    fw_ids=sorted(existing["nodes"]),
                )
        wf = flow_to_workflow(flow)
        wf.metadata = dict(wf.metadata or {})
        wf.metadata["sse_flows_flow_uuid"] = getattr(flow, "uuid", None)
        stages = (getattr(flow, "metadata", None) or {}).get("sse_flows_stages")
        if stages:  # stage key -> job name, read back by sse_flows.flows.results
            wf.metadata["sse_flows_stages"] = dict(stages)
        if parameter_hash:
            wf.metadata["sse_flows_parameter_hash"] = parameter_hash
        old_new = lpad.add_wf(wf)
        session.flush()
        fw_ids = sorted(old_new.values())
        return Submission(
            workflow_id=min(fw_ids), name=wf.name, parameter_hash=parameter_hash, fw_ids=fw_ids
        )
