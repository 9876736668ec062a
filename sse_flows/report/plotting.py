"""Figures of the report that no stage draws itself (funnel, anion classes, vote histograms,
and Arrhenius points of MD-tested rows whose diffusion document the report lacks).

The model figures (accuracy distributions, confusion matrices, importances) come from
:mod:`sse_flows.models.plotting` and the Arrhenius plots from :mod:`sse_flows.analysis.plotting`
(see :mod:`sse_flows.report.html`).  Every function returns a matplotlib ``Figure`` drawn
with the Agg backend and, when ``path`` is given, writes it as a PNG and closes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sse_flows.models.schemas import VoteDoc
from sse_flows.ranking.schemas import CandidateDoc
from sse_flows.report.paper import PAPER_ANION_CLASSES, PAPER_FUNNEL
from sse_flows.screening.schemas import ScreeningDoc

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "plain_text",
    "plot_anion_classes",
    "plot_ranking_arrhenius",
    "plot_screening_funnel",
    "plot_vote_histograms",
    "save_figure",
]

_OURS = "#1f77b4"
_PAPER = "#bbbbbb"


def plain_text(text: object) -> str:
    """``text`` safe for matplotlib: ``$`` would start mathtext, so it is escaped."""
    return str(text).replace("$", r"\$")


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG (Agg canvas, no pyplot state) and release it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=dpi, format="png")
    fig.clear()
    return path


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_screening_funnel(doc: ScreeningDoc, path: str | Path | None = None) -> Figure:
    """Materials left after each funnel stage, ours beside the paper's, on a log axis.

    Parameters
    ----------
    doc
        The screening document.
    path
        PNG file to write; ``None`` only returns the figure.
    """
    fig = _new_figure(7.5, 0.55 * max(len(doc.stages), len(PAPER_FUNNEL)) + 1.4)
    ax = fig.add_subplot()
    ours = [stage.count for stage in doc.stages]
    labels = [plain_text(stage.name.replace("_", " ")) for stage in doc.stages]
    aligned = len(ours) == len(PAPER_FUNNEL)
    paper = [count for _, count in PAPER_FUNNEL] if aligned else []
    y = np.arange(len(ours))
    height = 0.38 if aligned else 0.6
    bars = ax.barh(y - (height / 2 if aligned else 0), ours, height, color=_OURS,
                   label=f"this run ({plain_text(doc.source)})")  # fmt: skip
    ax.bar_label(bars, [f"{n:,}" for n in ours], padding=3, fontsize=8)
    if aligned:
        bars = ax.barh(y + height / 2, paper, height, color=_PAPER, label="Kang et al. 2023")
        ax.bar_label(bars, [f"{n:,}" for n in paper], padding=3, fontsize=8, color="#555555")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    top = max([*ours, *paper, 1])
    ax.set_xlim(left=max(min([n for n in [*ours, *paper] if n > 0] or [1]) / 3, 0.5),
                right=top * 4)  # fmt: skip
    ax.set_xlabel("materials left after the stage (log scale)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title("Screening funnel", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _finish(fig, path)


def plot_anion_classes(doc: ScreeningDoc, path: str | Path | None = None) -> Figure:
    """Share of each anion class in the screened pool, ours beside the paper's.

    Shares (percent of each pool) are compared because the pools differ in size; the bar
    labels give the counts.
    """
    ours = dict(doc.anion_classes)
    classes = list(PAPER_ANION_CLASSES)
    classes += [c for c in sorted(ours, key=lambda c: -ours[c]) if c not in PAPER_ANION_CLASSES]
    n_ours = max(sum(ours.values()), 1)
    n_paper = sum(PAPER_ANION_CLASSES.values())
    fig = _new_figure(7.5, 3.4)
    ax = fig.add_subplot()
    x = np.arange(len(classes))
    width = 0.4
    ours_counts = [ours.get(c, 0) for c in classes]
    paper_counts = [PAPER_ANION_CLASSES.get(c, 0) for c in classes]
    bars = ax.bar(x - width / 2, [100 * n / n_ours for n in ours_counts], width, color=_OURS,
                  label=f"this run (n = {sum(ours.values()):,})")  # fmt: skip
    ax.bar_label(bars, [str(n) for n in ours_counts], padding=2, fontsize=7)
    bars = ax.bar(x + width / 2, [100 * n / n_paper for n in paper_counts], width,
                  color=_PAPER, label=f"Kang et al. 2023 (n = {n_paper})")  # fmt: skip
    ax.bar_label(bars, [str(n) for n in paper_counts], padding=2, fontsize=7, color="#555555")
    ax.set_xticks(x, [plain_text(c) for c in classes], rotation=30, ha="right")
    ax.set_ylabel("share of the screened pool (%)")
    ax.set_ylim(0, 105 * max(1.0, max(ours_counts, default=0) / n_ours, 299 / n_paper))
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Anion classes of the screened pool (labels: counts)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _finish(fig, path)


def plot_vote_histograms(doc: VoteDoc, path: str | Path | None = None) -> Figure:
    """Histogram of the superionic votes of each algorithm over the voted pool.

    One panel per voting algorithm (``votes_gb``, ``votes_lgbm``): number of materials
    against votes (0 to the number of models), log count axis, with the candidate
    threshold (``doc.min_votes``) drawn as a dashed line.
    """
    algorithms = list(doc.ensemble.algorithms) or sorted(doc.min_votes)
    n_models = len(doc.ensemble.seeds) or max(
        (n for v in doc.votes for n in v.votes.values()), default=1
    )
    fig = _new_figure(3.8 * max(len(algorithms), 1), 3.2)
    axes = fig.subplots(1, max(len(algorithms), 1), squeeze=False)[0]
    edges = np.arange(n_models + 2) - 0.5
    for ax, alg in zip(axes, algorithms, strict=False):
        values = np.array([v.votes[alg] for v in doc.votes if v.error is None and alg in v.votes])
        if len(values):
            ax.hist(values, bins=edges, color=_OURS, log=True)
        else:
            ax.text(0.5, 0.5, "no material could be voted", ha="center", va="center",
                    transform=ax.transAxes, color="C3")  # fmt: skip
        threshold = doc.min_votes.get(alg)
        if threshold is not None:
            passing = int((values >= threshold).sum())
            ax.axvline(threshold - 0.5, color="C3", ls="--", lw=1.2,
                       label=f">= {threshold} votes: {passing}")  # fmt: skip
            ax.legend(fontsize=8, frameon=False, loc="upper center")
        ax.set_xlim(-1.5, n_models + 1.5)
        ax.set_xlabel(f"votes_{plain_text(alg)} (of {n_models} models)")
        ax.set_ylabel("materials")
        ax.set_title(f"{plain_text(alg)}: {len(values):,} materials", fontsize=9)
        ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_ranking_arrhenius(
    rows: list[CandidateDoc], path: str | Path | None = None, ncols: int = 3
) -> Figure:
    """Arrhenius points of MD-tested rows from the candidate table's own ``arrhenius`` column.

    The report draws the full Arrhenius plot (fit line, room-temperature interval) from a
    material's diffusion document; this figure is for the MD-tested rows whose document
    the report did not receive: log10 D against 1000/T, filled with error bars where the
    temperature was in the fit, open where diffusive but excluded, crosses where not
    diffusive. One panel per row, titled with the material and its MD verdict.

    Parameters
    ----------
    rows
        Candidate-table rows (those without Arrhenius points get an empty panel saying so).
    path
        PNG file to write; ``None`` only returns the figure.
    ncols
        Panels per row of the figure.
    """
    n = max(len(rows), 1)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig = _new_figure(4.0 * ncols, 3.3 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, row in zip(axes.flat, rows, strict=False):
        points = [pt for pt in row.arrhenius if pt.get("T") and pt.get("D_cm2_s")]
        for pt in points:
            x, d = 1000.0 / float(pt["T"]), float(pt["D_cm2_s"])
            err = pt.get("D_err")
            if pt.get("used_in_fit") and err:
                low = max(d - float(err), 0.05 * d)
                yerr = [[np.log10(d) - np.log10(low)], [np.log10(d + float(err)) - np.log10(d)]]
                ax.errorbar(x, np.log10(d), yerr=yerr, fmt="o", color="C0", capsize=3)
            elif pt.get("used_in_fit"):
                ax.plot(x, np.log10(d), "o", color="C0")
            elif pt.get("diffusive", (pt.get("li_hops") or 0) > 0):
                ax.plot(x, np.log10(d), "o", mfc="none", color="C1")
            else:
                ax.plot(x, np.log10(d), "x", color="C3")
        if not points:
            ax.text(0.5, 0.5, "no diffusion coefficients", ha="center", va="center",
                    transform=ax.transAxes, color="C3")  # fmt: skip
        name = row.material_id or row.formula
        title = f"{name} {row.formula}" if row.material_id else name
        ax.set_title(plain_text(f"{title}: MD {row.verdict}"), fontsize=8)
        ax.set_xlabel("1000/T (1/K)")
        ax.set_ylabel("log10 D (cm2/s)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    return _finish(fig, path)
