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

import importlib
from typing import TYPE_CHECKING

# Lazy (PEP 562): ``import sse_flows.md.batched`` must not pull in the makers (jobflow,
# atomate2, the stores), so that the batched engine runs where only numpy, pymatgen, ASE and
# the potential are installed (a GPU machine with carried wheels).
_LAZY = {
    "run_batched_materials": "sse_flows.md.batched",
    "run_batched_md": "sse_flows.md.batched",
    "run_forcefield_md": "sse_flows.md.forcefield",
    "AimdProtocolMaker": "sse_flows.md.makers",
    "ForceFieldMdProtocolMaker": "sse_flows.md.makers",
    "md_maker": "sse_flows.md.makers",
    "order_structure": "sse_flows.md.ordering",
    "PAPER_TEMPERATURES": "sse_flows.md.protocol",
    "MDProtocol": "sse_flows.md.protocol",
    "make_md_supercell": "sse_flows.md.protocol",
    "SanityThresholds": "sse_flows.md.sanity",
    "check_trajectory": "sse_flows.md.sanity",
    "MDRunDoc": "sse_flows.md.schemas",
    "MDTemperatureRun": "sse_flows.md.schemas",
    "ProductionRecord": "sse_flows.md.schemas",
}

if TYPE_CHECKING:  # pragma: no cover
    from sse_flows.md.batched import run_batched_materials, run_batched_md
    from sse_flows.md.forcefield import run_forcefield_md
    from sse_flows.md.makers import AimdProtocolMaker, ForceFieldMdProtocolMaker, md_maker
    from sse_flows.md.ordering import order_structure
    from sse_flows.md.protocol import PAPER_TEMPERATURES, MDProtocol, make_md_supercell
    from sse_flows.md.sanity import SanityThresholds, check_trajectory
    from sse_flows.md.schemas import MDRunDoc, MDTemperatureRun, ProductionRecord


def __getattr__(name: str):
    """Import a public name's module on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names with the lazy ones (for completion and ``dir``)."""
    return sorted(set(globals()) | set(_LAZY))


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
