"""E_hull from the cached hulls: equal to pymatgen's, and in agreement with MP's values."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Composition

from sse_flows.data.formulas import parse_formula
from sse_flows.screening.hull import e_above_hull, e_above_hull_pymatgen, hull_agreement
from sse_flows.screening.phase_diagrams import FormationEnergyIndex

SYSTEMS = [["Li", "O", "P", "S"], ["La", "Li", "O"], ["Li", "N", "O", "P"]]


@pytest.mark.parametrize("chemsys", SYSTEMS)
def test_hull_equals_pymatgen_phase_diagram(snapshot_hulls, chemsys):
    hull = snapshot_hulls.get(chemsys)
    phase_diagram = hull.phase_diagram
    library_stable = {e.composition.reduced_formula for e in phase_diagram.stable_entries}
    assert {Composition(f).reduced_formula for f in hull.stable_formulas} == library_stable
    ours = e_above_hull(hull, [parse_formula(f) for f in hull.formulas], hull.energies)
    library = [
        e_above_hull_pymatgen(phase_diagram, f, e)
        for f, e in zip(hull.formulas, hull.energies, strict=True)
    ]
    np.testing.assert_allclose(ours, library, atol=1e-9)
    assert len(hull.formulas) > 8


def test_positive_formation_energy_is_above_hull_by_that_much():
    # An unstable binary with +0.1 eV/atom and no other compound: E_hull = 0.1 eV/atom.
    hull = FormationEnergyIndex({"LiNe": 0.1}).hull(["Li", "Ne"])
    assert hull.stable_formulas == ["Li", "Ne"]
    assert e_above_hull(hull, [{"Li": 1, "Ne": 1}], [0.1])[0] == pytest.approx(0.1)


def test_hull_agreement_counts():
    computed = {"A": 0.0, "B": 0.010, "C": 0.002, "D": 0.0}
    reference = {"A": 0.0, "B": 0.0, "C": 0.0, "E": 0.3}
    agreement = hull_agreement(computed, reference, tolerance=0.005, stability_tolerance=1e-3)
    assert agreement.n_compared == 3
    assert agreement.fraction_within_tolerance == pytest.approx(2 / 3)
    assert agreement.n_stable_mp_only == 2  # B and C are off our hull, on MP's
    assert agreement.n_stable_ours_only == 0


def test_snapshot_hulls_agree_with_mp_e_hull(snapshot_doc):
    # MP's own values are not always the ground-state polymorph's, so not all agree;
    # a quick check on the 2019 snapshot found ~90% within 5 meV/atom.
    agreement = snapshot_doc.hull_agreement
    assert agreement.n_compared > 500
    assert agreement.fraction_within_tolerance > 0.85
    assert agreement.fraction_same_stability > 0.9
