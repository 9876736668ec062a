"""Figures of the screening stage (matplotlib, written to PNG)."""

from __future__ import annotations

from pathlib import Path

from sse_flows.constants import PAPER_ANION_CLASSES, PAPER_FUNNEL
from sse_flows.screening.schemas import ScreeningDoc

STAGE_LABELS = {
    "li_containing": "Li-containing",
    "no_transition_metal": "no TM",
    "band_gap": "gap >= 1 eV",
    "on_hull": "E_hull = 0",
    "oxidation_voltage": "V_ox > 3.7 V",
}


def plot_funnel(doc: ScreeningDoc, path: Path) -> Path:
    """Bar chart of our funnel next to the paper's, and of the anion classes.

    Parameters
    ----------
    doc
        The funnel document.
    path
        PNG file to write (folders are created).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [stage.name for stage in doc.stages]
    ours = [stage.count for stage in doc.stages]
    paper = [PAPER_FUNNEL.get(name, 0) for name in names]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = np.arange(len(names))
    width = 0.38
    bars_paper = left.bar(x - width / 2, paper, width, label="paper (MP materials, 2022)",
                          color="#bbbbbb")
    bars_ours = left.bar(x + width / 2, ours, width,
                         label=f"this work ({doc.source}, compositions)", color="#2b6cb0")
    left.set_yscale("log")
    left.set_xticks(x, [STAGE_LABELS.get(n, n) for n in names], rotation=20, ha="right")
    left.set_ylabel("materials left")
    left.set_title("Screening funnel")
    for bars in (bars_paper, bars_ours):
        left.bar_label(bars, fontsize=7, padding=1)
    left.legend(fontsize=8)

    classes = list(dict.fromkeys([*PAPER_ANION_CLASSES, *doc.anion_classes]))
    y = np.arange(len(classes))
    right.barh(y - width / 2, [PAPER_ANION_CLASSES.get(c, 0) for c in classes], width,
               color="#bbbbbb", label="paper")
    right.barh(y + width / 2, [doc.anion_classes.get(c, 0) for c in classes], width,
               color="#2b6cb0", label="this work")
    right.set_yticks(y, classes)
    right.invert_yaxis()
    right.set_xlabel("screened materials")
    right.set_title("Anion classes of the screened pool")
    right.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
