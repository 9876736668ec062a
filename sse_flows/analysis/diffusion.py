"""Per-temperature Li diffusion: D with its uncertainty, the hop rate, and the flags.

* **D and its error** (``estimator="gls"``, the default): generalised least squares on the
  all-origin MSD with kinisi's random-walk covariance
  (:mod:`sse_flows.analysis.msd_regression`), fitted from ``msd_start_fraction`` (0.1) of
  the run (clipped to ``msd_min_start_fs``-``msd_max_start_fs``, 0.2-2 ps) to its end.
  The posterior standard deviation is multiplied by ``gls_error_inflation`` (1.5): on the
  authors' AIMD runs with a stable host, D from the two halves of a run differ by 1.47 of
  kinisi's combined standard deviations (root mean square over 14 runs; 1.0 means honest),
  because Li hops are correlated in time and between ions where the covariance model assumes
  independent random walks (``benchmarks/msd_estimator.py``). A run too short for the window
  falls back to pymatgen's estimator below, which ``estimator="pymatgen"`` selects:
* **pymatgen's D** (always stored as ``D_pymatgen_cm2_s``): pymatgen-analysis-diffusion's
  ``DiffusionAnalyzer`` (drift-corrected MSD averaged
  over all time origins, ``smoothed="max"``: slope fitted from 1 ps to the longest lag with
  enough observations, weighted by 1/dt). Its ``min_obs`` is set to
  max(30, ``min_obs_per_ion`` x N_Li) with ``min_obs_per_ion`` = 5, so the fit stops at one
  fifth of the run, where every Li still contributes five non-overlapping displacements.
  Its error is the larger of (i) the block-average standard error: the run is cut into
  ``n_blocks`` (5) contiguous blocks, D is computed in each with the same pymatgen
  estimator, and SEM = std(D_blocks)/sqrt(n_blocks); (ii) the He et al. (npj Comput.
  Mater. 4, 18, 2018) hop-count estimate, relative SD = 3.43/sqrt(N_eff) + 0.04 with N_eff
  the total squared displacement of all Li over the run divided by a**2 (both stored).
* **Hop rate** (``D_hop_cm2_s``): a^2 N_hops / (6 N_Li t) with its counting error
  (:func:`hop_rate_diffusivity`), an independent check stored beside D.
* **Hops.** The drift-corrected Li paths are averaged over a window of ``smooth_fs`` (1 ps;
  a twentieth of the run when that is shorter, but at least ``min_smooth_fs``, 0.2 ps, so a
  1-ps force-field run is not averaged flat) to remove thermal vibration; each Li keeps an
  anchor at its starting position and a hop is counted each time its smoothed position
  gets farther than ``hop_threshold`` from the anchor, which then moves to the new
  position. The threshold is ``hop_fraction`` (0.5) times
  the hop distance *a*, the median nearest-neighbour Li-Li distance of the first frame
  (clipped to 1.5-4 A). Back-and-forth hops between two sites count each time.
* **Diffusive flag.** A temperature is diffusive when (1) at least ``min_hops`` hops were
  counted, (2) D is above the detection limit D_min = min_hops a**2 / (6 N_Li t_run), the D
  that ``min_hops`` uncorrelated hops of length a would give, and (3) the MSD grows roughly
  linearly over the window D is fitted on: its log-log slope there is >=
  ``min_msd_exponent`` (0.6; a caged, vibrating Li gives ~0-0.3, free diffusion 1). With
  the pymatgen fallback the slope is taken between 1/20 and 1/2 of the run.
* **Replicas** (:func:`combine_replicas`): independent runs at one temperature are
  analysed one by one and combined: D is their mean weighted by N_Li x duration (the
  amount of data; weights from the noisy D_err would pull the mean towards the smaller
  D), its error the larger of the propagated replica errors and the standard error of the
  replicas' spread (with 2-3 replicas the spread alone has 1-2 degrees of freedom, so it
  may widen the error but not shrink it); hops, N_eff, frames and duration add up, the
  detection limit falls with the total ion-time, and the host counts as stable only when
  it is stable in every replica. Averaging the MSD curves instead would need one drift
  correction and one hop distance for atoms of different runs sharing a cell.
* **Framework check.** :func:`sse_flows.analysis.stability.framework_stability`: the
  drift-corrected MSD of each non-Li element, judged on its growth (a plateau is stable,
  an MSD that keeps rising beyond vibration is a melted host, one beyond 2 A RMS a
  rearranged one). A temperature with an unstable host is not used for the Arrhenius fit
  (liquid-like diffusion would bias Ea low).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from sse_flows.analysis.msd_regression import MSDRegression, msd_gls
from sse_flows.analysis.runs import TemperatureRun
from sse_flows.analysis.schemas import TemperatureDiffusion
from sse_flows.analysis.stability import (
    FrameworkStability,
    StabilitySettings,
    framework_stability,
)
from sse_flows.constants import A2_PER_FS_TO_CM2_PER_S

__all__ = [
    "DiffusionSettings",
    "analyze_temperature",
    "combine_replicas",
    "count_hops",
    "hop_rate_diffusivity",
    "li_hop_distance",
    "msd_exponent",
]



@dataclass(frozen=True)
class DiffusionSettings:
    """Parameters of the per-temperature analysis (defaults documented in the module)."""

    specie: str = "Li"
    smoothed: str | bool = "max"
    min_obs: int = 30
    min_obs_per_ion: int = 5
    hop_fraction: float = 0.5
    smooth_fs: float = 1000.0
    min_smooth_fs: float = 200.0
    min_hops: int = 10
    min_msd_exponent: float = 0.6
    n_blocks: int = 5
    estimator: str = "gls"
    msd_start_fraction: float = 0.1
    msd_min_start_fs: float = 200.0
    msd_max_start_fs: float = 2000.0
    gls_error_inflation: float = 1.5
    stability: StabilitySettings = StabilitySettings()

    def as_dict(self) -> dict:
        """Plain dict (for provenance)."""
        return asdict(self)


def li_hop_distance(run: TemperatureRun, specie: str = "Li") -> float:
    """Median nearest-neighbour distance between ``specie`` sites in the first frame,
    clipped to [1.5, 4.0] A (the typical hop length *a*)."""
    from pymatgen.core import Lattice

    idx = run.indices(specie)
    if len(idx) == 0:
        raise ValueError(f"no {specie} atoms in the run from {run.source}")
    lattice = Lattice(run.lattice)
    frac = run.frac_coords[0][idx]
    dist = lattice.get_all_distances(frac, frac)
    np.fill_diagonal(dist, np.inf)
    nearest = dist.min(axis=1)
    # a lone Li (or one far from the others) sees its own periodic image
    lengths = np.array(lattice.abc)
    nearest = np.where(np.isfinite(nearest), nearest, lengths.min())
    return float(np.clip(np.median(nearest), 1.5, 4.0))


def _running_mean(paths: np.ndarray, window: int) -> np.ndarray:
    """Moving average over axis 1 of ``(n_atoms, n_frames, 3)`` (valid part only)."""
    if window <= 1 or paths.shape[1] <= window:
        return paths
    csum = np.cumsum(np.pad(paths, ((0, 0), (1, 0), (0, 0))), axis=1)
    return (csum[:, window:] - csum[:, :-window]) / window


def count_hops(paths: np.ndarray, threshold: float, window: int = 1) -> np.ndarray:
    """Number of hops of each atom along its (unwrapped, drift-corrected) path.

    Parameters
    ----------
    paths
        Cartesian positions ``(n_atoms, n_frames, 3)`` in angstrom.
    threshold
        Distance (A) from the current anchor that counts as a hop.
    window
        Frames in the moving average applied first (removes vibration). After a hop the new
        anchor is the smoothed position one window later (when the average has settled on
        the new site), so one jump is not counted twice while the average slides across.

    Returns
    -------
    numpy.ndarray
        Hops per atom (int).
    """
    smooth = _running_mean(np.asarray(paths, dtype=float), window)
    n_atoms, n_frames, _ = smooth.shape
    settle = max(int(window), 1)
    anchors = smooth[:, 0].copy()
    hops = np.zeros(n_atoms, dtype=int)
    pending = np.full(n_atoms, -1)  # frame at which the new anchor is taken
    thr2 = threshold**2
    for frame in range(1, n_frames):
        pos = smooth[:, frame]
        arrived = pending == frame
        anchors[arrived] = pos[arrived]
        free = pending <= frame
        moved = free & (np.sum((pos - anchors) ** 2, axis=1) > thr2)
        if moved.any():
            hops[moved] += 1
            # the smoothed path is still moving: take the new site one window later
            pending[moved] = min(frame + settle, n_frames - 1)
            if frame + settle > n_frames - 1:
                anchors[moved] = smooth[moved, -1]
    return hops


def msd_exponent(
    dt: np.ndarray, msd: np.ndarray, t_min_fs: float = 1000.0, t_max_fs: float = np.inf
) -> float:
    """Slope of log(MSD) against log(t) for ``t_min_fs <= t <= t_max_fs`` (1 = diffusive,
    0 = caged)."""
    dt = np.asarray(dt, dtype=float)
    msd = np.asarray(msd, dtype=float)
    keep = (dt >= t_min_fs) & (dt <= t_max_fs) & (msd > 0)
    if keep.sum() < 3:
        keep = (dt > 0) & (msd > 0)
    if keep.sum() < 2:
        return float("nan")
    slope = np.polyfit(np.log(dt[keep]), np.log(msd[keep]), 1)[0]
    return float(slope)


def _pymatgen_d(run: TemperatureRun, settings: DiffusionSettings):
    """(analyzer, smoothing actually used): pymatgen with ``smoothed``, or without smoothing
    when the run is too short for it."""
    n_ions = len(run.indices(settings.specie))
    min_obs = max(settings.min_obs, settings.min_obs_per_ion * n_ions)
    try:
        return run.to_diffusion_analyzer(
            settings.specie, smoothed=settings.smoothed, min_obs=min_obs
        ), settings.smoothed
    except (ValueError, IndexError):  # too few lags in the window (pymatgen needs >= 3)
        return run.to_diffusion_analyzer(settings.specie, smoothed=False), "none"


def _block_sem(run: TemperatureRun, settings: DiffusionSettings) -> tuple[float | None, list]:
    n_blocks = settings.n_blocks
    length = run.n_frames // max(n_blocks, 1)
    if n_blocks < 2 or length < 10:
        return None, []
    values = []
    for b in range(n_blocks):
        block = run.slice(b * length, (b + 1) * length)
        analyzer, _ = _pymatgen_d(block, settings)
        values.append(float(analyzer.diffusivity))
    return float(np.std(values, ddof=1) / np.sqrt(n_blocks)), values


def _check_run(run: TemperatureRun, li: np.ndarray, specie: str) -> None:
    """Raise ValueError when the run cannot be analysed (no ion, too few frames, no host)."""
    if len(li) == 0:
        raise ValueError(f"no {specie} atoms in the run from {run.source}")
    if run.n_frames < 4:
        raise ValueError(
            f"the run from {run.source or 'memory'} at {run.temperature_K:g} K has only "
            f"{run.n_frames} frames; an MSD slope needs at least 4"
        )
    framework = np.setdiff1d(np.arange(run.n_sites), li)
    if len(framework) == 0:
        raise ValueError(f"{run.source}: only {specie} atoms; drift correction needs a host")


def _hops(
    run: TemperatureRun, settings: DiffusionSettings, dc: np.ndarray, li: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """Hop distance *a*, hop threshold and hops per ion along the smoothed drift-corrected paths."""
    a = li_hop_distance(run, settings.specie)
    threshold = settings.hop_fraction * a
    smooth_fs = min(settings.smooth_fs, max(run.duration_fs / 20, settings.min_smooth_fs))
    window = max(1, int(round(smooth_fs / run.time_step_fs)))
    start = run.initial_structure.cart_coords
    li_paths = start[li][:, None, :] + dc[li]
    return a, threshold, count_hops(li_paths, threshold, window)


def _he_error(d_cm2_s: float, sq_end_li: np.ndarray, a: float) -> tuple[float, float]:
    """(N_eff, error of D) from the He et al. hop-count estimate."""
    n_eff = float(np.sum(sq_end_li) / a**2)
    rsd_he = 3.43 / np.sqrt(max(n_eff, 1.0)) + 0.04  # fewer than one hop: call it one
    return n_eff, rsd_he * d_cm2_s


def hop_rate_diffusivity(hops: np.ndarray, a: float, t_run_fs: float) -> tuple[float, float]:
    """D from the counted hops, a^2 N_hops / (6 N_Li t), and its counting error (cm^2/s).

    The error is Poisson's, sqrt(N_hops), widened by the dispersion of the hops per ion
    (variance / mean, when above 1: some ions hop far more than others); with no hop it is
    the D of one hop. The hop rate assumes uncorrelated hops of length *a* (correlation
    factor 1) and saturates when ions hop faster than the smoothing window resolves, so it
    is an independent check of the MSD's D, not the value used.
    """
    hops = np.asarray(hops, dtype=float)
    n_li, n_hops = len(hops), float(hops.sum())
    per_hop = a**2 / (6 * max(n_li, 1) * t_run_fs) * A2_PER_FS_TO_CM2_PER_S
    mean = hops.mean() if n_li else 0.0
    dispersion = max(1.0, float(hops.var(ddof=1)) / mean) if n_li > 1 and mean > 0 else 1.0
    return n_hops * per_hop, float(np.sqrt(max(n_hops, 1.0) * dispersion)) * per_hop


def _msd_regression(
    run: TemperatureRun, settings: DiffusionSettings, li_displacements: np.ndarray
) -> MSDRegression | None:
    """The GLS regression of the ion's MSD (None: pymatgen asked for, or the run too short)."""
    if settings.estimator != "gls":
        return None
    try:
        return msd_gls(
            li_displacements, run.time_step_fs, settings.msd_start_fraction,
            settings.msd_min_start_fs, settings.msd_max_start_fs,
        )
    except ValueError:
        return None


