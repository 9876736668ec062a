"""Run Fireworks from the configured LaunchPad, one at a time, crash-safely.

``run_worker`` is what ``sse-flows worker`` and ``sse-flows demo`` call. On the embedded store
it holds the LaunchPad lock for its whole life (a second launcher is refused), writes the
LaunchPad to disk after every Firework, and on start re-queues Fireworks that a killed worker
left RUNNING or RESERVED (with the lock held, nobody else can be running them). On MongoDB it
is an ordinary FireWorks launcher: lost runs are those whose heartbeat stopped longer than
``lost_run_seconds`` ago (FireWorks' ``detect_lostruns``), as with ``lpad detect_lostruns``.
"""

from __future__ import annotations

import os
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
    import sys

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
    with launchpad_session(settings, purpose=f"worker '{worker_name}'") as session:
        lpad = session.launchpad
        report.requeued = requeue_lost_runs(lpad, settings.embedded, lost_run_seconds)
        session.flush()
        try:
            while max_fireworks is None or report.fireworks_run < max_fireworks:
                stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
                launch_dir = base_dir / f"launcher_{stamp}"
                launch_dir.mkdir()
                os.chdir(launch_dir)
                ran = launch_rocket(lpad, fworker, strm_lvl="ERROR")
                os.chdir(cwd)
                session.flush()
                if not ran:
                    if not any(launch_dir.iterdir()):
                        launch_dir.rmdir()
                    break
                report.fireworks_run += 1
                report.launch_dirs.append(str(launch_dir))
                if progress:
                    print(f"[worker] firework {report.fireworks_run} done", file=sys.stderr)
        finally:
            os.chdir(cwd)
    return report


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
        if parameter_hash:
            wf.metadata["sse_flows_parameter_hash"] = parameter_hash
        old_new = lpad.add_wf(wf)
        session.flush()
        fw_ids = sorted(old_new.values())
        return Submission(
            workflow_id=min(fw_ids), name=wf.name, parameter_hash=parameter_hash, fw_ids=fw_ids
        )
