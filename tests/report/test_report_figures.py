"""The report's own figures draw the documents' numbers."""

from __future__ import annotations

import numpy as np

from sse_flows.report.paper import PAPER_ANION_CLASSES, PAPER_FUNNEL
from sse_flows.report.plotting import (
    plot_anion_classes,
    plot_screening_funnel,
    plot_vote_histograms,
)


def _bars(ax):
    from matplotlib.patches import Rectangle

    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_funnel_bars_are_the_counts_beside_the_paper(screening_doc):
    fig = plot_screening_funnel(screening_doc)
    ax = fig.axes[0]
    widths = [round(b.get_width()) for b in _bars(ax)]
    ours = [s.count for s in screening_doc.stages]
    assert widths == ours + [n for _, n in PAPER_FUNNEL]
    assert ax.get_xscale() == "log"


def test_anion_shares_sum_to_100_percent(screening_doc):
    fig = plot_anion_classes(screening_doc)
    heights = [b.get_height() for b in _bars(fig.axes[0])]
    classes = list(PAPER_ANION_CLASSES) + [
        c for c in screening_doc.anion_classes if c not in PAPER_ANION_CLASSES
    ]
    ours, paper = heights[: len(classes)], heights[len(classes) :]
    assert np.isclose(sum(ours), 100.0) and np.isclose(sum(paper), 100.0)
    assert np.isclose(paper[0], 100 * 299 / 468)  # oxides in the paper


def test_vote_histograms_count_every_voted_material(vote_doc):
    fig = plot_vote_histograms(vote_doc)
    voted = [v for v in vote_doc.votes if v.error is None]
    for ax, alg in zip(fig.axes, vote_doc.ensemble.algorithms, strict=True):
        heights = np.array([b.get_height() for b in _bars(ax)])
        assert heights.sum() == len(voted)
        n_models = len(vote_doc.ensemble.seeds)
        assert len(heights) == n_models + 1  # one bin per possible vote count
        for votes in range(n_models + 1):
            assert heights[votes] == sum(v.votes[alg] == votes for v in voted)
        (line,) = ax.get_lines()
        assert line.get_xdata()[0] == vote_doc.min_votes[alg] - 0.5
