"""Structure stage: cheap Li-transport descriptors of each material's crystal structure.

Public API::

    from sse_flows.structure_stage import (
        li_transport_descriptors,   # one Structure -> dict of descriptors (milliseconds)
        describe_materials,         # materials -> StructureStageDoc (never raises)
        structure_score,            # a document -> log-odds shift for an acquisition rule
        StructureDescriptorsMaker,  # the jobflow Maker of the stage
    )

What each descriptor is worth against experiment (OBELiX) and AIMD, and why
``structure_score`` is 0, is measured by ``benchmarks/structure_stage.py`` and written up
in docs/models.md ("Structure stage: cheap descriptors and what they are worth").
"""

from sse_flows.structure_stage.core import describe_material, describe_materials
from sse_flows.structure_stage.descriptors import (
    DESCRIPTOR_NAMES,
    guess_oxidation_states,
    li_transport_descriptors,
)
from sse_flows.structure_stage.jobs import StructureDescriptorsMaker, structure_descriptors_job
from sse_flows.structure_stage.schemas import StructureDescriptorsDoc, StructureStageDoc
from sse_flows.structure_stage.score import structure_score

__all__ = [
    "DESCRIPTOR_NAMES",
    "StructureDescriptorsDoc",
    "StructureDescriptorsMaker",
    "StructureStageDoc",
    "describe_material",
    "describe_materials",
    "guess_oxidation_states",
    "li_transport_descriptors",
    "structure_descriptors_job",
    "structure_score",
]
