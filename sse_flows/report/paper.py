"""The paper's numbers (:mod:`sse_flows.constants`) as the report labels them.

Kang, Kim & Min (J. Phys. Chem. C 127, 19335 (2023)); see ``docs/method.md`` of the
project. The numbers themselves live in :mod:`sse_flows.constants`.
"""

from __future__ import annotations

from sse_flows.constants import PAPER_ACCURACY, PAPER_ANION_CLASSES, PAPER_VOTES
from sse_flows.constants import PAPER_FUNNEL as PAPER_FUNNEL_BY_STAGE

__all__ = ["PAPER_ACCURACY", "PAPER_ANION_CLASSES", "PAPER_FUNNEL", "PAPER_VOTES"]

#: Report labels of the funnel stages of :func:`sse_flows.screening.funnel.run_funnel`.
FUNNEL_LABELS: dict[str, str] = {
    "li_containing": "Li-containing",
    "no_transition_metal": "no transition metal",
    "band_gap": "band gap >= 1 eV",
    "on_hull": "E_hull = 0",
    "oxidation_voltage": "V_ox > 3.7 V",
}

#: The paper's funnel: stage label -> count, in funnel order (counts from the screening stage).
PAPER_FUNNEL: tuple[tuple[str, int], ...] = tuple(
    (FUNNEL_LABELS[name], count) for name, count in PAPER_FUNNEL_BY_STAGE.items()
)
