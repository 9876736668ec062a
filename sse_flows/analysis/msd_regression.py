"""D and its uncertainty from the whole MSD: generalised least squares with the random-walk
covariance (the estimator of kinisi, McCluskey, Coles & Morgan, J. Chem. Theory Comput.
20, 4395 (2024)).

The all-origin mean squared displacement MSD(t_i) at lags t_i is strongly correlated
between lags (the displacement over a long lag contains the one over a shorter lag), so
an ordinary least-squares line through it, and an error from the fit's residuals,
under-state the uncertainty, while block averages throw most of the data away. Here:

* ``n_i = N_ion * t_run / t_i``: the number of non-overlapping observations at lag t_i;
* ``var_i = var(|dr(t_i)|^2) / n_i``: the variance of MSD(t_i), with the variance of the
  squared displacements taken over every ion and time origin (so heavy, hop-like tails
  count);
* ``cov_ij = var_i * n_i / n_j`` for t_i <= t_j: the covariance of a random walk's MSD
  (kinisi's model; for Brownian motion the correlation is sqrt(t_i / t_j)), its
  eigenvalues floored at the largest / ``cond_max`` (kinisi's minimum-eigenvalue method);
* MSD(t) = 6 D t + c fitted by generalised least squares with that covariance over the
  window [t_start, t_run]; with flat priors the posterior of (D, c) is normal with the
  GLS covariance, so D's standard deviation needs no sampling.

The window starts at ``start_fraction`` of the run, clipped to 0.2-2 ps: the ballistic and
vibrational part before it is not diffusion. The log-log slope of the MSD
over the same window is the estimator's own linearity check (``msd_exponent``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sse_flows.constants import A2_PER_FS_TO_CM2_PER_S

__all__ = ["MSDRegression", "msd_gls", "reconditioned"]



@dataclass(frozen=True)
class MSDRegression:
    """Result of :func:`msd_gls`.

    Attributes
    ----------
    D_cm2_s, D_err_cm2_s
        Diffusivity (cm^2/s) and its posterior standard deviation.
    intercept_A2
        Fitted MSD at t = 0 (A^2): the vibrational offset.
    t_start_fs, t_end_fs
        The fitted window (fs).
    n_lags
        Lags used in the regression.
    msd_exponent
        Log-log slope of the MSD over the fitted window (1 diffusive, ~0 caged).
    """

    D_cm2_s: float
    D_err_cm2_s: float
    intercept_A2: float
    t_start_fs: float
    t_end_fs: float
    n_lags: int
    msd_exponent: float


def reconditioned(cov: np.ndarray, cond_max: float = 1e16) -> np.ndarray:
    """``cov`` with its eigenvalues floored at max / ``cond_max`` (kinisi's
    ``minimum_eigenvalue_method``), so its pseudo-inverse is stable."""
    values, vectors = np.linalg.eigh(cov)
    if not values.max() > 0:
        raise ValueError("the MSD does not fluctuate: no displacement to regress")
    values = np.maximum(values, values.max() / cond_max)
    return (vectors * values) @ vectors.T


def _lag_frames(n_frames: int, first: int, max_lags: int) -> np.ndarray:
    """At most ``max_lags`` distinct lags (in frames) spread evenly over [first, n_frames - 1]."""
    last = n_frames - 1
    lags = np.unique(np.linspace(first, last, num=min(max_lags, last - first + 1)).astype(int))
    return lags[lags >= 1]


def msd_gls(
    displacements: np.ndarray,
    time_step_fs: float,
    start_fraction: float = 0.1,
    min_start_fs: float = 200.0,
    max_start_fs: float = 2000.0,
    max_lags: int = 60,
    cond_max: float = 1e16,
) -> MSDRegression:
    """Diffusivity from the drift-corrected displacements by GLS on the all-origin MSD.

    Parameters
    ----------
    displacements
        Drift-corrected Cartesian displacements from the first frame, ``(n_ions,
        n_frames, 3)`` in A (pymatgen's ``corrected_displacements`` of the mobile ion).
    time_step_fs
        Time between frames (fs).
    start_fraction, min_start_fs, max_start_fs
        The fit starts at ``start_fraction`` x the run length, clipped to
        [``min_start_fs``, ``max_start_fs``] (0.2-2 ps: after the vibrational plateau, and
        early enough that a long run keeps most of its lags).
    max_lags
        Most lags in the regression (evenly spaced; the covariance is dense).
    cond_max
        Largest condition number of the covariance (kinisi's minimum-eigenvalue method).

    Returns
    -------
    MSDRegression

    Raises
    ------
    ValueError
        Fewer than 3 lags in the window (run too short) or no ions.
    """
    disp = np.asarray(displacements, dtype=float)
    if disp.ndim != 3 or disp.shape[0] == 0:
        raise ValueError("displacements must be (n_ions >= 1, n_frames, 3)")
    n_ions, n_frames, _ = disp.shape
    t_run = (n_frames - 1) * time_step_fs
    start_fs = min(max(start_fraction * t_run, min_start_fs), max_start_fs)
    first = int(np.ceil(start_fs / time_step_fs))
    lags = _lag_frames(n_frames, max(first, 1), max_lags)
    if len(lags) < 3:
        raise ValueError(
            f"the run ({t_run / 1000:.2f} ps) is too short for an MSD regression after "
            f"{first * time_step_fs / 1000:.2f} ps"
        )
    msd = np.empty(len(lags))
    var_sq = np.empty(len(lags))
    for k, lag in enumerate(lags):
        sq = np.sum((disp[:, lag:] - disp[:, :-lag]) ** 2, axis=2)  # every ion and origin
        msd[k] = sq.mean()
        var_sq[k] = sq.var(ddof=1)
    t = lags * time_step_fs
    n_obs = n_ions * t_run / t  # non-overlapping observations at each lag
    variance = var_sq / n_obs
    index = np.arange(len(t))
    shorter, longer = np.minimum.outer(index, index), np.maximum.outer(index, index)
    cov = reconditioned(variance[shorter] * n_obs[shorter] / n_obs[longer], cond_max)
    design = np.column_stack([6.0 * t, np.ones_like(t)])
    inverse = np.linalg.pinv(cov, hermitian=True)
    params_cov = np.linalg.pinv(design.T @ inverse @ design, hermitian=True)
    params = params_cov @ design.T @ inverse @ msd
    keep = msd > 0
    exponent = (
        float(np.polyfit(np.log(t[keep]), np.log(msd[keep]), 1)[0]) if keep.sum() >= 3
        else float("nan")
    )
    return MSDRegression(
        D_cm2_s=float(params[0]) * A2_PER_FS_TO_CM2_PER_S,
        D_err_cm2_s=float(np.sqrt(max(params_cov[0, 0], 0.0))) * A2_PER_FS_TO_CM2_PER_S,
        intercept_A2=float(params[1]),
        t_start_fs=float(t[0]),
        t_end_fs=float(t[-1]),
        n_lags=len(t),
        msd_exponent=exponent,
    )
