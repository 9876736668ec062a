"""Makers of the MD protocol: VASP AIMD (atomate2 ``MDMaker``) and force-field MD (CHGNet).

``AimdProtocolMaker`` builds, for one structure, the paper's AIMD protocol from atomate2's
VASP MD makers: per temperature an equilibration ``MDMaker`` job, then the production run
split into restartable ``MDMaker`` chunks chained ``MultiMDMaker``-style, and finally a
job that checks the trajectories and writes the material's ``MDRunDoc``.
``ForceFieldMdProtocolMaker`` runs the same protocol with CHGNet in one job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Job, Maker
from pymatgen.core import Structure
from pymatgen.io.vasp import Kpoints

from sse_flows.md.failures import FailureThresholds
from sse_flows.md.protocol import PAPER_TEMPERATURES, MDProtocol, make_md_supercell

#: INCAR settings of the paper's AIMD on top of atomate2's MD input set (MDSetGenerator
#: already sets IBRION 0, ISYM 0, MDALGO 2 + SMASS 0 for NVT, POTIM, TEBEG/TEEND, NSW).
PAPER_INCAR_SETTINGS: dict[str, Any] = {
    "ENCUT": 400,  # plane-wave cutoff of the paper (MDSetGenerator's default is 520)
    "GGA": "Pe",  # PBE
    "ISPIN": 1,  # Li electrolytes are non-magnetic; halves the cost
    "MAGMOM": None,
    "LREAL": "Auto",  # real-space projection: standard for large AIMD cells
    "LAECHG": False,  # no charge densities / potentials written every run
    "LVTOT": False,
    "LORBIT": None,
    "KSPACING": None,  # k-points from the KPOINTS file (Gamma only)
}


def _temperature_label(temperature: float) -> str:
    return f"{temperature:g}K"


@dataclass
class AimdProtocolMaker(Maker):
    """The paper's VASP AIMD protocol for one structure, with atomate2's MD makers.

    Parameters
    ----------
    name
        Name of the flow.
    temperatures
        NVT temperatures (K), one independent run each.
    time_step
        ``POTIM`` (fs).
    equilibration_steps
        ``NSW`` of the equilibration job at each temperature (discarded).
    production_steps
        Total production steps at each temperature.
    production_chunks
        The production run is split into this many ``MDMaker`` jobs; each starts from
        the previous one's CONTCAR (positions and velocities), so a chunk lost to the
        walltime is rerun alone.
    min_lattice_length
        Supercell lattice lengths are all >= this (A).
    encut
        Plane-wave cutoff (eV).
    user_incar_settings
        Extra INCAR settings, applied over the paper's.
    user_potcar_functional
        POTCAR set (PBE family).
    run_vasp_kwargs
        Passed to atomate2's ``run_vasp`` (e.g. ``{"vasp_cmd": "srun vasp_gam"}``).
    thresholds
        Failure-check thresholds of the final check job.
    """

    name: str = "aimd protocol"
    temperatures: tuple[float, ...] = PAPER_TEMPERATURES
    time_step: float = 2.0
    equilibration_steps: int = 3000
    production_steps: int = 10000
    production_chunks: int = 4
    min_lattice_length: float = 10.0
    encut: float = 400.0
    user_incar_settings: dict[str, Any] = field(default_factory=dict)
    user_potcar_functional: str = "PBE_54"
    run_vasp_kwargs: dict[str, Any] | None = None
    thresholds: FailureThresholds = field(default_factory=FailureThresholds)

    @property
    def protocol(self) -> MDProtocol:
        """The protocol parameters of this maker."""
        return MDProtocol(
            temperatures=tuple(self.temperatures),
            time_step_fs=self.time_step,
            equilibration_steps=self.equilibration_steps,
            production_steps=self.production_steps,
            production_chunks=self.production_chunks,
            min_lattice_length=self.min_lattice_length,
            trajectory_interval=1,
        )

    def input_set_generator(self, temperature: float, nsteps: int):
        """atomate2 ``MDSetGenerator`` for one NVT Nose-Hoover run.

        Parameters
        ----------
        temperature
            ``TEBEG`` = ``TEEND`` (K).
        nsteps
            ``NSW``.
        """
        from atomate2.vasp.sets.core import MDSetGenerator

        incar = {**PAPER_INCAR_SETTINGS, "ENCUT": self.encut, **self.user_incar_settings}
        return MDSetGenerator(
            ensemble="nvt",
            start_temp=temperature,
            end_temp=temperature,
            nsteps=nsteps,
            time_step=self.time_step,
            user_incar_settings=incar,
            user_kpoints_settings=Kpoints.gamma_automatic((1, 1, 1)),
            user_potcar_functional=self.user_potcar_functional,
            auto_ispin=False,
        )

    def md_maker(self, name: str, temperature: float, nsteps: int):
        """An atomate2 VASP ``MDMaker`` for one run of the protocol."""
        from atomate2.vasp.jobs.md import MDMaker

        generator = self.input_set_generator(temperature, nsteps)
        maker = MDMaker(name=name, input_set_generator=generator)
        if self.run_vasp_kwargs:
            maker.run_vasp_kwargs = {**maker.run_vasp_kwargs, **self.run_vasp_kwargs}
        return maker

    def make(self, structure: Structure, material_id: str | None = None) -> Flow:
        """The AIMD flow of one material.

        Parameters
        ----------
        structure
            Ordered unit cell (the supercell is built here).
        material_id
            Id recorded in the final ``MDRunDoc``.

        Returns
        -------
        Flow
            Per temperature ``aimd equilibration <T>K`` then ``aimd production <T>K 1..n``
            (each chunk preceded by a small job that reads the previous CONTCAR with its
            velocities), and ``aimd check`` whose output is the ``MDRunDoc``.
        """
        from sse_flows.md.jobs import collect_vasp_md, structure_from_contcar

        if not structure.is_ordered:
            raise ValueError(
                f"{structure.composition.reduced_formula} is disordered; AIMD needs an "
                "ordered structure"
            )
        protocol = self.protocol
        supercell = make_md_supercell(structure, protocol.min_lattice_length)
        jobs: list[Job | Flow] = []
        production_dirs: dict[str, list[Any]] = {}
        for temperature in protocol.temperatures:
            label = _temperature_label(temperature)
            previous = None
            if protocol.equilibration_steps > 0:
                previous = self.md_maker(
                    f"aimd equilibration {label}", temperature, protocol.equilibration_steps
                ).make(supercell)
                jobs.append(previous)
            chunk_dirs = []
            for index, nsteps in enumerate(protocol.chunk_steps(), start=1):
                maker = self.md_maker(f"aimd production {label} {index}", temperature, nsteps)
                if previous is None:
                    chunk = maker.make(supercell)
                else:
                    restart = structure_from_contcar(previous.output.dir_name)
                    restart.name = f"aimd restart {label} {index}"
                    chunk = maker.make(restart.output, prev_dir=previous.output.dir_name)
                    jobs.append(restart)
                jobs.append(chunk)
                chunk_dirs.append(chunk.output.dir_name)
                previous = chunk
            production_dirs[label] = chunk_dirs
        check = collect_vasp_md(
            unit_cell=structure,
            supercell=supercell,
            protocol=protocol.as_dict(),
            production_dirs=production_dirs,
            material_id=material_id,
            thresholds=self.thresholds.as_dict(),
        )
        check.name = "aimd check"
        jobs.append(check)
        return Flow(jobs, output=check.output, name=f"{self.name} {structure.formula}")


@dataclass
class ForceFieldMdProtocolMaker(Maker):
    """The MD protocol with a universal ML potential (CHGNet) for one structure.

    One job runs every temperature (equilibration + production, atomate2
    ``ForceFieldMDMaker`` with NVT Nose-Hoover) and returns the ``MDRunDoc``; physics
    failures and crashed runs give a failed document, never an exception.

    Parameters
    ----------
    name
        Job name.
    protocol
        The MD protocol (default: the paper's; ``MDProtocol.reduced_cpu()`` on a CPU).
    force_field_name
        atomate2 MLFF name ("CHGNet": weights ship in the wheel).
    calculator_kwargs
        ASE calculator arguments (e.g. ``{"use_device": "cuda"}``).
    thresholds
        Failure-check thresholds.
    analyze
        Run the diffusion analysis in the job.
    """

    name: str = "chgnet md protocol"
    protocol: MDProtocol = field(default_factory=MDProtocol)
    force_field_name: str = "CHGNet"
    calculator_kwargs: dict[str, Any] = field(default_factory=dict)
    thresholds: FailureThresholds = field(default_factory=FailureThresholds)
    analyze: bool = True

    def make(self, structure: Structure, material_id: str | None = None) -> Job:
        """The force-field MD job of one material (output: ``MDRunDoc``)."""
        from sse_flows.md.jobs import run_forcefield_md_job

        md_job = run_forcefield_md_job(
            structure,
            protocol=self.protocol.as_dict(),
            material_id=material_id,
            force_field_name=self.force_field_name,
            calculator_kwargs=self.calculator_kwargs,
            thresholds=self.thresholds.as_dict(),
            analyze=self.analyze,
        )
        md_job.name = f"{self.name} {material_id or structure.composition.reduced_formula}"
        return md_job


def make_md_flow(
    structure: Structure,
    engine: str = "chgnet",
    temperatures: tuple[float, ...] | list[float] = PAPER_TEMPERATURES,
    steps: int = 10000,
    equil_steps: int = 3000,
    material_id: str | None = None,
    **kwargs: Any,
) -> Flow:
    """The MD flow of one material with the chosen engine.

    Parameters
    ----------
    structure
        Ordered unit cell.
    engine
        "chgnet" (force field, runs anywhere) or "vasp" (AIMD, cluster).
    temperatures
        NVT temperatures (K).
    steps
        Production steps per temperature.
    equil_steps
        Equilibration steps per temperature.
    material_id
        Id recorded in the ``MDRunDoc``.
    **kwargs
        Further ``MDProtocol`` fields (chgnet) or ``AimdProtocolMaker`` fields (vasp);
        chgnet also takes ``calculator_kwargs``, ``thresholds`` and ``analyze``.

    Returns
    -------
    Flow
        A flow whose output is the material's ``MDRunDoc``.
    """
    temperatures = tuple(float(t) for t in temperatures)
    if engine == "vasp":
        maker = AimdProtocolMaker(
            temperatures=temperatures,
            production_steps=steps,
            equilibration_steps=equil_steps,
            **kwargs,
        )
        return maker.make(structure, material_id=material_id)
    if engine != "chgnet":
        raise ValueError(f"engine must be 'chgnet' or 'vasp', got {engine!r}")
    maker_fields = {
        key: kwargs.pop(key)
        for key in ("calculator_kwargs", "thresholds", "analyze", "force_field_name")
        if key in kwargs
    }
    kwargs.setdefault("production_chunks", 1)  # one piece: the job restarts as a whole
    protocol = MDProtocol(
        temperatures=temperatures, production_steps=steps, equilibration_steps=equil_steps, **kwargs
    )
    md_job = ForceFieldMdProtocolMaker(protocol=protocol, **maker_fields).make(
        structure, material_id=material_id
    )
    return Flow([md_job], output=md_job.output, name=f"chgnet md {structure.formula}")
