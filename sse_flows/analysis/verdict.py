"""The MD verdict of a diffusion analysis, and which temperature limits it.

The classes are the paper's (superionic >= 1e-4 S/cm at 300 K, close >= 1e-5), decided on
the whole interval of sigma_RT, never on its point value alone (:func:`verdict`). An
"undetermined" verdict earns more sampling in the discovery flow:
:func:`limiting_temperature` names the temperature whose longer run narrows the interval
most.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sse_flows.constants import (
    CLOSE_THRESHOLD_S_CM,
    ROOM_TEMPERATURE_K,
    SUPERIONIC_THRESHOLD_S_CM,
)

if TYPE_CHECKING:
    from sse_flows.analysis.schemas import DiffusionDoc

__all__ = ["CLOSE_MAX_DECADES", "diffusion_verdict", "limiting_temperature", "verdict"]

#: Widest interval (orders of magnitude) that is still reported as "close".
CLOSE_MAX_DECADES = 2.0


def verdict(
    sigma_rt: float | None,
    low: float | None = None,
    high: float | None = None,
    diffusive_anywhere: bool | None = None,
) -> str:
    """The paper's classes of an MD room-temperature conductivity, decided on the interval.

    With an interval ``[low, high]`` a class is given only when the interval decides it:
    superionic (low >= 1e-4 S/cm), not superionic (high < 1e-5), close (low >= 1e-5 and
    the interval at most ``CLOSE_MAX_DECADES``, 2, orders of magnitude wide: near 1e-4 and
    known to within a factor 100); any other interval, e.g. [1e-5, 1e+1], is
    "undetermined": it says too little to class the material. With only an upper bound
    (``sigma_rt`` None, ``high`` set) the material is "not superionic" when the bound is
    below 1e-5, and "no diffusion" when no simulated temperature showed Li diffusion
    (``diffusive_anywhere`` False). Without an interval the point value decides.
    """
    if sigma_rt is None:
        if high is not None and high < CLOSE_THRESHOLD_S_CM:
            return "not superionic"
        if diffusive_anywhere is False:
            return "no diffusion"
        return "undetermined"
    low = sigma_rt if low is None else low
    high = sigma_rt if high is None else high
    if low >= SUPERIONIC_THRESHOLD_S_CM:
        return "superionic"
    if high < CLOSE_THRESHOLD_S_CM:
        return "not superionic"
    if low >= CLOSE_THRESHOLD_S_CM and high <= low * 10**CLOSE_MAX_DECADES:
        return "close"  # near the threshold, and the interval is narrow enough to say so
    return "undetermined"


def diffusion_verdict(diffusion: DiffusionDoc) -> str:
    """The :func:`verdict` of a material's diffusion analysis (Li diffusion counts only at
    temperatures whose host stayed intact)."""
    diffusive = any(t.diffusive for t in diffusion.temperatures if t.framework_stable)
    return verdict(
        diffusion.sigma_rt_S_cm, diffusion.sigma_rt_low, diffusion.sigma_rt_high, diffusive
    )


def limiting_temperature(
    diffusion: DiffusionDoc,
    room_temperature: float = ROOM_TEMPERATURE_K,
    min_rel_err: float = 0.05,
) -> float | None:
    """The temperature whose doubled sampling narrows the sigma_RT interval most.

    With an Arrhenius fit (two or more fitted temperatures): the fitted temperature whose
    weight, doubled (twice the run: its variance halves), lowers the variance of
    ln D(``room_temperature``) of the weighted fit the most; usually the coldest, whose
    lever arm to 300 K is shortest. With fewer than two fitted temperatures: the coldest
    temperature with an intact host that is not diffusive yet (its hops decide whether a
    second point exists). None when nothing can be extended usefully.

    Parameters
    ----------
    diffusion
        The analysis of the runs so far.
    room_temperature
        Temperature of the extrapolation (K).
    min_rel_err
        Floor of the relative error of D (as the fit's).
    """
    fitted = [t for t in diffusion.temperatures if t.used_in_fit and t.D_cm2_s > 0]
    if len(fitted) < 2:
        waiting = sorted(
            (t for t in diffusion.temperatures if t.framework_stable and not t.diffusive),
            key=lambda t: t.T,
        )
        return waiting[0].T if waiting else None
    from sse_flows.analysis.arrhenius import arrhenius_design, arrhenius_weights

    x = arrhenius_design([t.T for t in fitted])
    weights = arrhenius_weights([t.D_cm2_s for t in fitted], [t.D_err for t in fitted],
                                min_rel_err)
    target = arrhenius_design([room_temperature])[0]

    def variance(w: np.ndarray) -> float:
        return float(target @ np.linalg.inv(x.T @ (w[:, None] * x)) @ target)

    base = variance(weights)
    gains = []
    for i in range(len(fitted)):
        doubled = weights.copy()
        doubled[i] *= 2
        gains.append(base - variance(doubled))
    return fitted[int(np.argmax(gains))].T
