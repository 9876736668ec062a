"""From per-temperature runs to Ea, sigma_RT with an interval, hop counts and flags."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sse_flows.analysis.arrhenius import (
    ArrheniusFit,
    conductivity_S_cm,
    fit_arrhenius_sampled,
)
from sse_flows.analysis.diffusion import (
    DiffusionSettings,
    analyze_temperature,
    combine_replicas,
)
from sse_flows.analysis.readers import RunInput, load_runs
from sse_flows.analysis.runs import TemperatureRun
from sse_flows.analysis.schemas import DiffusionDoc, TemperatureDiffusion
from sse_flows.constants import K_B_EV, ROOM_TEMPERATURE_K, SUPERIONIC_THRESHOLD_S_CM
from sse_flows.provenance import Provenance

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["analyze_runs", "analyze_trajectories", "guess_material_id"]

_MATERIAL_ID = re.compile(r"\b((?:mp|mvc|agm)-\d+)\b")


def guess_material_id(sources: Sequence[str | None]) -> str | None:
    """A Materials Project style id (``mp-1234``) found in the source paths, else ``None``."""
    for source in sources:
        if source:
            match = _MATERIAL_ID.search(str(source))
            if match:
                return match.group(1)
    return None


def _upper_d(entry: TemperatureDiffusion, z: float) -> float:
    """Largest D compatible with a temperature's data: its detection limit or D + z err."""
    return max(entry.D_detection_limit, entry.D_cm2_s + z * entry.D_err)


def _library_sigma(entries, structure, specie, room_temperature) -> float | None:
    from pymatgen.analysis.diffusion.analyzer import get_extrapolated_conductivity

    if len(entries) < 2:
        return None
    temps = [e.T for e in entries]
    ds = [max(e.D_cm2_s, 1e-30) for e in entries]
    return float(
        get_extrapolated_conductivity(temps, ds, room_temperature, structure, specie) / 1000
    )


@dataclass(frozen=True)
class _Extrapolation:
    """What the room-temperature step needs: cell, ion, temperature, interval and thresholds."""

    structure: Structure
    specie: str
    room_temperature: float
    z: float
    superionic_threshold: float
    max_interval_decades: float

    @property
    def level(self) -> float:
        """Coverage of the two-sided interval with normal quantile ``z`` (0.95 for 1.96)."""
        return float(2 * _normal_cdf(self.z) - 1)

    def sigma(self, d_cm2_s: float) -> float:
        """Nernst-Einstein conductivity (S/cm) of a diffusivity at the room temperature."""
        return conductivity_S_cm(d_cm2_s, self.structure, self.room_temperature, self.specie)


def _series_flags(runs: Sequence[TemperatureRun], reference: TemperatureRun) -> list[str]:
    """Flags on the runs as a series: mixed cells, mixed compositions, small cells."""
    flags: list[str] = []
    sizes = {r.n_sites for r in runs}
    if len(sizes) > 1:
        odd = [
            f"{r.temperature_K:g} K: {r.n_sites} atoms"
            for r in runs
            if r.n_sites != reference.n_sites
        ]
        flags.append(
            f"the runs use different cells ({', '.join(odd)}; others {reference.n_sites} atoms): "
            "they are not one simulation series"
        )
    formulas = {r.initial_structure.composition.reduced_formula for r in runs}
    if len(formulas) > 1:
        flags.append(f"the runs have different compositions: {sorted(formulas)}")
    min_length = min(min(r.initial_structure.lattice.abc) for r in runs)
    if min_length < 8.0:
        flags.append(
            f"smallest cell length {min_length:.1f} A < 8 A: hops may be correlated with "
            "their periodic images"
        )
    return flags


def _replica_flags(groups: dict[float, list[TemperatureRun]]) -> list[str]:
    """Notes on how the trajectories of each temperature were counted: replicas (and
    whether they are replicas only because the files record no run id), or chunks joined
    on the caller's word (``join_chunks``)."""
    flags: list[str] = []
    for temperature, group in groups.items():
        if len(group) > 1:
            without_id = sum(run.metadata.get("run_id") is None for run in group)
            note = (
                f"{temperature:g} K: {len(group)} replicas (independent runs) analysed one by "
                "one; D is their mean, D_err the larger of their propagated errors and "
                "their spread"
            )
            if without_id:
                note += (
                    f". {without_id} of them record no run id (older or other-code files) "
                    "and count as independent: if they are restart chunks of one run, "
                    "give --join-chunks (join_chunks=True)"
                )
            flags.append(note)
        for run in group:
            if run.metadata.get("joined_by") == "join_chunks":
                flags.append(
                    f"{temperature:g} K: {len(run.metadata.get('chunks', []))} files joined as "
                    "restart chunks of one run on request (--join-chunks)"
                )
    return flags


