"""sse_flows.screening: the four-step screening funnel (element rule, band gap, hull, V_ox).

Main entry points::

    from sse_flows.screening import ScreeningCriteria, screen_source
    from sse_flows.sources import get_source

    doc = screen_source(get_source("snapshot"), ScreeningCriteria())
    doc.stage_counts()   # {'li_containing': ..., ..., 'oxidation_voltage': ...}

``screening.jobs.screen_pool_job`` / ``ScreeningMaker`` wrap the same call for jobflow.
"""

from sse_flows.screening.criteria import TRANSITION_METALS, ScreeningCriteria
from sse_flows.screening.funnel import run_funnel, screen_source
from sse_flows.screening.phase_diagrams import ChemsysHull, PhaseDiagramCache
from sse_flows.screening.schemas import FunnelStage, ScreenedMaterial, ScreeningDoc
from sse_flows.screening.voltage import StabilityWindow, stability_window

__all__ = [
    "TRANSITION_METALS",
    "ChemsysHull",
    "FunnelStage",
    "PhaseDiagramCache",
    "ScreenedMaterial",
    "ScreeningCriteria",
    "ScreeningDoc",
    "StabilityWindow",
    "run_funnel",
    "screen_source",
    "stability_window",
]
