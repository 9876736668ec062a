"""The MD validation stage: the MD of the selected materials, created at run time.

The number of MD runs follows the vote (or the MD scope), so the stage is one job that
fans out (``Response(replace=...)``), either into one MD flow per material
(:func:`sse_flows.md.makers.md_maker`: VASP, or a force field structure by structure) or,
with ``materials_per_job`` set (the pool-wide mode), into batched force-field jobs of up
to that many materials each (:func:`sse_flows.md.jobs.pool_md_job`). MD jobs return a
failed document instead of raising, so one material never stops the others. The FireWorks
categories send MD to MD (VASP/CPU) workers, batched MD on CUDA to GPU workers
(``my_fworker_gpu.yaml``) and every other stage to cheap Python workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Job, Response, job

from sse_flows.jobs_common import StageMaker
from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol
from sse_flows.ranking.schemas import MDValidationDoc
from sse_flows.ranking.selection import SelectionDoc

__all__ = [
    "GPU_CATEGORY",
    "MD_CATEGORY",
    "POOL_MATERIALS_PER_JOB",
    "PYTHON_CATEGORY",
    "MDValidationMaker",
    "validate_candidates_job",
    "with_category",
]

#: FireWorks category of the MD flows (``sse-flows worker --category md``).
MD_CATEGORY = "md"
#: FireWorks category of the batched MD jobs on CUDA (``sse-flows worker --category gpu``).
GPU_CATEGORY = "gpu"
#: FireWorks category of every other stage.
PYTHON_CATEGORY = "python"
#: Materials per batched MD job of the pool-wide mode (one GPU holds them in one batch).
POOL_MATERIALS_PER_JOB = 64


def runs_batched(engine: str, materials_per_job: int | None) -> bool:
    """Whether the MD stage runs batched pool jobs (force fields with ``materials_per_job``;
    VASP always runs one flow per material)."""
    return bool(materials_per_job) and engine != "vasp"


def runs_parallel(engine: str, device: str, materials_per_job: int | None,
                  processes: int) -> bool:
    """Whether the MD stage runs its targets side by side in one job (force fields on the
    CPU with ``processes`` > 1 and no batched pool jobs)."""
    return (processes > 1 and engine != "vasp" and device == "cpu"
            and not runs_batched(engine, materials_per_job))


def md_category(device: str, batched: bool) -> str:
    """FireWorks category of an MD job: :data:`GPU_CATEGORY` for batched MD on CUDA, else
    :data:`MD_CATEGORY`."""
    return GPU_CATEGORY if batched and str(device).startswith("cuda") else MD_CATEGORY


def with_category(job_or_flow: Job | Flow, category: str) -> Job | Flow:
    """Send a job (or every job of a flow) to the FireWorks workers of ``category``.

    Parameters
    ----------
    job_or_flow : Job or Flow
        What to route.
    category : str
        :data:`MD_CATEGORY` or :data:`PYTHON_CATEGORY`.

    Returns
    -------
    Job or Flow
        ``job_or_flow`` itself, updated in place.
    """
    job_or_flow.update_config({"manager_config": {"_category": category}}, dynamic=False)
    return job_or_flow


@job(output_schema=MDValidationDoc)
def validate_candidates_job(
    selection: SelectionDoc | dict[str, Any],
    engine: str,
    protocol: dict[str, Any],
    device: str = "cpu",
    materials_per_job: int | None = None,
    processes: int = 1,
) -> Response:
    """Fan out: one MD flow per selected material, or batched jobs of many materials.

    Parameters
    ----------
    selection : SelectionDoc or dict
        The selection stage's document; its ``targets`` are run.
    engine : str
        ``"chgnet"``, ``"sevennet"`` or ``"vasp"``.
    protocol : dict
        :meth:`MDProtocol.as_dict` of the protocol.
    device : str
        Torch device of the force-field engines.
    materials_per_job : int or None
        None: one MD flow per material. N: force-field MD in batched jobs of up to N
        materials each (the pool-wide mode; ignored for VASP).
    processes : int
        > 1 (force fields on the CPU, no ``materials_per_job``): one job runs every target,
        ``processes`` materials side by side (:func:`sse_flows.md.jobs.parallel_md_job`).

    Returns
    -------
    Response
        An empty :class:`~sse_flows.ranking.schemas.MDValidationDoc` when nothing is
        selected, else a replacement flow whose output is that document's dict: each
        target label -> its :class:`~sse_flows.md.schemas.MDRunDoc`.
    """
    from pymatgen.core import Structure

    from sse_flows.md.makers import md_maker

    selection = SelectionDoc.model_validate(selection)
    if not selection.targets:
        return Response(output=MDValidationDoc())
    if runs_batched(engine, materials_per_job):
        return Response(replace=_pool_flow(selection, engine, protocol, device, materials_per_job))
    if runs_parallel(engine, device, materials_per_job, processes):
        return Response(replace=_parallel_flow(selection, engine, protocol, processes))
    kwargs = {} if engine == "vasp" else {"device": device}
    maker = md_maker(engine, MDProtocol.from_dict(protocol), **kwargs)
    flows, outputs = [], {}
    for target in selection.targets:
        structure = Structure.from_dict(target.structure)
        md_flow = maker.make(structure, material_id=target.material_id or target.label)
        md_flow.name = f"md {target.label}"
        with_category(md_flow, MD_CATEGORY)
        flows.append(md_flow)
        outputs[target.label] = md_flow.output
    # a dict, not a job's output: jobflow applies this job's output schema to it as it is
    return Response(replace=Flow(flows, output={"results": outputs}, name="md validation"))


def _pool_flow(
    selection: SelectionDoc, engine: str, protocol: dict[str, Any], device: str, size: int
) -> Flow:
    """Batched MD jobs of up to ``size`` targets each; output: label -> MDRunDoc."""
    from sse_flows.md.jobs import pool_md_job

    jobs, outputs = [], {}
    targets = [t.model_dump() for t in selection.targets]
    for start in range(0, len(targets), size):
        chunk = targets[start:start + size]
        batch = pool_md_job(chunk, protocol, engine, device)
        batch.name = f"md batch {start // size + 1}"
        with_category(batch, md_category(device, batched=True))
        jobs.append(batch)
        for target in chunk:
            outputs[target["label"]] = batch.output.results[target["label"]]
    return Flow(jobs, output={"results": outputs}, name="md validation")


def _parallel_flow(
    selection: SelectionDoc, engine: str, protocol: dict[str, Any], processes: int
) -> Flow:
    """One job running every target, ``processes`` at a time; output: label -> MDRunDoc."""
    from sse_flows.md.jobs import parallel_md_job

    targets = [t.model_dump() for t in selection.targets]
    md_job = parallel_md_job(targets, protocol, engine, processes)
    md_job.name = "md parallel"
    with_category(md_job, MD_CATEGORY)
    outputs = {t["label"]: md_job.output.results[t["label"]] for t in targets}
    return Flow([md_job], output={"results": outputs}, name="md validation")


@dataclass
class MDValidationMaker(StageMaker):
    """Maker of the MD validation stage (:func:`validate_candidates_job`).

    Parameters
    ----------
    engine : str
        ``"chgnet"`` or ``"sevennet"`` (universal potentials) or ``"vasp"`` (AIMD).
    protocol : MDProtocol
        The MD protocol (default: the paper's).
    device : str
        Torch device of the force-field engines (``"cpu"`` or ``"cuda"``).
    materials_per_job : int or None
        None: one MD flow per material (category ``md``). N: batched force-field jobs of
        up to N materials (the pool-wide mode; category ``gpu`` on CUDA, else ``md``).
    processes : int
        Force-field MD on the CPU: > 1 runs the targets side by side in one job, one
        process and one torch thread each (used when ``materials_per_job`` is None).
    """

    name: str = "md validation"
    engine: str = DEFAULT_MD_ENGINE
    protocol: MDProtocol = field(default_factory=MDProtocol)
    device: str = "cpu"
    materials_per_job: int | None = None
    processes: int = 1

    def make(self, selection: Any) -> Job:
        """The fan-out job for ``selection`` (a SelectionDoc or an output reference).

        Parameters
        ----------
        selection : SelectionDoc or OutputReference
            The selection stage's output.

        Returns
        -------
        Job
            Its output is an :class:`~sse_flows.ranking.schemas.MDValidationDoc`; the MD
            flows it creates at run time carry :data:`MD_CATEGORY`.
        """
        validate = validate_candidates_job(
            selection, self.engine, self.protocol.as_dict(), self.device,
            self.materials_per_job, self.processes,
        )
        validate.name = self.name
        # jobflow would otherwise pass this job's own category on to the MD flows
        batched = runs_batched(self.engine, self.materials_per_job)
        validate.config.response_manager_config = {
            "_category": md_category(self.device, batched)
        }
        return validate
