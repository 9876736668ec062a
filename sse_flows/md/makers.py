"""Makers of the MD protocol: VASP AIMD (atomate2 ``MDMaker``) and force-field MD.

Both take one :class:`~sse_flows.md.protocol.MDProtocol`. ``AimdProtocolMaker`` builds, for
one structure, the protocol from atomate2's VASP MD makers: per temperature an
equilibration ``MDMaker`` job, the production run split into restartable ``MDMaker``
chunks chained ``MultiMDMaker``-style, a decision job that continues production when the
protocol asks for it, and finally a job that checks and analyses the trajectories and
writes the material's ``MDRunDoc``. ``ForceFieldMdProtocolMaker`` runs the same protocol
with a universal potential (CHGNet or SevenNet): relaxation, per-temperature chains of
chunk jobs, the same final job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Job, Maker
from pymatgen.core import Structure
from pymatgen.io.vasp import Kpoints

from sse_flows.md.protocol import (
    DEFAULT_MD_ENGINE,
    MDProtocol,
    check_md_structure,
    make_md_supercell,
)
from sse_flows.md.schemas import MDCellDoc

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

#: MD engines: force fields run anywhere, vasp on clusters.
MD_ENGINES = ("chgnet", "sevennet", "vasp")



def _temperature_label(temperature: float) -> str:
    return f"{temperature:g}K"


@dataclass
class AimdProtocolMaker(Maker):
    """The paper's VASP AIMD protocol for one structure, with atomate2's MD makers.

    VASP runs its own thermostat (``MDALGO = 2``, Nose-Hoover, ``SMASS = 0``, as the
    paper) and stores every step; the protocol's thermostat, relaxation and
    ``trajectory_interval`` fields are for force fields only.

    Parameters
    ----------
    name
        Name of the flow.
    protocol
        Temperatures, time step, equilibration, production chunks and limits, supercell.
        The chains of its ``temperatures`` are built up front and run side by side; each
        of its ``fallback_temperatures`` is a ``aimd fallback <T>K`` job that waits for
        them and adds its own chain only when they leave no Arrhenius fit
        (:func:`sse_flows.md.jobs.vasp_fallback`).
    encut
        Plane-wave cutoff (eV).
    user_incar_settings
        Extra INCAR settings, applied over the paper's.
    user_potcar_functional
        POTCAR set (PBE family).
    run_vasp_kwargs
        Passed to atomate2's ``run_vasp`` (e.g. ``{"vasp_cmd": "srun vasp_gam"}``).
    """

    name: str = "aimd protocol"
    protocol: MDProtocol = field(default_factory=MDProtocol)
    encut: float = 400.0
    user_incar_settings: dict[str, Any] = field(default_factory=dict)
    user_potcar_functional: str = "PBE_54"
    run_vasp_kwargs: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # jobflow hands a serialized maker back with its protocol as a dict
        self.protocol = MDProtocol.from_dict(self.protocol)

    @property
    def engine(self) -> str:
        """The engine name recorded in the documents."""
        return "vasp"

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
            time_step=self.protocol.time_step_fs,
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

    def temperature_chain(self, supercell: Structure, temperature: float) -> list[Job]:
        """The jobs of one temperature: equilibration, the planned production chunks (each
        after the first preceded by a CONTCAR reader) and the decision job, last, whose
        output is the temperature's ``ProductionRecord``."""
        from sse_flows.md.jobs import structure_from_contcar, vasp_production_decision

        protocol = self.protocol
        label = _temperature_label(temperature)
        jobs: list[Job] = []
        previous = None
        if protocol.equilibration_steps > 0:
            previous = self.md_maker(
                f"aimd equilibration {label}", temperature, protocol.equilibration_steps
            ).make(supercell)
            jobs.append(previous)
        chunk_dirs = []
        chunk_steps = protocol.planned_chunks()
        for index, nsteps in enumerate(chunk_steps, start=1):
            maker = self.md_maker(f"aimd production {label} {index}", temperature, nsteps)
            if previous is None:
                chunk = maker.make(supercell)
            else:
                restart = structure_from_contcar(previous.output.dir_name)
                restart.name = f"aimd restart {label} {index}"
                chunk = maker.make(restart.output.structure, prev_dir=previous.output.dir_name)
                jobs.append(restart)
            jobs.append(chunk)
            chunk_dirs.append(chunk.output.dir_name)
            previous = chunk
        decision = vasp_production_decision(self, temperature, chunk_dirs, chunk_steps)
        decision.name = f"aimd decide {label}"
        jobs.append(decision)
        return jobs

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
            Per temperature ``aimd equilibration <T>K``, ``aimd production <T>K 1..n``
            (each chunk after the first preceded by a small job that reads the previous
            CONTCAR with its velocities) and ``aimd decide <T>K``; per fallback temperature
            ``aimd fallback <T>K``; then ``aimd check`` whose output is the ``MDRunDoc``.
        """
        from sse_flows.md.jobs import collect_md, vasp_fallback

        check_md_structure(structure)
        protocol = self.protocol
        supercell = make_md_supercell(structure, protocol.min_lattice_length)
        jobs: list[Job | Flow] = []
        by_temperature = {}
        for temperature in protocol.temperatures:
            chain = self.temperature_chain(supercell, temperature)
            jobs.extend(chain)
            by_temperature[temperature] = chain[-1].output
        for temperature in protocol.fallback_temperatures:
            fallback = vasp_fallback(
                self, temperature, supercell, [by_temperature[t] for t in protocol.temperatures]
            )
            fallback.name = f"aimd fallback {_temperature_label(temperature)}"
            jobs.append(fallback)
            by_temperature[temperature] = fallback.output
        records = [by_temperature[t] for t in protocol.run_temperatures]
        check = collect_md(
            unit_cell=structure,
            cell=MDCellDoc(
                formula=structure.composition.reduced_formula, supercell=supercell.as_dict()
            ),
            records=records,
            protocol=protocol.as_dict(),
            engine="vasp",
            material_id=material_id,
            parameters={"encut": self.encut, "user_incar_settings": self.user_incar_settings},
        )
        check.name = "aimd check"
        jobs.append(check)
        return Flow(jobs, output=check.output, name=f"{self.name} {structure.formula}")


@dataclass
class ForceFieldMdProtocolMaker(Maker):
    """The MD protocol with a universal ML potential for one structure.

    A flow of ``<engine> prepare`` (relaxation and supercell), per temperature a chain of
    ``<engine> md <T>K chunk <n>`` jobs that continues until the protocol's stop rule,
    and ``<engine> collect`` whose output is the ``MDRunDoc``. With
    ``protocol.skip_colder_without_hops`` the hottest chain runs first and the colder
    chains take its record: they are skipped when it saw too few hops. Fallback
    temperatures (``protocol.fallback_temperatures``) take the records of every protocol
    temperature and run only when they leave no Arrhenius fit (the hottest host was
    unstable, or it alone is diffusive). Physics failures and
    crashed runs give a failed document, never an exception.

    Parameters
    ----------
    name
        Name prefix of the jobs (default: the engine).
    protocol
        The MD protocol (default: the paper's; ``MDProtocol.reduced_cpu()`` on a CPU).
    engine
        "chgnet" or "sevennet" (weights ship in their wheels).
    device
        "cpu" or "cuda".
    """

    name: str = ""
    protocol: MDProtocol = field(default_factory=MDProtocol)
    engine: str = DEFAULT_MD_ENGINE
    device: str = "cpu"

    def __post_init__(self) -> None:
        from sse_flows.md.forcefield import engine_names

        self.protocol = MDProtocol.from_dict(self.protocol)
        if self.engine not in engine_names():
            raise ValueError(f"engine must be one of {engine_names()}, got {self.engine!r}")
        self.name = self.name or self.engine

    def make(self, structure: Structure, material_id: str | None = None) -> Flow:
        """The force-field MD flow of one material (output: ``MDRunDoc``)."""
        from sse_flows.md.continuation import hottest_first, needs_hottest
        from sse_flows.md.jobs import collect_md, forcefield_md_chunk, prepare_md_cell

        check_md_structure(structure)
        label = material_id or structure.composition.reduced_formula
        protocol = self.protocol.as_dict()
        prepare = prepare_md_cell(structure, protocol, self.engine, self.device)
        prepare.name = f"{self.name} prepare {label}"
        jobs: list[Job] = [prepare]
        hottest, colder = hottest_first(self.protocol)
        by_temperature = {}
        for temperature in [hottest, *colder]:
            waits = needs_hottest(temperature, self.protocol)
            hotter = by_temperature[hottest] if waits else None
            earlier = (
                [by_temperature[t] for t in self.protocol.temperatures]
                if temperature in self.protocol.fallback_temperatures else None
            )  # fmt: skip
            chunk = forcefield_md_chunk(
                prepare.output, temperature, protocol, self.engine, self.device,
                name_prefix=f"{self.name} md {label}", hotter=hotter, earlier=earlier,
            )
            chunk.name = f"{self.name} md {label} {temperature:g}K chunk 1"
            jobs.append(chunk)
            by_temperature[temperature] = chunk.output
        records = [by_temperature[t] for t in self.protocol.run_temperatures]
        collect = collect_md(
            unit_cell=structure,
            cell=prepare.output,
            records=records,
            protocol=protocol,
            engine=self.engine,
            material_id=material_id,
            parameters={"device": self.device},
        )
        collect.name = f"{self.name} collect {label}"
        jobs.append(collect)
        return Flow(jobs, output=collect.output, name=f"{self.name} md {label}")


def md_maker(
    engine: str = DEFAULT_MD_ENGINE, protocol: MDProtocol | None = None, **kwargs: Any
) -> AimdProtocolMaker | ForceFieldMdProtocolMaker:
    """The MD protocol maker of an engine.

    Parameters
    ----------
    engine
        "chgnet", "sevennet" (force fields, run anywhere) or "vasp" (AIMD, cluster).
    protocol
        The MD protocol (default: the paper's).
    **kwargs
        Further maker fields (``device`` for force fields; ``encut``,
        ``user_incar_settings``, ``run_vasp_kwargs`` for VASP).
    """
    protocol = protocol or MDProtocol()
    if engine == "vasp":
        return AimdProtocolMaker(protocol=protocol, **kwargs)
    if engine not in MD_ENGINES:
        raise ValueError(f"engine must be one of {MD_ENGINES}, got {engine!r}")
    return ForceFieldMdProtocolMaker(protocol=protocol, engine=engine, **kwargs)
