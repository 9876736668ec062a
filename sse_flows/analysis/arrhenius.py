"""Weighted Arrhenius fit, extrapolation to room temperature and Nernst-Einstein conductivity.

The model is ln D = ln D0 - Ea / (k_B T), fitted by weighted least squares with weights
1/var(ln D), var(ln D) = (D_err/D)**2 (floored at ``min_rel_err``**2). The parameter
covariance is (A^T W A)^-1, multiplied by the reduced chi^2 when there are more than two
points and chi^2/dof > 1 (the scatter then says the errors were underestimated). The
variance of ln D(300 K) follows from that covariance, and the interval is
exp(ln D +- z sd) with z = 1.96 (95 %).

The conductivity is pymatgen's Nernst-Einstein conversion
(``pymatgen.analysis.diffusion.analyzer.get_conversion_factor``, mS/cm, divided by 1000), so
with equal weights our sigma_300K equals ``get_extrapolated_conductivity`` / 1000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sse_flows.constants import K_B_EV, ROOM_TEMPERATURE_K

__all__ = [
    "ArrheniusFit",
    "K_B_EV",
    "conductivity_S_cm",
    "fit_arrhenius_weighted",
]

@dataclass(frozen=True)
class ArrheniusFit:
    """Result of :func:`fit_arrhenius_weighted`.

    Attributes
    ----------
    ea_eV, ln_d0
        Activation energy (eV) and ln of the prefactor (cm^2/s).
    covariance
        2x2 covariance of (ln_d0, ea_eV).
    n_points
        Number of temperatures fitted.
    reduced_chi2
        chi^2 / (n - 2), ``None`` for two points.
    """

    ea_eV: float
    ln_d0: float
    covariance: np.ndarray
    n_points: int
    reduced_chi2: float | None

    @property
    def ea_err_eV(self) -> float:
        """Standard error of the activation energy (eV)."""
        return float(np.sqrt(self.covariance[1, 1]))

    @property
    def d0_cm2_s(self) -> float:
        """Prefactor D0 (cm^2/s)."""
        return float(np.exp(self.ln_d0))

    def ln_d(self, temperature: float) -> tuple[float, float]:
        """ln D at ``temperature`` and its standard deviation."""
        x = np.array([1.0, -1.0 / (K_B_EV * temperature)])
        value = float(x @ np.array([self.ln_d0, self.ea_eV]))
        sd = float(np.sqrt(max(x @ self.covariance @ x, 0.0)))
        return value, sd

    def diffusivity(self, temperature: float, z: float = 1.96) -> tuple[float, float, float]:
        """D at ``temperature`` with the interval exp(ln D +- z sd): (D, low, high) in cm^2/s."""
        value, sd = self.ln_d(temperature)
        return float(np.exp(value)), float(np.exp(value - z * sd)), float(np.exp(value + z * sd))


def fit_arrhenius_weighted(
    temperatures: Sequence[float],
    diffusivities: Sequence[float],
    diffusivity_errors: Sequence[float] | None = None,
    min_rel_err: float = 0.05,
) -> ArrheniusFit:
    """Weighted least-squares fit of ln D against 1/(k_B T).

    Parameters
    ----------
    temperatures
        Temperatures (K), at least two distinct.
    diffusivities
        D (cm^2/s), positive.
    diffusivity_errors
        Standard errors of D (cm^2/s); ``None`` gives equal weights (then the fit is
        pymatgen's ``fit_arrhenius(mode="linear")``).
    min_rel_err
        Floor of the relative error, so a single very precise point cannot dominate.
    """
    temps = np.asarray(temperatures, dtype=float)
    d = np.asarray(diffusivities, dtype=float)
    if len(temps) < 2 or len(np.unique(temps)) < 2:
        raise ValueError("an Arrhenius fit needs at least two distinct temperatures")
    if np.any(d <= 0):
        raise ValueError("diffusivities must be positive for an Arrhenius fit")
    equal_weights = diffusivity_errors is None
    if equal_weights:
        rel = np.ones_like(d)
    else:
        rel = np.maximum(np.asarray(diffusivity_errors, dtype=float) / d, min_rel_err)
    weights = 1.0 / rel**2
    design = np.column_stack([np.ones_like(temps), -1.0 / (K_B_EV * temps)])
    y = np.log(d)
    normal = design.T @ (weights[:, None] * design)
    cov = np.linalg.inv(normal)
    params = cov @ design.T @ (weights * y)
    n = len(temps)
    chi2_red = None
    if n > 2:
        resid = y - design @ params
        chi2_red = float(np.sum(weights * resid**2) / (n - 2))
        # equal weights: errors unknown, take them from the scatter (ordinary least squares)
        scale = chi2_red if equal_weights else max(1.0, chi2_red)
        cov = cov * scale
    elif equal_weights:
        cov = cov * np.nan  # two points, no error information at all
    return ArrheniusFit(
        ea_eV=float(params[1]),
        ln_d0=float(params[0]),
        covariance=cov,
        n_points=n,
        reduced_chi2=chi2_red,
    )


def conductivity_S_cm(
    diffusivity_cm2_s: float,
    structure,
    temperature: float = ROOM_TEMPERATURE_K,
    specie: str = "Li",
) -> float:
    """Nernst-Einstein conductivity (S/cm) of ``specie`` in ``structure`` at ``temperature``
    (pymatgen's ``get_conversion_factor``, which returns mS/cm per cm^2/s)."""
    from pymatgen.analysis.diffusion.analyzer import get_conversion_factor

    return float(diffusivity_cm2_s * get_conversion_factor(structure, specie, temperature) / 1000)
