"""Numbers published by Kang, Kim & Min (J. Phys. Chem. C 127, 19335 (2023)) that the
report puts beside this run's (see ``docs/method.md`` of the project)."""

from __future__ import annotations

from sse_flows.screening.figures import PAPER_ANION_CLASSES
from sse_flows.screening.figures import PAPER_FUNNEL as PAPER_FUNNEL_BY_STAGE

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

#: Materials voted superionic by all 100 models: GB, LightGBM, and both (the candidates).
PAPER_VOTES: dict[str, int] = {"gb": 72, "lgbm": 118, "both": 42}

#: Accuracy over 100 random 80/20 splits (264-row arXiv training set): algorithm key ->
#: {acc_mean, acc_max, acc_min, acc_std} as far as the paper gives them.
PAPER_ACCURACY: dict[str, dict[str, float]] = {
    "gb": {"acc_mean": 0.843, "acc_max": 0.962, "acc_min": 0.736, "acc_std": 0.042},
    "lgbm": {"acc_mean": 0.829, "acc_max": 0.962, "acc_min": 0.717, "acc_std": 0.048},
    "dt": {"acc_mean": 0.852},
}
