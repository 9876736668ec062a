"""The MD protocol with a universal ML potential (CHGNet, SevenNet), driven through ASE.

Per material: the unit cell is put on a right-handed basis and relaxed (cell and positions,
``FrechetCellFilter`` + FIRE) with the same potential; the MD supercell (all lengths
>= ``min_lattice_length``) is built from the relaxed cell. Per temperature:

1. Maxwell-Boltzmann velocities (seeded), then equilibration with the
   ``equilibration_thermostat`` (Langevin, 10/ps): extended by up to two more blocks until
   the mean kinetic temperature of its second half is within ``temperature_tolerance``;
2. production with the ``thermostat`` (Bussi velocity rescaling, taut 100 fs) in
   restartable chunks, each written to its own ASE ``.traj`` file (positions, momenta,
   potential energy; the description records the time step, the frame interval and the
   temperature, so ``sse-flows analyze`` reads the files without options). A chunk starts
   from the last frame of the previous one, velocities included.

The calculators come from atomate2's ``ase_calculator`` (the names atomate2 users know);
their weights ship in their wheels (nothing downloads at run time).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Structure

from sse_flows.md.protocol import (
    DEFAULT_MD_ENGINE,
    MDProtocol,
    check_md_structure,
    make_md_supercell,
    standard_orientation,
)
from sse_flows.md.schemas import ProductionRecord, RelaxationDoc

logger = logging.getLogger(__name__)

#: Force fields whose weights ship in their wheel (engine name -> atomate2 MLFF name, kwargs).
FORCE_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    "chgnet": ("CHGNet", {}),
    "sevennet": ("SevenNet", {"model": "7net-0"}),
}

#: Largest |volume change| a relaxation may make before the potential is distrusted.
MAX_RELAX_VOLUME_CHANGE = 0.25


def engine_names() -> tuple[str, ...]:
    """Force-field engine names accepted everywhere (CLI, flow, makers)."""
    return tuple(FORCE_FIELDS)


@functools.lru_cache(maxsize=4)
def load_calculator(engine: str = DEFAULT_MD_ENGINE, device: str = "cpu"):
    """The ASE calculator of a force-field engine (loaded once per process).

    Parameters
    ----------
    engine
        "chgnet" or "sevennet".
    device
        "cpu" or "cuda".
    """
    import warnings

    from atomate2.forcefields.utils import ase_calculator

    if engine not in FORCE_FIELDS:
        raise ValueError(f"unknown force-field engine {engine!r}; use one of {engine_names()}")
    name, kwargs = FORCE_FIELDS[engine]
    device_key = "use_device" if engine == "chgnet" else "device"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ase_calculator(name, **kwargs, **{device_key: device})


def forces_only(calculator):
    """The calculator for NVT MD: energy and forces, without the stress (and magmoms).

    CHGNet's ASE calculator always predicts ``efsm``: the stress is a second backward pass
    through the network, ~35 % of a step's time, and NVT never uses it. This returns a
    shallow copy (same model, own results) whose ``calculate`` asks CHGNet for ``ef``
    only; other calculators are returned unchanged. The relaxation, which needs the
    stress, keeps the full calculator.
    """
    try:
        from chgnet.model.dynamics import CHGNetCalculator
    except ImportError:  # pragma: no cover - chgnet is a dependency
        return calculator
    if not isinstance(calculator, CHGNetCalculator):
        return calculator
    md_calculator = copy.copy(calculator)
    md_calculator.results = {}
    md_calculator.atoms = None
    md_calculator.calculate = functools.partial(
        CHGNetCalculator.calculate, md_calculator, task="ef"
    )
    return md_calculator


def _atoms(structure: Structure, calculator):
    atoms = structure.to_ase_atoms()
    atoms.calc = calculator
    return atoms


#: scipy's ``logm`` warning when its error estimate is below 1e-9 (exponent -10 or lower).
#: FrechetCellFilter takes the matrix logarithm of the cell deformation at every step;
#: errors of ~4e-13 are reported dozens of times per relaxation and mean nothing. Larger
#: errors still warn.
NEGLIGIBLE_LOGM_WARNING = (
    r"logm result may be inaccurate, approximate err = [0-9.]+e-(1\d|[2-9]\d|\d{3})$"
)


@contextlib.contextmanager
def quiet_negligible_logm_warnings():
    """Silence :data:`NEGLIGIBLE_LOGM_WARNING` inside the block (nothing else)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NEGLIGIBLE_LOGM_WARNING, category=RuntimeWarning)
        yield


