"""The MD validation stage: one MD flow per selected material, created at run time.

The number of MD runs follows the vote, so the stage is one job that fans out
(``Response(replace=...)``) into the MD flows of :func:`sse_flows.md.makers.md_maker`.
MD jobs return a failed document instead of raising, so one material never stops the
others. The FireWorks categories send MD to MD (VASP/GPU) workers and every other stage
to cheap Python workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Job, Maker, Response, job

from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol
from sse_flows.ranking.schemas import MDValidationDoc
from sse_flows.ranking.selection import SelectionDoc

__all__ = [
    "MD_CATEGORY",
    "PYTHON_CATEGORY",
    "MDValidationMaker",
    "validate_candidates_job",
    "with_category",
]

#: FireWorks category of the MD flows (``sse-flows worker --category md``).
MD_CATEGORY = "md"
#: FireWorks category of every other stage.
PYTHON_CATEGORY = "python"


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
) -> Response:
    """Fan out: one MD flow per selected material.

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


@dataclass
class MDValidationMaker(Maker):
    """Maker of the MD validation stage (:func:`validate_candidates_job`).

    Parameters
    ----------
    name : str
        Job name (the stage's name in the discovery flow).
    engine : str
        ``"chgnet"`` or ``"sevennet"`` (universal potentials) or ``"vasp"`` (AIMD).
    protocol : MDProtocol
        The MD protocol (default: the paper's).
    device : str
        Torch device of the force-field engines (``"cpu"`` or ``"cuda"``).
    """

    name: str = "md validation"
    engine: str = DEFAULT_MD_ENGINE
    protocol: MDProtocol = field(default_factory=MDProtocol)
    device: str = "cpu"

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
            selection, self.engine, self.protocol.as_dict(), self.device
        )
        validate.name = self.name
        # jobflow would otherwise pass this job's own category on to the MD flows
        validate.config.response_manager_config = {"_category": MD_CATEGORY}
        return validate
