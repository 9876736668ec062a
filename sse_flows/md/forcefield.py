"""The MD protocol with a universal ML potential (CHGNet) through atomate2's ForceFieldMDMaker.

Each temperature is an NVT Nose-Hoover run (ASE ``NPT`` with no barostat, the ASE
"nose-hoover" preset of atomate2): an equilibration run whose last velocities start
the production run; the production trajectory is written to an ASE ``.traj`` file
every ``trajectory_interval`` steps (not into the job document).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from ase import units
from emmet.core.types.enums import StoreTrajectoryOption
from pymatgen.core import Structure

from sse_flows.md.documents import TemperatureTrajectory, make_md_run_doc
from sse_flows.md.failures import FailureThresholds
from sse_flows.md.protocol import MDProtocol, make_md_supercell
from sse_flows.md.schemas import MDRunDoc

logger = logging.getLogger(__name__)

#: Force fields whose weights ship in their wheel (nothing downloads at run time).
OFFLINE_FORCE_FIELDS = ("CHGNet", "SevenNet")


def forcefield_md_maker(
    temperature: float,
    n_steps: int,
    protocol: MDProtocol,
    force_field_name: str = "CHGNet",
    traj_file: str | None = None,
    traj_interval: int = 1,
    calculator_kwargs: dict[str, Any] | None = None,
    seed: int | None = None,
):
    """An atomate2 ``ForceFieldMDMaker`` for one NVT Nose-Hoover run.

    Parameters
    ----------
    temperature
        Thermostat temperature (K).
    n_steps
        Number of MD steps.
    protocol
        Time step and thermostat time come from here.
    force_field_name
        atomate2 MLFF name ("CHGNet" by default).
    traj_file
        ASE trajectory file written at the end of the run (None: no file).
    traj_interval
        Steps between stored frames.
    calculator_kwargs
        Passed to the ASE calculator (e.g. ``{"use_device": "cuda"}`` for CHGNet).
    seed
        Seed of the Maxwell-Boltzmann velocities (only used without initial velocities).

    Returns
    -------
    atomate2.forcefields.md.ForceFieldMDMaker
    """
    from atomate2.forcefields.md import ForceFieldMDMaker

    return ForceFieldMDMaker(
        name=f"{force_field_name} md {temperature:g}K",
        force_field_name=force_field_name,
        calculator_kwargs=dict(calculator_kwargs or {}),
        time_step=protocol.time_step_fs,
        n_steps=n_steps,
        ensemble="nvt",
        dynamics="nose-hoover",
        temperature=temperature,
        ase_md_kwargs={"ttime": protocol.thermostat_time_fs * units.fs, "pfactor": None},
        traj_file=traj_file,
        traj_file_fmt="ase",
        traj_interval=traj_interval,
        store_trajectory=StoreTrajectoryOption.NO,
        mb_velocity_seed=seed,
        zero_linear_momentum=True,
    )


def _share_calculator(maker: Any, calculator: Any) -> Any:
    """Give a maker an already loaded ASE calculator (the model loads once per material)."""
    if calculator is not None:
        maker._calculator = calculator  # AseMaker.calculator caches it under this name
    return maker


def run_temperature(
    supercell: Structure,
    temperature: float,
    protocol: MDProtocol,
    workdir: Path,
    force_field_name: str = "CHGNet",
    calculator_kwargs: dict[str, Any] | None = None,
    calculator: Any = None,
) -> TemperatureTrajectory:
    """Equilibrate then produce at one temperature; never raises for a failed run.

    Returns
    -------
    TemperatureTrajectory
        Production frames, potential energies, kinetic temperatures, the ``.traj``
        file and the wall time; ``error`` is set when the MD itself crashed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    traj_path = workdir / f"production_{temperature:g}K.traj"
    start = time.perf_counter()
    try:
        structure = supercell
        if protocol.equilibration_steps > 0:
            equilibration = _share_calculator(
                forcefield_md_maker(
                    temperature,
                    protocol.equilibration_steps,
                    protocol,
                    force_field_name,
                    traj_interval=protocol.equilibration_steps,
                    calculator_kwargs=calculator_kwargs,
                    seed=protocol.seed,
                ),
                calculator,
            )
            result = equilibration._run_ase_safe(structure)
            calculator = equilibration.calculator
            velocities = result.trajectory.frame_properties[-1]["velocities"]
            structure = result.final_mol_or_struct.copy()
            structure.add_site_property("velocities", np.asarray(velocities).tolist())
        production = _share_calculator(
            forcefield_md_maker(
                temperature,
                protocol.production_steps,
                protocol,
                force_field_name,
                traj_file=str(traj_path),
                traj_interval=protocol.trajectory_interval,
                calculator_kwargs=calculator_kwargs,
                seed=protocol.seed,
            ),
            calculator,
        )
        result = production._run_ase_safe(structure)
    except Exception as exc:  # noqa: BLE001 - a crashed MD is a failed run, not a crash
        logger.exception("MD at %s K failed", temperature)
        return TemperatureTrajectory(
            temperature=temperature,
            error=f"MD crashed: {type(exc).__name__}: {exc}",
            elapsed_s=time.perf_counter() - start,
        )
    trajectory = result.trajectory
    props = trajectory.frame_properties or []
    frames = [trajectory.get_structure(i) for i in range(len(trajectory))]
    return TemperatureTrajectory(
        temperature=temperature,
        frames=frames,
        energies=[float(p["energy"]) for p in props] or None,
        temperatures_K=[float(p["temperature"]) for p in props if "temperature" in p] or None,
        files=[str(traj_path)] if traj_path.exists() else [],
        elapsed_s=time.perf_counter() - start,
    )


