"""Is the host framework still the crystal? One criterion, used by every stage.

The framework is every atom that is not the mobile ion. For each framework element the
mean squared displacement (MSD) from the first frame is computed after removing the drift
of the framework's centre (the only drift a thermostatted cell has). A stable crystal's
MSD rises within ~0.1 ps to a vibrational plateau and stays there; a melted or
amorphized host keeps rising. The verdict is taken on the MSD curve's *growth*, never on a
match of one thermal snapshot against another:

* ``msd_half``: the element's MSD averaged over frames 45-55 % of the run;
* ``msd_end``: averaged over the last 10 % of the run;
* an element is **melted** when ``msd_half >= melt_msd_A2`` (1.5 A^2: 1.2 A RMS, far
  beyond vibration) *and* ``msd_end >= growth_ratio * msd_half`` (1.2: still rising);
* otherwise an element is **rearranged** when its MSD at half or end is
  ``>= rearranged_msd_A2`` (4 A^2: 2 A RMS, about a bond length): the atoms left their
  crystal sites even if they then stopped;
* the host is unstable when any element is melted or rearranged. An element whose MSD
  rises (ratio above ``growth_ratio``) below those limits is reported as *creeping*:
  information, not failure.

Polyanions (PS4, GeS4, PO4, BS3, ...) count as rigid units: the displacement of each of
their ligands is taken as the displacement of the group's centroid. Their rotation (PS4
groups turning by 120 degrees in hot LGPS move each S by ~3.5 A) is then not read as
melting; :func:`polyanion_rotation` reports it as information. A group that comes apart in
a melt still shows as its centre atoms (P, Ge, B) diffusing.

Calibrated on the authors' 36 VASP AIMD runs (60 ps each; docs/md.md): it flags every
run whose framework MSD grows and none of the plateaus.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from pydantic import BaseModel, Field

from sse_flows.analysis.runs import TemperatureRun

__all__ = [
    "FrameworkStability",
    "SpeciesMSD",
    "StabilitySettings",
    "framework_msd_curves",
    "framework_stability",
    "polyanion_groups",
    "polyanion_rotation",
]


@dataclass(frozen=True)
class StabilitySettings:
    """Thresholds of the framework-stability criterion (see the module docstring)."""

    melt_msd_A2: float = 1.5
    growth_ratio: float = 1.2
    rearranged_msd_A2: float = 4.0

    def as_dict(self) -> dict:
        """Plain dict (for provenance)."""
        return asdict(self)


class SpeciesMSD(BaseModel):
    """The MSD plateau-or-growth summary of one framework element."""

    element: str = Field(description="Framework element.")
    n_atoms: int = Field(description="Atoms of this element in the cell.")
    msd_half_A2: float = Field(
        description="Drift-corrected MSD averaged over 45-55 % of the run (A^2)."
    )
    msd_end_A2: float = Field(description="Drift-corrected MSD over the last 10 % (A^2).")
    growth_ratio: float = Field(description="msd_end_A2 / msd_half_A2 (1 for a plateau).")
    state: str = Field(
        description="'plateau', 'creeping' (rising below the limits: information), 'melted' "
        "(rising beyond melt_msd_A2) or 'rearranged' (beyond rearranged_msd_A2)."
    )


class FrameworkStability(BaseModel):
    """Verdict on the host framework of one MD run."""

    stable: bool = Field(description="False when any framework element melted or rearranged.")
    state: str = Field(
        description="Worst element state: 'plateau', 'creeping', 'melted' or 'rearranged'."
    )
    framework_msd_half_A2: float = Field(
        description="MSD of all framework atoms together at half the run (A^2)."
    )
    framework_msd_end_A2: float = Field(
        description="MSD of all framework atoms together at the end of the run (A^2)."
    )
    species: list[SpeciesMSD] = Field(
        default_factory=list, description="Per framework element, in alphabetical order."
    )
    reason: str | None = Field(None, description="Why the host is unstable (None if stable).")
    rotation: dict | None = Field(
        None,
        description="Polyanion rotation (information, never a failure): centre element, "
        "groups, median and largest rotation angle (degrees) between first and last frame.",
    )


def _framework_displacements(run: TemperatureRun, specie: str) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian displacements from frame 0 with the framework drift removed, polyanion
    ligands moved with their group's centroid, and the framework indices."""
    mobile = set(run.indices(specie).tolist())
    framework = np.array([i for i in range(run.n_sites) if i not in mobile], dtype=int)
    if len(framework) == 0:
        raise ValueError(f"{run.source or 'run'}: no framework atoms besides {specie}")
    disp = (run.frac_coords - run.frac_coords[0][None]) @ run.lattice
    disp = disp - disp[:, framework].mean(axis=1, keepdims=True)
    rigid = disp.copy()
    for centre, ligands in polyanion_groups(run, specie):
        rigid[:, ligands] = disp[:, [centre, *ligands]].mean(axis=1, keepdims=True)
    return rigid, framework


