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
   temperature, so ``sse-flows analyze`` reads the files without options, and the run id,
   the chunk's first production step, its steps and the seed, so ``analyze`` joins the
   chunks of one run and keeps other runs apart as replicas). A chunk starts from the
   last frame of the previous one, velocities included.

The calculators come from atomate2's ``ase_calculator`` (the names atomate2 users know);
their weights ship in their wheels (nothing downloads at run time).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import hashlib
import json
import logging
import time
import uuid
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


#: Optimizer steps between two checkpoints of a relaxation: an interrupt loses at most these.
RELAX_CHECKPOINT_STEPS = 10

#: Bumped when the relaxation changes in a way that makes stored results stale.
RELAX_CACHE_VERSION = 1


def relaxation_cache_dir() -> Path:
    """Where relaxed cells and relaxation checkpoints are kept:
    ``$SSE_FLOWS_HOME/md/relaxations`` (shared by every job and rerun of this home)."""
    from sse_flows.settings import get_settings

    return get_settings().HOME / "md" / "relaxations"


@dataclasses.dataclass(frozen=True)
class RelaxationCache:
    """Relaxed cells and optimizer checkpoints in one folder, keyed by the relaxation's
    inputs (:meth:`key`). Every file is written whole (temporary file, then rename), so an
    interrupt never leaves a half-written one.

    Parameters
    ----------
    folder
        The folder (created on the first write).
    """

    folder: Path

    @staticmethod
    def key(oriented: Structure, engine: str, protocol: MDProtocol) -> str:
        """SHA-256 of what the relaxed cell depends on: the oriented input cell, the
        engine and its model, ``relax_fmax``, ``relax_max_steps`` and
        :data:`RELAX_CACHE_VERSION`."""
        payload = json.dumps(
            {
                "structure": oriented.as_dict(),
                "engine": engine,
                "model": FORCE_FIELDS.get(engine),
                "relax_fmax": protocol.relax_fmax,
                "relax_max_steps": protocol.relax_max_steps,
                "version": RELAX_CACHE_VERSION,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def result_path(self, key: str) -> Path:
        """The finished relaxation of ``key``."""
        return Path(self.folder) / f"{key}.json"

    def checkpoint_path(self, key: str) -> Path:
        """The last checkpoint of an unfinished relaxation of ``key``."""
        return Path(self.folder) / f"{key}.checkpoint.json"

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):  # missing, or unreadable: relax again
            return None

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        from sse_flows.data.writers import write_text_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(data))

    def load_result(self, key: str) -> tuple[Structure, RelaxationDoc] | None:
        """The stored relaxed cell and its document, or None."""
        data = self._read(self.result_path(key))
        if data is None:
            return None
        try:
            return (Structure.from_dict(data["structure"]),
                    RelaxationDoc.model_validate(data["relaxation"]))
        except (KeyError, TypeError, ValueError):
            return None

    def save_result(self, key: str, structure: Structure, doc: RelaxationDoc) -> None:
        """Store a finished relaxation and drop its checkpoint."""
        self._write(self.result_path(key), {
            "structure": structure.as_dict(), "relaxation": doc.model_dump(mode="json"),
        })
        self.checkpoint_path(key).unlink(missing_ok=True)

    def load_checkpoint(self, key: str) -> dict[str, Any] | None:
        """The last checkpoint of ``key`` (see :func:`relax_for_md`), or None."""
        return self._read(self.checkpoint_path(key))

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        """Replace the checkpoint of ``key``."""
        self._write(self.checkpoint_path(key), state)


def _optimizer_state(atoms, cell_filter, optimizer, before: dict[str, float]) -> dict[str, Any]:
    """Everything a FIRE + FrechetCellFilter relaxation needs to go on exactly: the atoms,
    the filter's reference cell and FIRE's velocity, step size, mixing and counters."""
    return {
        "nsteps": int(optimizer.nsteps),
        "positions": atoms.get_positions().tolist(),
        "cell": np.asarray(atoms.cell[:]).tolist(),
        "orig_cell": np.asarray(cell_filter.orig_cell).tolist(),
        "vel": None if optimizer.vel is None else np.asarray(optimizer.vel).tolist(),
        "dt": float(optimizer.dt),
        "a": float(optimizer.a),
        "Nsteps": int(optimizer.Nsteps),
        "before": before,
    }


#: What a usable checkpoint holds (one without them is ignored: the relaxation restarts).
_CHECKPOINT_FIELDS = {"nsteps", "positions", "cell", "orig_cell", "vel", "dt", "a", "Nsteps",
                      "before"}


def _restore(atoms, cell_filter, optimizer, state: dict[str, Any]) -> None:
    """Put a relaxation back where :func:`_optimizer_state` saw it."""
    atoms.set_cell(np.asarray(state["cell"]), scale_atoms=False)
    atoms.set_positions(np.asarray(state["positions"]))
    cell_filter.orig_cell = np.asarray(state["orig_cell"])
    optimizer.vel = None if state["vel"] is None else np.asarray(state["vel"])
    optimizer.dt, optimizer.a = float(state["dt"]), float(state["a"])
    optimizer.Nsteps, optimizer.nsteps = int(state["Nsteps"]), int(state["nsteps"])


