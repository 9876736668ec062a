"""Read a discovery run back: workflow state from the LaunchPad, documents from the JobStore.

The JobStore queries here are the ones a user would run against MongoDB directly (see
docs/service.md): every job output document carries ``name`` (the job name), ``uuid``,
``index`` and ``hosts`` (the uuids of the flows that contain the job, the discovery flow
among them), so one run's documents are ``{"hosts": <flow uuid>, "name": <job name>}``.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sse_flows.flows.discovery import default_stage_names
from sse_flows.launcher import stale_running_fireworks
from sse_flows.settings import SseFlowsSettings, get_settings
from sse_flows.sources.structures import mp_structure_id
from sse_flows.stores import StoreError, get_job_store, get_launchpad, launchpad_file


class RunNotFoundError(StoreError):
    """No discovery workflow matches the request."""


def stage_names(workflow: dict[str, Any] | None = None) -> dict[str, str]:
    """Stage key -> job name of a discovery workflow, in flow order.

    Parameters
    ----------
    workflow : dict or None
        A LaunchPad workflow document (or :func:`workflow_status`'s dict). Its metadata
        holds the names of the stage Makers it was built with (``sse_flows_stages``);
        workflows submitted before that was recorded, and ``None``, get the default
        Makers' names.

    Returns
    -------
    dict of str to str
        ``{"screening": "screen", "evaluation": "evaluate models", ...}``.
    """
    recorded = ((workflow or {}).get("metadata") or {}).get("sse_flows_stages")
    return {**default_stage_names(), **(recorded or {})}


def find_workflow(workflow_id: int | None = None, settings: SseFlowsSettings | None = None):
    """The LaunchPad's workflow document (latest discovery run when no id is given).

    Reads only: an embedded home with no LaunchPad file yet gets :class:`RunNotFoundError`
    and no file (a status or results call never creates the store).
    """
    settings = settings or get_settings()
    if settings.embedded and not launchpad_file(settings).exists():
        raise RunNotFoundError(
            f"No discovery workflow in SSE_FLOWS_HOME={settings.HOME} (it has no LaunchPad "
            "file yet): run `sse-flows submit` (then `sse-flows worker`) or `sse-flows demo`, "
            "or set SSE_FLOWS_HOME to the folder you submitted from."
        )
    lpad = get_launchpad(settings)
    if workflow_id is not None:
        wf = lpad.workflows.find_one({"nodes": int(workflow_id)})
        if wf is None:
            raise RunNotFoundError(
                f"No workflow contains Firework {workflow_id}; list them with `sse-flows status`."
            )
        return lpad, wf
    workflows = list(lpad.workflows.find({"metadata.sse_flows_flow_uuid": {"$exists": True}}))
    if not workflows:
        raise RunNotFoundError(
            "No discovery workflow on the LaunchPad yet: run `sse-flows submit` (then "
            "`sse-flows worker`) or `sse-flows demo`."
        )
    workflows.sort(key=lambda w: (str(w.get("created_on")), max(w["nodes"])))
    return lpad, workflows[-1]


def workflow_status(workflow_id: int | None = None, settings: SseFlowsSettings | None = None):
    """Stage-by-stage state of a workflow.

    Returns
    -------
    dict
        ``workflow_id``, ``name``, ``state``, ``flow_uuid`` and ``stages``: one entry per
        Firework (``fw_id``, ``name``, ``state``, ``category``, ``stale``, ``run_s``: the
        seconds from RUNNING to COMPLETED or FIZZLED of its latest finished launch, None
        while it has none), in stage order, MD runs last. ``stale_fw_ids``: Fireworks
        shown RUNNING that no worker runs (a killed worker's, re-queued by the next worker; see
        :func:`sse_flows.launcher.stale_running_fireworks`).
    """
    lpad, wf = find_workflow(workflow_id, settings)
    fireworks = list(
        lpad.fireworks.find(
            {"fw_id": {"$in": wf["nodes"]}},
            {"fw_id": 1, "name": 1, "state": 1, "spec._category": 1, "updated_on": 1},
        )
    )

    names = list(stage_names(wf).values())
    stale = stale_running_fireworks(fireworks, settings)
    run_seconds = finished_run_seconds(
        lpad.launches.find(
            {"fw_id": {"$in": wf["nodes"]}}, {"fw_id": 1, "launch_id": 1, "runtime_secs": 1}
        )
    )

    def order(fw: dict) -> tuple:  # stages in flow order, the MD runs before the ranking
        name = fw["name"]
        return (names.index(name) if name in names else len(names) - 1.5, fw["fw_id"])

    stages = [
        {
            "fw_id": fw["fw_id"],
            "name": fw["name"],
            "state": fw["state"],
            "category": (fw.get("spec") or {}).get("_category"),
            "stale": fw["fw_id"] in stale,
            "run_s": run_seconds.get(fw["fw_id"]),
        }
        for fw in sorted(fireworks, key=order)
    ]
    return {
        "workflow_id": min(wf["nodes"]),
        "name": wf["name"],
        "state": overall_state(wf["state"], [stage["state"] for stage in stages]),
        "fireworks_state": wf["state"],
        "failed_stages": [stage["name"] for stage in stages if stage["state"] == "FIZZLED"],
        "stale_fw_ids": stale,
        "flow_uuid": wf["metadata"].get("sse_flows_flow_uuid"),
        "parameter_hash": wf["metadata"].get("sse_flows_parameter_hash"),
        "stage_names": stage_names(wf),
        "stages": stages,
    }


def finished_run_seconds(launches) -> dict[int, float]:
    """Firework id -> run time (s) of its latest finished launch.

    Parameters
    ----------
    launches : iterable of dict
        LaunchPad launch documents (``fw_id``, ``launch_id``, ``runtime_secs``: FireWorks'
        seconds from RUNNING to COMPLETED or FIZZLED, None for an unfinished launch).

    Returns
    -------
    dict of int to float
        Only Fireworks with a finished launch; a re-run (after a killed worker, or
        ``lpad rerun_fws``) counts by its latest finished launch, not the sum.
    """
    latest: dict[int, tuple[int, float]] = {}
    for launch in launches:
        seconds = launch.get("runtime_secs")
        if seconds is None:
            continue
        fw_id, launch_id = launch["fw_id"], launch["launch_id"]
        if fw_id not in latest or launch_id > latest[fw_id][0]:
            latest[fw_id] = (launch_id, float(seconds))
    return {fw_id: seconds for fw_id, (_, seconds) in latest.items()}


#: what a stale RUNNING state means, and the fix
STALE_NOTE = "no worker holds the lock; run `sse-flows worker` to requeue"


def state_label(info: dict[str, Any]) -> str:
    """The workflow state as ``status`` and ``results`` print it, lost runs marked.

    Parameters
    ----------
    info
        :func:`workflow_status`'s dict.

    Returns
    -------
    str
        ``"RUNNING"``, or ``"RUNNING (stale: no worker holds the lock; run `sse-flows
        worker` to requeue)"`` when the RUNNING Fireworks were left by a killed worker.
    """
    stale = info.get("stale_fw_ids") or []
    if not stale:
        return info["state"]
    if info["state"] == "RUNNING":
        return f"RUNNING (stale: {STALE_NOTE})"
    ids = ", ".join(str(fw_id) for fw_id in stale)
    return f"{info['state']} (Firework {ids} RUNNING is stale: {STALE_NOTE})"


def overall_state(fireworks_state: str, stage_states: list[str]) -> str:
    """The state a user is told: FIZZLED as soon as one stage failed.

    FireWorks calls a workflow COMPLETED (or RUNNING) when a failed Firework's children
    accept failed parents (the ranking runs even if an MD job died); sse-flows shows such
    a run as FIZZLED, with the failed stages listed, and exits 3.
    """
    if "FIZZLED" in stage_states:
        return "FIZZLED"
    if "RUNNING" in stage_states and fireworks_state != "RUNNING":
        return "RUNNING"
    return fireworks_state


@contextmanager
def job_store_errors(settings: SseFlowsSettings):
    """Turn a damaged embedded JobStore met inside a query into one StoreError line."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"The embedded JobStore in {settings.embedded_dir / 'jobstore'} is damaged ({exc}). "
            "Move that folder aside (the job outputs in it are lost) or restore it from a "
            "backup; nothing was changed."
        ) from None


def stage_output(store, flow_uuid: str, name: str) -> dict[str, Any] | None:
    """The output of the latest run of a stage job of one discovery flow (data resolved)."""
    doc = store.query_one(
        {"hosts": flow_uuid, "name": name},
        properties=["output", "uuid", "index"],
        sort={"index": -1},
        load=True,
    )
    return None if doc is None else doc["output"]


def md_outputs(store, flow_uuid: str) -> list[dict[str, Any]]:
    """Every MD document (``MDRunDoc`` dict) of one discovery flow, one per material run.

    The one-material MD flows store each document as the output of their collect job;
    the side-by-side (``md parallel``) and batched (``md batch <n>``) jobs store a
    ``PoolMDDoc`` whose ``results`` map each MD target's label to its document (in the
    data store, loaded here).
    """
    single = store.query(
        {"hosts": flow_uuid, "output.runs": {"$exists": True}}, properties=["output"], load=True
    )
    docs = [doc["output"] for doc in single]
    pools = store.query(
        {"hosts": flow_uuid, "output.@class": "PoolMDDoc"}, properties=["output"], load=True
    )
    for pool in pools:
        docs.extend(pool["output"]["results"].values())
    return docs


def md_diffusion_documents(store, flow_uuid: str) -> dict[str, dict[str, Any]]:
    """The diffusion document of every MD run of one flow that has one, keyed
    ``"<formula> (<material id or formula>)"`` (the report matches these keys to its rows)."""
    diffusion = {}
    for md_doc in md_outputs(store, flow_uuid):
        if md_doc.get("diffusion"):
            label = md_doc.get("material_id") or md_doc.get("formula")
            diffusion[f"{md_doc.get('formula')} ({label})"] = md_doc["diffusion"]
    return diffusion


def load_results(workflow_id: int | None = None, settings: SseFlowsSettings | None = None):
    """The final candidate table (RankingDoc dict) of a run, and its status.

    Returns
    -------
    tuple
        ``(status, ranking)``; ``ranking`` is None while the ranking stage has not run.
    """
    settings = settings or get_settings()
    status = workflow_status(workflow_id, settings)
    with job_store_errors(settings):
        store = get_job_store(settings, read_only=True)
        ranking = stage_output(store, status["flow_uuid"], status["stage_names"]["ranking"])
        return status, ranking


def load_report_inputs(workflow_id: int | None = None, settings: SseFlowsSettings | None = None):
    """Everything the HTML report shows, read from the LaunchPad and the JobStore."""
    from sse_flows.report.inputs import ReportInputs

    settings = settings or get_settings()
    status = workflow_status(workflow_id, settings)
    with job_store_errors(settings):
        store = get_job_store(settings, read_only=True)
        uuid = status["flow_uuid"]
        names = status["stage_names"]
        return ReportInputs.from_documents(
            screening=stage_output(store, uuid, names["screening"]),
            evaluation=stage_output(store, uuid, names["evaluation"]),
            votes=stage_output(store, uuid, names["vote"]),
            ranking=stage_output(store, uuid, names["ranking"]),
            diffusion=md_diffusion_documents(store, uuid),
            workflow=status,
        )


def write_workflow_report(
    workflow_id: int | None = None,
    out_dir: str | Path | None = None,
    settings: SseFlowsSettings | None = None,
) -> Path:
    """Write the HTML report of a workflow: the action behind ``sse-flows report`` and the
    last step of ``sse-flows demo``.

    Parameters
    ----------
    workflow_id
        LaunchPad workflow id (``None``: the latest discovery workflow).
    out_dir
        Report folder (default: ``<reports_dir>/workflow-<id>``).
    settings
        Settings of the stores (default: the environment's).

    Returns
    -------
    Path
        The written ``index.html``.
    """
    from sse_flows.report.html import default_report_dir, write_report

    inputs = load_report_inputs(workflow_id, settings)
    if out_dir is None:
        out_dir = default_report_dir((inputs.workflow or {}).get("workflow_id", workflow_id))
    return write_report(inputs, out_dir)


def material_label(row: dict[str, Any]) -> str:
    """A candidate row's name in the tables: its MP id; for a row without one (a
    formula-level snapshot row), the MP id of the structure it was matched to, in
    parentheses; the controls as ``control+`` and ``control-``; else ``-``."""
    if row.get("material_id"):
        return row["material_id"]
    control = {"positive_control": "control+", "negative_control": "control-"}
    if row.get("role") in control:
        return control[row["role"]]
    structure_id = mp_structure_id(row.get("structure_origin"))
    return f"({structure_id})" if structure_id else "-"


def results_rows(ranking: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The candidate table's rows (what `sse-flows results --json` prints).

    Each row is the stored :class:`~sse_flows.ranking.schemas.CandidateDoc`, every field,
    with its MD verdict label added (``md_verdict``: "MD: superionic", ..., "not
    MD-tested").
    """
    from sse_flows.ranking.selection import md_verdict_label

    return [
        {**row, "md_verdict": md_verdict_label(row.get("md_status"), row.get("verdict"))}
        for row in (ranking or {}).get("candidates", [])
    ]