def run_forcefield_md(
    structure: Structure,
    protocol: MDProtocol | None = None,
    workdir: str | Path = ".",
    material_id: str | None = None,
    force_field_name: str = "CHGNet",
    calculator_kwargs: dict[str, Any] | None = None,
    thresholds: FailureThresholds | None = None,
    analyze: bool = True,
) -> MDRunDoc:
    """The whole protocol for one material with a force field; returns, never raises.

    Parameters
    ----------
    structure
        Ordered unit cell of the material.
    protocol
        MD protocol (default: the paper's; see :meth:`MDProtocol.reduced_cpu`).
    workdir
        Folder for the trajectory files (one ``production_<T>K.traj`` per temperature).
    material_id
        Id recorded in the document.
    force_field_name
        atomate2 MLFF name; "CHGNet" ships its weights in the wheel.
    calculator_kwargs
        Passed to the ASE calculator (e.g. ``{"use_device": "cuda"}``).
    thresholds
        Failure-check thresholds.
    analyze
        Run the diffusion analysis on the usable temperatures.

    Returns
    -------
    MDRunDoc
        ``status`` "failed" with a ``reason`` when no temperature is usable.
    """
    protocol = protocol or MDProtocol()
    if not structure.is_ordered:
        raise ValueError(
            f"{structure.composition.reduced_formula} is disordered; MD needs an ordered "
            "structure (order it first, e.g. with OrderDisorderedStructureTransformation)"
        )
    supercell = make_md_supercell(structure, protocol.min_lattice_length)
    workdir = Path(workdir).resolve()
    # load the model once for all temperatures
    calculator = forcefield_md_maker(
        protocol.temperatures[0], 1, protocol, force_field_name, calculator_kwargs=calculator_kwargs
    ).calculator
    trajectories = []
    for temperature in protocol.temperatures:
        trajectories.append(
            run_temperature(
                supercell,
                temperature,
                protocol,
                workdir,
                force_field_name=force_field_name,
                calculator_kwargs=calculator_kwargs,
                calculator=calculator,
            )
        )
    return make_md_run_doc(
        engine="chgnet" if force_field_name == "CHGNet" else force_field_name.lower(),
        unit_cell=structure,
        supercell=supercell,
        trajectories=trajectories,
        protocol=protocol,
        step_skip=protocol.trajectory_interval,
        material_id=material_id,
        thresholds=thresholds,
        parameters={"force_field_name": force_field_name, "workdir": str(workdir)},
        analyze=analyze,
    )
