"""Build the MD document from production records (shared by every engine).

Per temperature: the production chunks are read and joined by the analysis stage's
readers; leading frames before the kinetic temperature settled are dropped; the engine
sanity checks run (:mod:`sse_flows.md.sanity`). The runs that pass go together through
:func:`sse_flows.analysis.analyze_runs`, which counts hops, judges the host framework and
fits the Arrhenius law: the MD stage reports its numbers and does not decide them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from pymatgen.core import Structure

from sse_flows.md.protocol import MAX_RELAX_VOLUME_CHANGE, MDProtocol
from sse_flows.md.sanity import SanityThresholds, check_trajectory, settled_production
from sse_flows.md.schemas import MDRunDoc, MDTemperatureRun, ProductionRecord, RelaxationDoc
from sse_flows.provenance import Provenance

logger = logging.getLogger(__name__)


def _failed(common: dict[str, Any], reasons: list[str]) -> MDTemperatureRun:
    return MDTemperatureRun(status="failed", reasons=reasons, **common)


def _prepare(
    record: ProductionRecord | None,
    temperature: float,
    protocol: MDProtocol,
    thresholds: SanityThresholds,
    step_skip: int,
) -> tuple[Any, dict[str, Any] | MDTemperatureRun]:
    """``(run, fields)``: the production run ready for analysis and the fields of its
    document, or ``(None, document)`` with the failed run's finished document."""
    from sse_flows.md.continuation import SKIP_REASONS, read_production

    record = record or ProductionRecord(temperature=temperature, error="the MD job never ran")
    total = record.equilibration_steps + record.production_steps
    common: dict[str, Any] = {
        "temperature": temperature,
        "equilibration_steps": record.equilibration_steps,
        "production_steps": record.production_steps,
        "stop_reason": record.stop_reason,
        "time_step_fs": protocol.time_step_fs,
        "step_skip": step_skip,
        "trajectory_files": record.files,
        "equilibrated": record.equilibrated,
        "elapsed_s": record.elapsed_s or None,
        "steps_per_s": total / record.elapsed_s if record.elapsed_s else None,
    }
    if record.error:
        return None, _failed(common, [record.error])
    if record.stop_reason in SKIP_REASONS:
        return None, MDTemperatureRun(
            status="skipped", reasons=[SKIP_REASONS[record.stop_reason]], **common
        )
    try:
        run = read_production(record, protocol.time_step_fs * step_skip)
    except Exception as exc:  # noqa: BLE001 - an unreadable trajectory is a failed run
        return None, _failed(common, [f"unreadable trajectory: {type(exc).__name__}: {exc}"])
    run, discard, settled = settled_production(run, temperature,
                                               protocol.temperature_tolerance)
    common["discarded_frames"] = discard
    common["n_frames"] = run.n_frames
    check = check_trajectory(run, thresholds)
    common.update(
        min_distance_A=check.min_distance,
        max_energy_deviation_per_atom=check.max_energy_deviation_per_atom,
    )
    if run.kinetic_temperatures is not None:
        mean = float(np.mean(run.kinetic_temperatures))
        common["mean_temperature_K"] = mean
        common["temperature_within_tolerance"] = bool(
            settled and abs(mean - temperature) <= protocol.temperature_tolerance * temperature
        )
    if check.failed:
        return None, _failed(common, check.reasons)
    if run.n_frames < 4:
        return None, _failed(common, [f"only {run.n_frames} frames: too short to analyse"])
    return run, common


def _relaxation_check(
    engine: str, relaxation: RelaxationDoc | None
) -> tuple[str | None, list[str]]:
    """(problem that fails the material, warnings) from the force-field relaxation."""
    if relaxation is None:
        return None, []
    if abs(relaxation.volume_change) > MAX_RELAX_VOLUME_CHANGE:
        return (
            f"the {engine} relaxation changed the volume by {relaxation.volume_change:+.0%} "
            f"(limit {MAX_RELAX_VOLUME_CHANGE:.0%}): the potential does not describe "
            "this structure"
        ), []
    if not relaxation.converged:
        return None, [
            f"relaxation not converged in {relaxation.steps} steps (max force "
            f"{relaxation.max_force_eV_A:.2f} eV/A)"
        ]
    return None, []


def _analyse(
    prepared: Sequence[tuple[Any, Any]], material_id: str | None
) -> tuple[Any, dict[float, Any], str | None]:
    """(diffusion document, its temperatures by T, problem that fails the material) of the
    runs that passed the checks.

    An analysis that raises fails the material with the reason (the document is kept,
    status "failed"); the log gets one line, the traceback only at debug level.
    """
    from sse_flows.analysis import analyze_runs

    good = [run for run, _ in prepared if run is not None]
    if not good:
        return None, {}, None
    try:
        diffusion = analyze_runs(good, material_id=material_id)
    except Exception as exc:  # noqa: BLE001 - an analysis problem must not lose the doc
        problem = f"diffusion analysis failed: {type(exc).__name__}: {exc}"
        logger.error("%s", problem)
        logger.debug("diffusion analysis failed", exc_info=True)
        return None, {}, problem
    return diffusion, {entry.T: entry for entry in diffusion.temperatures}, None


