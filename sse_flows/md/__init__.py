"""MD validation stage: VASP AIMD (atomate2 MD makers) and universal-potential MD.

Public API::

    from sse_flows.md import (
        MDProtocol, make_md_supercell,                 # the protocol as one set of parameters
        AimdProtocolMaker, ForceFieldMdProtocolMaker, md_maker,   # jobflow makers
        run_forcefield_md,                             # the force-field protocol without jobflow
        run_batched_md, run_batched_materials,         # many structures per model call
        order_structure,                               # ordered MD cell of a disordered one
        SanityThresholds, check_trajectory,            # engine sanity checks
        MDRunDoc, MDTemperatureRun, ProductionRecord,  # documents
    )

Host stability, Li hops and diffusion come from :mod:`sse_flows.analysis`.
"""

from sse_flows.md.batched import run_batched_materials, run_batched_md
from sse_flows.md.forcefield import run_forcefield_md
from sse_flows.md.makers import AimdProtocolMaker, ForceFieldMdProtocolMaker, md_maker
from sse_flows.md.ordering import order_structure
from sse_flows.md.protocol import PAPER_TEMPERATURES, MDProtocol, make_md_supercell
from sse_flows.md.sanity import SanityThresholds, check_trajectory
from sse_flows.md.schemas import MDRunDoc, MDTemperatureRun, ProductionRecord

__all__ = [
    "PAPER_TEMPERATURES",
    "AimdProtocolMaker",
    "ForceFieldMdProtocolMaker",
    "MDProtocol",
    "MDRunDoc",
    "MDTemperatureRun",
    "ProductionRecord",
    "SanityThresholds",
    "check_trajectory",
    "make_md_supercell",
    "md_maker",
    "order_structure",
    "run_batched_materials",
    "run_batched_md",
    "run_forcefield_md",
]
