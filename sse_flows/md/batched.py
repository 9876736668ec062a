"""Batched force-field MD: many (structure, temperature) pairs in one process, one model call
per step for a whole batch.

The one-structure engine (:mod:`sse_flows.md.forcefield`) runs ASE's integrators with an ASE
calculator, one structure at a time. Here (:class:`BatchedEngine`, an
:class:`~sse_flows.md.engine.MDEngine` under the protocol driver :mod:`sse_flows.md.driver`)
the same protocol runs for a list of pairs: each
step, the positions of every pair in a batch go through the potential in *one* batched
forward pass (SevenNet: a ``torch_geometric`` batch of the per-structure graphs; CHGNet:
``CHGNet.predict_graph`` over the batch), and the integrators update every pair from its own
forces.

The integrators replicate ASE's, step for step and random number for random number:

* initial velocities: ASE's ``thermalize_momenta`` + ``Stationary`` with the same seed;
* equilibration: ASE's ``Langevin`` (``fixcm=False``) scheme, blocks extended (up to three)
  until the second-half mean temperature is within
  :func:`~sse_flows.md.engine.equilibration_tolerance`, per pair;
* production: ASE's ``Bussi`` (velocity rescaling, then velocity Verlet), in the protocol's
  restartable chunks, one ``.traj`` per pair and chunk, written exactly as
  :func:`~sse_flows.md.forcefield.run_production_chunk` writes it (same description, frames
  at steps 0, k, 2k, ... of each chunk); after each chunk the driver takes the same
  continue-until decision (:func:`~sse_flows.md.continuation.production_decision`) and the
  engine checkpoints the decided record.

Each pair has its own ``numpy`` random generator seeded as the one-structure engine seeds
it, so a pair's trajectory does not depend on what else is in its batch, and it equals the
one-structure engine's up to float32 round-off of the batched forward pass. The
Nose-Hoover-chain thermostat (``thermostat="nose-hoover-chain"``) is ASE's
``NoseHooverChainNVT`` step around ASE's own chain integrator.

Continuous batching (:func:`_drive`): each pair runs its own protocol (the driver's
:func:`~sse_flows.md.driver.run_program`) as a generator that stops whenever it needs
forces; pairs are admitted largest first while the atoms in flight
stay within ``max_batch_atoms`` (:func:`default_max_batch_atoms`: a constant on CPU; on
CUDA the free device memory times :data:`GPU_MEMORY_FRACTION` over an estimate of the bytes
one atom costs in a forward + backward pass), and a pair that finishes (its continue-until
decision says stop, or it fails) frees its atoms for the next one in the queue at once,
whatever phase the others are in. A pair larger than the budget runs when nothing else
does. Each round, the pairs in flight go through the potential together: on CUDA in one
forward pass, on a CPU one by one (:func:`default_structures_per_pass`: a pass of many
structures costs more per structure there than single passes).

Failures stay with their pair: when a batched forward pass raises, the batch is bisected
until the member(s) that raise are found; a pair whose energy, forces or positions are not
finite, or whose largest force exceeds ``max_force_eV_A`` (atoms collapsing or flying
apart), gets ``error`` on its :class:`~sse_flows.md.schemas.ProductionRecord` and leaves
the batch; the others continue. On a CUDA out-of-memory error the number of structures per
forward pass is halved for the rest of the run.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pymatgen.core import Structure

from sse_flows.data.writers import write_text_atomic
from sse_flows.md.driver import run_runs, run_temperatures
from sse_flows.md.engine import (
    MDRun,
    Program,
    ensure_run_id,
    equilibration_settled,
    production_path,
    production_writer,
    run_seed,
    thermalize,
)
from sse_flows.md.potentials import load_calculator
from sse_flows.md.protocol import NOT_IN_PAIR_KEY, MDProtocol
from sse_flows.md.relax import prepare_in_folder
from sse_flows.md.schemas import ProductionRecord

logger = logging.getLogger(__name__)

#: Most atoms in flight at once on a CPU (throughput saturates well below it; memory is ample).
CPU_MAX_BATCH_ATOMS = 4096

#: Structures per forward pass on a CPU. Measured on 2 cores (24-atom Li2O, 2026-11-30):
#: the cost per structure of one pass grows with the number of structures in it (SevenNet
#: 0.18 s alone, 0.24 s in a pass of 8; CHGNet 0.072 s and 0.087 s), so on a CPU the batch
#: shares its integrator loop but calls the potential structure by structure.
CPU_STRUCTURES_PER_PASS = 1

#: Memory (bytes) one atom costs in a forward + backward pass (graph, edge features,
#: autograd buffers). Measured on CPU (float32, as on a GPU) as the peak RSS growth of one
#: pass over 16 rattled 96-atom Li2O cells: SevenNet-0 5.6 MB/atom, CHGNet 9.5 MB/atom
#: (2026-11-30); rounded up. Not yet checked on a GPU (the CUDA allocator adds its caching
#: on top); denser materials (more neighbours within the cutoff) cost more per atom.
BYTES_PER_ATOM: dict[str, float] = {"sevennet": 6.0e6, "chgnet": 10.0e6}

#: Fraction of the free CUDA memory a batch may plan to use.
GPU_MEMORY_FRACTION = 0.7

#: Largest |force| (eV/A) before a pair is declared failed (atoms collapsing or flying apart).
MAX_FORCE_EV_A = 100.0


class BatchedPotential(Protocol):
    """Energies and forces of many structures in one call.

    ``potential(atoms_list)`` returns ``(energies, forces)``: total energies (eV), shape
    ``(n_structures,)``, and one ``(n_atoms_i, 3)`` force array (eV/A) per structure.
    """

    engine: str

    def __call__(self, atoms_list: Sequence[Any]) -> tuple[np.ndarray, list[np.ndarray]]: ...


class SevenNetBatch:
    """SevenNet over a batch on ``device`` ("cpu" or "cuda"): the per-structure graphs
    (built as SevenNet's ASE calculator builds them) joined into one ``torch_geometric``
    batch, one forward pass.
    """

    engine = "sevennet"

    def __init__(self, device: str = "cpu") -> None:
        from torch_geometric.loader.dataloader import Collater

        calculator = load_calculator("sevennet", device)
        # one structure goes through the calculator's own model in single mode, exactly as
        # the ASE calculator (and so the one-structure engine) evaluates it
        self.single_model = calculator.model
        # a copy: batch mode is a flag on the model, and the ASE calculator needs it off
        self.model = copy.deepcopy(calculator.model)
        self.model.set_is_batch_data(True)
        self.model.eval()
        self.cutoff = calculator.cutoff
        self.modal = getattr(calculator, "modal", None)
        self.device = device
        self._collate = Collater([], follow_batch=None, exclude_keys=None)

    def __call__(self, atoms_list: Sequence[Any]) -> tuple[np.ndarray, list[np.ndarray]]:
        import sevenn._keys as KEY
        from sevenn.atom_graph_data import AtomGraphData
        from sevenn.train.dataload import unlabeled_atoms_to_graph

        graphs = []
        for atoms in atoms_list:
            data = AtomGraphData.from_numpy_dict(
                unlabeled_atoms_to_graph(atoms, self.cutoff, with_shift=False)
            )
            if self.modal:
                data[KEY.DATA_MODALITY] = self.modal
            graphs.append(data)
        if len(graphs) == 1:
            graphs[0].to(self.device)  # type: ignore[attr-defined]
            output = self.single_model(graphs[0])
        else:
            output = self.model(self._collate(graphs).to(self.device))
        energies = output[KEY.PRED_TOTAL_ENERGY].detach().cpu().numpy().astype(float)
        forces = output[KEY.PRED_FORCE].detach().cpu().numpy().astype(float)
        bounds = np.cumsum([0] + [len(atoms) for atoms in atoms_list])
        pieces = [forces[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return energies.reshape(-1), pieces


class CHGNetBatch:
    """CHGNet over a batch on ``device`` ("cpu" or "cuda"): ``predict_graph`` with
    ``task="ef"`` (no stress) on the graphs of all structures at once (the graphs are built as
    CHGNet's ASE calculator builds them).
    """

    engine = "chgnet"

    def __init__(self, device: str = "cpu") -> None:
        self.model = load_calculator("chgnet", device).model

    def __call__(self, atoms_list: Sequence[Any]) -> tuple[np.ndarray, list[np.ndarray]]:
        from pymatgen.io.ase import AseAtomsAdaptor

        structures = [AseAtomsAdaptor.get_structure(atoms) for atoms in atoms_list]
        graphs = [self.model.graph_converter(structure) for structure in structures]
        predictions = self.model.predict_graph(graphs, task="ef", batch_size=len(graphs))
        if isinstance(predictions, dict):
            predictions = [predictions]
        scale = [len(s) if self.model.is_intensive else 1 for s in structures]
        energies = np.array([float(p["e"]) * n for p, n in zip(predictions, scale, strict=True)])
        return energies, [np.asarray(p["f"], dtype=float) for p in predictions]


def load_batched_potential(engine: str = "sevennet", device: str = "cpu") -> BatchedPotential:
    """The batched potential of a force-field engine ("sevennet" or "chgnet")."""
    if engine == "sevennet":
        return SevenNetBatch(device)
    if engine == "chgnet":
        return CHGNetBatch(device)
    raise ValueError(f"no batched potential for engine {engine!r}; use 'sevennet' or 'chgnet'")


def default_max_batch_atoms(engine: str = "sevennet", device: str = "cpu") -> int:
    """Most atoms in flight at once: :data:`CPU_MAX_BATCH_ATOMS` on a CPU; on CUDA
    ``GPU_MEMORY_FRACTION * free memory / BYTES_PER_ATOM[engine]`` (at least 256)."""
    if not str(device).startswith("cuda"):
        return CPU_MAX_BATCH_ATOMS
    import torch

    free, _total = torch.cuda.mem_get_info(torch.device(device))
    per_atom = BYTES_PER_ATOM.get(engine, max(BYTES_PER_ATOM.values()))
    return max(256, int(GPU_MEMORY_FRACTION * free / per_atom))


def default_structures_per_pass(device: str = "cpu") -> int | None:
    """Structures per forward pass: :data:`CPU_STRUCTURES_PER_PASS` on a CPU, None (the whole
    batch in one pass) on CUDA."""
    return None if str(device).startswith("cuda") else CPU_STRUCTURES_PER_PASS


# ------------------------------------------------------------------------------ members
@dataclass
class _Member(MDRun):
    """One (structure, temperature) pair in flight: a run of the batched engine."""

    atoms: Any  # ase.Atoms template (numbers, cell, masses), never given a calculator
    positions: np.ndarray = field(init=False)
    momenta: np.ndarray = field(init=False)
    masses: np.ndarray = field(init=False)
    energy: float | None = None
    forces: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.positions = np.array(self.atoms.get_positions(), dtype=float)
        self.momenta = np.zeros_like(self.positions)
        self.masses = np.array(self.atoms.get_masses(), dtype=float)[:, None]

    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    def fail(self, message: str) -> None:
        logger.warning("pair %d (%g K) failed: %s", self.index, self.temperature, message)
        self.record.error = message

    def kinetic_energy(self) -> float:
        return float(0.5 * np.vdot(self.momenta, self.momenta / self.masses))

    def temperature_now(self) -> float:
        from ase import units

        return 2.0 * self.kinetic_energy() / (3 * self.n_atoms * units.kB)

    def frame(self):
        """The current state as the ASE frame ``run_production_chunk`` writes."""
        from ase.calculators.singlepoint import SinglePointCalculator

        frame = self.atoms.copy()
        frame.set_positions(self.positions)
        frame.set_momenta(self.momenta)
        frame.calc = SinglePointCalculator(frame, energy=float(self.energy))
        return frame


class _Langevin:
    """ASE's ``Langevin`` step (``fixcm=False``) for one member."""

    def __init__(self, member: _Member, temperature: float, protocol: MDProtocol, seed: int):
        from ase import units

        dt = protocol.time_step_fs * units.fs
        fr = protocol.langevin_friction_per_ps * 1e-3 / units.fs
        sigma = np.sqrt(2 * units.kB * temperature * fr / member.masses)
        self.dt = dt
        self.c1 = dt / 2.0 - dt * dt * fr / 8.0
        self.c2 = dt * fr / 2 - dt * dt * fr * fr / 8.0
        self.c3 = np.sqrt(dt) * sigma / 2.0 - dt**1.5 * fr * sigma / 8.0
        self.c5 = dt**1.5 * sigma / (2 * np.sqrt(3))
        self.c4 = fr / 2.0 * self.c5
        self.rng = np.random.default_rng(seed)

    def first_half(self, m: _Member) -> None:
        xi = self.rng.standard_normal(size=(m.n_atoms, 3))
        eta = self.rng.standard_normal(size=(m.n_atoms, 3))
        self.rnd_pos = self.c5 * eta
        self.rnd_vel = self.c3 * xi - self.c4 * eta
        v = m.momenta / m.masses
        v += self.c1 * m.forces / m.masses - self.c2 * v + self.rnd_vel
        x = m.positions
        m.positions = x + self.dt * v + self.rnd_pos
        self.v = (m.positions - x - self.rnd_pos) / self.dt

    def second_half(self, m: _Member) -> None:
        v = self.v
        v += self.c1 * m.forces / m.masses - self.c2 * v + self.rnd_vel
        m.momenta = v * m.masses


class _Bussi:
    """ASE's ``Bussi`` step (stochastic velocity rescaling, then velocity Verlet)."""

    def __init__(self, member: _Member, temperature: float, protocol: MDProtocol, seed: int):
        from ase import units

        self.dt = protocol.time_step_fs * units.fs
        self.ndof = 3 * member.n_atoms
        self.target = 0.5 * units.kB * temperature * self.ndof
        self.exp_term = math.exp(-self.dt / (protocol.thermostat_time_fs * units.fs))
        self.rng = np.random.default_rng(seed)
        if np.isclose(member.kinetic_energy(), 0.0, rtol=0, atol=1e-12):
            raise ValueError("initial kinetic energy is zero")

    def first_half(self, m: _Member) -> None:
        kinetic = m.kinetic_energy()
        scaling = (1 - self.exp_term) * self.target / kinetic / self.ndof
        normal = self.rng.standard_normal()
        chi2 = 2.0 * self.rng.standard_gamma(0.5 * (self.ndof - 1))
        alpha = math.sqrt(
            self.exp_term + scaling * (chi2 + normal**2)
            + 2 * normal * math.sqrt(self.exp_term * scaling)
        )
        m.momenta = alpha * m.momenta
        m.momenta = m.momenta + 0.5 * self.dt * m.forces
        m.positions = m.positions + self.dt * m.momenta / m.masses

    def second_half(self, m: _Member) -> None:
        m.momenta = m.momenta + 0.5 * self.dt * m.forces


class _NoseHooverChain:
    """ASE's ``NoseHooverChainNVT`` step (chain of 3, one loop), with ASE's own chain
    integrator (``NoseHooverChainThermostat``): deterministic, a new chain per phase as the
    one-structure engine makes a new integrator per chunk."""

    def __init__(self, member: _Member, temperature: float, protocol: MDProtocol, seed: int):
        from ase import units
        from ase.md.nose_hoover_chain import NoseHooverChainThermostat

        self.dt = protocol.time_step_fs * units.fs
        self.chain = NoseHooverChainThermostat(
            num_atoms_global=member.n_atoms, masses=member.masses, temperature_K=temperature,
            tdamp=protocol.thermostat_time_fs * units.fs,
        )

    def first_half(self, m: _Member) -> None:
        half = self.dt / 2
        m.momenta = self.chain.integrate_nhc(m.momenta.copy(), half)
        m.momenta = m.momenta + half * m.forces
        m.positions = m.positions + self.dt * m.momenta / m.masses

    def second_half(self, m: _Member) -> None:
        half = self.dt / 2
        m.momenta = m.momenta + half * m.forces
        m.momenta = self.chain.integrate_nhc(m.momenta.copy(), half)


_THERMOSTATS = {"langevin": _Langevin, "bussi": _Bussi, "nose-hoover-chain": _NoseHooverChain}


class _Engine:
    """Batched force evaluation with failure isolation."""

    def __init__(
        self, potential: BatchedPotential, max_force: float, max_members: int | None = None
    ) -> None:
        self.potential = potential
        self.max_force = max_force
        # structures per forward pass (None: all); halved after a CUDA out-of-memory error
        self.max_members = max_members

    def _call(self, members: list[_Member]) -> list[tuple[float, np.ndarray] | Exception]:
        atoms_list = []
        for m in members:
            atoms = m.atoms.copy()
            atoms.set_positions(m.positions)
            atoms_list.append(atoms)
        try:
            energies, forces = self.potential(atoms_list)
        except Exception as exc:  # noqa: BLE001 - bisect to the member(s) that fail
            if _is_oom(exc) and len(members) > 1:
                self.max_members = max(1, len(members) // 2)
                logger.warning("out of memory: %d structures per forward pass from now on",
                               self.max_members)
                _empty_cache()
            if len(members) == 1:
                return [exc]
            half = len(members) // 2
            return self._call(members[:half]) + self._call(members[half:])
        return list(zip((float(e) for e in energies), forces, strict=True))

    def evaluate(self, members: list[_Member]) -> None:
        """Energies and forces of every member; failing members get their ``error``."""
        live = [m for m in members if not m.failed]
        size = self.max_members or len(live) or 1
        results: list[tuple[float, np.ndarray] | Exception] = []
        for start in range(0, len(live), size):
            results += self._call(live[start:start + size])
        for m, result in zip(live, results, strict=True):
            if isinstance(result, Exception):
                m.fail(f"MD crashed: {type(result).__name__}: {result}")
                continue
            energy, forces = result
            if not (math.isfinite(energy) and np.isfinite(forces).all()
                    and np.isfinite(m.positions).all()):
                m.fail("MD crashed: non-finite energy, forces or positions")
                continue
            largest = float(np.linalg.norm(forces, axis=1).max())
            if largest > self.max_force:
                m.fail(f"MD crashed: force {largest:.0f} eV/A > {self.max_force:g} eV/A "
                       "(atoms collapsing or flying apart)")
                continue
            m.energy, m.forces = energy, forces


def _is_oom(exc: Exception) -> bool:
    return "out of memory" in str(exc).lower()


def _empty_cache() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - best effort
        pass


def _thermostat(m: _Member, name: str, protocol: MDProtocol, seed: int):
    """The member's integrator for one phase, or None (and the member failed) when it
    cannot start (e.g. Bussi with zero kinetic energy)."""
    try:
        return _THERMOSTATS[name](m, m.temperature, protocol, seed)
    except Exception as exc:  # noqa: BLE001 - a member that cannot start fails alone
        m.fail(f"MD crashed: {type(exc).__name__}: {exc}")
        return None


def _steps(
    m: _Member, n_steps: int, thermostat, observer: Callable[[_Member, int], None],
    interval: int,
) -> Generator[None, None, bool]:
    """``n_steps`` of one member. Yields whenever it needs the forces at its current
    positions (the driver evaluates every waiting member in one batched call); returns
    False when the member failed. ``observer(member, step)`` runs at steps 0, ``interval``,
    ... (ASE's observers)."""
    if m.forces is None:
        yield
        if m.failed:
            return False
    observer(m, 0)
    for step in range(1, n_steps + 1):
        thermostat.first_half(m)
        yield
        if m.failed:
            return False
        thermostat.second_half(m)
        if step % interval == 0:
            observer(m, step)
    return True


def _equilibration(m: _Member, protocol: MDProtocol) -> Generator[None, None, None]:
    """Seeded velocities, then Langevin blocks until the temperature settled
    (:func:`sse_flows.md.forcefield.equilibrate`)."""
    atoms = m.atoms.copy()
    thermalize(atoms, m.temperature, protocol)
    m.momenta = np.array(atoms.get_momenta(), dtype=float)
    steps = protocol.equilibration_steps
    if steps == 0:
        m.record.equilibration_mean_temperature_K = m.temperature_now()
        m.record.equilibrated = True
        return
    every = max(1, steps // 200)
    for block in range(3):
        samples: list[float] = []

        def sample(m: _Member, step: int, samples=samples) -> None:
            if step >= steps // 2:
                samples.append(m.temperature_now())

        seed = run_seed(protocol, m.temperature, 1000 + block)
        thermostat = _thermostat(m, protocol.equilibration_thermostat, protocol, seed)
        if thermostat is None or not (yield from _steps(m, steps, thermostat, sample, every)):
            return
        m.record.equilibration_steps += steps
        mean = float(np.mean(samples)) if samples else m.temperature_now()
        m.record.equilibration_mean_temperature_K = mean
        m.record.equilibrated = equilibration_settled(mean, m.temperature, m.n_atoms, protocol)
        if m.record.equilibrated:
            return
        logger.info("pair %d, %g K: equilibration block %d ended at %.0f K; extending",
                    m.index, m.temperature, block + 1, mean)


def _production_chunk(m: _Member, protocol: MDProtocol) -> Generator[None, None, None]:
    """One production chunk, written as :func:`~sse_flows.md.forcefield.run_production_chunk`
    writes it; the record gains the file, steps and chunk unless the member failed."""
    n_steps = protocol.next_chunk_steps(m.record.production_steps)
    chunk = m.record.chunks + 1
    m.workdir.mkdir(parents=True, exist_ok=True)
    path = production_path(m.workdir, m.temperature, chunk)
    writer = production_writer(path, protocol, m.temperature, chunk,
                               ensure_run_id(m.record), m.record.production_steps, n_steps)
    try:
        seed = run_seed(protocol, m.temperature, chunk)
        thermostat = _thermostat(m, protocol.thermostat, protocol, seed)
        if thermostat is not None:
            yield from _steps(m, n_steps, thermostat,
                              lambda m, _step, writer=writer: writer.write(m.frame()),
                              protocol.trajectory_interval)
    finally:
        writer.close()
    if not m.failed:
        m.record.files.append(str(path))
        m.record.production_steps += n_steps
        m.record.chunks = chunk


def _advance(program: Generator) -> bool:
    """Run a member's program to its next force request; False when it has finished."""
    try:
        next(program)
    except StopIteration:
        return False
    return True


def _drive(
    engine: _Engine, programs: Sequence[tuple[_Member, Program]], budget: int,
    on_finish: Callable[[_Member], None],
) -> None:
    """Run every member's program (:func:`sse_flows.md.driver.run_program`) with
    continuous batching.

    Members are admitted largest first while the atoms in flight stay within ``budget`` (a
    member larger than the budget runs when nothing else does); each round, every member in
    flight gets its forces in one batched :meth:`_Engine.evaluate` and advances to its next
    force request; a member that finishes leaves and frees its atoms for the next one in
    the queue. Each member's ``elapsed_s`` gets its atom-weighted share of every round it
    was in.
    """
    queue = sorted(programs, key=lambda item: (-item[0].n_atoms, item[0].index))
    flight: list[tuple[_Member, Program]] = []
    while queue or flight:
        load = sum(m.n_atoms for m, _ in flight)
        for m, program in list(queue):
            if load + m.n_atoms <= budget or not flight:
                queue.remove((m, program))
                if _advance(program):
                    flight.append((m, program))
                    load += m.n_atoms
                else:
                    on_finish(m)
        if not flight:
            continue
        start = time.perf_counter()
        engine.evaluate([m for m, _ in flight])
        going = [_advance(program) for _, program in flight]
        wall = time.perf_counter() - start
        total = sum(m.n_atoms for m, _ in flight)
        for m, _ in flight:
            m.record.elapsed_s += wall * m.n_atoms / total
        for (m, _), still in zip(flight, going, strict=True):
            if not still:
                on_finish(m)
        flight = [item for item, still in zip(flight, going, strict=True) if still]


def _workdirs(workdir: Path | Sequence[Path], n: int) -> list[Path]:
    if isinstance(workdir, (str, Path)):
        return [Path(workdir).resolve() / f"pair_{i:03d}" for i in range(n)]
    dirs = [Path(d).resolve() for d in workdir]
    if len(dirs) != n:
        raise ValueError(f"{len(dirs)} workdirs for {n} pairs")
    return dirs


def checkpoint_path(workdir: Path, temperature: float) -> Path:
    """The checkpoint of one (structure, temperature) pair: its ``ProductionRecord`` after
    its last finished production chunk."""
    return Path(workdir) / f"checkpoint_{temperature:g}K.json"


def _write_checkpoint(m: _Member, protocol: MDProtocol) -> None:
    path = checkpoint_path(m.workdir, m.temperature)
    payload = {"protocol": protocol.pair_key(), "n_atoms": m.n_atoms,
               "record": m.record.model_dump(mode="json")}
    write_text_atomic(path, json.dumps(payload))  # a kill leaves the old one or the new one


def _read_checkpoint(
    workdir: Path, temperature: float, protocol: MDProtocol, n_atoms: int
) -> ProductionRecord | None:
    """The pair's record from an earlier run of the same protocol (up to its stop limits:
    :meth:`~sse_flows.md.protocol.MDProtocol.pair_key`) and cell size, no longer than the
    current limit, whose trajectory files are all there; None otherwise (the pair starts
    afresh). An interrupted run continues; a finished one is decided again by the caller,
    so a raised ``max_production_steps`` extends it."""
    path = checkpoint_path(workdir, temperature)
    try:
        payload = json.loads(path.read_text())
        record = ProductionRecord.model_validate(payload["record"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    saved_key = payload.get("protocol")
    if isinstance(saved_key, dict):  # written when pair_key still held the stop limits
        saved_key = {k: v for k, v in saved_key.items() if k not in NOT_IN_PAIR_KEY}
    same = saved_key == protocol.pair_key() and payload.get("n_atoms") == n_atoms
    # a run longer than the current limit is not a prefix of the current protocol's run
    within = record.production_steps <= protocol.production_limit
    if not (same and within) or not all(Path(f).is_file() for f in record.files):
        logger.info("%s: stale checkpoint (other protocol, cell, longer than the limit or "
                    "missing files)", path)
        return None
    return record


def _resume(m: _Member) -> None:
    """Positions and momenta of a checkpointed pair from the last frame it wrote (as the
    one-structure engine continues a chunk: :func:`sse_flows.md.forcefield.md_chunk`)."""
    from ase.io import read

    frame = read(m.record.files[-1], index=-1)
    m.atoms = frame.copy()
    m.atoms.calc = None
    m.positions = np.array(frame.get_positions(), dtype=float)
    m.momenta = np.array(frame.get_momenta(), dtype=float)


class BatchedEngine:
    """The batched engine (:class:`~sse_flows.md.engine.MDEngine`): many runs stepped
    together, one forward pass of the potential per round (:func:`_drive`), each run
    checkpointed after every production chunk (:func:`checkpoint_path`).

    Parameters
    ----------
    engine
        "sevennet" or "chgnet" (ignored when ``potential`` is given).
    device
        "cpu" or "cuda" (the relaxation's calculator runs there too).
    max_batch_atoms
        Most atoms in flight at once (default :func:`default_max_batch_atoms`).
    potential
        A batched potential to use instead of ``engine``'s (loaded at the first MD step).
    max_force_eV_A
        A run whose largest force exceeds this fails.
    structures_per_pass
        Most structures in one forward pass (default :func:`default_structures_per_pass`).
    """

    def __init__(
        self,
        engine: str = "sevennet",
        device: str = "cpu",
        max_batch_atoms: int | None = None,
        potential: BatchedPotential | None = None,
        max_force_eV_A: float = MAX_FORCE_EV_A,
        structures_per_pass: int | None = None,
    ) -> None:
        if max_batch_atoms is not None and max_batch_atoms < 1:
            raise ValueError(f"max_batch_atoms must be >= 1, got {max_batch_atoms}")
        self.name = potential.engine if potential is not None else engine
        self.device = device
        self._potential = potential
        self._max_batch_atoms = max_batch_atoms
        self._max_force = max_force_eV_A
        self._structures_per_pass = structures_per_pass
        self._evaluator: _Engine | None = None

    @property
    def evaluator(self) -> _Engine:
        """The batched force evaluation (the potential is loaded on first use)."""
        if self._evaluator is None:
            potential = self._potential or load_batched_potential(self.name, self.device)
            self._evaluator = _Engine(
                potential, self._max_force,
                self._structures_per_pass or default_structures_per_pass(self.device),
            )
        return self._evaluator

    @property
    def budget(self) -> int:
        """Most atoms in flight at once."""
        return self._max_batch_atoms or default_max_batch_atoms(self.name, self.device)

    def prepare(self, structure: Structure, protocol: MDProtocol, folder: Path):
        """:func:`~sse_flows.md.relax.prepare_in_folder` with the engine's ASE calculator:
        relaxed once per structure, protocol and engine, kept in ``folder``."""
        return prepare_in_folder(structure, protocol, self.name,
                                 load_calculator(self.name, self.device), folder)

    def saved_record(self, supercell: Structure, temperature: float, workdir: Path,
                     protocol: MDProtocol) -> ProductionRecord | None:
        """The run's checkpoint in ``workdir`` (:func:`_read_checkpoint`), or None."""
        return _read_checkpoint(workdir, temperature, protocol, len(supercell))

    def start(self, index: int, supercell: Structure, temperature: float, workdir: Path,
              record: ProductionRecord) -> _Member:
        """A member for the run; one with chunks continues from its last frame."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            atoms = supercell.to_ase_atoms()
        member = _Member(index=index, atoms=atoms, temperature=temperature, workdir=workdir,
                         record=record)
        if record.chunks > 0:
            _resume(member)
        return member

    def equilibrate(self, run: _Member, protocol: MDProtocol) -> Program:
        """:func:`_equilibration`."""
        return _equilibration(run, protocol)

    def production_chunk(self, run: _Member, protocol: MDProtocol) -> Program:
        """:func:`_production_chunk`."""
        return _production_chunk(run, protocol)

    def chunk_finished(self, run: _Member, protocol: MDProtocol) -> None:
        """Checkpoint the decided record (:func:`checkpoint_path`)."""
        _write_checkpoint(run, protocol)

    def execute(self, programs: Sequence[tuple[_Member, Program]],
                on_finish: Callable[[_Member], None]) -> None:
        """Every program with continuous batching (:func:`_drive`)."""
        if not programs:
            return
        budget = self.budget
        logger.info("%d pairs to run, <= %d atoms in flight", len(programs), budget)
        _drive(self.evaluator, programs, budget, on_finish)


def run_batched_md(
    cells: Sequence[Structure],
    temperatures: Sequence[float],
    protocol: MDProtocol,
    workdir: Path | Sequence[Path],
    progress: bool = False,
    **engine_options: Any,
) -> list[ProductionRecord]:
    """Equilibration and the whole production of many (cell, temperature) pairs, batched:
    the :class:`BatchedEngine` under the driver (:func:`sse_flows.md.driver.run_runs`).

    Never raises for MD failures: a pair that fails gets a record with ``error`` (and
    ``stop_reason`` "engine error"), as :func:`~sse_flows.md.forcefield.md_chunk` returns.
    A pair with a checkpoint in its folder goes on from it (:func:`_read_checkpoint`).

    Parameters
    ----------
    cells
        The MD supercells (as :func:`~sse_flows.md.relax.prepare_supercell` makes them).
    temperatures
        One temperature (K) per cell: pair ``i`` is ``(cells[i], temperatures[i])``.
    protocol
        The MD protocol (thermostats "langevin" or "bussi").
    workdir
        One folder (pair ``i`` writes under ``workdir/pair_{i:03d}``) or one folder per pair
        (pairs of one material may share a folder: file names carry the temperature).
    progress
        Show a progress bar of the finished pairs.
    **engine_options
        The :class:`BatchedEngine`'s parameters (``engine``, ``device``,
        ``max_batch_atoms``, ``potential``, ``max_force_eV_A``, ``structures_per_pass``).

    Returns
    -------
    list of ProductionRecord
        One per pair, in input order, with its stop reason set.
    """
    if len(cells) != len(temperatures):
        raise ValueError(f"{len(cells)} cells but {len(temperatures)} temperatures")
    md_engine = BatchedEngine(**engine_options)
    if not cells:
        return []
    return _run_pairs(md_engine, cells, temperatures, protocol, workdir, progress)


def _run_pairs(md_engine: BatchedEngine, cells, temperatures, protocol, workdir,
               progress: bool) -> list[ProductionRecord]:
    """:func:`sse_flows.md.driver.run_runs` with a progress bar of the finished pairs."""
    from tqdm.auto import tqdm

    if not cells:
        return []
    dirs = _workdirs(workdir, len(cells))
    pairs = [(cell, float(t), folder) for cell, t, folder in
             zip(cells, temperatures, dirs, strict=True)]
    bar = tqdm(total=len(cells), desc="MD pairs", unit="pair", disable=not progress)
    records = run_runs(md_engine, pairs, protocol, on_finish=lambda _i, _r: bar.update(1))
    bar.close()
    return records


def run_batched_materials(
    supercells: Sequence[Structure],
    protocol: MDProtocol,
    workdirs: Sequence[Path],
    engine: str = "sevennet",
    device: str = "cpu",
    max_batch_atoms: int | None = None,
    potential: BatchedPotential | None = None,
    structures_per_pass: int | None = None,
    progress: bool = False,
) -> list[list[ProductionRecord]]:
    """The force-field protocol of many materials at once: every material's hottest
    temperature in one batched run, then the colder ones, then the fallback ones, each
    phase without the pairs that :func:`~sse_flows.md.continuation.skip_colder` skips
    (:func:`sse_flows.md.driver.run_temperatures` over the :class:`BatchedEngine`).

    The parameters are :func:`run_batched_md`'s, with one work folder per material.

    Returns
    -------
    list of list of ProductionRecord
        Per material, the records in ``protocol.run_temperatures`` order (ready for
        :func:`~sse_flows.md.documents.make_md_run_doc`).
    """
    md_engine = BatchedEngine(
        engine, device, max_batch_atoms, potential or load_batched_potential(engine, device),
        structures_per_pass=structures_per_pass,
    )
    by_material = _run_temperatures(md_engine, supercells, workdirs, protocol, progress)
    return [[records[t] for t in protocol.run_temperatures] for records in by_material]


def _run_temperatures(md_engine: BatchedEngine, supercells, workdirs, protocol,
                      progress: bool) -> list[dict[float, ProductionRecord]]:
    """:func:`sse_flows.md.driver.run_temperatures`, one progress bar per phase."""
    from tqdm.auto import tqdm

    dirs = [Path(d).resolve() for d in workdirs]
    bars = []

    def finished(_index: int, _record: ProductionRecord) -> None:
        bars[-1].update(1)

    def phase_bar(n: int) -> None:
        if bars:
            bars[-1].close()
        bars.append(tqdm(total=n, desc="MD pairs", unit="pair", disable=not progress))

    result = run_temperatures(md_engine, supercells, dirs, protocol, on_finish=finished,
                              on_phase=phase_bar)
    if bars:
        bars[-1].close()
    return result
