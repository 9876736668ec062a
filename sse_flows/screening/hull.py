"""Energy above the convex hull, and its agreement with the Materials Project's values.

The lower convex hull of a phase diagram is a convex, piecewise-linear function of the
composition, so at any composition ``x`` it equals the largest of its facet planes,
``max_f x . mu_f`` (``mu_f`` the chemical potentials of facet ``f``).  That makes E_hull of
many compositions one matrix product; :func:`e_above_hull_pymatgen` is the library's value
for the same quantity, kept for tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition

from sse_flows.screening.phase_diagrams import ChemsysHull


def hull_energies(hull: ChemsysHull, compositions: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Energy of the convex hull (eV/atom) at each composition."""
    if not compositions:
        return np.zeros(0)
    fractions = hull.atomic_fractions(compositions)
    return (fractions @ hull.facet_chempots.T).max(axis=1)


def e_above_hull(
    hull: ChemsysHull,
    compositions: Sequence[Mapping[str, float]],
    energies_per_atom: Sequence[float],
) -> np.ndarray:
    """Energy above hull (eV/atom) of compositions with the given energies per atom.

    The energies are on the phase diagram's scale (formation energies for the snapshot).
    """
    return np.asarray(energies_per_atom, dtype=float) - hull_energies(hull, compositions)


def e_above_hull_pymatgen(
    phase_diagram: PhaseDiagram, formula: str, energy_per_atom: float
) -> float:
    """pymatgen's ``PhaseDiagram.get_e_above_hull`` for one composition (reference value)."""
    composition = Composition(formula)
    entry = PDEntry(composition, energy_per_atom * composition.num_atoms)
    return float(phase_diagram.get_e_above_hull(entry, allow_negative=True))


class HullAgreement(BaseModel):
    """How computed energies above hull compare with reference (MP) values."""

    n_compared: int = Field(..., description="Compositions with both a computed and an MP value.")
    tolerance: float = Field(..., description="Agreement tolerance (eV/atom).")
    fraction_within_tolerance: float | None = Field(
        None, description="Fraction of compared compositions with |ours - MP| <= tolerance."
    )
    median_abs_difference: float | None = Field(
        None, description="Median |ours - MP| (eV/atom)."
    )
    fraction_same_stability: float | None = Field(
        None,
        description="Fraction where both agree on 'on the hull' (E_hull <= stability_tolerance).",
    )
    stability_tolerance: float = Field(
        ..., description="E_hull (eV/atom) at or below which a composition counts as on the hull."
    )
    n_stable_ours_only: int = Field(
        0, description="Compositions on our hull whose MP value is above stability_tolerance."
    )
    n_stable_mp_only: int = Field(
        0, description="Compositions on MP's hull that our hull puts above stability_tolerance."
    )


def hull_agreement(
    computed: Mapping[str, float],
    reference: Mapping[str, float],
    tolerance: float = 0.005,
    stability_tolerance: float = 1e-3,
) -> HullAgreement:
    """Compare computed E_hull with reference values on the formulas both have.

    Parameters
    ----------
    computed, reference
        Reduced formula -> energy above hull (eV/atom).
    tolerance
        |difference| (eV/atom) counted as agreement.
    stability_tolerance
        E_hull (eV/atom) at or below which a composition is taken as on the hull.
    """
    shared = sorted(set(computed) & set(reference))
    if not shared:
        return HullAgreement(
            n_compared=0, tolerance=tolerance, stability_tolerance=stability_tolerance
        )
    ours = np.array([computed[f] for f in shared], dtype=float)
    theirs = np.array([reference[f] for f in shared], dtype=float)
    difference = np.abs(ours - theirs)
    ours_stable = ours <= stability_tolerance
    theirs_stable = theirs <= stability_tolerance
    return HullAgreement(
        n_compared=len(shared),
        tolerance=tolerance,
        fraction_within_tolerance=float(np.mean(difference <= tolerance)),
        median_abs_difference=float(np.median(difference)),
        fraction_same_stability=float(np.mean(ours_stable == theirs_stable)),
        stability_tolerance=stability_tolerance,
        n_stable_ours_only=int(np.sum(ours_stable & ~theirs_stable)),
        n_stable_mp_only=int(np.sum(~ours_stable & theirs_stable)),
    )