def _temperature_flags(entries: Sequence[TemperatureDiffusion]) -> list[str]:
    """Flags on the temperatures left out of the fit: unstable host or no diffusion."""
    flags: list[str] = []
    for e in entries:
        if not e.framework_stable:
            why = e.framework.reason if e.framework else "host framework unstable"
            flags.append(f"{e.T:g} K: {why}; excluded from the fit")
        elif not e.diffusive:
            flags.append(f"{e.T:g} K not diffusive: {'; '.join(e.reasons)}")
    return flags


def _fit_flags(
    fit: ArrheniusFit, n_fit: int, sigma_low: float, sigma_high: float, target: _Extrapolation
) -> list[str]:
    """Flags on the fit itself: two points only, Ea <= 0, an interval too wide."""
    flags: list[str] = []
    if n_fit == 2:
        flags.append(
            "only two temperatures in the Arrhenius fit: linearity untested, the interval "
            "comes from the errors of D alone"
        )
    if fit.reduced_chi2 is not None and fit.reduced_chi2 > 4:
        flags.append(
            f"the Arrhenius line misses the D values (reduced chi^2 {fit.reduced_chi2:.1f}): "
            "the interval is widened by sqrt(chi^2)"
        )
    if fit.ea_eV <= 0:
        flags.append(f"non-physical activation energy {fit.ea_eV:.3f} eV <= 0: no sigma_RT")
    if np.log10(sigma_high / sigma_low) > target.max_interval_decades:
        flags.append(
            f"sigma_RT interval spans {np.log10(sigma_high / sigma_low):.1f} orders of magnitude"
        )
    return flags


def _contradiction_flags(
    fit: ArrheniusFit,
    entries: Sequence[TemperatureDiffusion],
    fit_entries: Sequence[TemperatureDiffusion],
    z: float,
) -> list[str]:
    """Flags where the fit predicts clear diffusion at a colder run that saw none."""
    flags: list[str] = []
    for e in entries:
        if not e.diffusive and e.framework_stable and e.T < max(x.T for x in fit_entries):
            predicted = float(np.exp(fit.ln_d(e.T)[0]))
            if predicted > 3 * _upper_d(e, z):
                flags.append(
                    f"the fit predicts D = {predicted:.1e} cm2/s at {e.T:g} K where the run "
                    f"shows at most {_upper_d(e, z):.1e}: Ea may be underestimated"
                )
    return flags


def _superionic_verdict(sigma_low: float, sigma_high: float, threshold: float) -> dict[str, bool]:
    """``superionic`` when the whole interval lies on one side of the threshold, else nothing."""
    if sigma_low >= threshold:
        return {"superionic": True}
    if sigma_high < threshold:
        return {"superionic": False}
    return {}


def _fitted_sigma(
    entries: Sequence[TemperatureDiffusion],
    fit_entries: Sequence[TemperatureDiffusion],
    target: _Extrapolation,
) -> tuple[dict[str, Any], list[str]]:
    """Arrhenius fit over the usable temperatures, extrapolated with its interval: fields, flags."""
    posterior = fit_arrhenius_sampled(
        [e.T for e in fit_entries],
        [e.D_cm2_s for e in fit_entries],
        [e.D_err for e in fit_entries],
    )
    fit = posterior.fit
    d_rt, d_low, d_high = posterior.diffusivity(target.room_temperature, level=target.level)
    sigma, sigma_low, sigma_high = target.sigma(d_rt), target.sigma(d_low), target.sigma(d_high)
    d_threshold = d_rt * target.superionic_threshold / sigma if sigma > 0 else np.inf
    doc: dict[str, Any] = {
        "ea_eV": fit.ea_eV,
        "ea_err_eV": posterior.ea_err_eV,
        "d0_cm2_s": fit.d0_cm2_s,
        "d_rt_cm2_s": d_rt,
        "reduced_chi2": fit.reduced_chi2,
    }
    confident = fit.ea_eV > 0
    flags = _fit_flags(fit, len(fit_entries), sigma_low, sigma_high, target)
    # consistency: the fit should not predict clear diffusion where none was seen
    flags += _contradiction_flags(fit, entries, fit_entries, target.z)
    if confident:
        doc.update(sigma_rt_S_cm=sigma, sigma_rt_low=sigma_low, sigma_rt_high=sigma_high)
        doc["p_superionic_md"] = posterior.probability_above(
            target.room_temperature, d_threshold
        )
        doc.update(_superionic_verdict(sigma_low, sigma_high, target.superionic_threshold))
    doc["confident"] = confident
    return doc, flags