def _long_msd_exponent(run: TemperatureRun, analyzer, specie: str) -> float:
    """Log-log MSD slope over [t/20, t/2] of the all-origin MSD (the fit's MSD as fallback)."""
    t_run = run.duration_fs
    # all-origin MSD up to the full length (pymatgen, min_obs=1), slope over [t/20, t/2]:
    # late enough that the vibrational plateau no longer dominates
    try:
        long_msd = run.to_diffusion_analyzer(specie, smoothed="max", min_obs=1)
        return msd_exponent(long_msd.dt, long_msd.msd, t_run / 20, t_run / 2)
    except (ValueError, IndexError):
        return msd_exponent(analyzer.dt, analyzer.msd)


def _diffusive_verdict(
    n_hops: int,
    d_cm2_s: float,
    d_min: float,
    exponent: float,
    host: FrameworkStability,
    settings: DiffusionSettings,
) -> tuple[list[str], float | None, bool]:
    """(reasons, MSD exponent or None, diffusive) from hops, detection limit, MSD and host."""
    reasons = []
    if n_hops < settings.min_hops:
        reasons.append(f"{n_hops} Li hops < {settings.min_hops}")
    if d_cm2_s < d_min:
        reasons.append(f"D {d_cm2_s:.2e} below the detection limit {d_min:.2e} cm2/s")
    if not np.isfinite(exponent):
        exponent = None
        reasons.append("MSD slope not computable (run too short)")
    elif exponent < settings.min_msd_exponent:
        reasons.append(
            f"MSD not linear in t (log-log slope {exponent:.2f} < {settings.min_msd_exponent})"
        )
    if not host.stable:
        reasons.append(host.reason)
    diffusive = (
        n_hops >= settings.min_hops
        and d_cm2_s >= d_min
        and exponent is not None
        and exponent >= settings.min_msd_exponent
    )
    return reasons, exponent, diffusive