def relax_for_md(
    structure: Structure, calculator, protocol: MDProtocol
) -> tuple[Structure, RelaxationDoc]:
    """Relax cell and positions with the MD potential (after the right-handed rotation).

    Parameters
    ----------
    structure
        The ordered unit cell.
    calculator
        The ASE calculator of the potential.
    protocol
        ``relax_fmax`` and ``relax_max_steps``.

    Returns
    -------
    tuple
        (relaxed structure, what the relaxation did).
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE
    from ase.units import GPa

    oriented = standard_orientation(structure)
    atoms = _atoms(oriented, calculator)
    n = len(atoms)
    e_before = float(atoms.get_potential_energy()) / n
    pressure = float(-np.trace(atoms.get_stress(voigt=False)) / 3 / GPa)
    v_before = atoms.get_volume()
    optimizer = FIRE(FrechetCellFilter(atoms), logfile=None)
    with quiet_negligible_logm_warnings():
        optimizer.run(fmax=protocol.relax_fmax, steps=protocol.relax_max_steps)
    forces = atoms.get_forces()
    max_force = float(np.linalg.norm(forces, axis=1).max())
    relaxed = Structure(
        atoms.cell[:], oriented.species, atoms.get_scaled_positions(wrap=True),
    )
    doc = RelaxationDoc(
        converged=max_force <= protocol.relax_fmax,
        steps=int(optimizer.nsteps),
        max_force_eV_A=max_force,
        energy_per_atom_before=e_before,
        energy_per_atom_after=float(atoms.get_potential_energy()) / n,
        volume_change=float(atoms.get_volume() / v_before - 1.0),
        pressure_before_GPa=pressure,
    )
    return relaxed, doc


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


def run_seed(protocol: MDProtocol, temperature: float, chunk: int) -> int:
    """Seed of one stage of one temperature's run: 0 the initial velocities, 1000 + block
    the equilibration blocks, the chunk number each production chunk (every engine)."""
    return (protocol.seed or 0) * 1_000_003 + int(temperature) * 101 + chunk


def equilibration_tolerance(
    temperature: float, n_atoms: int, window_fs: float, protocol: MDProtocol
) -> float:
    """Largest |<T> - T_target| (K) accepted at the end of an equilibration block.

    The protocol's tolerance, widened by two standard errors of a canonical mean over the
    window: the kinetic temperature of N atoms fluctuates by T sqrt(2 / 3N), and a window
    holds about one independent sample per 50 fs (Langevin at 10/ps decorrelates that
    fast). A 0.15 ps window of 128 atoms cannot resolve 5 % better than that; the stored
    production check (``temperature_within_tolerance``) uses the whole production.
    """
    independent = max(1.0, window_fs / 50.0)
    spread = temperature * np.sqrt(2.0 / (3.0 * n_atoms)) / np.sqrt(independent)
    return protocol.temperature_tolerance * temperature + 2.0 * spread


def equilibration_settled(
    mean: float, temperature: float, n_atoms: int, protocol: MDProtocol
) -> bool:
    """True when a block's second-half mean temperature is within
    :func:`equilibration_tolerance` of the target."""
    steps = protocol.equilibration_steps
    window_fs = (steps - steps // 2) * protocol.time_step_fs
    return bool(abs(mean - temperature) <= equilibration_tolerance(
        temperature, n_atoms, window_fs, protocol
    ))


def thermalize(atoms, temperature: float, protocol: MDProtocol) -> None:
    """Seeded Maxwell-Boltzmann momenta without centre-of-mass motion: the start of every
    run at ``temperature`` (every engine)."""
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    thermalize_momenta(
        atoms, temperature, rng=np.random.default_rng(run_seed(protocol, temperature, 0))
    )
    Stationary(atoms)


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


def production_path(workdir: Path, temperature: float, chunk: int) -> Path:
    """The trajectory file of one production chunk (every engine)."""
    return Path(workdir) / f"production_{temperature:g}K_{chunk:03d}.traj"


def production_writer(path: Path, protocol: MDProtocol, temperature: float, chunk: int):
    """An ASE trajectory writer for one production chunk, with the description the
    analysis readers take the frame interval and temperature from (every engine)."""
    from ase import units
    from ase.io.trajectory import Trajectory

    writer = Trajectory(str(path), "w")
    writer.set_description(
        {
            "type": "molecular-dynamics",
            "md-type": protocol.thermostat,
            "timestep": protocol.time_step_fs * units.fs,
            "interval": protocol.trajectory_interval,
            "temperature_K": temperature,
            "chunk": chunk,
        }
    )
    return writer


def run_production_chunk(
    atoms, temperature: float, protocol: MDProtocol, n_steps: int, path: Path, chunk: int
) -> float:
    """Run one production chunk, writing frames to ``path``; returns the wall time (s)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    dyn = _dynamics(
        atoms, protocol.thermostat, temperature, protocol, run_seed(protocol, temperature, chunk)
    )
    writer = production_writer(path, protocol, temperature, chunk)

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
    (:func:`sse_flows.md.continuation.production_decision`).
    """
    from sse_flows.md.continuation import production_decision

    workdir.mkdir(parents=True, exist_ok=True)
    record = record.model_copy(deep=True) if record else ProductionRecord(temperature=temperature)
    chunk = record.chunks + 1
    n_steps = protocol.next_chunk_steps(record.production_steps)
    path = production_path(workdir, temperature, chunk)
    start = time.perf_counter()
    calculator = forces_only(calculator)
    try:
        if record.chunks == 0:
            atoms = _atoms(supercell, calculator)
            steps, mean, settled = equilibrate(atoms, temperature, protocol)
            record.equilibration_steps = steps
            record.equilibration_mean_temperature_K = mean
            record.equilibrated = settled
        else:
            atoms = _last_frame(record.files[-1], calculator)
        run_production_chunk(atoms, temperature, protocol, n_steps, path, chunk)
    except Exception as exc:  # noqa: BLE001 - a crashed MD is a failed run, not a crash
        logger.exception("MD at %s K failed", temperature)
        record.error = f"MD crashed: {type(exc).__name__}: {exc}"
        record.elapsed_s += time.perf_counter() - start
        return production_decision(record, protocol)
    record.files.append(str(path))
    record.production_steps += n_steps
    record.chunks = chunk
    record.elapsed_s += time.perf_counter() - start
    return production_decision(record, protocol)


def prepare_supercell(
    structure: Structure, protocol: MDProtocol, calculator
) -> tuple[Structure, RelaxationDoc | None]:
    """Relaxed (when the protocol says so) MD supercell of a unit cell."""
    check_md_structure(structure)
    relaxation = None
    if protocol.relax:
        structure, relaxation = relax_for_md(structure, calculator, protocol)
    return make_md_supercell(structure, protocol.min_lattice_length), relaxation


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
    functions as separate, restartable jobs.

    Returns
    -------
    MDRunDoc
    """
    from sse_flows.md.documents import make_md_run_doc

    protocol = protocol or MDProtocol()
    calculator = load_calculator(engine, device)
    supercell, relaxation = prepare_supercell(structure, protocol, calculator)
    workdir = Path(workdir).resolve()
    from sse_flows.md.continuation import (
        extension_protocol,
        extension_temperature,
        hottest_first,
        skip_colder,
    )

    hottest, colder = hottest_first(protocol)
    by_temperature = {}
    for temperature in [hottest, *colder]:
        record = skip_colder(temperature, by_temperature.get(hottest), protocol, by_temperature)
        while record is None or record.stop_reason is None:
            record = md_chunk(supercell, temperature, protocol, workdir, calculator, record)
            if progress:
                print(  # noqa: T201 - progress line of a long run
                    f"  {temperature:g} K chunk {record.chunks}: {record.production_steps} "
                    f"steps, hops {record.li_hops}, stop: {record.stop_reason}", flush=True,
                )
        by_temperature[temperature] = record
    def document(current: MDProtocol):
        return make_md_run_doc(
            engine=engine,
            unit_cell=structure,
            supercell=supercell,
            records=[by_temperature[t] for t in protocol.run_temperatures],
            protocol=current,
            material_id=material_id,
            relaxation=relaxation,
            parameters={"device": device, "workdir": str(workdir)},
        )

    doc = document(protocol)
    current = protocol
    while (temperature := extension_temperature(doc.diffusion, by_temperature, current)):
        current = extension_protocol(by_temperature[temperature], current)
        by_temperature[temperature] = md_chunk(
            supercell, temperature, current, workdir, calculator, by_temperature[temperature]
        )
        if progress:
            print(f"  {temperature:g} K extended (verdict undetermined): "  # noqa: T201
                  f"{by_temperature[temperature].production_steps} steps", flush=True)
        doc = document(current)
    return doc
