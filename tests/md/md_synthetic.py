"""Synthetic MD trajectories on disk, for the MD tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from sse_flows.analysis.runs import TemperatureRun


def vibrating_run(
    structure: Structure,
    n_frames: int = 40,
    sigma: float = 0.08,
    temperature: float = 1000.0,
    seed: int = 0,
    time_step_fs: float = 20.0,
) -> TemperatureRun:
    """A vibrating crystal: Gaussian displacements (A) around the sites, no diffusion."""
    rng = np.random.default_rng(seed)
    cart = structure.cart_coords[None] + rng.normal(0.0, sigma, (n_frames, len(structure), 3))
    frac = cart @ np.linalg.inv(structure.lattice.matrix)
    return TemperatureRun(
        temperature, [s.specie.symbol for s in structure], structure.lattice.matrix, frac,
        time_step_fs, kinetic_temperatures=np.full(n_frames, temperature),
        energies=np.full(n_frames, -5.0 * len(structure)) + rng.normal(0, 0.3, n_frames),
    )


def save_run(run: TemperatureRun, path: Path) -> str:
    """Write a run as a TemperatureRun JSON file (a format the analysis readers read)."""
    path.write_text(json.dumps(run.as_dict()))
    return str(path)
