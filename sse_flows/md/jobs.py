"""jobflow jobs of the MD stage.

``run_forcefield_md_job`` runs the whole protocol of one material with a force field and
``collect_vasp_md`` checks the VASP chunks of one material; both return an ``MDRunDoc``
and never raise for physics failures (a failed material is a stored document with its
reason; other materials go on).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jobflow import Response, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing
from pymatgen.core import Structure

from sse_flows.md.documents import TemperatureTrajectory, make_md_run_doc
from sse_flows.md.failures import FailureThresholds
from sse_flows.md.protocol import MDProtocol
from sse_flows.md.schemas import MDRunDoc

logger = logging.getLogger(__name__)


def _find_file(directory: Path, name: str) -> Path | None:
    """``name`` or its gzipped copy in ``directory`` (atomate2 gzips finished runs)."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            return candidate
    return None


def _local_dir(dir_name: str | Path) -> Path:
    from atomate2.utils.path import strip_hostname

    return Path(strip_hostname(str(dir_name)))


@job
def structure_from_contcar(dir_name: str) -> Structure:
    """The final structure of a VASP MD run with its velocities (to continue the run).

    atomate2's ``MultiMDMaker`` passes on the task document's structure, which has no
    velocities; this reads the CONTCAR so the next chunk continues the dynamics.

    Parameters
    ----------
    dir_name
        Directory (atomate2 ``dir_name``, host prefix allowed) of the finished run.

    Returns
    -------
    Structure
        With a ``velocities`` site property (A/fs) when the CONTCAR has velocities.
    """
    from pymatgen.io.vasp import Poscar

    directory = _local_dir(dir_name)
    contcar = _find_file(directory, "CONTCAR")
    if contcar is None:
        raise FileNotFoundError(f"no CONTCAR in {directory}")
    poscar = Poscar.from_file(contcar)
    structure = poscar.structure
    if poscar.velocities is not None:
        structure.add_site_property("velocities", [list(v) for v in poscar.velocities])
    return structure


def read_vasp_md_chunks(dir_names: list[str | None], temperature: float) -> TemperatureTrajectory:
    """Concatenate the production chunks of one temperature (vasprun.xml of each).

    A chunk that did not run (``None``) or whose vasprun.xml does not parse makes the
    temperature failed with that reason.
    """
    from pymatgen.io.vasp import Vasprun

    frames: list[Structure] = []
    energies: list[float] = []
    kinetic_t: list[float] = []
    files: list[str] = []
    for index, dir_name in enumerate(dir_names, start=1):
        if dir_name is None:
            return TemperatureTrajectory(
                temperature=temperature,
                files=files,
                error=f"VASP production chunk {index} did not complete",
            )
        directory = _local_dir(dir_name)
        path = _find_file(directory, "vasprun.xml")
        if path is None:
            return TemperatureTrajectory(
                temperature=temperature, files=files, error=f"no vasprun.xml in {directory}"
            )
        try:
            vasprun = Vasprun(
                path, parse_dos=False, parse_eigen=False, parse_projected_eigen=False,
                parse_potcar_file=False, exception_on_bad_xml=False,
            )
        except Exception as exc:  # noqa: BLE001 - an unreadable run is a failed run
            return TemperatureTrajectory(
                temperature=temperature, files=files, error=f"unreadable {path}: {exc}"
            )
        files.append(str(path))
        for step in vasprun.ionic_steps:
            frames.append(step["structure"])
            energies.append(float(step.get("e_fr_energy", step.get("e_0_energy"))))
            if "kinetic" in step:
                kinetic_t.append(float(step["kinetic"]))
    n_atoms = len(frames[0]) if frames else 1
    from ase.units import kB

    temperatures = [2.0 * ek / (3.0 * n_atoms * kB) for ek in kinetic_t] or None
    return TemperatureTrajectory(
        temperature=temperature,
        frames=frames,
        energies=energies,
        temperatures_K=temperatures,
        files=files,
    )


@job(
    output_schema=MDRunDoc,
    config=JobConfig(on_missing_references=OnMissing.NONE),
)
def collect_vasp_md(
    unit_cell: Structure,
    supercell: Structure,
    protocol: dict[str, Any],
    production_dirs: dict[str, list[str | None]],
    material_id: str | None = None,
    thresholds: dict[str, Any] | None = None,
) -> MDRunDoc:
    """Check the VASP AIMD of one material and make its ``MDRunDoc``.

    Runs even when some VASP jobs failed (their directories arrive as ``None``): those
    temperatures are reported as failed, not dropped.

    Parameters
    ----------
    unit_cell, supercell
        The material's cell and the MD supercell.
    protocol
        ``MDProtocol.as_dict()``.
    production_dirs
        ``{"600K": [dir of chunk 1, dir of chunk 2, ...], ...}``.
    material_id
        Id recorded in the document.
    thresholds
        ``FailureThresholds.as_dict()``.
    """
    md_protocol = MDProtocol(**protocol)
    trajectories = []
    for temperature in md_protocol.temperatures:
        dirs = production_dirs.get(f"{temperature:g}K") or [None]
        trajectories.append(read_vasp_md_chunks(list(dirs), temperature))
    return make_md_run_doc(
        engine="vasp",
        unit_cell=unit_cell,
        supercell=supercell,
        trajectories=trajectories,
        protocol=md_protocol,
        step_skip=1,
        material_id=material_id,
        thresholds=FailureThresholds(**(thresholds or {})),
        parameters={"production_dirs": production_dirs},
    )


@job(output_schema=MDRunDoc)
def run_forcefield_md_job(
    structure: Structure,
    protocol: dict[str, Any] | None = None,
    material_id: str | None = None,
    force_field_name: str = "CHGNet",
    calculator_kwargs: dict[str, Any] | None = None,
    thresholds: dict[str, Any] | None = None,
    analyze: bool = True,
) -> Response:
    """Force-field MD of one material; a physics failure gives a failed ``MDRunDoc``.

    Trajectories are written as ASE ``.traj`` files in the job's directory (paths in the
    document), not into the document.

    Parameters
    ----------
    structure
        Ordered unit cell.
    protocol
        ``MDProtocol.as_dict()`` (default: the paper's protocol).
    material_id
        Id recorded in the document.
    force_field_name
        atomate2 MLFF name.
    calculator_kwargs
        ASE calculator arguments (e.g. ``{"use_device": "cuda"}``).
    thresholds
        ``FailureThresholds.as_dict()``.
    analyze
        Run the diffusion analysis on the usable temperatures.
    """
    from sse_flows.md.forcefield import run_forcefield_md

    md_protocol = MDProtocol(**(protocol or {}))
    doc = run_forcefield_md(
        structure,
        md_protocol,
        workdir=Path.cwd(),
        material_id=material_id,
        force_field_name=force_field_name,
        calculator_kwargs=calculator_kwargs,
        thresholds=FailureThresholds(**(thresholds or {})),
        analyze=analyze,
    )
    return Response(output=doc)
