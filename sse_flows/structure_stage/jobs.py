"""jobflow job (and Maker) of the structure stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobflow import Job, Maker, job

from sse_flows.structure_stage.core import describe_materials
from sse_flows.structure_stage.descriptors import LI_NETWORK_CUTOFF_A
from sse_flows.structure_stage.schemas import StructureStageDoc

__all__ = ["StructureDescriptorsMaker", "structure_descriptors_job"]


@job(output_schema=StructureStageDoc)
def structure_descriptors_job(
    materials: Sequence[Mapping[str, Any]],
    li_network_cutoff: float = LI_NETWORK_CUTOFF_A,
    with_bvse: bool = False,
) -> StructureStageDoc:
    """Li-transport descriptors of every material; a failing material gets an ``error``.

    Parameters
    ----------
    materials : sequence of mapping
        Each with ``structure`` (a pymatgen ``Structure`` dict) and optionally ``label``,
        ``material_id`` and ``formula``.
    li_network_cutoff : float
        Li-Li cutoff (A) of ``li_network_dimension`` and ``li_network_fraction``.
    with_bvse : bool
        Also compute the bvlain BVSE barriers (needs ``bvlain``; seconds to minutes each).

    Returns
    -------
    StructureStageDoc
        One :class:`~sse_flows.structure_stage.schemas.StructureDescriptorsDoc` per material.
    """
    return describe_materials(materials, li_network_cutoff=li_network_cutoff, with_bvse=with_bvse)


@dataclass
class StructureDescriptorsMaker(Maker):
    """Maker of the structure stage (:func:`structure_descriptors_job`).

    Parameters
    ----------
    name : str
        Job name.
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
        new_job = structure_descriptors_job(
            materials, li_network_cutoff=self.li_network_cutoff, with_bvse=self.with_bvse
        )
        new_job.name = self.name
        return new_job
