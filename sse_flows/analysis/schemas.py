"""Output documents of the diffusion analysis."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sse_flows.analysis.stability import FrameworkStability
from sse_flows.types import (
    ActivationEnergy,
    ActivationEnergyError,
    ConductivityRT,
    ConductivityRTHigh,
    ConductivityRTLow,
    DocumentProvenance,
    MaterialId,
)

__all__ = ["DiffusionDoc", "TemperatureDiffusion"]


class TemperatureDiffusion(BaseModel):
    """Li diffusion at one temperature."""

    T: float = Field(description="Temperature (K).")
    D_cm2_s: float = Field(
        description="Li tracer diffusivity (cm^2/s): generalised least squares on the "
        "drift-corrected all-origin MSD with kinisi's covariance (D_method says which)."
    )
    D_err: float = Field(
        description="Standard deviation of D (cm^2/s): the GLS posterior's, times the "
        "calibrated inflation (pymatgen fallback: the larger of the block SEM and He et al.)."
    )
    D_method: str = Field(
        "pymatgen", description="Estimator of D_cm2_s: 'gls' or 'pymatgen (smoothed=...)'."
    )
    D_pymatgen_cm2_s: float | None = Field(
        None, description="pymatgen DiffusionAnalyzer's D (cm^2/s), for comparison."
    )
    D_hop_cm2_s: float | None = Field(
        None, description="Hop-rate D, a^2 N_hops / (6 N_Li t) (cm^2/s): an independent check."
    )
    D_hop_err: float | None = Field(
        None, description="Counting error of D_hop_cm2_s (Poisson, widened by the dispersion "
        "of hops per ion) (cm^2/s)."
    )
    msd_fit_start_ps: float | None = Field(
        None, description="Start of the MSD window D is fitted on (ps); it ends at the run's end."
    )
    D_err_block: float | None = Field(
        None, description="Block-average standard error of D (cm^2/s); None if the run is short."
    )
    D_err_hops: float = Field(
        description="He et al. 2018 estimate of pymatgen's D error: D_pymatgen * "
        "(3.43/sqrt(n_eff) + 0.04) (cm^2/s)."
    )
    D_blocks: list[float] = Field(
        default_factory=list, description="D of each contiguous block of the run (cm^2/s)."
    )
    D_detection_limit: float = Field(
        description="Smallest D this run can resolve: min_hops * a^2 / (6 N_Li t_run) (cm^2/s)."
    )
    li_hops: int = Field(description="Number of Li hops counted over the run (all Li).")
    li_hopped_fraction: float = Field(description="Fraction of Li ions that hopped at least once.")
    n_li: int = Field(description="Number of Li ions in the cell.")
    hop_distance_A: float = Field(
        description="Hop length a: median nearest-neighbour Li-Li distance of the first frame (A)."
    )
    hop_threshold_A: float = Field(
        description="Displacement from the current site (A) that counts as a hop."
    )
    n_eff: float = Field(
        description="Effective number of hops: total squared Li displacement over the run / a^2."
    )
    msd_exponent: float | None = Field(
        description="Log-log slope of the all-origin Li MSD over the window D is fitted on "
        "(1 diffusive, ~0 caged); None when the run is too short."
    )
    msd_end_A2: float = Field(
        description="Mean squared Li displacement at the end of the run (A^2)."
    )
    framework_msd_A2: float = Field(
        description="Drift-corrected mean squared displacement of the non-Li atoms over the "
        "last 10 % of the run (A^2)."
    )
    framework_stable: bool = Field(
        description="False when the host melted or rearranged (framework.stable)."
    )
    framework: FrameworkStability | None = Field(
        None, description="The framework-stability verdict with its per-element MSD values."
    )
    diffusive: bool = Field(
        description="True when Li hops, D above the detection limit and a linear MSD are all seen."
    )
    used_in_fit: bool = Field(
        description="True when the temperature enters the Arrhenius fit (diffusive, stable host)."
    )
    reasons: list[str] = Field(
        default_factory=list, description="Why the temperature is not diffusive or not used."
    )
    n_frames: int = Field(description="Number of stored frames.")
    time_step_fs: float = Field(description="Time between stored frames (fs).")
    duration_ps: float = Field(description="Length of the analysed run (ps).")
    smoothing: str = Field(description="pymatgen DiffusionAnalyzer smoothing used for D.")
    source: str | None = Field(None, description="Trajectory file the run came from.")
    n_replicas: int = Field(
        1,
        description="Independent runs (replicas) at this temperature. With more than one, "
        "D_cm2_s is their mean weighted by N_Li x duration, D_err the larger of the "
        "propagated replica errors and the standard error of their spread, hops, frames and "
        "duration are totals, and the host is stable only when stable in every replica.",
    )
    replica_D_cm2_s: list[float] = Field(
        default_factory=list, description="D of each replica (cm^2/s); empty for one run."
    )
    replica_sources: list[str | None] = Field(
        default_factory=list,
        description="Trajectory file (first chunk) of each replica; empty for one run.",
    )
    D_err_replica_spread: float | None = Field(
        None,
        description="Standard error of the replica mean from the spread of the replicas' D "
        "(cm^2/s); None for one run.",
    )

    def summary(self) -> dict[str, Any]:
        """The CLI's per-temperature entry."""
        return {
            "T": self.T,
            "D_cm2_s": self.D_cm2_s,
            "D_err": self.D_err,
            "li_hops": self.li_hops,
            "diffusive": self.diffusive,
            "used_in_fit": self.used_in_fit,
            "framework_stable": self.framework_stable,
            "replicas": self.n_replicas,
        }


