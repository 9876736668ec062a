"""The MD engine interface, and what every force-field engine shares.

:class:`MDEngine` is what the protocol driver (:mod:`sse_flows.md.driver`) asks of an engine
for a set of (structure, temperature) runs: prepare a unit cell (relaxation, orientation,
supercell), equilibrate a run, run one production chunk of it, and schedule the runs'
programs; its records report what ran. Nothing in an engine decides when production stops,
which temperatures run or when a run is extended: the driver does, with
:mod:`sse_flows.md.continuation`. The one-structure engine
(:class:`sse_flows.md.forcefield.OneStructureEngine`) steps one run at a time with ASE's
integrators; the batched engine (:class:`sse_flows.md.batched.BatchedEngine`) steps many
runs together, one forward pass of the potential per step.

Below the engines: the seeds of each stage of a run (:func:`run_seed`), the seeded start velocities
(:func:`thermalize`), the equilibration criterion (:func:`equilibration_settled`), the
production file names (:func:`production_path`), the run id (:func:`ensure_run_id`) and
the trajectory writer whose description the analysis reads (:func:`production_writer`):
the one-structure engine (:mod:`sse_flows.md.forcefield`) and the batched engine
(:mod:`sse_flows.md.batched`) both use these, so their files and seeds agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pymatgen.core import Structure

from sse_flows.md.protocol import MDProtocol
from sse_flows.md.schemas import ProductionRecord, RelaxationDoc

#: A run's program as the driver writes it (:func:`sse_flows.md.driver.run_program`): a
#: generator that yields whenever the engine must evaluate forces before it can go on.
Program = Generator[None, None, None]


@dataclass
class MDRun:
    """One (structure, temperature) run inside an engine, between the engine's steps.

    Parameters
    ----------
    index
        Position of the run in the set the driver handed the engine.
    temperature
        Thermostat temperature (K).
    workdir
        Folder of the run's trajectory files.
    record
        What ran so far (equilibration, chunks, files, errors); the engine updates it, the
        driver sets its stop decision.
    """

    index: int
    temperature: float
    workdir: Path
    record: ProductionRecord

    @property
    def failed(self) -> bool:
        """True when the engine recorded an error for this run."""
        return self.record.error is not None


class MDEngine(Protocol):
    """What an MD engine does for a set of (structure, temperature) runs.

    ``equilibrate`` and ``production_chunk`` are generators: they yield whenever the run
    needs forces that the engine evaluates for many runs at once (the batched engine), or
    never (the one-structure engine steps a run to its end in one go). Neither raises for
    an MD failure: a failed run gets ``record.error`` and no files of the failed chunk.
    """

    #: Name of the potential ("chgnet", "sevennet"), recorded in the documents.
    name: str

    def prepare(
        self, structure: Structure, protocol: MDProtocol, folder: Path
    ) -> tuple[Structure, RelaxationDoc | None]:
        """The MD supercell of a unit cell (relaxed when the protocol says so) and what
        the relaxation did; raises when the cell cannot be run (no Li, disordered)."""
        ...

    def saved_record(
        self, supercell: Structure, temperature: float, workdir: Path, protocol: MDProtocol
    ) -> ProductionRecord | None:
        """The record of this run from an earlier, interrupted call (its checkpoint), or
        None: the run starts afresh."""
        ...

    def start(
        self, index: int, supercell: Structure, temperature: float, workdir: Path,
        record: ProductionRecord,
    ) -> MDRun:
        """A run of ``supercell`` at ``temperature`` that goes on from ``record`` (a fresh
        record: nothing ran yet; one with chunks: continue from its last frame)."""
        ...

    def equilibrate(self, run: MDRun, protocol: MDProtocol) -> Program:
        """Seeded start velocities, then equilibration until the temperature settled;
        sets the record's equilibration fields."""
        ...

    def production_chunk(self, run: MDRun, protocol: MDProtocol) -> Program:
        """One production chunk (``protocol.next_chunk_steps``) written to its own file;
        the record gains the file, the steps and the chunk."""
        ...

    def chunk_finished(self, run: MDRun, protocol: MDProtocol) -> None:
        """Called after the driver decided on a finished chunk (e.g. to checkpoint)."""
        ...

    def execute(
        self, programs: Sequence[tuple[MDRun, Program]], on_finish: Callable[[MDRun], None]
    ) -> None:
        """Run every program to its end, calling ``on_finish(run)`` as each one ends."""
        ...


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
