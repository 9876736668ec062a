"""One estimate of log10 sigma_RT from two pieces of evidence: the model and the MD.

The model (open recipe) predicts log10 sigma_RT with a 90 % split-conformal interval; the
MD gives sigma_RT from its Arrhenius fit with a 95 % interval, or only an upper bound when
no Li diffused. :func:`combine_log10_sigma` joins them the simplest honest way:

* both are estimates: each interval is read as a normal error in log10 (half-width over
  1.645 for the model's 90 %, over 1.96 for the MD's 95 %), and the combined value is the
  inverse-variance weighted mean, with the combined standard error;
* MD gave an upper bound only: the model's estimate, capped at the bound (the bound is
  what the simulation can say; a model estimate above it is contradicted by it);
* one of the two is missing (MD not run or failed; formula out of the model's domain):
  the other alone.

The ranking of the discovery flow orders materials by this combined value (and its
``p_combined``, the normal probability that log10 sigma_RT >= -4), so a material the model
doubts but MD finds fast rises, and one the model likes but MD finds frozen falls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM

#: z of the model's two-sided 90 % interval and of the MD's 95 % interval.
Z_MODEL = 1.6448536269514722
Z_MD = 1.959963984540054
#: Standard error (decades) given to an estimate whose interval is missing or empty.
DEFAULT_SIGMA_DECADES = 1.0


@dataclass(frozen=True)
class CombinedEstimate:
    """log10 sigma_RT from the model and the MD.

    Attributes
    ----------
    log10_sigma
        The combined estimate (None when neither piece of evidence exists).
    stderr
        Its standard error in decades (None with no estimate, or for a capped estimate).
    source
        "model+md", "model capped by md bound", "md", "md bound", "model" or "none".
    """

    log10_sigma: float | None
    stderr: float | None
    source: str

    @property
    def p_superionic(self) -> float | None:
        """Normal probability that log10 sigma_RT >= -4 (None without an estimate; 0 or 1
        for an estimate without standard error, by which side of -4 it lies)."""
        if self.log10_sigma is None:
            return None
        threshold = math.log10(SUPERIONIC_THRESHOLD_S_CM)
        if not self.stderr:
            return float(self.log10_sigma >= threshold)
        z = (self.log10_sigma - threshold) / self.stderr
        return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _sigma(low: float | None, high: float | None, z: float) -> float:
    if low is None or high is None or not high > low:
        return DEFAULT_SIGMA_DECADES
    return (high - low) / (2.0 * z)


def _log10(value: float | None) -> float | None:
    return math.log10(value) if value is not None and value > 0 else None


def combine_log10_sigma(
    model_log10: float | None,
    model_low: float | None = None,
    model_high: float | None = None,
    md_sigma_S_cm: float | None = None,
    md_low_S_cm: float | None = None,
    md_high_S_cm: float | None = None,
    md_upper_bound: bool = False,
) -> CombinedEstimate:
    """Join the model's and the MD's room-temperature conductivity (module docstring).

    Parameters
    ----------
    model_log10, model_low, model_high
        The model's log10 sigma_RT and its 90 % interval (None: no model estimate).
    md_sigma_S_cm, md_low_S_cm, md_high_S_cm
        The MD sigma_RT (S/cm) and its 95 % interval.
    md_upper_bound
        The MD gave only an upper bound, ``md_high_S_cm`` (no Li diffusion).

    Returns
    -------
    CombinedEstimate
    """
    md_bound = _log10(md_high_S_cm) if md_upper_bound else None
    md_value = None if md_upper_bound else _log10(md_sigma_S_cm)
    if md_bound is not None:
        if model_log10 is None:
            return CombinedEstimate(md_bound, None, "md bound")
        if model_log10 > md_bound:
            return CombinedEstimate(md_bound, None, "model capped by md bound")
        return CombinedEstimate(model_log10, _sigma(model_low, model_high, Z_MODEL), "model")
    if md_value is None:
        if model_log10 is None:
            return CombinedEstimate(None, None, "none")
        return CombinedEstimate(model_log10, _sigma(model_low, model_high, Z_MODEL), "model")
    md_err = _sigma(_log10(md_low_S_cm), _log10(md_high_S_cm), Z_MD)
    if model_log10 is None:
        return CombinedEstimate(md_value, md_err, "md")
    model_err = _sigma(model_low, model_high, Z_MODEL)
    w_model, w_md = 1.0 / model_err**2, 1.0 / md_err**2
    value = (w_model * model_log10 + w_md * md_value) / (w_model + w_md)
    return CombinedEstimate(value, (w_model + w_md) ** -0.5, "model+md")
