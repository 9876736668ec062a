"""Synthetic trajectories with a known diffusivity (for tests, benchmarks and demos).

Li ions perform independent random walks on a simple-cubic lattice of spacing ``a``: each
ion leaves its site at rate ``hop_rate`` (per ps) to one of the six neighbours, so the
tracer diffusivity is exactly D = hop_rate a^2 / 6. Thermal vibration is Gaussian noise of
``vibration`` A (per Cartesian component) around the site. A rigid "host" of static atoms
(also vibrating) is present because pymatgen's drift correction needs a framework.
"""

from __future__ import annotations

import numpy as np

from sse_flows.analysis.runs import TemperatureRun
from sse_flows.constants import K_B_EV

__all__ = ["arrhenius_hop_rate", "random_walk_run", "random_walk_diffusivity"]

def random_walk_diffusivity(hop_rate_per_ps: float, spacing_A: float) -> float:
    """Exact tracer D (cm^2/s) of the lattice random walk: rate a^2 / 6."""
    return hop_rate_per_ps * 1e12 * (spacing_A * 1e-8) ** 2 / 6.0


def arrhenius_hop_rate(temperature: float, ea_eV: float, nu_per_ps: float = 10.0) -> float:
    """Hop rate nu exp(-Ea / kT) per ps."""
    return nu_per_ps * float(np.exp(-ea_eV / (K_B_EV * temperature)))


def random_walk_run(
    hop_rate_per_ps: float,
    temperature: float = 1000.0,
    spacing_A: float = 2.5,
    n_cells: int = 4,
    n_frames: int = 2000,
    time_step_fs: float = 100.0,
    vibration_A: float = 0.1,
    n_host: int = 8,
    seed: int = 0,
) -> TemperatureRun:
    """A :class:`TemperatureRun` of Li random walkers with known D.

    Parameters
    ----------
    hop_rate_per_ps
        Total hop rate of one Li (per ps).
    temperature
        Temperature recorded on the run (K); the walk itself does not depend on it.
    spacing_A
        Lattice spacing = hop length (A).
    n_cells
        Li sites per cell edge (n_cells**3 Li, all sites filled at t = 0).
    n_frames, time_step_fs
        Frames and the time between them.
    vibration_A
        Standard deviation of the Gaussian vibration per Cartesian component (A).
    n_host
        Static host atoms ("Cl") placed between the Li sites.
    seed
        Random seed.
    """
    rng = np.random.default_rng(seed)
    n_li = n_cells**3
    length = n_cells * spacing_A
    grid = np.array(
        [(i, j, k) for i in range(n_cells) for j in range(n_cells) for k in range(n_cells)],
        dtype=float,
    )
    p_hop = hop_rate_per_ps * time_step_fs / 1000.0
    if p_hop > 0.3:
        raise ValueError("hop_rate * time_step too large: several hops per frame")
    directions = np.vstack([np.eye(3), -np.eye(3)])
    # hops between consecutive frames: Poisson number, each in a random direction
    n_hops = rng.poisson(p_hop, size=(n_frames - 1, n_li))
    steps = np.zeros((n_frames - 1, n_li, 3))
    max_hops = int(n_hops.max()) if n_hops.size else 0
    for h in range(max_hops):
        chosen = directions[rng.integers(0, 6, size=n_hops.shape)]
        steps += chosen * (n_hops > h)[..., None]
    sites = grid[None] + np.concatenate([np.zeros((1, n_li, 3)), np.cumsum(steps, axis=0)])
    li_cart = sites * spacing_A
    host_frac = rng.random((n_host, 3))
    host_cart = np.broadcast_to(host_frac * length, (n_frames, n_host, 3))
    cart = np.concatenate([li_cart, host_cart], axis=1)
    cart = cart + rng.normal(0.0, vibration_A, size=cart.shape)
    run = TemperatureRun(
        temperature_K=temperature,
        species=["Li"] * n_li + ["Cl"] * n_host,
        lattice=np.eye(3) * length,
        frac_coords=cart / length,
        time_step_fs=time_step_fs,
        source=None,
        metadata={
            "synthetic": "lattice random walk",
            "hop_rate_per_ps": hop_rate_per_ps,
            "true_D_cm2_s": random_walk_diffusivity(hop_rate_per_ps, spacing_A),
            "true_hops": int(n_hops.sum()),
            "seed": seed,
        },
    )
    return run