def _single_temperature_bound(
    top: TemperatureDiffusion, stable: Sequence[TemperatureDiffusion], target: _Extrapolation
) -> tuple[float, float]:
    """Lower bound on Ea from the colder non-diffusive runs and the D(RT) bound it implies."""
    z = target.z
    rel = top.D_err / top.D_cm2_s
    d_top_low = top.D_cm2_s * np.exp(-z * rel)
    d_top_high = top.D_cm2_s * np.exp(z * rel)
    ea_min = 0.0
    for e in stable:
        if e.T < top.T and not e.diffusive:
            slope = np.log(d_top_low / _upper_d(e, z)) / (1 / e.T - 1 / top.T)
            ea_min = max(ea_min, float(K_B_EV * slope))
    exponent = -ea_min / K_B_EV * (1 / target.room_temperature - 1 / top.T)
    return ea_min, float(d_top_high * np.exp(exponent))


def _bounded_sigma(
    entries: Sequence[TemperatureDiffusion],
    fit_entries: Sequence[TemperatureDiffusion],
    target: _Extrapolation,
) -> tuple[dict[str, Any], list[str]]:
    """Upper bound on sigma_RT when fewer than two temperatures can be fitted: fields, flags."""
    flags = [
        f"fewer than 2 diffusive temperatures with a stable host ({len(fit_entries)}): "
        "no confident sigma_RT, only an upper bound"
    ]
    doc: dict[str, Any] = {}
    stable = [e for e in entries if e.framework_stable] or entries
    # D rises with T, so D(300 K) is below every temperature's largest compatible D
    d_bound = min(_upper_d(e, target.z) for e in stable)
    if len(fit_entries) == 1:
        ea_min, d_top_bound = _single_temperature_bound(fit_entries[0], stable, target)
        doc["ea_lower_bound_eV"] = ea_min
        d_bound = min(d_bound, d_top_bound)
    sigma_bound = target.sigma(d_bound)
    doc.update(sigma_rt_high=sigma_bound, sigma_rt_is_upper_bound=True, confident=False)
    if sigma_bound < target.superionic_threshold:
        doc["superionic"] = False
    return doc, flags


def _parameters(settings: DiffusionSettings, target: _Extrapolation) -> dict[str, Any]:
    """Analysis parameters recorded in the provenance."""
    return {
        **settings.as_dict(),
        "room_temperature": target.room_temperature,
        "z": target.z,
        "superionic_threshold": target.superionic_threshold,
        "max_interval_decades": target.max_interval_decades,
        "arrhenius": "weighted least squares of ln D vs 1/kT over used_in_fit temperatures; "
        "interval from 4000 draws of the D posteriors (truncated normals), seed 0",
    }


