"""MD validation stage: VASP AIMD (atomate2 MD makers) and CHGNet MD, with failure checks.

Public API::

    from sse_flows.md import (
        MDProtocol, make_md_supercell,              # the paper's protocol as parameters
        AimdProtocolMaker, ForceFieldMdProtocolMaker, make_md_flow,
        run_forcefield_md_job, collect_vasp_md,     # jobs returning an MDRunDoc
        run_forcefield_md,                          # the same without jobflow
        FailureThresholds, check_md_run,            # physics checks of one trajectory
        MDRunDoc, MDTemperatureRun,                 # documents
    )
"""

from sse_flows.md.failures import FailureThresholds, check_md_run, count_li_hops
from sse_flows.md.forcefield import run_forcefield_md
from sse_flows.md.jobs import collect_vasp_md, run_forcefield_md_job, structure_from_contcar
from sse_flows.md.makers import AimdProtocolMaker, ForceFieldMdProtocolMaker, make_md_flow
from sse_flows.md.protocol import PAPER_TEMPERATURES, MDProtocol, make_md_supercell
from sse_flows.md.schemas import MDRunDoc, MDTemperatureRun

__all__ = [
    "PAPER_TEMPERATURES",
    "AimdProtocolMaker",
    "FailureThresholds",
    "ForceFieldMdProtocolMaker",
    "MDProtocol",
    "MDRunDoc",
    "MDTemperatureRun",
    "check_md_run",
    "collect_vasp_md",
    "count_li_hops",
    "make_md_flow",
    "make_md_supercell",
    "run_forcefield_md",
    "run_forcefield_md_job",
    "structure_from_contcar",
]
