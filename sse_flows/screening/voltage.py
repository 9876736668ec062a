"""Electrochemical stability window against Li from the Li-open grand-potential diagram.

A phase on the hull of its chemical system is stable, in the Li-open grand-potential
phase diagram, for Li chemical potentials ``mu_Li`` in ``[mu_min, mu_max]`` (Richards et
al., Chem. Mater. 28, 266 (2016); Zhu, He, Mo, ACS AMI 7, 23685 (2015)).  Below
``mu_min`` it decomposes by giving up Li (oxidation), above ``mu_max`` it takes up Li
(reduction).  As voltages vs Li/Li+:

    V_ox  = -(mu_min - mu_Li_metal),   V_red = -(mu_max - mu_Li_metal).

The phase's stability region in the space of all chemical potentials is a polytope whose
vertices are the chemical potentials of the hull facets that contain the phase, so
``[mu_min, mu_max]`` is the range of ``mu_Li`` over those facets (:func:`stability_window`).
:func:`stability_window_pymatgen` gets the same numbers from pymatgen's
``PhaseDiagram.get_element_profile`` and is kept as the reference in tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition, Element

from sse_flows.screening.phase_diagrams import ChemsysHull


@dataclass(frozen=True)
class StabilityWindow:
    """Voltage window (V vs Li/Li+) in which a phase is stable against Li exchange.

    Attributes
    ----------
    v_red
        Reduction limit: below this voltage the phase takes up Li and decomposes.
    v_ox
        Oxidation limit: above this voltage the phase gives up Li and decomposes.
    """

    v_red: float
    v_ox: float

    @property
    def width(self) -> float:
        """Width of the window (V)."""
        return self.v_ox - self.v_red


def stability_window(
    hull: ChemsysHull, formula: str, working_ion: str = "Li"
) -> StabilityWindow | None:
    """Stability window of a phase on the hull; ``None`` when the phase is not on the hull.

    Parameters
    ----------
    hull
        Hull of a chemical system containing the phase and ``working_ion``.
    formula
        Formula of the phase (any multiple of the reduced formula).
    working_ion
        The open element (Li).
    """
    vertex = hull.vertex_index.get(formula)
    if vertex is None:
        vertex = hull.vertex_index.get(Composition(formula).reduced_formula)
    if vertex is None:
        return None
    ion = hull.elements.index(working_ion)
    mus = hull.facet_chempots[(hull.facets == vertex).any(axis=1), ion]
    reference = hull.element_references[working_ion]
    return StabilityWindow(
        v_red=float(reference - mus.max()) + 0.0, v_ox=float(reference - mus.min()) + 0.0
    )


def _entry_of(phase_diagram: PhaseDiagram, composition: Composition):
    """The lowest-energy entry of ``composition`` in the phase diagram."""
    target = composition.reduced_composition
    matches = [e for e in phase_diagram.all_entries
               if e.composition.reduced_composition == target]
    if not matches:
        raise ValueError(f"{composition.reduced_formula} is not in the phase diagram")
    return min(matches, key=lambda e: e.energy_per_atom)


def stability_window_pymatgen(
    phase_diagram: PhaseDiagram, formula: str, working_ion: str = "Li"
) -> StabilityWindow | None:
    """Stability window from pymatgen's ``get_element_profile`` (the library's route).

    The profile walks from the Li-free end of the composition line to Li metal; the
    critical composition equal to the phase carries ``mu_max`` (the facet on its Li-rich
    side), the next one (Li-poorer) carries ``mu_min``.
    """
    element = Element(working_ion)
    composition = Composition(formula)
    if phase_diagram.get_e_above_hull(_entry_of(phase_diagram, composition)) > 1e-8:
        return None
    reference = phase_diagram.el_refs[element].energy_per_atom
    profile = phase_diagram.get_element_profile(element, composition)
    target = composition.fractional_composition
    for k, step in enumerate(profile):
        critical = step["critical_composition"]
        if critical.num_atoms > 0 and critical.fractional_composition.almost_equals(
            target, rtol=0.0, atol=1e-6
        ):
            if k + 1 >= len(profile):
                return None
            mu_max, mu_min = step["chempot"], profile[k + 1]["chempot"]
            if not (math.isfinite(mu_max) and math.isfinite(mu_min)):
                return None
            return StabilityWindow(
                v_red=float(-(mu_max - reference)), v_ox=float(-(mu_min - reference))
            )
    return None