def analyze_temperature(
    run: TemperatureRun, settings: DiffusionSettings | None = None
) -> TemperatureDiffusion:
    """Diffusion analysis of one run (see the module docstring for every definition)."""
    settings = settings or DiffusionSettings()
    specie = settings.specie
    li = run.indices(specie)
    _check_run(run, li, specie)

    analyzer, smoothing_used = _pymatgen_d(run, settings)
    d_pymatgen = float(analyzer.diffusivity)
    dc = np.asarray(analyzer.corrected_displacements)  # drift corrected (n_sites, n_frames, 3)
    sq_end = np.sum(dc[:, -1] ** 2, axis=1)
    t_run = run.duration_fs

    a, threshold, hops = _hops(run, settings, dc, li)
    n_hops = int(hops.sum())
    block_sem, block_values = _block_sem(run, settings)
    n_eff, err_he = _he_error(d_pymatgen, sq_end[li], a)
    regression = _msd_regression(run, settings, dc[li])
    if regression is not None:
        d_cm2_s = max(regression.D_cm2_s, 0.0)
        d_err = settings.gls_error_inflation * regression.D_err_cm2_s
        exponent = regression.msd_exponent
        method = "gls"
    else:  # too short for the regression window, or the pymatgen estimator was asked for
        d_cm2_s, d_err = d_pymatgen, max(err_he, block_sem or 0.0)
        exponent = _long_msd_exponent(run, analyzer, specie)
        method = f"pymatgen (smoothed={smoothing_used or 'none'})"
    d_hop, d_hop_err = hop_rate_diffusivity(hops, a, t_run)

    d_min = settings.min_hops * a**2 / (6 * len(li) * t_run) * A2_PER_FS_TO_CM2_PER_S
    host = framework_stability(run, specie, settings.stability)
    reasons, exponent, diffusive = _diffusive_verdict(
        n_hops, d_cm2_s, d_min, exponent, host, settings
    )
    return TemperatureDiffusion(
        T=run.temperature_K,
        D_cm2_s=d_cm2_s,
        D_err=float(d_err),
        D_method=method,
        D_pymatgen_cm2_s=d_pymatgen,
        D_hop_cm2_s=d_hop,
        D_hop_err=d_hop_err,
        msd_fit_start_ps=regression.t_start_fs / 1000 if regression else None,
        D_err_block=block_sem,
        D_err_hops=float(err_he),
        D_blocks=block_values,
        D_detection_limit=float(d_min),
        li_hops=n_hops,
        li_hopped_fraction=float(np.mean(hops > 0)),
        n_li=int(len(li)),
        hop_distance_A=a,
        hop_threshold_A=float(threshold),
        n_eff=n_eff,
        msd_exponent=exponent,
        msd_end_A2=float(np.mean(sq_end[li])),
        framework_msd_A2=host.framework_msd_end_A2,
        framework_stable=bool(host.stable),
        framework=host,
        diffusive=bool(diffusive),
        used_in_fit=bool(diffusive and host.stable),
        reasons=reasons,
        n_frames=run.n_frames,
        time_step_fs=run.time_step_fs,
        duration_ps=t_run / 1000.0,
        smoothing=str(smoothing_used or "none"),
        source=run.source,
    )


