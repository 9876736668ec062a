"""Engine sanity checks of one MD trajectory: did the integrator itself go wrong?

These are the failures no diffusion analysis can repair, checked on the production run
before it is analysed (each returns a reason instead of raising, so a failed temperature
becomes a stored document and the others go on):

- non-finite (NaN/inf) energies or positions;
- an exploding energy: a frame whose potential energy per atom leaves the run's median
  by more than ``max_energy_deviation_per_atom`` (thermal fluctuations at 1,200 K are
  ~0.1 eV/atom);
- too-close contacts: two atoms closer than ``min_distance`` in any checked frame;
- escaping atoms: an atom moving between two frames faster than ``max_speed_A_per_fs``
  (a Li ion at 1,200 K moves ~0.2 A/fs).

Whether the host melted and how many Li hops there are is the analysis stage's job
(:mod:`sse_flows.analysis.stability`, :mod:`sse_flows.analysis.diffusion`): the MD stage
calls it and does not decide those twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from sse_flows.analysis.runs import TemperatureRun


@dataclass(frozen=True)
class SanityThresholds:
    """Limits of the engine sanity checks (see the module docstring)."""

    min_distance: float = 0.6
    max_energy_deviation_per_atom: float = 1.0
    max_speed_A_per_fs: float = 1.0

    def as_dict(self) -> dict[str, float]:
        """The thresholds as a dict (for provenance)."""
        return asdict(self)


@dataclass
class SanityCheck:
    """Outcome of the sanity checks of one temperature run."""

    reasons: list[str] = field(default_factory=list)
    min_distance: float | None = None
    max_energy_deviation_per_atom: float | None = None
    max_speed_A_per_fs: float | None = None

    @property
    def failed(self) -> bool:
        """True when any check failed."""
        return bool(self.reasons)


def minimum_distance(run: TemperatureRun, n_checked: int = 50) -> float:
    """Smallest interatomic distance (A, periodic) over ~``n_checked`` evenly spaced frames."""
    from pymatgen.core import Lattice

    lattice = Lattice(run.lattice)
    every = max(1, run.n_frames // n_checked)
    smallest = np.inf
    for frame in range(0, run.n_frames, every):
        frac = run.frac_coords[frame] % 1.0
        distances = lattice.get_all_distances(frac, frac)
        np.fill_diagonal(distances, np.inf)
        smallest = min(smallest, float(distances.min()))
    return smallest


def check_trajectory(
    run: TemperatureRun, thresholds: SanityThresholds | None = None
) -> SanityCheck:
    """Run the sanity checks on one production run.

    Parameters
    ----------
    run
        The production trajectory (its ``energies`` are checked when present).
    thresholds
        Limits (defaults: :class:`SanityThresholds`).

    Returns
    -------
    SanityCheck
        Reasons (empty when the run is sane) and the measured values.
    """
    limits = thresholds or SanityThresholds()
    check = SanityCheck()
    if run.n_frames < 2:
        check.reasons.append(f"trajectory has {run.n_frames} frame(s); at least 2 are needed")
        return check
    if run.energies is not None:
        per_atom = run.energies / run.n_sites
        if not np.all(np.isfinite(per_atom)):
            check.reasons.append("non-finite (NaN/inf) energy in the trajectory")
        else:
            deviation = float(np.abs(per_atom - np.median(per_atom)).max())
            check.max_energy_deviation_per_atom = deviation
            if deviation > limits.max_energy_deviation_per_atom:
                check.reasons.append(
                    f"exploding energy: a frame deviates {deviation:.2f} eV/atom from the "
                    f"median (limit {limits.max_energy_deviation_per_atom} eV/atom)"
                )
    if not np.all(np.isfinite(run.frac_coords)):
        check.reasons.append("non-finite (NaN/inf) atomic positions")
        return check
    jumps = np.linalg.norm(np.diff(run.frac_coords, axis=0) @ run.lattice, axis=2)
    check.max_speed_A_per_fs = float(jumps.max()) / run.time_step_fs
    if check.max_speed_A_per_fs > limits.max_speed_A_per_fs:
        check.reasons.append(
            f"atom escaping: moved at {check.max_speed_A_per_fs:.2f} A/fs between frames "
            f"(limit {limits.max_speed_A_per_fs} A/fs)"
        )
    check.min_distance = minimum_distance(run)
    if check.min_distance < limits.min_distance:
        check.reasons.append(
            f"too-close contact: atoms {check.min_distance:.2f} A apart "
            f"(limit {limits.min_distance} A)"
        )
    return check


def settled_start(
    run: TemperatureRun, target_K: float, tolerance: float, window_fs: float = 200.0
) -> tuple[int, bool]:
    """First frame from which the kinetic temperature has settled at the target.

    The production run is scanned in windows of ``window_fs``; frames before the first
    window whose mean temperature is within ``tolerance`` (relative) of ``target_K`` are to
    be discarded. At most the first third of the run is discarded.

    Returns
    -------
    tuple
        (frames to discard, whether a settled window was found). Runs without kinetic
        temperatures, or of fewer than 20 frames (too short to judge), give (0, True).
    """
    temps = run.kinetic_temperatures
    if temps is None or len(temps) < 20:
        return 0, True
    window = max(2, min(len(temps) // 4, int(round(window_fs / run.time_step_fs))))
    limit = len(temps) // 3
    for start in range(0, limit + 1, max(1, window // 2)):
        mean = float(np.mean(temps[start : start + window]))
        if abs(mean - target_K) <= tolerance * target_K:
            return start, True
    return 0, False


def settled_production(
    run: TemperatureRun, target_K: float, tolerance: float
) -> tuple[TemperatureRun, int, bool]:
    """The part of a production run that every stage analyses: from its first settled frame.

    The continue-until decisions (:func:`sse_flows.md.continuation.production_decision`)
    and the material's document (:func:`sse_flows.md.documents.make_md_run_doc`) both read
    this window, so a run is not stopped as "host unstable" (or kept running) on frames
    its document leaves out.

    Returns
    -------
    tuple
        (the run without its first ``discard`` frames, ``discard``, whether a settled
        window was found), as :func:`settled_start` decides.
    """
    discard, settled = settled_start(run, target_K, tolerance)
    if discard:
        run = run.slice(discard, run.n_frames)
    return run, discard, settled