def analyze_runs(
    runs: Sequence[TemperatureRun],
    specie: str = "Li",
    *,
    room_temperature: float = ROOM_TEMPERATURE_K,
    z: float = 1.96,
    superionic_threshold: float = SUPERIONIC_THRESHOLD_S_CM,
    max_interval_decades: float = 2.0,
    material_id: str | None = None,
    settings: DiffusionSettings | None = None,
    **setting_overrides: Any,
) -> DiffusionDoc:
    """Diffusion and room-temperature conductivity of ``specie`` from runs at several T.

    Parameters
    ----------
    runs
        :class:`TemperatureRun` objects of one material, one per independent run (as
        :func:`~sse_flows.analysis.readers.load_runs` returns them); several runs at one
        temperature are replicas (:func:`~sse_flows.analysis.diffusion.combine_replicas`).
    specie
        Diffusing element.
    room_temperature
        Temperature of the extrapolation (K).
    z
        Normal quantile of the interval (1.96: 95 %).
    superionic_threshold
        sigma_RT (S/cm) above which a material is superionic (1e-4, the paper's).
    max_interval_decades
        An interval wider than this many orders of magnitude is flagged.
    material_id
        Identifier stored on the document (default: an ``mp-...`` id found in the paths).
    settings, setting_overrides
        :class:`~sse_flows.analysis.diffusion.DiffusionSettings` (or some of its fields as
        keyword arguments: ``min_hops``, ``hop_fraction``, ``n_blocks``, ...).

    Returns
    -------
    DiffusionDoc
        Per-temperature D, errors, hop counts and flags; Ea with its standard error; D and
        sigma at ``room_temperature`` with a ``z``-interval when at least two diffusive
        temperatures with a stable host exist, otherwise only an upper bound on sigma.
    """
    if not runs:
        raise ValueError("analyze_runs needs at least one run")
    settings = replace(settings or DiffusionSettings(), specie=specie, **setting_overrides)
    runs = sorted(runs, key=lambda r: r.temperature_K)
    temps = [r.temperature_K for r in runs]
    groups: dict[float, list[TemperatureRun]] = {}
    for run in runs:
        groups.setdefault(run.temperature_K, []).append(run)
    entries = [
        combine_replicas([analyze_temperature(run, settings) for run in group], settings)
        for group in groups.values()
    ]

    # the cell used for the Li density: the largest one (first largest run)
    reference = max(runs, key=lambda r: r.n_sites)
    structure = reference.initial_structure
    flags = _series_flags(runs, reference) + _replica_flags(groups)
    flags += _temperature_flags(entries)

    target = _Extrapolation(
        structure, specie, room_temperature, z, superionic_threshold, max_interval_decades
    )
    fit_entries = [e for e in entries if e.used_in_fit]
    if len(fit_entries) >= 2:
        doc, fit_flags = _fitted_sigma(entries, fit_entries, target)
    else:
        doc, fit_flags = _bounded_sigma(entries, fit_entries, target)
    flags += fit_flags

    sources = [r.source for r in runs]
    return DiffusionDoc(
        formula=structure.composition.reduced_formula,
        material_id=material_id or guess_material_id(sources),
        specie=specie,
        n_atoms=reference.n_sites,
        volume_A3=float(structure.volume),
        temperatures=entries,
        n_fit=len(fit_entries),
        sigma_rt_library_S_cm=_library_sigma(entries, structure, specie, room_temperature),
        flags=flags,
        interval_level=target.level,
        provenance=Provenance.make(
            parameters=_parameters(settings, target),
            inputs={"sources": sources, "temperatures_K": temps},
        ),
        **doc,
    )


def _normal_cdf(x: float) -> float:
    from math import erf, sqrt

    return 0.5 * (1 + erf(x / sqrt(2)))


def analyze_trajectories(
    trajectories: Sequence[RunInput],
    temperatures: Sequence[float] | None = None,
    time_step_fs: float | None = None,
    specie: str = "Li",
    material_id: str | None = None,
    join_chunks: bool = False,
    **analysis_kwargs: Any,
) -> DiffusionDoc:
    """Read MD trajectories and analyse them: the action behind ``sse-flows analyze`` and
    the diffusion-analysis job.

    Parameters
    ----------
    trajectories
        Files, folders, :class:`TemperatureRun` objects or their dicts
        (see :func:`~sse_flows.analysis.readers.load_runs`: chunks of one run id are
        joined; other trajectories at one temperature are replicas).
    temperatures
        One temperature (K) per trajectory found; ``None`` reads them from the files.
    time_step_fs
        Time between frames for formats that do not record it.
    specie
        Diffusing element.
    material_id
        Stored on the document (default: an ``mp-...`` id found in the paths).
    join_chunks
        Join all trajectories of one temperature as restart chunks of one run (files
        without run ids, e.g. VASP chunks); otherwise only chunks of one run id are joined.
    **analysis_kwargs
        Passed to :func:`analyze_runs` (``min_hops``, ``z``, ...).

    Raises
    ------
    TrajectoryReadError
        A trajectory cannot be read or joined (the message names the file).
    ValueError
        The runs cannot be analysed together.
    """
    runs = load_runs(trajectories, temperatures, time_step_fs, join_chunks=join_chunks)
    return analyze_runs(runs, specie=specie, material_id=material_id, **analysis_kwargs)