def framework_msd_curves(run: TemperatureRun, specie: str = "Li") -> dict[str, np.ndarray]:
    """Drift-corrected MSD(t) from the first frame of each framework element (A^2),
    polyanion ligands counted with their group's centroid.

    Returns
    -------
    dict
        Element -> array of length ``run.n_frames``; key ``"framework"`` for all together.
    """
    disp, framework = _framework_displacements(run, specie)
    squared = np.sum(disp**2, axis=2)
    curves = {"framework": squared[:, framework].mean(axis=1)}
    for element in sorted({run.species[i] for i in framework}):
        curves[element] = squared[:, run.indices(element)].mean(axis=1)
    return curves


def _window_means(curve: np.ndarray) -> tuple[float, float]:
    n = len(curve)
    half = curve[int(0.45 * n) : max(int(0.55 * n), int(0.45 * n) + 1)]
    end = curve[min(int(0.9 * n), n - 1) :]
    return float(half.mean()), float(end.mean())


def _state(half: float, end: float, settings: StabilitySettings) -> str:
    rising = end >= settings.growth_ratio * half
    if half >= settings.melt_msd_A2 and rising:
        return "melted"
    if max(half, end) >= settings.rearranged_msd_A2:
        return "rearranged"
    if rising and end - half > 0.05:
        return "creeping"
    return "plateau"


_SEVERITY = {"plateau": 0, "creeping": 1, "rearranged": 2, "melted": 3}


def framework_stability(
    run: TemperatureRun,
    specie: str = "Li",
    settings: StabilitySettings | None = None,
    with_rotation: bool = True,
) -> FrameworkStability:
    """Judge the host framework of one run (see the module docstring).

    Parameters
    ----------
    run
        The trajectory (at least 4 frames).
    specie
        The mobile ion, excluded from the framework.
    settings
        Thresholds (defaults: the calibrated ones).
    with_rotation
        Also measure polyanion rotation (information only).

    Returns
    -------
    FrameworkStability
    """
    settings = settings or StabilitySettings()
    if run.n_frames < 4:
        raise ValueError(f"{run.source or 'run'}: {run.n_frames} frames; the check needs 4")
    curves = framework_msd_curves(run, specie)
    rows = []
    for element, curve in curves.items():
        if element == "framework":
            continue
        half, end = _window_means(curve)
        rows.append(
            SpeciesMSD(
                element=element,
                n_atoms=len(run.indices(element)),
                msd_half_A2=half,
                msd_end_A2=end,
                growth_ratio=end / half if half > 0 else float("inf"),
                state=_state(half, end, settings),
            )
        )
    worst = max(rows, key=lambda r: _SEVERITY[r.state])
    fw_half, fw_end = _window_means(curves["framework"])
    stable = _SEVERITY[worst.state] < _SEVERITY["rearranged"]
    reason = None
    if not stable:
        what = (
            "melted or amorphized (MSD still rising)"
            if worst.state == "melted"
            else "rearranged (atoms left their sites)"
        )
        reason = (
            f"host framework {what}: {worst.element} MSD {worst.msd_half_A2:.2f} A2 at half "
            f"the run, {worst.msd_end_A2:.2f} A2 at the end (limits: "
            f"{settings.melt_msd_A2} A2 and still rising x{settings.growth_ratio}, or "
            f"{settings.rearranged_msd_A2} A2)"
        )
    rotation = polyanion_rotation(run, specie) if with_rotation else None
    return FrameworkStability(
        stable=stable,
        state=worst.state,
        framework_msd_half_A2=fw_half,
        framework_msd_end_A2=fw_end,
        species=rows,
        reason=reason,
        rotation=rotation,
    )


