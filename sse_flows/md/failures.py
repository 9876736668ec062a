"""Physics checks of one MD run: is the trajectory usable for a Li diffusivity?

Each check returns reasons (strings) instead of raising, so a failed material becomes a
stored document and the other materials go on. The checks:

- non-finite (NaN/inf) energies or positions, and exploding energies (a frame whose
  energy per atom leaves the run's median by more than a threshold);
- too-close contacts (any pair of atoms closer than a threshold) and escaping atoms
  (an atom moving between two frames faster than a physical bound);
- melting/amorphization: the time-averaged framework (non-Li) positions of the last
  third of the run are compared with the starting framework, by RMS displacement and by
  pymatgen's ``StructureMatcher``;
- too few Li hops: moves between settled residence sites more than ``hop_distance``
  apart (a run with fewer than ``min_li_hops`` is flagged non-diffusive; D would be noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure


@dataclass(frozen=True)
class FailureThresholds:
    """Thresholds of the MD failure checks.

    Parameters
    ----------
    min_distance
        Any two atoms closer than this (A) in any frame: collapsed or exploded run.
    max_energy_deviation_per_atom
        A frame whose energy per atom differs from the run's median by more than this
        (eV/atom) is an exploding run (thermal fluctuations at 1,200 K are ~0.1 eV/atom).
    max_speed_A_per_fs
        An atom moving between two frames faster than this (A/fs; a Li ion at 1,200 K
        moves ~0.2 A/fs) is escaping.
    max_framework_rmsd
        RMS displacement (A) of the time-averaged framework from its start above which
        the structure has melted or amorphized.
    matcher_ltol, matcher_stol, matcher_angle_tol
        ``StructureMatcher`` tolerances for the before/after framework comparison.
    hop_smoothing_frames
        Frames averaged before looking for hops (removes vibrations).
    hop_distance
        A Li ion that settles more than this (A) from where it last resided has hopped.
    min_li_hops
        Fewer Li hops than this in the production run: non-diffusive at that temperature.
    """

    min_distance: float = 0.6
    max_energy_deviation_per_atom: float = 1.0
    max_speed_A_per_fs: float = 1.0
    max_framework_rmsd: float = 1.0
    matcher_ltol: float = 0.2
    matcher_stol: float = 0.3
    matcher_angle_tol: float = 5.0
    hop_smoothing_frames: int = 5
    hop_distance: float = 1.5
    min_li_hops: int = 10

    def as_dict(self) -> dict[str, float | int]:
        """The thresholds as a dict (for provenance)."""
        return asdict(self)


@dataclass
class RunCheck:
    """Outcome of the checks of one temperature run."""

    failed: bool = False
    reasons: list[str] = field(default_factory=list)
    li_hops: int = 0
    diffusive: bool = False
    min_distance: float | None = None
    framework_rmsd: float | None = None
    framework_matches_initial: bool | None = None
    max_energy_deviation_per_atom: float | None = None

    def fail(self, reason: str) -> None:
        """Record a failure reason."""
        self.failed = True
        self.reasons.append(reason)


def unwrapped_frac_coords(frames: Sequence[Structure]) -> np.ndarray:
    """Fractional coordinates made continuous in time (minimum image between frames).

    Parameters
    ----------
    frames
        Structures of one trajectory (same sites in the same order, fixed lattice).

    Returns
    -------
    numpy.ndarray
        Shape (n_frames, n_sites, 3).
    """
    frac = np.array([frame.frac_coords for frame in frames], dtype=float)
    steps = np.diff(frac, axis=0)
    steps -= np.round(steps)
    return np.concatenate([frac[:1], frac[:1] + np.cumsum(steps, axis=0)], axis=0)


def minimum_distance(frames: Sequence[Structure], every: int = 1) -> float:
    """Smallest interatomic distance (A, periodic) over the frames."""
    smallest = np.inf
    for frame in list(frames)[::every]:
        distances = frame.distance_matrix
        np.fill_diagonal(distances, np.inf)
        smallest = min(smallest, float(distances.min()))
    return smallest


def count_li_hops(
    frames: Sequence[Structure],
    specie: str = "Li",
    smoothing_frames: int = 5,
    hop_distance: float = 1.5,
    settle_tolerance: float = 0.5,
) -> int:
    """Li hops: moves of more than ``hop_distance`` between two settled positions.

    Positions are averaged over ``smoothing_frames`` consecutive frames (vibrations
    average out). An ion is *settled* at a frame when its averaged position stays within
    ``settle_tolerance`` over the next ``smoothing_frames`` frames; each time a settled
    position lies more than ``hop_distance`` from the ion's last anchor, that is one hop
    and the anchor moves there. Hops into vacant or interstitial sites count, and an ion
    rattling in its cage does not.

    Parameters
    ----------
    frames
        Structures of the trajectory.
    specie
        The mobile element.
    smoothing_frames
        Window of the moving average (frames).
    hop_distance
        Minimum distance (A) between two residence sites.
    settle_tolerance
        Largest excursion (A) of the averaged position for a settled ion.

    Returns
    -------
    int
        Number of hops of all ``specie`` ions together.
    """
    indices = [i for i, site in enumerate(frames[0]) if site.specie.symbol == specie]
    if not indices or len(frames) < 2:
        return 0
    cart = unwrapped_frac_coords(frames)[:, indices, :] @ frames[0].lattice.matrix
    window = max(1, min(smoothing_frames, len(frames)))
    kernel = np.ones(window) / window
    smooth = np.apply_along_axis(lambda x: np.convolve(x, kernel, mode="valid"), 0, cart)
    n_t = smooth.shape[0]
    spread = np.zeros(smooth.shape[:2])
    for lag in range(1, min(window, n_t)):
        shifted = np.full_like(smooth, np.nan)
        shifted[: n_t - lag] = smooth[lag:]
        spread = np.fmax(spread, np.linalg.norm(shifted - smooth, axis=2))
    settled = spread <= settle_tolerance
    hops = 0
    for ion in range(smooth.shape[1]):
        anchor = smooth[0, ion]
        for t in np.flatnonzero(settled[:, ion]):
            if np.linalg.norm(smooth[t, ion] - anchor) > hop_distance:
                hops += 1
                anchor = smooth[t, ion]
    return hops


def framework_change(
    frames: Sequence[Structure],
    initial: Structure,
    specie: str = "Li",
    matcher: StructureMatcher | None = None,
) -> tuple[float, bool | None]:
    """RMS displacement and structural match of the time-averaged framework.

    The framework is every site that is not ``specie``. Its positions are averaged over
    the last third of the frames (thermal vibrations average out; a melted framework
    does not come back) and compared with ``initial``.

    Returns
    -------
    tuple
        (RMS displacement in A, whether StructureMatcher matches the averaged framework
        to the initial one; None when there is no framework).
    """
    indices = [i for i, site in enumerate(initial) if site.specie.symbol != specie]
    if not indices:
        return 0.0, None
    frac = unwrapped_frac_coords([initial, *frames])[:, indices, :]
    tail = frac[1 + 2 * (len(frames) // 3) :]
    averaged = tail.mean(axis=0)
    cart = (averaged - frac[0]) @ initial.lattice.matrix
    rmsd = float(np.sqrt((cart**2).sum(axis=1).mean()))
    start = Structure.from_sites([initial[i] for i in indices])
    after = Structure(initial.lattice, [initial[i].species for i in indices], averaged)
    matcher = matcher or StructureMatcher(primitive_cell=False, scale=False)
    return rmsd, bool(matcher.fit(start, after))


def check_md_run(
    frames: Sequence[Structure],
    initial: Structure,
    time_step_fs: float,
    step_skip: int,
    energies: Sequence[float] | None = None,
    specie: str = "Li",
    thresholds: FailureThresholds | None = None,
) -> RunCheck:
    """Run all checks on one production trajectory.

    Parameters
    ----------
    frames
        Production frames (structures, same sites as ``initial``).
    initial
        The structure the MD started from (before equilibration).
    time_step_fs
        MD time step (fs).
    step_skip
        MD steps between two frames.
    energies
        Total (potential) energy of each frame, eV; None when not available.
    specie
        The mobile ion.
    thresholds
        Check thresholds (defaults: :class:`FailureThresholds`).

    Returns
    -------
    RunCheck
        ``failed`` with its reasons, Li hops and the diffusive flag.
    """
    limits = thresholds or FailureThresholds()
    check = RunCheck()
    if len(frames) < 2:
        check.fail(f"trajectory has {len(frames)} frame(s); at least 2 are needed")
        return check
    n_atoms = len(initial)
    if energies is not None and len(energies):
        per_atom = np.asarray(energies, dtype=float) / n_atoms
        if not np.all(np.isfinite(per_atom)):
            check.fail("non-finite (NaN/inf) energy in the trajectory")
        else:
            deviation = float(np.abs(per_atom - np.median(per_atom)).max())
            check.max_energy_deviation_per_atom = deviation
            if deviation > limits.max_energy_deviation_per_atom:
                check.fail(
                    f"exploding energy: a frame deviates {deviation:.2f} eV/atom from the "
                    f"median (limit {limits.max_energy_deviation_per_atom} eV/atom)"
                )
    frac = np.array([frame.frac_coords for frame in frames], dtype=float)
    if not np.all(np.isfinite(frac)):
        check.fail("non-finite (NaN/inf) atomic positions")
        return check

    unwrapped = unwrapped_frac_coords(frames)
    jumps = np.linalg.norm(np.diff(unwrapped, axis=0) @ initial.lattice.matrix, axis=2)
    speed = float(jumps.max()) / (time_step_fs * step_skip)
    if speed > limits.max_speed_A_per_fs:
        check.fail(
            f"atom escaping: moved at {speed:.2f} A/fs between frames "
            f"(limit {limits.max_speed_A_per_fs} A/fs)"
        )
    every = max(1, len(frames) // 50)
    check.min_distance = minimum_distance(frames, every=every)
    if check.min_distance < limits.min_distance:
        check.fail(
            f"too-close contact: atoms {check.min_distance:.2f} A apart "
            f"(limit {limits.min_distance} A)"
        )

    matcher = StructureMatcher(
        ltol=limits.matcher_ltol,
        stol=limits.matcher_stol,
        angle_tol=limits.matcher_angle_tol,
        primitive_cell=False,
        scale=False,
    )
    rmsd, matches = framework_change(frames, initial, specie=specie, matcher=matcher)
    check.framework_rmsd, check.framework_matches_initial = rmsd, matches
    if rmsd > limits.max_framework_rmsd or matches is False:
        check.fail(
            f"melted or amorphized: framework RMS displacement {rmsd:.2f} A "
            f"(limit {limits.max_framework_rmsd} A), structure match: {matches}"
        )

    check.li_hops = count_li_hops(
        frames,
        specie=specie,
        smoothing_frames=limits.hop_smoothing_frames,
        hop_distance=limits.hop_distance,
    )
    check.diffusive = check.li_hops >= limits.min_li_hops and not check.failed
    return check
