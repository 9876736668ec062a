"""Run Fireworks from the configured LaunchPad, one at a time, crash-safely.

``run_worker`` is what ``sse-flows worker`` and ``sse-flows demo`` call. On the embedded store
it holds the LaunchPad lock for its whole life (a second launcher is refused), writes the
LaunchPad to disk after every Firework, and on start re-queues Fireworks that a killed worker
left RUNNING or RESERVED (with the lock held, nobody else can be running them). On MongoDB it
is an ordinary FireWorks launcher: lost runs are those whose heartbeat stopped longer than
``lost_run_seconds`` ago (FireWorks' ``detect_lostruns``), as with ``lpad detect_lostruns``.

SIGINT (Ctrl-C) and SIGTERM stop the worker cleanly: the running job is interrupted, its
Firework is put back to READY (``LaunchPad.rerun_fw``), the worker's child processes
(joblib/loky workers) are terminated, and :class:`WorkerInterrupted` tells the caller,
which exits 130 or 143 without a traceback. The next worker runs that Firework again. A
signal that arrives between Fireworks stops the worker before the next one starts. The
embedded LaunchPad is also written when a Firework starts, so ``sse-flows status`` shows
it RUNNING.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sse_flows.settings import SseFlowsSettings, get_settings
from sse_flows.stores import get_job_store, launchpad_session


@dataclass
class WorkerReport:
    """What one worker run did."""

    fireworks_run: int = 0
    requeued: list[int] = field(default_factory=list)
    launch_dirs: list[str] = field(default_factory=list)


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


class WorkerInterrupted(BaseException):
    """The worker was stopped by a signal (a BaseException, so jobs cannot swallow it).

    Parameters
    ----------
    signum
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    requeued
        Fireworks that were running and are READY again.
    """

    def __init__(self, signum: int, requeued: list[int] | None = None) -> None:
        super().__init__(signum)
        self.signum = int(signum)
        self.requeued = list(requeued or [])

    @property
    def exit_code(self) -> int:
        """128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum

    def describe(self) -> str:
        """One line for the user: what stopped, what was put back, how to resume."""
        name = signal.Signals(self.signum).name
        if self.requeued:
            back = ", ".join(str(i) for i in self.requeued)
            return (
                f"worker stopped by {name}: Firework {back} put back to READY; run "
                "`sse-flows worker` to resume."
            )
        return f"worker stopped by {name} between Fireworks; run `sse-flows worker` to resume."


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
        self.requeued: list[int] = []
        self.captured = io.StringIO()
        self._stderr = None

    def handler(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        if self.signum is not None:
            return  # already stopping
        self.signum = signum
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


def _track_jobs(lpad, interrupts: _Interrupts, flush) -> None:
    """Wrap this LaunchPad's checkout/complete so the worker knows when a job runs.

    The LaunchPad is written to disk right after the checkout (so the Firework is seen
    RUNNING by other processes), and a signal already received stops the worker before
    the job starts.
    """
    checkout, complete = lpad.checkout_fw, lpad.complete_launch

    def checkout_fw(*args, **kwargs):
        result = checkout(*args, **kwargs)
        firework = result[0] if isinstance(result, tuple) else None
        if firework is not None:
            interrupts.running_fw_id = firework.fw_id
            flush()
            if interrupts.signum is not None:
                raise WorkerInterrupted(interrupts.signum)
            interrupts.in_job = True
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


def terminate_children(timeout: float = 5.0) -> list[int]:
    """Stop this process's child processes (joblib/loky workers); return their pids."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    if executor is not None:  # only one that exists: never start workers to stop them
        try:
            executor.shutdown(wait=False, kill_workers=True)
        except Exception:  # noqa: BLE001 - best effort; psutil below stops the rest
            pass
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with the scientific stack
        return []
    children = psutil.Process().children(recursive=True)
    for child in children:
        try:
            child.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass
    return [child.pid for child in children]


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
        Print one line per Firework to stderr.
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
    with interrupts.installed(), launchpad_session(
        settings, purpose=f"worker '{worker_name}'"
    ) as session:
        lpad = session.launchpad
        report.requeued = requeue_lost_runs(lpad, settings.embedded, lost_run_seconds)
        session.flush()
        _track_jobs(lpad, interrupts, session.flush)
        try:
            while max_fireworks is None or report.fireworks_run < max_fireworks:
                if interrupts.signum is not None:
                    break
                stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
                launch_dir = base_dir / f"launcher_{stamp}"
                launch_dir.mkdir()
                os.chdir(launch_dir)
                interrupts.running_fw_id = None
                try:
                    ran = launch_rocket(lpad, fworker, strm_lvl="ERROR")
                except WorkerInterrupted:
                    ran = True
                finally:
                    interrupts.in_job = False
                    interrupts.restore_stderr()
                    os.chdir(cwd)
                if interrupts.signum is not None:
                    _stop(lpad, interrupts, launch_dir, session.flush)
                    break
                session.flush()
                if not ran:
                    if not any(launch_dir.iterdir()):
                        launch_dir.rmdir()
                    break
                report.fireworks_run += 1
                report.launch_dirs.append(str(launch_dir))
                if progress:
                    print(f"[worker] firework {report.fireworks_run} done", file=sys.stderr)
            if interrupts.signum is not None:
                raise WorkerInterrupted(interrupts.signum, interrupts.requeued)
        finally:
            os.chdir(cwd)
    return report


def _stop(lpad, interrupts: _Interrupts, launch_dir: Path, flush) -> None:
    """After a signal: put the running Firework back (saved), stop the children, keep the log."""
    requeued = _put_back(lpad, interrupts.running_fw_id)
    flush()
    terminate_children()
    captured = interrupts.captured.getvalue()
    if captured and launch_dir.is_dir():
        (launch_dir / "interrupted.log").write_text(captured, encoding="utf-8")
    interrupts.requeued.extend(requeued)


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
