"""Applicability domain: which formulas a model trained on a conductivity table may judge.

A formula is **out of domain** (``in_domain = False``, never a candidate) for the first of
these reasons, checked in order:

1. ``no Li``: the composition has no lithium (the screen looks for Li conductors).
2. ``single element``: one element only (``Li``, ``S``).
3. ``absurd stoichiometry``: an element's atomic fraction exceeds the largest atomic
   fraction of *any* element in *any* training composition by more than
   ``FRACTION_MARGIN`` (0.1). That maximum is 0.75 on the open table (Li in Li3P) and 0.69
   on the paper's (O in La0.32Li0.03NbO3), so the cut-off is 0.85 (0.79):
   ``Li1000000PS4`` (Li fraction 0.99999) is out, ``LiS4`` (S 0.8) is in for ``open``.
4. ``far from the training data``: the Euclidean distance, in the standardized feature space
   of the model (features median-imputed, then scaled to unit variance on the training
   rows), from the formula to its nearest training row exceeds the ``PERCENTILE`` (99th)
   percentile of the training rows' own nearest-neighbour distances (each training row to
   its nearest *other* training row).

An element that no training composition contains is *not* by itself a reason: the Magpie
features describe it by its properties, and rule 4 catches compositions whose features are
unlike the training rows'.

The rules use nothing but the training table, so they are fixed before any test row is seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Percentile of the training set's own nearest-neighbour distances used as the cut-off.
PERCENTILE = 99.0
#: Margin (atomic fraction) above an element's largest training fraction.
FRACTION_MARGIN = 0.1
#: A feature whose training std is at most this times max(|mean|, 1) is constant.
CONSTANT_RTOL = 1e-9


@dataclass
class ApplicabilityDomain:
    """Fitted domain of a training table.

    Attributes
    ----------
    max_fraction
        Largest atomic fraction of every element over the training compositions (the
        largest of these values sets the stoichiometry rule).
    center, scale
        Median imputation values and standard deviations of the features (training rows).
    mean
        Mean of the imputed features.
    train_scaled
        The standardized training feature matrix (for the nearest-neighbour search).
    threshold
        Distance cut-off: ``percentile`` of the training nearest-neighbour distances.
    percentile
        The percentile used.
    """

    max_fraction: dict[str, float]
    center: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    train_scaled: np.ndarray
    threshold: float
    percentile: float = PERCENTILE

    @classmethod
    def fit(
        cls, X: np.ndarray, formulas: list[str], percentile: float = PERCENTILE
    ) -> ApplicabilityDomain:
        """Domain of the training rows ``X`` (features) with compositions ``formulas``."""
        X = np.asarray(X, dtype=float)
        center = np.nanmedian(X, axis=0)
        center = np.where(np.isnan(center), 0.0, center)
        imputed = np.where(np.isnan(X), center, X)
        mean = imputed.mean(axis=0)
        scale = imputed.std(axis=0)
        # a feature constant in training, also one whose spread is float rounding (a std
        # of 1e-16 would blow any other value up to a distance of 1e15), keeps unit scale
        constant = scale <= CONSTANT_RTOL * np.maximum(np.abs(mean), 1.0)
        scale = np.where(constant, 1.0, scale)
        scaled = (imputed - mean) / scale
        distances = _nearest_distances(scaled, scaled, exclude_self=True)
        max_fraction: dict[str, float] = {}
        for formula in formulas:
            for element, fraction in _fractions(formula).items():
                max_fraction[element] = max(max_fraction.get(element, 0.0), fraction)
        return cls(
            max_fraction=max_fraction,
            center=center,
            mean=mean,
            scale=scale,
            train_scaled=scaled,
            threshold=float(np.percentile(distances, percentile)),
            percentile=percentile,
        )

    def distances(self, X: np.ndarray) -> np.ndarray:
        """Distance of every row of ``X`` to its nearest training row (standardized space)."""
        X = np.asarray(X, dtype=float)
        imputed = np.where(np.isnan(X), self.center, X)
        return _nearest_distances((imputed - self.mean) / self.scale, self.train_scaled)

    def check(self, formulas: list[str], X: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """``in_domain`` flags and the reason (``""`` when in domain) for every formula.

        Parameters
        ----------
        formulas
            Parseable formulas (one per row of ``X``).
        X
            Their features, in the model's column order.
        """
        distance = self.distances(X) if len(formulas) else np.zeros(0)
        flags, reasons = [], []
        for formula, d in zip(formulas, distance, strict=True):
            reason = self.composition_reason(formula)
            if not reason and d > self.threshold:
                reason = (
                    f"far from the training data (nearest-neighbour distance {d:.1f} > "
                    f"{self.threshold:.1f}, the {self.percentile:g}th percentile of the "
                    "training set's own)"
                )
            flags.append(not reason)
            reasons.append(reason)
        return np.array(flags, dtype=bool), reasons

    def composition_reason(self, formula: str) -> str:
        """Reason from the composition rules 1-3 alone, ``""`` when none applies."""
        fractions = _fractions(formula)
        if "Li" not in fractions:
            return "no Li"
        if len(fractions) == 1:
            return "single element"
        largest = max(self.max_fraction.values())
        limit = largest + FRACTION_MARGIN
        for element, fraction in sorted(fractions.items()):
            if fraction > limit:
                return (
                    f"absurd stoichiometry: {element} atomic fraction {fraction:.3f} > "
                    f"{limit:.2f} (largest fraction of any element in the training data "
                    f"{largest:.2f} + {FRACTION_MARGIN:g})"
                )
        return ""


def _fractions(formula: str) -> dict[str, float]:
    from pymatgen.core import Composition

    composition = Composition(formula)
    return {el.symbol: float(v) for el, v in composition.fractional_composition.items()}


def _nearest_distances(
    query: np.ndarray, reference: np.ndarray, exclude_self: bool = False, chunk: int = 512
) -> np.ndarray:
    """Euclidean distance from every query row to its nearest reference row."""
    out = np.empty(len(query))
    ref_sq = (reference**2).sum(axis=1)
    for start in range(0, len(query), chunk):
        block = query[start : start + chunk]
        d2 = (block**2).sum(axis=1)[:, None] + ref_sq[None, :] - 2.0 * block @ reference.T
        d2 = np.maximum(d2, 0.0)
        if exclude_self:
            rows = np.arange(len(block))
            d2[rows, start + rows] = np.inf
        out[start : start + chunk] = np.sqrt(d2.min(axis=1))
    return out