def _temperature_doc(
    run: Any,
    common: dict[str, Any],
    entry: Any,
    material_problem: str | None,
    protocol: MDProtocol,
) -> tuple[MDTemperatureRun, list[str]]:
    """(document, warnings) of one analysed temperature, with its diffusion results."""
    warnings: list[str] = []
    reasons = []
    if material_problem:
        reasons.append(material_problem)
    if entry is not None and not entry.framework_stable:
        reasons.append(entry.framework.reason if entry.framework else "host unstable")
    if entry is not None:
        common.update(
            li_hops=entry.li_hops,
            diffusive=entry.diffusive,
            D_cm2_s=entry.D_cm2_s,
            D_relative_error=entry.D_err / entry.D_cm2_s if entry.D_cm2_s > 0 else None,
            framework=entry.framework,
        )
        if entry.framework and entry.framework.state == "creeping":
            warnings.append(
                f"{run.temperature_K:g} K: framework MSD creeping up "
                f"({entry.framework.framework_msd_end_A2:.2f} A2), below the melt limit"
            )
        if not entry.diffusive and entry.framework_stable:
            warnings.append(f"{run.temperature_K:g} K not diffusive: {'; '.join(entry.reasons)}")
    if common.get("temperature_within_tolerance") is False:
        warnings.append(
            f"{run.temperature_K:g} K: mean temperature "
            f"{common.get('mean_temperature_K', float('nan')):.0f} K is not within "
            f"{protocol.temperature_tolerance:.0%} of the target"
        )
    doc = MDTemperatureRun(status="failed" if reasons else "ok", reasons=reasons, **common)
    return doc, warnings


def _temperature_docs(
    prepared: Sequence[tuple[Any, Any]],
    by_t: dict[float, Any],
    material_problem: str | None,
    protocol: MDProtocol,
) -> tuple[list[MDTemperatureRun], list[str]]:
    """(documents, warnings) of every temperature, failed ones as prepared."""
    runs: list[MDTemperatureRun] = []
    warnings: list[str] = []
    for run, common in prepared:
        if run is None:  # ``common`` is already the failed run's document
            runs.append(common)
            continue
        doc, run_warnings = _temperature_doc(
            run, common, by_t.get(run.temperature_K), material_problem, protocol
        )
        runs.append(doc)
        warnings += run_warnings
    return runs, warnings


def _material_reason(
    runs: Sequence[MDTemperatureRun], material_problem: str | None
) -> str | None:
    """Why the material failed (a bad relaxation, a failed analysis, or no usable
    temperature), else None."""
    if material_problem:
        return material_problem
    if any(run.status == "ok" for run in runs):
        return None
    return "; ".join(
        f"{run.temperature:g} K: {'; '.join(run.reasons)}" for run in runs if run.status == "failed"
    )


def make_md_run_doc(
    engine: str,
    unit_cell: Structure,
    supercell: Structure,
    records: Sequence[ProductionRecord | None],
    protocol: MDProtocol,
    material_id: str | None = None,
    relaxation: RelaxationDoc | None = None,
    thresholds: SanityThresholds | None = None,
    step_skip: int | None = None,
    parameters: dict[str, Any] | None = None,
) -> MDRunDoc:
    """Check and analyse every temperature and assemble the material's :class:`MDRunDoc`.

    A temperature fails when its engine failed, a sanity check failed or its host
    framework is unstable; the material fails when no temperature is usable, or when the
    relaxation or the diffusion analysis failed (the reason says which). A material
    whose Li does not diffuse is *not* failed: that is a result (sigma_RT gets a bound).
    """
    limits = thresholds or SanityThresholds()
    step_skip = step_skip or protocol.trajectory_interval
    prepared = [
        _prepare(record, t, protocol, limits, step_skip)
        for record, t in zip(records, protocol.run_temperatures, strict=True)
    ]
    warnings: list[str] = [protocol.describe(engine)] if protocol.reduced else []
    relax_problem, relax_warnings = _relaxation_check(engine, relaxation)
    warnings += relax_warnings
    diffusion, by_t, problem = None, {}, relax_problem
    if relax_problem is None:
        diffusion, by_t, problem = _analyse(prepared, material_id)
    runs, run_warnings = _temperature_docs(prepared, by_t, problem, protocol)
    warnings += run_warnings
    reason = _material_reason(runs, problem)
    params = {
        "engine": engine,
        "protocol": protocol.as_dict(),
        "sanity_thresholds": limits.as_dict(),
        **(parameters or {}),
    }
    return MDRunDoc(
        material_id=material_id,
        formula=unit_cell.composition.reduced_formula,
        engine=engine,
        status="failed" if reason else "ok",
        reason=reason,
        reduced_protocol=protocol.reduced,
        protocol_summary=protocol.describe(engine),
        n_atoms=len(supercell),
        supercell_scaling=[
            int(round(big / small))
            for big, small in zip(supercell.lattice.abc, unit_cell.lattice.abc, strict=True)
        ],
        structure=supercell.as_dict(),
        relaxation=relaxation,
        runs=runs,
        diffusion=diffusion,
        warnings=warnings,
        provenance=Provenance.make(
            parameters=params,
            inputs={"material_id": material_id, "formula": unit_cell.composition.formula},
        ),
    )
