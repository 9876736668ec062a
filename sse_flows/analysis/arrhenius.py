"""Arrhenius fits, extrapolation to room temperature and Nernst-Einstein conductivity.

:func:`fit_arrhenius_sampled` is the fit the analysis uses: it propagates each
temperature's posterior of D (a normal truncated at D > 0, mean D and standard deviation
D_err) by sampling. Every draw of the D's is fitted by the weighted least squares below,
so the spread of the fitted (ln D0, Ea) holds the errors of every temperature jointly, and
the interval of D(300 K) is the 2.5-97.5 percentile range of the extrapolated draws (it is
asymmetric where a D's error is large, as it should be). With more than two temperatures
and a reduced chi^2 above 1 the draws are widened about the central fit by sqrt(chi^2).

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
    "ArrheniusPosterior",
    "arrhenius_design",
    "arrhenius_weights",
    "fit_arrhenius_sampled",
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


def arrhenius_design(temperatures: Sequence[float]) -> np.ndarray:
    """Rows (1, -1/(k_B T)) of the linear model ln D = ln D0 - Ea / (k_B T)."""
    temps = np.asarray(temperatures, dtype=float)
    return np.column_stack([np.ones_like(temps), -1.0 / (K_B_EV * temps)])


def arrhenius_weights(
    diffusivities: Sequence[float], diffusivity_errors: Sequence[float], min_rel_err: float = 0.05
) -> np.ndarray:
    """Weights 1/var(ln D) of the fit: 1/(D_err/D)**2, the relative error floored at
    ``min_rel_err`` so a single very precise point cannot dominate."""
    d = np.asarray(diffusivities, dtype=float)
    rel = np.maximum(np.asarray(diffusivity_errors, dtype=float) / d, min_rel_err)
    return 1.0 / rel**2


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
    weights = (np.ones_like(d) if equal_weights
               else arrhenius_weights(d, diffusivity_errors, min_rel_err))
    design = arrhenius_design(temps)
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


@dataclass(frozen=True)
class ArrheniusPosterior:
    """Result of :func:`fit_arrhenius_sampled`: the central fit and the sampled parameters.

    Attributes
    ----------
    fit
        The weighted least-squares fit to the D values themselves (the point estimate).
    ea_samples, ln_d0_samples
        Activation energy (eV) and ln D0 of each draw.
    """

    fit: ArrheniusFit
    ea_samples: np.ndarray
    ln_d0_samples: np.ndarray

    @property
    def ea_err_eV(self) -> float:
        """Standard deviation of Ea over the draws, from the 16-84 percentile half-range
        (robust to a heavy tail)."""
        low, high = np.percentile(self.ea_samples, [15.865, 84.135])
        return float((high - low) / 2)

    def ln_d_samples(self, temperature: float) -> np.ndarray:
        """ln D at ``temperature`` for every draw."""
        return self.ln_d0_samples - self.ea_samples / (K_B_EV * temperature)

    def diffusivity(self, temperature: float, level: float = 0.95) -> tuple[float, float, float]:
        """D at ``temperature`` (the central fit's) with the ``level`` percentile interval of
        the draws: (D, low, high) in cm^2/s."""
        tail = 100 * (1 - level) / 2
        low, high = np.percentile(self.ln_d_samples(temperature), [tail, 100 - tail])
        return float(np.exp(self.fit.ln_d(temperature)[0])), float(np.exp(low)), float(np.exp(high))

    def probability_above(self, temperature: float, d_threshold: float) -> float:
        """Share of the draws whose D at ``temperature`` is at least ``d_threshold``."""
        return float(np.mean(self.ln_d_samples(temperature) >= np.log(d_threshold)))


def fit_arrhenius_sampled(
    temperatures: Sequence[float],
    diffusivities: Sequence[float],
    diffusivity_errors: Sequence[float],
    n_samples: int = 4000,
    seed: int = 0,
    min_rel_err: float = 0.05,
) -> ArrheniusPosterior:
    """Arrhenius fit that propagates every D's posterior by sampling (module docstring).

    Parameters
    ----------
    temperatures, diffusivities, diffusivity_errors
        As :func:`fit_arrhenius_weighted` (errors required).
    n_samples
        Draws of the D's.
    seed
        Seed of the draws (the result is reproducible).
    min_rel_err
        Floor of the relative error used for the weights.
    """
    from scipy.stats import truncnorm

    fit = fit_arrhenius_weighted(temperatures, diffusivities, diffusivity_errors, min_rel_err)
    d = np.asarray(diffusivities, dtype=float)
    err = np.maximum(np.asarray(diffusivity_errors, dtype=float), min_rel_err * d)
    rng = np.random.default_rng(seed)
    draws = truncnorm.rvs(-d / err, np.inf, loc=d, scale=err, size=(n_samples, len(d)),
                          random_state=rng)
    draws = np.maximum(draws, d * 1e-6)  # a draw at the truncation point stays finite
    weights = arrhenius_weights(d, err, min_rel_err)
    design = arrhenius_design(temperatures)
    solve = np.linalg.inv(design.T @ (weights[:, None] * design)) @ design.T * weights
    params = np.log(draws) @ solve.T  # (n_samples, 2): ln D0, Ea
    if fit.reduced_chi2 is not None and fit.reduced_chi2 > 1:
        centre = np.array([fit.ln_d0, fit.ea_eV])
        params = centre + (params - centre) * np.sqrt(fit.reduced_chi2)
    return ArrheniusPosterior(fit=fit, ea_samples=params[:, 1], ln_d0_samples=params[:, 0])


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