class DiffusionDoc(BaseModel):
    """Arrhenius analysis of Li diffusion over several temperatures, with uncertainty."""

    formula: str | None = Field(None, description="Reduced formula of the simulated cell.")
    material_id: MaterialId = None
    specie: str = Field("Li", description="Diffusing species.")
    n_atoms: int | None = Field(None, description="Atoms in the simulated cell (first run).")
    volume_A3: float | None = Field(None, description="Cell volume of the first run (A^3).")
    temperatures: list[TemperatureDiffusion] = Field(
        default_factory=list, description="Per-temperature results, sorted by temperature."
    )
    n_fit: int = Field(0, description="Temperatures used in the Arrhenius fit.")
    ea_eV: ActivationEnergy = None
    ea_err_eV: ActivationEnergyError = None
    p_superionic_md: float | None = Field(
        None, description="Share of the Arrhenius posterior draws with sigma_RT >= the "
        "superionic threshold (None without a confident fit)."
    )
    ea_lower_bound_eV: float | None = Field(
        None,
        description="With fewer than 2 fit temperatures: smallest Ea compatible with the "
        "non-diffusive temperatures' detection limits (eV).",
    )
    d0_cm2_s: float | None = Field(None, description="Arrhenius prefactor D0 (cm^2/s).")
    d_rt_cm2_s: float | None = Field(None, description="D extrapolated to 300 K (cm^2/s).")
    sigma_rt_S_cm: ConductivityRT = None
    sigma_rt_low: ConductivityRTLow = None
    sigma_rt_high: ConductivityRTHigh = None
    interval_level: float = Field(0.95, description="Coverage of [sigma_rt_low, sigma_rt_high].")
    sigma_rt_is_upper_bound: bool = Field(
        False, description="True when only an upper bound on sigma_RT could be given."
    )
    confident: bool = Field(
        False, description="True when sigma_RT comes from >= 2 diffusive stable temperatures."
    )
    superionic: bool | None = Field(
        None,
        description="sigma_RT >= threshold (1e-4 S/cm), decided only when the whole interval is "
        "on one side; None when the interval straddles it or there is no confident value.",
    )
    sigma_rt_library_S_cm: float | None = Field(
        None,
        description="For comparison only: pymatgen's get_extrapolated_conductivity over ALL "
        "temperatures, unweighted, no flags (the published workflow), in S/cm.",
    )
    reduced_chi2: float | None = Field(
        None, description="Reduced chi^2 of the weighted fit (None with 2 points)."
    )
    flags: list[str] = Field(default_factory=list, description="Warnings about the result.")
    provenance: DocumentProvenance

    def summary(self) -> dict[str, Any]:
        """The one-line JSON the CLI prints (``sse-flows analyze --json``)."""
        return {
            "ea_eV": self.ea_eV,
            "ea_err_eV": self.ea_err_eV,
            "sigma_rt_S_cm": self.sigma_rt_S_cm,
            "sigma_rt_low": self.sigma_rt_low,
            "sigma_rt_high": self.sigma_rt_high,
            "temperatures": [t.summary() for t in self.temperatures],
            "flags": list(self.flags),
        }
