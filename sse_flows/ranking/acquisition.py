"""Acquisition: how much an MD test of each screened material is worth, as one number.

Every screened material the model could score gets an acquisition score, and the selection
stage sends the best ones to MD beside the vote's candidates (``--md-top K``;
:func:`sse_flows.ranking.selection.select_md_targets`). The score is the probability that
the material is superionic (log10 sigma_RT >= -4) under the model's predictive
distribution, widened where the model knows less:

.. code-block:: text

    sd    = (log10_sigma_high - log10_sigma_low) / (2 z)      z = Phi^-1((1 + level) / 2)
    sd    = sd * 1.5                                           when the material is out of domain
    p     = Phi((log10_sigma - (-4)) / sd)                     (p = [log10_sigma >= -4] when sd = 0)
    score = logistic(logit(p) + structure_log_odds)            (structure_log_odds = 0 by default)

``level`` is the interval's coverage (the ensemble's ``interval_level``, 0.9 for the open
recipe: z = 1.645). The 1.5x wider normal of an out-of-domain material is the exploration
term: for a material the model puts below the threshold (most of the pool), a wider
distribution puts more of its mass above -4, so an uncertain material can outrank a
confidently slow one. Without a log10 sigma and its interval (the ``paper`` recipe's
classifiers) the score is the vote probability ``p_superionic`` (0 when missing).
``structure_log_odds`` is a hook for a structure-stage signal (e.g. a percolation barrier),
added in log-odds so that it moves probabilities near 0 or 1 little.

Order: by decreasing score; ties by decreasing model log10 sigma, then decreasing
``p_superionic``, then formula, then MP id, so the ranking is the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM
from sse_flows.ranking.schemas import CandidateDoc

__all__ = [
    "DEFAULT_INTERVAL_LEVEL",
    "DEFAULT_MD_TOP",
    "OUT_OF_DOMAIN_SD_FACTOR",
    "Acquisition",
    "acquisition_score",
    "default_md_top",
    "rank_by_acquisition",
]

#: Coverage assumed for a log10 sigma interval whose level is not recorded.
DEFAULT_INTERVAL_LEVEL = 0.9
#: Factor on the standard deviation of an out-of-domain material (the exploration term).
OUT_OF_DOMAIN_SD_FACTOR = 1.5
#: Screened materials sent to MD by acquisition, beside the vote's candidates, per recipe
#: (``--md-top`` not given): the open recipe's unanimous vote passes almost nothing, the
#: paper recipe reproduces the paper (its vote alone).
DEFAULT_MD_TOP = {"open": 3, "paper": 0}

_LOG10_THRESHOLD = math.log10(SUPERIONIC_THRESHOLD_S_CM)
_P_CLIP = 1e-12


def default_md_top(recipe: str | None) -> int:
    """The ``--md-top`` of a recipe when none is given (:data:`DEFAULT_MD_TOP`; 0 for an
    unknown recipe).

    Parameters
    ----------
    recipe : str or None
        The vote's model recipe ("open" or "paper").

    Returns
    -------
    int
        How many screened materials besides the vote's candidates go to MD.
    """
    return DEFAULT_MD_TOP.get(str(recipe), 0)


@dataclass(frozen=True)
class Acquisition:
    """The acquisition score of one material and what it rests on.

    Attributes
    ----------
    score
        Probability-like score in [0, 1]; higher is sent to MD first.
    basis
        "model interval", "model interval, out of domain (sd x1.5)" or "vote probability".
    sd
        Standard deviation (decades) of the normal used (None for the vote probability).
    """

    score: float
    basis: str
    sd: float | None = None


def _shift_log_odds(p: float, shift: float) -> float:
    if not shift:
        return p
    p = min(max(p, _P_CLIP), 1.0 - _P_CLIP)
    return 1.0 / (1.0 + math.exp(-(math.log(p / (1.0 - p)) + shift)))


def acquisition_score(
    log10_sigma: float | None,
    log10_sigma_low: float | None,
    log10_sigma_high: float | None,
    in_domain: bool | None = None,
    p_superionic: float | None = None,
    interval_level: float | None = None,
    structure_log_odds: float = 0.0,
) -> Acquisition:
    """The acquisition score of one material (formula in the module docstring).

    Parameters
    ----------
    log10_sigma : float or None
        The model's log10 sigma_RT (S/cm); None for the paper recipe.
    log10_sigma_low, log10_sigma_high : float or None
        The ends of its predictive interval.
    in_domain : bool or None
        Whether the material is inside the model's applicability domain; False widens
        the distribution by :data:`OUT_OF_DOMAIN_SD_FACTOR` (None: not known, not widened).
    p_superionic : float or None
        The vote probability, used when there is no log10 sigma with an interval.
    interval_level : float or None
        Coverage of the interval (None: :data:`DEFAULT_INTERVAL_LEVEL`).
    structure_log_odds : float
        Shift of the score's log-odds from a structure-stage signal (0: none).

    Returns
    -------
    Acquisition
        The score, its basis and the standard deviation used.
    """
    usable = (
        log10_sigma is not None
        and log10_sigma_low is not None
        and log10_sigma_high is not None
        and all(math.isfinite(v) for v in (log10_sigma, log10_sigma_low, log10_sigma_high))
    )
    if not usable:
        p = float(p_superionic) if p_superionic is not None else 0.0
        return Acquisition(_shift_log_odds(p, structure_log_odds), "vote probability")
    level = DEFAULT_INTERVAL_LEVEL if interval_level is None else float(interval_level)
    z = NormalDist().inv_cdf((1.0 + level) / 2.0)
    sd = max(float(log10_sigma_high) - float(log10_sigma_low), 0.0) / (2.0 * z)
    basis = "model interval"
    if in_domain is False:
        sd *= OUT_OF_DOMAIN_SD_FACTOR
        basis = f"model interval, out of domain (sd x{OUT_OF_DOMAIN_SD_FACTOR:g})"
    if sd > 0:
        p = NormalDist(float(log10_sigma), sd).cdf(_LOG10_THRESHOLD)
        p = 1.0 - p
    else:
        p = float(log10_sigma >= _LOG10_THRESHOLD)
    return Acquisition(_shift_log_odds(p, structure_log_odds), basis, sd)


def _label(row: CandidateDoc) -> str:
    return row.material_id or row.formula


def rank_by_acquisition(
    rows: Sequence[CandidateDoc],
    interval_level: float | None = None,
    structure_log_odds: Mapping[str, float] | None = None,
) -> list[CandidateDoc]:
    """Score every row, record its score and rank on it, and return the rows best first.

    Parameters
    ----------
    rows : sequence of CandidateDoc
        The screened materials the model scored (their model columns and ``in_domain``).
    interval_level : float or None
        Coverage of the model's interval (the vote ensemble's ``interval_level``).
    structure_log_odds : mapping of str to float, or None
        Label (MP id, else formula) -> log-odds shift from a structure stage; a material
        not in it gets 0.

    Returns
    -------
    list of CandidateDoc
        The same row objects, each with ``acquisition_score``, ``acquisition_basis`` and
        ``acquisition_rank`` (1 = best) set, in rank order.
    """
    shifts = structure_log_odds or {}
    for row in rows:
        result = acquisition_score(
            row.log10_sigma_model,
            row.log10_sigma_model_low,
            row.log10_sigma_model_high,
            in_domain=row.in_domain,
            p_superionic=row.p_superionic,
            interval_level=interval_level,
            structure_log_odds=float(shifts.get(_label(row), 0.0)),
        )
        row.acquisition_score = result.score
        row.acquisition_basis = result.basis
    ordered = sorted(
        rows,
        key=lambda r: (
            -r.acquisition_score,
            -(r.log10_sigma_model if r.log10_sigma_model is not None else -math.inf),
            -(r.p_superionic if r.p_superionic is not None else -math.inf),
            r.formula,
            r.material_id or "",
        ),
    )
    for rank, row in enumerate(ordered, start=1):
        row.acquisition_rank = rank
    return ordered
