"""jobflow job (and Maker) of the structure stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobflow import Job, job

from sse_flows.jobs_common import StageMaker
from sse_flows.structure_stage.core import describe_materials
from sse_flows.structure_stage.descriptors import LI_NETWORK_CUTOFF_A
from sse_flows.structure_stage.schemas import StructureStageDoc

__all__ = ["StructureDescriptorsMaker", "structure_descriptors_job"]


#: The structure stage's job: :func:`~sse_flows.structure_stage.core.describe_materials`
#: (Li-transport descriptors of every material; a failing material gets an ``error``);
#: its output is a :class:`~sse_flows.structure_stage.schemas.StructureStageDoc`, one
#: :class:`~sse_flows.structure_stage.schemas.StructureDescriptorsDoc` per material.
structure_descriptors_job = job(
    describe_materials, name="structure_descriptors_job", output_schema=StructureStageDoc
)


@dataclass
class StructureDescriptorsMaker(StageMaker):
    """Maker of the structure stage (:func:`structure_descriptors_job`).

    Parameters
    ----------
    li_network_cutoff : float
        Li-Li cutoff (A) of the fixed-cutoff network descriptors.
    with_bvse : bool
        Also compute the bvlain BVSE barriers (off: they add nothing measurable beyond the
        composition model, see docs/models.md, and cost thousands of times more).
    """

    name: str = "structure descriptors"
    li_network_cutoff: float = LI_NETWORK_CUTOFF_A
    with_bvse: bool = False

    def make(self, materials: Sequence[Mapping[str, Any]]) -> Job:
        """The job describing ``materials``.

        Parameters
        ----------
        materials : sequence of mapping or OutputReference
            Each with ``structure`` and optionally ``label``, ``material_id``, ``formula``.

        Returns
        -------
        Job
            Its output is a :class:`~sse_flows.structure_stage.schemas.StructureStageDoc`.
        """
        return self.named_job(structure_descriptors_job, materials)
