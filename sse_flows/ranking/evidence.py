"""One estimate of log10 sigma_RT from two pieces of evidence: the model and the MD.

The model (open recipe) predicts log10 sigma_RT with a 90 % split-conformal interval; the
MD gives sigma_RT from its Arrhenius fit with a 95 % interval, or only an upper bound when
no Li diffused. :func:`combine_log10_sigma` joins them the simplest honest way:

* both are estimates: each interval is read as a normal error in log10 (half-width over
  1.645 for the model's 90 %, over 1.96 for the MD's 95 %), and the combined value is the
  inverse-variance weighted mean, with the combined standard error;
* MD gave an upper bound only: the model's estimate, capped at the bound (the bound is
  what the simulation can say; a model estimate above it is contradicted by it). A capped
  value is itself a bound (``is_upper_bound``: shown as "<= x"), and the probability of
  being superionic is the model's normal truncated at the bound: P(-4 <= L <= b) / P(L <= b),
  0 when the bound is below -4;
* the MD bound alone (no model estimate): a bound, never a value; its probability is 0
  when the bound is below -4 and unknown (None) otherwise, since a bound above the
  threshold says nothing about which side the material is on;
* one of the two is missing (MD not run or failed; formula out of the model's domain):
  the other alone.

The ranking of the discovery flow orders materials by this combined value (and its
``p_combined``, the normal probability that log10 sigma_RT >= -4), so a material the model
doubts but MD finds fast rises, and one the model likes but MD finds frozen falls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM

#: z of the model's two-sided 90 % interval and of the MD's 95 % interval.
Z_MODEL = 1.6448536269514722
Z_MD = 1.959963984540054
_STANDARD_NORMAL = NormalDist()
#: Standard error (decades) given to an estimate whose interval is missing or empty.
DEFAULT_SIGMA_DECADES = 1.0


@dataclass(frozen=True)
class CombinedEstimate:
    """log10 sigma_RT from the model and the MD.

    Attributes
    ----------
    log10_sigma
        The combined estimate, or the upper bound when ``is_upper_bound`` (None when
        neither piece of evidence exists).
    stderr
        Its standard error in decades (None with no estimate, or for a bound).
    source
        "model+md", "model capped by md bound", "md", "md bound", "model" or "none".
    p_superionic
        Probability that log10 sigma_RT >= -4 (module docstring; None when the evidence
        cannot say).
    is_upper_bound
        True when ``log10_sigma`` is an upper bound, not an estimate.
    """

    log10_sigma: float | None
    stderr: float | None
    source: str
    p_superionic: float | None = None
    is_upper_bound: bool = False


def probability_superionic(
    mean: float, stderr: float | None, upper_bound: float | None = None
) -> float:
    """P(log10 sigma >= -4) for a normal estimate, truncated above at ``upper_bound``.

    Parameters
    ----------
    mean, stderr
        The estimate and its standard error (decades); no error: 0 or 1 by the side of -4.
    upper_bound
        log10 of an upper bound the value cannot exceed (None: none).
    """
    threshold = math.log10(SUPERIONIC_THRESHOLD_S_CM)
    if upper_bound is not None and upper_bound < threshold:
        return 0.0
    if not stderr:
        return float(mean >= threshold)
    below_threshold = _STANDARD_NORMAL.cdf((threshold - mean) / stderr)
    if upper_bound is None:
        return 1.0 - below_threshold
    below_bound = _STANDARD_NORMAL.cdf((upper_bound - mean) / stderr)
    if below_bound <= 0.0:  # the model puts no weight under the bound: the bound decides
        return 0.0 if upper_bound < threshold else 1.0
    return max(below_bound - below_threshold, 0.0) / below_bound


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
    threshold = math.log10(SUPERIONIC_THRESHOLD_S_CM)
    if md_bound is not None:
        if model_log10 is None:
            return CombinedEstimate(md_bound, None, "md bound",
                                    0.0 if md_bound < threshold else None, True)
        model_err = _sigma(model_low, model_high, Z_MODEL)
        p = probability_superionic(model_log10, model_err, md_bound)
        if model_log10 > md_bound:
            return CombinedEstimate(md_bound, None, "model capped by md bound", p, True)
        return CombinedEstimate(model_log10, model_err, "model", p)
    if md_value is None:
        if model_log10 is None:
            return CombinedEstimate(None, None, "none")
        model_err = _sigma(model_low, model_high, Z_MODEL)
        return CombinedEstimate(model_log10, model_err, "model",
                                probability_superionic(model_log10, model_err))
    md_err = _sigma(_log10(md_low_S_cm), _log10(md_high_S_cm), Z_MD)
    if model_log10 is None:
        return CombinedEstimate(md_value, md_err, "md", probability_superionic(md_value, md_err))
    model_err = _sigma(model_low, model_high, Z_MODEL)
    w_model, w_md = 1.0 / model_err**2, 1.0 / md_err**2
    value = (w_model * model_log10 + w_md * md_value) / (w_model + w_md)
    stderr = (w_model + w_md) ** -0.5
    return CombinedEstimate(value, stderr, "model+md", probability_superionic(value, stderr))
