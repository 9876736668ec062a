"""The MD protocol of Kang, Kim & Min (2023) as parameters, and the MD supercell.

The paper's protocol (method.md section 7): NVT with a Nose-Hoover thermostat, time step
2 fs, at 600, 800, 1000 and 1200 K; 3,000 equilibration steps (6 ps) then 10,000
production steps (20 ps), in a supercell whose lattice lengths are all >= 10 A.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from pymatgen.core import Lattice, Structure

#: Temperatures (K) of the paper's AIMD runs.
PAPER_TEMPERATURES: tuple[float, ...] = (600.0, 800.0, 1000.0, 1200.0)


@dataclass(frozen=True)
class MDProtocol:
    """Parameters of the diffusion MD protocol (defaults: the paper's AIMD protocol).

    Parameters
    ----------
    temperatures
        Temperatures (K) of the NVT runs, one independent run each.
    time_step_fs
        MD time step in fs (VASP ``POTIM``).
    equilibration_steps
        Steps run first at each temperature and discarded (3,000 = 6 ps in the paper).
    production_steps
        Steps whose trajectory is analysed (10,000 = 20 ps in the paper).
    production_chunks
        Number of restartable pieces the production run is split into (VASP: one
        ``MDMaker`` job each, chained ``MultiMDMaker``-style; walltime is the common
        failure on clusters). The force-field engine runs production in one piece.
    min_lattice_length
        The supercell is the smallest diagonal supercell whose lattice lengths a, b, c
        are all >= this value (A).
    trajectory_interval
        Frames are written every this many steps (the analysis ``step_skip``).
    thermostat_time_fs
        Nose-Hoover characteristic time (fs) for the force-field engine. VASP's
        ``SMASS = 0`` gives a Nose period of 40 time steps (80 fs at 2 fs).
    seed
        Seed of the Maxwell-Boltzmann initial velocities (force-field engine).
    """

    temperatures: tuple[float, ...] = PAPER_TEMPERATURES
    time_step_fs: float = 2.0
    equilibration_steps: int = 3000
    production_steps: int = 10000
    production_chunks: int = 4
    min_lattice_length: float = 10.0
    trajectory_interval: int = 10
    thermostat_time_fs: float = 80.0
    seed: int | None = 0
    reduced: bool = field(default=False)

    def __post_init__(self) -> None:
        temperatures = tuple(float(t) for t in self.temperatures)
        object.__setattr__(self, "temperatures", temperatures)
        if not temperatures or min(temperatures) <= 0:
            raise ValueError(f"temperatures must be positive, got {temperatures}")
        if self.time_step_fs <= 0:
            raise ValueError(f"time_step_fs must be > 0, got {self.time_step_fs}")
        if self.equilibration_steps < 0 or self.production_steps < 1:
            raise ValueError("equilibration_steps must be >= 0 and production_steps >= 1")
        if not 1 <= self.production_chunks <= self.production_steps:
            raise ValueError("production_chunks must be between 1 and production_steps")
        if self.trajectory_interval < 1:
            raise ValueError("trajectory_interval must be >= 1")

    @classmethod
    def paper(cls, **overrides: Any) -> MDProtocol:
        """The published protocol (the defaults), with optional overrides."""
        return cls(**overrides)

    @classmethod
    def reduced_cpu(cls, **overrides: Any) -> MDProtocol:
        """A reduced protocol for a CPU (CHGNet ~0.1-0.5 s/step): 200 + 1,000 steps.

        The full protocol is 13,000 steps per temperature (~7 h per material for ~95
        atoms on one CPU); this one is 1,200 (0.4 ps + 2 ps) and is flagged ``reduced``
        in every document it produces.
        """
        values: dict[str, Any] = {
            "equilibration_steps": 200,
            "production_steps": 1000,
            "production_chunks": 1,
            "trajectory_interval": 5,
            "reduced": True,
        }
        values.update(overrides)
        return cls(**values)

    def chunk_steps(self) -> list[int]:
        """Steps of each production chunk (as equal as possible, summing to the total)."""
        base, extra = divmod(self.production_steps, self.production_chunks)
        return [base + (1 if i < extra else 0) for i in range(self.production_chunks)]

    def with_changes(self, **changes: Any) -> MDProtocol:
        """A copy with some parameters changed."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable parameters (for provenance)."""
        values = asdict(self)
        values["temperatures"] = list(self.temperatures)
        return values


def supercell_scaling(structure: Structure, min_lattice_length: float) -> list[int]:
    """Diagonal scaling so that each lattice length a, b, c is >= ``min_lattice_length``.

    Parameters
    ----------
    structure
        The unit cell.
    min_lattice_length
        Minimum length (A) of each lattice vector of the supercell.

    Returns
    -------
    list of int
        Multiples of a, b and c.
    """
    lengths = structure.lattice.abc
    return [max(1, math.ceil(min_lattice_length / length - 1e-9)) for length in lengths]


def make_md_supercell(structure: Structure, min_lattice_length: float = 10.0) -> Structure:
    """The MD supercell, rotated so its lattice matrix is upper triangular.

    ASE's Nose-Hoover integrator (``ase.md.npt.NPT``) needs an upper-triangular cell;
    atomate2's ``AseMDMaker`` replaces the cell by its standard form *without* moving the
    atoms, which scrambles a cell that is not already in that form. Rotating the whole
    structure here (fractional coordinates kept) makes that replacement a no-op.

    Parameters
    ----------
    structure
        The unit cell (site properties are kept).
    min_lattice_length
        Minimum length (A) of each supercell lattice vector.

    Returns
    -------
    Structure
        The supercell with the same fractional coordinates in a rotated frame.
    """
    supercell = structure.copy()
    supercell.make_supercell(supercell_scaling(structure, min_lattice_length))
    return _upper_triangular(_right_handed(supercell))


def _right_handed(structure: Structure) -> Structure:
    """The same crystal on a right-handed basis (a -> -a, x -> -x when det < 0).

    A left-handed cell (e.g. pymatgen's Li10GeP2S12) cannot be rotated into ASE's upper
    triangular form with a positive diagonal; ASE's Nose-Hoover integrator then flips axes
    and the atoms no longer sit where the crystal has them.
    """
    if np.linalg.det(structure.lattice.matrix) > 0:
        return structure
    matrix = structure.lattice.matrix.copy()
    matrix[0] = -matrix[0]
    frac = structure.frac_coords.copy()
    frac[:, 0] = -frac[:, 0]
    site_properties = dict(structure.site_properties)
    return Structure(
        Lattice(matrix),
        [site.species for site in structure],
        frac,
        site_properties=site_properties or None,
        labels=[site.label for site in structure],
    )


def _upper_triangular(structure: Structure) -> Structure:
    """The structure rotated so rows a, b, c of its lattice matrix form an upper triangle.

    ``b`` lies in the y-z plane and ``c`` along z (ASE's "upper" standard form), by a
    proper rotation: handedness, lengths, angles and fractional coordinates are kept.
    """
    a, b, c = structure.lattice.abc
    alpha, beta, gamma = np.radians(structure.lattice.angles)
    cz = c
    bz, by = b * np.cos(alpha), b * np.sin(alpha)
    az = a * np.cos(beta)
    ay = (a * b * np.cos(gamma) - az * bz) / by
    ax = np.sqrt(max(a * a - ay * ay - az * az, 0.0))
    if np.linalg.det(structure.lattice.matrix) < 0:
        ax = -ax
    matrix = np.array([[ax, ay, az], [0.0, by, bz], [0.0, 0.0, cz]])
    if np.allclose(matrix, structure.lattice.matrix, atol=1e-10):
        return structure
    site_properties = dict(structure.site_properties)
    if "velocities" in site_properties:  # Cartesian vectors rotate with the lattice
        rotation = np.linalg.solve(structure.lattice.matrix, matrix)
        velocities = np.array(site_properties["velocities"]) @ rotation
        site_properties["velocities"] = velocities.tolist()
    return Structure(
        Lattice(matrix),
        [site.species for site in structure],
        structure.frac_coords,
        site_properties=site_properties or None,
    )
