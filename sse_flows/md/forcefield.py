"""The one-structure force-field engine: a universal ML potential (CHGNet, SevenNet) through ASE.

:class:`OneStructureEngine` is an :class:`~sse_flows.md.engine.MDEngine`; the protocol
driver (:mod:`sse_flows.md.driver`) runs the protocol over it: :func:`run_forcefield_md`
for a whole material in one process, :func:`md_chunk` for one chunk per jobflow job.

Per material: the unit cell is put on a right-handed basis and relaxed (cell and positions,
``FrechetCellFilter`` + FIRE) with the same potential (:mod:`sse_flows.md.relax`); the MD
supercell (all lengths >= ``min_lattice_length``) is built from the relaxed cell. Per
temperature:

1. Maxwell-Boltzmann velocities (seeded), then equilibration with the
   ``equilibration_thermostat`` (Langevin, 10/ps): extended by up to two more blocks until
   the mean kinetic temperature of its second half is within ``temperature_tolerance``;
2. production with the ``thermostat`` (Bussi velocity rescaling, taut 100 fs) in
   restartable chunks, each written to its own ASE ``.traj`` file (positions, momenta,
   potential energy; the description records the time step, the frame interval and the
   temperature, so ``sse-flows analyze`` reads the files without options, and the run id,
   the chunk's first production step, its steps and the seed, so ``analyze`` joins the
   chunks of one run and keeps other runs apart as replicas). A chunk starts from the
   last frame of the previous one, velocities included.

The calculators come from atomate2's ``ase_calculator`` (the names atomate2 users know;
:mod:`sse_flows.md.potentials`); their weights ship in their wheels (nothing downloads at
run time). Which temperatures run, when production stops and the extension rounds are the
driver's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Structure

from sse_flows.md.driver import run_chunks, run_protocol
from sse_flows.md.engine import (  # noqa: F401 - also this module's names (engines, tests)
    MDRun,
    Program,
    ensure_run_id,
    equilibration_settled,
    equilibration_tolerance,
    production_path,
    production_writer,
    run_seed,
    thermalize,
)
from sse_flows.md.potentials import (  # noqa: F401 - also this module's names
    FORCE_FIELDS,
    engine_names,
    forces_only,
    load_calculator,
)
from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol
from sse_flows.md.relax import (  # noqa: F401 - also this module's names
    NEGLIGIBLE_LOGM_WARNING,
    RELAX_CACHE_VERSION,
    RELAX_CHECKPOINT_STEPS,
    RelaxationCache,
    _atoms,
    prepare_supercell,
    quiet_negligible_logm_warnings,
    relax_for_md,
    relaxation_cache_dir,
)
from sse_flows.md.schemas import ProductionRecord

logger = logging.getLogger(__name__)

def _dynamics(atoms, thermostat: str, temperature: float, protocol: MDProtocol, seed: int):
    from ase import units

    dt = protocol.time_step_fs * units.fs
    rng = np.random.default_rng(seed)
    if thermostat == "bussi":
        from ase.md.bussi import Bussi

        return Bussi(
            atoms, dt, temperature_K=temperature, taut=protocol.thermostat_time_fs * units.fs,
            rng=rng,
        )
    if thermostat == "langevin":
        from ase.md.langevin import Langevin

        friction = protocol.langevin_friction_per_ps * 1e-3 / units.fs
        # fixcm=False: ASE's centre-of-mass fix biases the NVT sampling; the analysis removes
        # the drift of the framework anyway
        return Langevin(
            atoms, dt, temperature_K=temperature, friction=friction, rng=rng, fixcm=False
        )
    if thermostat == "nose-hoover-chain":
        from ase.md.nose_hoover_chain import NoseHooverChainNVT

        return NoseHooverChainNVT(
            atoms, dt, temperature_K=temperature, tdamp=protocol.thermostat_time_fs * units.fs
        )
    raise ValueError(f"unknown thermostat {thermostat!r}")


def equilibrate(atoms, temperature: float, protocol: MDProtocol) -> tuple[int, float, bool]:
    """Seeded velocities, then equilibration blocks until the temperature has settled.

    Returns
    -------
    tuple
        (steps run, mean kinetic temperature of the last block's second half, settled).
    """
    thermalize(atoms, temperature, protocol)
    steps = protocol.equilibration_steps
    if steps == 0:
        return 0, float(atoms.get_temperature()), True
    done, mean, settled = 0, float("nan"), False
    for block in range(3):
        dyn = _dynamics(
            atoms, protocol.equilibration_thermostat, temperature, protocol,
            run_seed(protocol, temperature, 1000 + block),
        )
        samples: list[float] = []
        every = max(1, steps // 200)

        def sample(samples=samples, dyn=dyn, every=every) -> None:
            if dyn.nsteps >= steps // 2:
                samples.append(float(atoms.get_temperature()))

        dyn.attach(sample, interval=every)
        dyn.run(steps)
        done += steps
        mean = float(np.mean(samples)) if samples else float(atoms.get_temperature())
        settled = equilibration_settled(mean, temperature, len(atoms), protocol)
        if settled:
            break
        logger.info("%g K: equilibration block %d ended at %.0f K; extending", temperature,
                    block + 1, mean)
    return done, mean, settled


def run_production_chunk(
    atoms,
    temperature: float,
    protocol: MDProtocol,
    n_steps: int,
    path: Path,
    chunk: int,
    run_id: str | None = None,
    step_offset: int | None = None,
) -> float:
    """Run one production chunk, writing frames to ``path``; returns the wall time (s).

    ``run_id`` and ``step_offset`` (production steps before this chunk) go into the file's
    description (:func:`production_writer`).
    """
    from ase.calculators.singlepoint import SinglePointCalculator

    dyn = _dynamics(
        atoms, protocol.thermostat, temperature, protocol, run_seed(protocol, temperature, chunk)
    )
    writer = production_writer(path, protocol, temperature, chunk, run_id, step_offset, n_steps)

    def write() -> None:
        frame = atoms.copy()
        frame.calc = SinglePointCalculator(frame, energy=float(atoms.get_potential_energy()))
        writer.write(frame)

    dyn.attach(write, interval=protocol.trajectory_interval)
    start = time.perf_counter()
    try:
        dyn.run(n_steps)
    finally:
        writer.close()
    return time.perf_counter() - start


def _last_frame(path: str, calculator):
    from ase.io import read

    atoms = read(path, index=-1)
    momenta = atoms.get_momenta()
    atoms.calc = calculator
    atoms.set_momenta(momenta)
    return atoms


@dataclass
class _Run(MDRun):
    """A run of the one-structure engine: its supercell, and its atoms between the
    equilibration and the first production chunk (later chunks start from the last frame
    written, as a chunk in a new jobflow job does)."""

    supercell: Structure | None = None
    atoms: Any = None


class OneStructureEngine:
    """The one-structure engine (:class:`~sse_flows.md.engine.MDEngine`): ASE's integrators
    with an ASE calculator, one run after the other, each run stepped to the end of a chunk
    in one go (its programs never yield).

    Parameters
    ----------
    calculator
        The ASE calculator of the potential (the MD drops the stress: :func:`forces_only`).
    name
        The engine's name ("chgnet", "sevennet"): the relaxation cache key and the
        documents' engine; None: relaxations are not cached.
    cache_dir
        Folder of the relaxation cache (default :func:`relaxation_cache_dir`).
    """

    def __init__(self, calculator, name: str | None = None, cache_dir: Path | None = None):
        self.calculator = calculator
        self.name = name
        self.cache_dir = cache_dir

    def prepare(self, structure: Structure, protocol: MDProtocol, folder: Path | None = None):
        """:func:`prepare_supercell` (the relaxation cached when the engine has a name)."""
        return prepare_supercell(structure, protocol, self.calculator, self.name, self.cache_dir)

    def saved_record(self, supercell, temperature, workdir, protocol) -> None:
        """None: a jobflow job carries its record itself (no checkpoint files)."""
        return None

    def start(self, index: int, supercell: Structure, temperature: float, workdir: Path,
              record: ProductionRecord) -> _Run:
        """A run writing to ``workdir`` (created now), going on from ``record``."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        ensure_run_id(record)
        return _Run(index=index, temperature=temperature, workdir=workdir, record=record,
                    supercell=supercell)

    def equilibrate(self, run: _Run, protocol: MDProtocol) -> Program:
        """:func:`equilibrate` on the supercell's atoms, kept for the first chunk."""
        record = run.record
        start = time.perf_counter()
        try:
            atoms = _atoms(run.supercell, forces_only(self.calculator))
            steps, mean, settled = equilibrate(atoms, run.temperature, protocol)
            record.equilibration_steps = steps
            record.equilibration_mean_temperature_K = mean
            record.equilibrated = settled
            run.atoms = atoms
        except Exception as exc:  # noqa: BLE001 - a crashed MD is a failed run, not a crash
            logger.exception("MD at %s K failed", run.temperature)
            record.error = f"MD crashed: {type(exc).__name__}: {exc}"
        record.elapsed_s += time.perf_counter() - start
        yield from ()

    def production_chunk(self, run: _Run, protocol: MDProtocol) -> Program:
        """:func:`run_production_chunk` from the equilibrated atoms, or from the last frame
        of the record's last file."""
        record = run.record
        chunk = record.chunks + 1
        n_steps = protocol.next_chunk_steps(record.production_steps)
        path = production_path(run.workdir, run.temperature, chunk)
        start = time.perf_counter()
        try:
            atoms, run.atoms = run.atoms, None
            if atoms is None:
                atoms = _last_frame(record.files[-1], forces_only(self.calculator))
            run_production_chunk(atoms, run.temperature, protocol, n_steps, path, chunk,
                                 ensure_run_id(record), record.production_steps)
        except Exception as exc:  # noqa: BLE001 - a crashed MD is a failed run, not a crash
            logger.exception("MD at %s K failed", run.temperature)
            record.error = f"MD crashed: {type(exc).__name__}: {exc}"
            record.elapsed_s += time.perf_counter() - start
            return
        record.files.append(str(path))
        record.production_steps += n_steps
        record.chunks = chunk
        record.elapsed_s += time.perf_counter() - start
        yield from ()

    def chunk_finished(self, run: _Run, protocol: MDProtocol) -> None:
        """Nothing: the record is the checkpoint."""

    def execute(self, programs, on_finish) -> None:
        """Each program to its end, in the given order."""
        for run, program in programs:
            for _ in program:
                pass
            on_finish(run)


def md_chunk(
    supercell: Structure,
    temperature: float,
    protocol: MDProtocol,
    workdir: Path,
    calculator,
    record: ProductionRecord | None = None,
) -> ProductionRecord:
    """One restartable step of the per-temperature protocol; never raises for MD failures.

    The first call equilibrates and runs the first production chunk; later calls continue
    from the last frame of ``record``. The returned record carries the stop decision
    (:func:`sse_flows.md.driver.run_chunks` over the :class:`OneStructureEngine`).
    """
    return run_chunks(OneStructureEngine(calculator), supercell, temperature, Path(workdir),
                      protocol, record)


def run_forcefield_md(
    structure: Structure,
    protocol: MDProtocol | None = None,
    workdir: str | Path = ".",
    material_id: str | None = None,
    engine: str = DEFAULT_MD_ENGINE,
    device: str = "cpu",
    progress: bool = False,
):
    """The whole protocol for one material in this process (no jobflow); never raises
    for MD failures. The jobflow path (:class:`ForceFieldMdProtocolMaker`) runs the same
    engine one chunk per job.

    The :class:`OneStructureEngine` prepares the supercell, and the driver
    (:func:`sse_flows.md.driver.run_protocol`) runs the protocol over it: hottest first,
    colder and fallback temperatures when needed, chunks until the stop decision, the
    extension rounds, the document.

    Returns
    -------
    MDRunDoc
    """
    from sse_flows.md.documents import make_md_run_doc

    protocol = protocol or MDProtocol()
    md_engine = OneStructureEngine(load_calculator(engine, device), engine)
    supercell, relaxation = md_engine.prepare(structure, protocol)
    workdir = Path(workdir).resolve()

    def document(records: list[ProductionRecord], current: MDProtocol):
        return make_md_run_doc(
            engine=engine, unit_cell=structure, supercell=supercell, records=records,
            protocol=current, material_id=material_id, relaxation=relaxation,
            parameters={"device": device, "workdir": str(workdir)},
        )

    def chunk_line(record: ProductionRecord) -> None:
        print(  # noqa: T201 - progress line of a long run
            f"  {record.temperature:g} K chunk {record.chunks}: {record.production_steps} "
            f"steps, hops {record.li_hops}, stop: {record.stop_reason}", flush=True,
        )

    def extension_line(record: ProductionRecord) -> None:
        print(f"  {record.temperature:g} K extended (verdict undetermined): "  # noqa: T201
              f"{record.production_steps} steps", flush=True)

    (doc,) = run_protocol(
        md_engine, [supercell], [workdir], protocol, [document],
        on_decision=chunk_line if progress else None,
        on_extended=extension_line if progress else None,
    )
    return doc