def _weighted_mean(values: list[float | None], weights: np.ndarray) -> float | None:
    """Weighted mean of ``values`` (None when any is None)."""
    if any(v is None for v in values):
        return None
    return float(np.dot(weights, np.asarray(values, dtype=float)))


def _propagated(errors: list[float | None], weights: np.ndarray) -> float | None:
    """Standard error of a weighted mean of independent values with ``errors``."""
    if any(e is None for e in errors):
        return None
    return float(np.sqrt(np.sum((weights * np.asarray(errors, dtype=float)) ** 2)))


def combine_replicas(
    entries: list[TemperatureDiffusion], settings: DiffusionSettings | None = None
) -> TemperatureDiffusion:
    """One temperature's result from independent replicas analysed one by one.

    Parameters
    ----------
    entries
        :func:`analyze_temperature` of each replica (same temperature).
    settings
        The settings the replicas were analysed with (the diffusive criteria).

    Returns
    -------
    TemperatureDiffusion
        ``entries[0]`` for one replica; else D = mean weighted by N_Li x duration, D_err =
        max(propagated replica errors, standard error of the spread), totals of hops, N_eff,
        frames and duration, the detection limit of the pooled ion-time, the worst host,
        and the diffusive verdict taken again on these pooled numbers.
    """
    if len(entries) == 1:
        return entries[0]
    settings = settings or DiffusionSettings()
    temps = {e.T for e in entries}
    if len(temps) != 1:
        raise ValueError(f"replicas must share one temperature, got {sorted(temps)}")
    data = np.array([e.n_li * e.duration_ps for e in entries], dtype=float)
    weights = data / data.sum()
    d_values = np.array([e.D_cm2_s for e in entries])
    d_mean = float(np.dot(weights, d_values))
    n = len(entries)
    # unbiased variance of a weighted mean from the scatter (s^2 / n for equal weights)
    spread = float(np.sqrt(n / (n - 1) * np.sum(weights**2 * (d_values - d_mean) ** 2)))
    propagated = _propagated([e.D_err for e in entries], weights)
    n_hops = int(sum(e.li_hops for e in entries))
    d_min = float(1.0 / sum(1.0 / e.D_detection_limit for e in entries))
    unstable = [e for e in entries if not e.framework_stable]
    worst = unstable[0] if unstable else max(entries, key=lambda e: e.framework_msd_A2)
    has_exponent = np.array([e.msd_exponent is not None for e in entries])
    exponent = (
        float(np.dot(weights[has_exponent], [e.msd_exponent for e in entries
                                             if e.msd_exponent is not None])
              / weights[has_exponent].sum())
        if has_exponent.any() else float("nan")
    )
    if worst.framework is None:
        raise ValueError("combine_replicas needs the framework verdict of every replica "
                         "(entries made by analyze_temperature)")
    reasons, exponent_or_none, diffusive = _diffusive_verdict(
        n_hops, d_mean, d_min, exponent, worst.framework, settings
    )
    n_li = np.array([e.n_li for e in entries], dtype=float)
    methods = sorted({e.D_method for e in entries})
    return TemperatureDiffusion(
        T=entries[0].T,
        D_cm2_s=d_mean,
        D_err=max(propagated, spread),
        D_method=" + ".join(methods),
        D_pymatgen_cm2_s=_weighted_mean([e.D_pymatgen_cm2_s for e in entries], weights),
        D_hop_cm2_s=_weighted_mean([e.D_hop_cm2_s for e in entries], weights),
        D_hop_err=_propagated([e.D_hop_err for e in entries], weights),
        msd_fit_start_ps=entries[0].msd_fit_start_ps,
        D_err_block=_propagated([e.D_err_block for e in entries], weights),
        D_err_hops=_propagated([e.D_err_hops for e in entries], weights),
        D_blocks=[d for e in entries for d in e.D_blocks],
        D_detection_limit=d_min,
        li_hops=n_hops,
        li_hopped_fraction=float(
            np.dot(n_li, [e.li_hopped_fraction for e in entries]) / n_li.sum()
        ),
        n_li=entries[0].n_li,
        hop_distance_A=float(np.mean([e.hop_distance_A for e in entries])),
        hop_threshold_A=float(np.mean([e.hop_threshold_A for e in entries])),
        n_eff=float(sum(e.n_eff for e in entries)),
        msd_exponent=exponent_or_none,
        msd_end_A2=float(np.dot(weights, [e.msd_end_A2 for e in entries])),
        framework_msd_A2=float(max(e.framework_msd_A2 for e in entries)),
        framework_stable=not unstable,
        framework=worst.framework,
        diffusive=bool(diffusive),
        used_in_fit=bool(diffusive and not unstable),
        reasons=reasons,
        n_frames=int(sum(e.n_frames for e in entries)),
        time_step_fs=entries[0].time_step_fs,
        duration_ps=float(sum(e.duration_ps for e in entries)),
        smoothing=entries[0].smoothing,
        source=entries[0].source,
        n_replicas=n,
        replica_D_cm2_s=[float(d) for d in d_values],
        replica_sources=[e.source for e in entries],
        D_err_replica_spread=spread,
    )
