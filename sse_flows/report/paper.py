"""Numbers published by Kang, Kim & Min (J. Phys. Chem. C 127, 19335 (2023)) that the
report puts beside this run's (see ``docs/method.md`` of the project)."""

from __future__ import annotations

__all__ = ["PAPER_ACCURACY", "PAPER_ANION_CLASSES", "PAPER_FUNNEL", "PAPER_VOTES"]

#: The paper's funnel: stage label -> count, in funnel order, aligned with the five stages
#: of :func:`sse_flows.screening.funnel.run_funnel`.
PAPER_FUNNEL: tuple[tuple[str, int], ...] = (
    ("Li-containing", 20237),
    ("no transition metal", 3190),
    ("band gap >= 1 eV", 1859),
    ("E_hull = 0", 567),
    ("V_ox > 3.7 V", 468),
)

#: Anion classes of the paper's 468 screened materials.
PAPER_ANION_CLASSES: dict[str, int] = {
    "oxide": 299,
    "halide": 96,
    "nitride": 35,
    "sulfide": 25,
    "selenide": 7,
    "hydride": 3,
    "phosphide": 2,
    "carbide": 1,
}

#: Materials voted superionic by all 100 models: GB, LightGBM, and both (the candidates).
PAPER_VOTES: dict[str, int] = {"gb": 72, "lgbm": 118, "both": 42}

#: Accuracy over 100 random 80/20 splits (264-row arXiv training set): algorithm key ->
#: {acc_mean, acc_max, acc_min, acc_std} as far as the paper gives them.
PAPER_ACCURACY: dict[str, dict[str, float]] = {
    "gb": {"acc_mean": 0.843, "acc_max": 0.962, "acc_min": 0.736, "acc_std": 0.042},
    "lgbm": {"acc_mean": 0.829, "acc_max": 0.962, "acc_min": 0.717, "acc_std": 0.048},
    "dt": {"acc_mean": 0.852},
}
