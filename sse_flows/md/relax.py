"""Relaxation of a unit cell with the MD potential, and the MD supercell built from it.

Every force-field engine starts here: the unit cell is put on a right-handed basis and
relaxed (cell and positions, ``FrechetCellFilter`` + FIRE) with the same potential as the
MD; the MD supercell (all lengths >= ``min_lattice_length``) is built from the relaxed
cell. With a :class:`RelaxationCache` the relaxation is checkpointed and done once per
cell, engine and settings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Structure

from sse_flows.md.potentials import FORCE_FIELDS
from sse_flows.md.protocol import (
    MDProtocol,
    check_md_structure,
    make_md_supercell,
    standard_orientation,
)
from sse_flows.md.schemas import RelaxationDoc

logger = logging.getLogger(__name__)


def _atoms(structure: Structure, calculator):
    """The ASE atoms of ``structure`` with ``calculator`` attached."""
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


#: The relaxed MD supercell of a material, kept in its folder so that a rerun after an
#: interruption does not relax it again (and continues from the same cell).
PREPARED_FILE = "prepared_supercell.json"


def _fingerprint(structure: Structure, protocol: MDProtocol, engine: str) -> str:
    payload = json.dumps([structure.as_dict(), protocol.pair_key(), engine], sort_keys=True,
                         default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def prepare_in_folder(structure: Structure, protocol: MDProtocol, engine: str, calculator,
                      folder: Path) -> tuple[Structure, RelaxationDoc | None]:
    """:func:`prepare_supercell`, or its result from an earlier run of the same structure,
    protocol (:meth:`~sse_flows.md.protocol.MDProtocol.pair_key`) and engine in ``folder``
    (:data:`PREPARED_FILE`, written after the first)."""
    from sse_flows.data.writers import write_text_atomic

    path = folder / PREPARED_FILE
    key = _fingerprint(structure, protocol, engine)
    try:
        saved = json.loads(path.read_text())
        if saved["fingerprint"] == key:
            relaxation = saved["relaxation"]
            return (Structure.from_dict(saved["supercell"]),
                    None if relaxation is None else RelaxationDoc.model_validate(relaxation))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    supercell, relaxation = prepare_supercell(structure, protocol, calculator, engine)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({
        "fingerprint": key, "supercell": supercell.as_dict(),
        "relaxation": None if relaxation is None else relaxation.model_dump(mode="json"),
    }))
    return supercell, relaxation
