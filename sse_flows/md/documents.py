"""Build the MD documents from trajectories (shared by the CHGNet and VASP engines)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pymatgen.core import Structure

from sse_flows.md.failures import FailureThresholds, check_md_run
from sse_flows.md.protocol import MDProtocol, supercell_scaling
from sse_flows.md.schemas import MDRunDoc, MDTemperatureRun
from sse_flows.provenance import Provenance

logger = logging.getLogger(__name__)


@dataclass
class TemperatureTrajectory:
    """The production trajectory of one temperature, as the engines hand it over.

    ``frames`` is empty and ``error`` is set when the engine itself failed (crash,
    non-converged SCF, a VASP job that never ran).
    """

    temperature: float
    frames: list[Structure] = field(default_factory=list)
    energies: list[float] | None = None
    temperatures_K: list[float] | None = None
    files: list[str] = field(default_factory=list)
    elapsed_s: float | None = None
    error: str | None = None


def evaluate_temperature(
    trajectory: TemperatureTrajectory,
    initial: Structure,
    protocol: MDProtocol,
    thresholds: FailureThresholds,
    step_skip: int,
) -> MDTemperatureRun:
    """Run the failure checks on one temperature and summarise it as a document."""
    total_steps = protocol.equilibration_steps + protocol.production_steps
    common: dict[str, Any] = {
        "temperature": trajectory.temperature,
        "equilibration_steps": protocol.equilibration_steps,
        "production_steps": protocol.production_steps,
        "time_step_fs": protocol.time_step_fs,
        "step_skip": step_skip,
        "n_frames": len(trajectory.frames),
        "trajectory_files": trajectory.files,
        "elapsed_s": trajectory.elapsed_s,
        "steps_per_s": (
            total_steps / trajectory.elapsed_s if trajectory.elapsed_s else None
        ),
    }
    if trajectory.error is not None:
        return MDTemperatureRun(status="failed", reasons=[trajectory.error], **common)
    # The host is judged against the start of production, not the input cell: relaxing an
    # unrelaxed input (e.g. an ordered LGPS cell) into the potential's minimum during the
    # equilibration is not melting, while a host that melts during production still drifts
    # away from its first production frame.
    reference = trajectory.frames[0] if trajectory.frames else initial
    try:
        check = check_md_run(
            trajectory.frames,
            reference,
            time_step_fs=protocol.time_step_fs,
            step_skip=step_skip,
            energies=trajectory.energies,
            thresholds=thresholds,
        )
    except Exception as exc:  # noqa: BLE001 - one bad trajectory must not stop the material
        logger.exception("MD checks failed at %s K", trajectory.temperature)
        return MDTemperatureRun(
            status="failed",
            reasons=[f"trajectory checks crashed: {type(exc).__name__}: {exc}"],
            **common,
        )
    mean_t = (
        float(np.mean(trajectory.temperatures_K)) if trajectory.temperatures_K else None
    )
    return MDTemperatureRun(
        status="failed" if check.failed else "ok",
        reasons=check.reasons,
        li_hops=check.li_hops,
        diffusive=check.diffusive,
        min_distance_A=check.min_distance,
        framework_rmsd_A=check.framework_rmsd,
        framework_matches_initial=check.framework_matches_initial,
        max_energy_deviation_per_atom=check.max_energy_deviation_per_atom,
        mean_temperature_K=mean_t,
        **common,
    )


def diffusion_of(
    trajectories: Sequence[TemperatureTrajectory],
    runs: Sequence[MDTemperatureRun],
    time_step_fs: float,
    step_skip: int,
    material_id: str | None = None,
) -> tuple[dict[str, Any] | None, str | None]:
    """DiffusionDoc (as a dict) of the usable runs, with ``sse_flows.analysis``.

    Returns
    -------
    tuple
        (the DiffusionDoc dict or None, a warning or None).
    """
    usable = [t for t, run in zip(trajectories, runs, strict=True) if run.status == "ok"]
    if len(usable) < 2:
        return None, "fewer than two usable temperatures: no Arrhenius fit"
    try:
        from sse_flows.analysis import TemperatureRun, analyze_runs
    except ImportError as exc:  # the analysis stage is optional for the MD stage
        return None, f"diffusion analysis unavailable ({exc})"
    try:
        temperature_runs = [
            TemperatureRun.from_structures(
                t.frames, temperature=t.temperature, time_step_fs=time_step_fs, step_skip=step_skip
            )
            for t in usable
        ]
        doc = analyze_runs(temperature_runs, specie="Li", material_id=material_id)
    except Exception as exc:  # noqa: BLE001 - an analysis problem must not lose the MD doc
        logger.exception("diffusion analysis failed")
        return None, f"diffusion analysis failed: {type(exc).__name__}: {exc}"
    dumped = doc.model_dump(mode="json") if hasattr(doc, "model_dump") else dict(doc)
    return dumped, None


def make_md_run_doc(
    engine: str,
    unit_cell: Structure,
    supercell: Structure,
    trajectories: Sequence[TemperatureTrajectory],
    protocol: MDProtocol,
    step_skip: int,
    material_id: str | None = None,
    thresholds: FailureThresholds | None = None,
    parameters: dict[str, Any] | None = None,
    analyze: bool = True,
) -> MDRunDoc:
    """Check every temperature and assemble the material's :class:`MDRunDoc`.

    A material is ``failed`` when no temperature passes the checks, or when no
    temperature has enough Li hops to estimate a diffusivity.
    """
    limits = thresholds or FailureThresholds()
    runs = [evaluate_temperature(t, supercell, protocol, limits, step_skip) for t in trajectories]
    warnings: list[str] = []
    for run in runs:
        if run.status == "ok" and not run.diffusive:
            warnings.append(
                f"{run.temperature:g} K: only {run.li_hops} Li hops (< {limits.min_li_hops}), "
                "not diffusive"
            )
    if protocol.reduced:
        warnings.append(
            f"reduced protocol: {protocol.equilibration_steps} + {protocol.production_steps} "
            "steps per temperature instead of the paper's 3000 + 10000"
        )
    ok_runs = [run for run in runs if run.status == "ok"]
    reason = None
    if not ok_runs:
        reason = "; ".join(f"{run.temperature:g} K: {'; '.join(run.reasons)}" for run in runs)
    elif not any(run.diffusive for run in ok_runs):
        reason = (
            f"too few Li hops at every temperature (need >= {limits.min_li_hops}); "
            "the diffusivity cannot be estimated"
        )
    diffusion = None
    if analyze and reason is None:
        diffusion, warning = diffusion_of(
            trajectories, runs, protocol.time_step_fs, step_skip, material_id=material_id
        )
        if warning:
            warnings.append(warning)
    params = {
        "engine": engine,
        "protocol": protocol.as_dict(),
        "thresholds": limits.as_dict(),
        **(parameters or {}),
    }
    return MDRunDoc(
        material_id=material_id,
        formula=unit_cell.composition.reduced_formula,
        engine=engine,
        status="failed" if reason else "ok",
        reason=reason,
        reduced_protocol=protocol.reduced,
        n_atoms=len(supercell),
        supercell_scaling=supercell_scaling(unit_cell, protocol.min_lattice_length),
        structure=supercell.as_dict(),
        runs=runs,
        diffusion=diffusion,
        warnings=warnings,
        provenance=Provenance.make(
            parameters=params,
            inputs={"material_id": material_id, "formula": unit_cell.composition.formula},
        ),
    )