def relax_for_md(
    structure: Structure,
    calculator,
    protocol: MDProtocol,
    engine: str | None = None,
    cache: RelaxationCache | None = None,
) -> tuple[Structure, RelaxationDoc]:
    """Relax cell and positions with the MD potential (after the right-handed rotation).

    With a ``cache`` (and the ``engine`` that names the potential), the relaxation is
    resumable and done once: the optimizer state is checkpointed every
    :data:`RELAX_CHECKPOINT_STEPS` steps, a later call with the same inputs goes on from
    the last checkpoint (an interrupt loses at most that many steps; the path is the
    uninterrupted one), and a finished relaxation is returned from the cache without a
    single optimizer step.

    Parameters
    ----------
    structure
        The ordered unit cell.
    calculator
        The ASE calculator of the potential.
    protocol
        ``relax_fmax`` and ``relax_max_steps``.
    engine
        Name of the potential ("chgnet", "sevennet"): part of the cache key.
    cache
        Where results and checkpoints are kept (None: neither).

    Returns
    -------
    tuple
        (relaxed structure, what the relaxation did).
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE
    from ase.units import GPa

    if cache is not None and engine is None:
        raise ValueError("a relaxation cache needs the engine name (part of its key)")
    oriented = standard_orientation(structure)
    key = None if cache is None else cache.key(oriented, engine, protocol)
    if cache is not None and (stored := cache.load_result(key)) is not None:
        relaxed, doc = stored
        return relaxed, doc.model_copy(update={"from_cache": True})
    atoms = _atoms(oriented, calculator)
    n = len(atoms)
    cell_filter = FrechetCellFilter(atoms)
    optimizer = FIRE(cell_filter, logfile=None)
    state = None if cache is None else cache.load_checkpoint(key)
    if state is not None and _CHECKPOINT_FIELDS <= set(state) and len(state["positions"]) == n:
        before = state["before"]
        _restore(atoms, cell_filter, optimizer, state)
        logger.info("relaxation resumed at step %d of %s", optimizer.nsteps, key[:12])
    else:
        state = None
        before = {
            "energy_per_atom": float(atoms.get_potential_energy()) / n,
            "pressure_GPa": float(-np.trace(atoms.get_stress(voigt=False)) / 3 / GPa),
            "volume": float(atoms.get_volume()),
        }
    resumed_from = None if state is None else int(state["nsteps"])
    if cache is not None:
        def checkpoint() -> None:
            if optimizer.nsteps and optimizer.nsteps != resumed_from:
                cache.save_checkpoint(
                    key, _optimizer_state(atoms, cell_filter, optimizer, before)
                )

        optimizer.attach(checkpoint, interval=RELAX_CHECKPOINT_STEPS)
    with quiet_negligible_logm_warnings():
        optimizer.run(fmax=protocol.relax_fmax,
                      steps=max(0, protocol.relax_max_steps - optimizer.nsteps))
    forces = atoms.get_forces()
    max_force = float(np.linalg.norm(forces, axis=1).max())
    relaxed = Structure(
        atoms.cell[:], oriented.species, atoms.get_scaled_positions(wrap=True),
    )
    doc = RelaxationDoc(
        converged=max_force <= protocol.relax_fmax,
        steps=int(optimizer.nsteps),
        max_force_eV_A=max_force,
        energy_per_atom_before=before["energy_per_atom"],
        energy_per_atom_after=float(atoms.get_potential_energy()) / n,
        volume_change=float(atoms.get_volume() / before["volume"] - 1.0),
        pressure_before_GPa=before["pressure_GPa"],
        resumed_from_step=resumed_from,
    )
    if cache is not None:
        cache.save_result(key, relaxed, doc)
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


def ensure_run_id(record: ProductionRecord) -> str:
    """The run id of a temperature's production, drawn (uuid4) at its first chunk and kept
    on the record, so every chunk file of the run carries the same id."""
    if record.run_id is None:
        record.run_id = uuid.uuid4().hex
    return record.run_id


def production_writer(
    path: Path,
    protocol: MDProtocol,
    temperature: float,
    chunk: int,
    run_id: str | None = None,
    step_offset: int | None = None,
    n_steps: int | None = None,
):
    """An ASE trajectory writer for one production chunk (every engine).

    Its description holds what the analysis readers take the frame interval and
    temperature from, and what proves chunks to be one run: the run id, the chunk's first
    production step (``step_offset``), its steps and the protocol's seed
    (:data:`sse_flows.analysis.readers.RUN_ID_KEYS`).
    """
    from ase import units
    from ase.io.trajectory import Trajectory

    description: dict[str, Any] = {
        "type": "molecular-dynamics",
        "md-type": protocol.thermostat,
        "timestep": protocol.time_step_fs * units.fs,
        "interval": protocol.trajectory_interval,
        "temperature_K": temperature,
        "chunk": chunk,
        "seed": protocol.seed,
    }
    optional = {"run_id": run_id, "step_offset": step_offset, "n_steps": n_steps}
    description.update({key: value for key, value in optional.items() if value is not None})
    writer = Trajectory(str(path), "w")
    writer.set_description(description)
    return writer


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
    run_id = ensure_run_id(record)
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
        run_production_chunk(atoms, temperature, protocol, n_steps, path, chunk, run_id,
                             record.production_steps)
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
    structure: Structure,
    protocol: MDProtocol,
    calculator,
    engine: str | None = None,
    cache_dir: Path | None = None,
) -> tuple[Structure, RelaxationDoc | None]:
    """Relaxed (when the protocol says so) MD supercell of a unit cell.

    With ``engine`` the relaxation is checkpointed and cached in ``cache_dir`` (default
    :func:`relaxation_cache_dir`): a rerun after an interrupt goes on from the last
    checkpoint, and the same cell, engine and settings relax once.
    """
    check_md_structure(structure)
    relaxation = None
    if protocol.relax:
        cache = None if engine is None else RelaxationCache(
            Path(cache_dir) if cache_dir is not None else relaxation_cache_dir()
        )
        structure, relaxation = relax_for_md(structure, calculator, protocol, engine, cache)
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
    supercell, relaxation = prepare_supercell(structure, protocol, calculator, engine)
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