#: Centres of tetrahedral / trigonal polyanions and their ligands' bond cutoff (A).
_POLYANION_CENTRES = {"B": 2.0, "C": 1.6, "Si": 2.4, "Ge": 2.6, "P": 2.5, "As": 2.5,
                      "Sb": 2.7, "S": 1.7, "Se": 1.9, "Al": 2.4, "Ga": 2.5}
_LIGANDS = {"O", "S", "Se", "F", "N", "Cl"}


def polyanion_groups(run: TemperatureRun, specie: str = "Li") -> list[tuple[int, list[int]]]:
    """Polyanion groups of the first frame: (centre index, ligand indices).

    A centre is B, C, Si, Ge, P, As, Sb, Al, Ga, or S with O ligands; its ligands are the O,
    S, Se, F, N, Cl atoms within the centre's bond cutoff, each given to its nearest centre;
    a group needs at least three ligands.
    """
    from pymatgen.core import Lattice

    centres = [i for i, s in enumerate(run.species) if s in _POLYANION_CENTRES and s != specie]
    ligands = np.array([i for i, s in enumerate(run.species) if s in _LIGANDS], dtype=int)
    if not centres or len(ligands) == 0:
        return []
    frac0 = run.frac_coords[0]
    dist = Lattice(run.lattice).get_all_distances(frac0[centres], frac0[ligands])
    cutoffs = np.array([_POLYANION_CENTRES[run.species[c]] for c in centres])[:, None]
    allowed = np.array(
        [
            [c != j and not (run.species[c] == "S" and run.species[j] != "O") for j in ligands]
            for c in centres
        ]
    )
    bonded = (dist < cutoffs) & allowed
    owner = np.where(bonded.any(axis=0), np.where(bonded, dist, np.inf).argmin(axis=0), -1)
    candidates = {
        int(centre): [int(ligands[k]) for k in np.flatnonzero(owner == row)]
        for row, centre in enumerate(centres)
    }
    candidates = {c: m for c, m in candidates.items() if len(m) >= 3}
    # an atom that is itself the centre of a group (S in SO4) is no ligand of another
    return [
        (centre, [m for m in members if m not in candidates])
        for centre, members in candidates.items()
        if len([m for m in members if m not in candidates]) >= 3
    ]


def polyanion_rotation(run: TemperatureRun, specie: str = "Li") -> dict | None:
    """Rotation of polyanion groups between the first and the last frame (information).

    The rotation of a group (:func:`polyanion_groups`) is the Kabsch angle between its
    centre-to-ligand vectors in the first and the last frame.

    Returns
    -------
    dict or None
        ``{"centre", "n_groups", "median_deg", "max_deg"}`` for the commonest centre
        element; None when the framework has no polyanion.
    """
    by_centre: dict[str, list[float]] = {}
    for centre, members in polyanion_groups(run, specie):
        first = run.frac_coords[0, members] - run.frac_coords[0, centre]
        image = np.round(first)
        last = run.frac_coords[-1, members] - run.frac_coords[-1, centre] - image
        by_centre.setdefault(run.species[centre], []).append(
            _kabsch_angle((first - image) @ run.lattice, last @ run.lattice)
        )
    if not by_centre:
        return None
    centre, angles = max(by_centre.items(), key=lambda item: len(item[1]))
    return {
        "centre": centre,
        "n_groups": len(angles),
        "median_deg": float(np.median(angles)),
        "max_deg": float(np.max(angles)),
    }


def _kabsch_angle(before: np.ndarray, after: np.ndarray) -> float:
    """Angle (degrees) of the best rotation taking vectors ``before`` onto ``after``."""
    h = before.T @ after
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    cos = (np.trace(rotation) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
