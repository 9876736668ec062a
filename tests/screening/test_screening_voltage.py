"""Stability windows: hand-derived phase diagrams, published windows, pymatgen's route."""

from __future__ import annotations

import pytest
from pymatgen.analysis.phase_diagram import PDEntry
from pymatgen.core import Composition

from sse_flows.screening.phase_diagrams import ChemsysHull
from sse_flows.screening.voltage import stability_window, stability_window_pymatgen


def _hull(formation_energies_per_formula: dict[str, float]) -> ChemsysHull:
    entries = [
        PDEntry(Composition(formula), energy) for formula, energy in
        formation_energies_per_formula.items()
    ]
    return ChemsysHull.from_entries(entries)


def test_binary_window_derived_by_hand():
    # Li-X with LiX (-2 eV per formula) and LiX2 (-2.4 eV per formula), elements at 0.
    # Facets: Li|LiX  -> mu_Li = 0;  LiX|LiX2: mu_Li + mu_X = -2, mu_Li + 2 mu_X = -2.4
    # -> mu_X = -0.4, mu_Li = -1.6;  LiX2|X: mu_X = 0 -> mu_Li = -2.4.
    # So LiX is stable for 0 <= V <= 1.6 V and LiX2 for 1.6 <= V <= 2.4 V.
    hull = _hull({"Li": 0.0, "Cl": 0.0, "LiCl": -2.0, "LiCl2": -2.4})
    lix = stability_window(hull, "LiCl")
    lix2 = stability_window(hull, "LiCl2")
    assert lix.v_red == pytest.approx(0.0, abs=1e-12)
    assert lix.v_ox == pytest.approx(1.6, abs=1e-12)
    assert lix2.v_red == pytest.approx(1.6, abs=1e-12)
    assert lix2.v_ox == pytest.approx(2.4, abs=1e-12)


def test_ternary_window_derived_by_hand():
    # Li-A-B with LiA (-2 eV), AB (-1 eV), LiAB (-3.5 eV) per formula unit.
    # Li extraction LiAB -> AB + Li costs -1 + mu_Li + 3.5 >= 0, so mu_Li >= -2.5:
    # V_ox = 2.5 V.  No phase is richer in Li than LiAB on the A:B = 1:1 line but Li
    # itself, so LiAB is stable against Li metal: V_red = 0.
    hull = _hull({"Li": 0.0, "S": 0.0, "P": 0.0, "LiS": -2.0, "PS": -1.0, "LiPS": -3.5})
    window = stability_window(hull, "LiPS")
    assert window.v_ox == pytest.approx(2.5, abs=1e-12)
    assert window.v_red == pytest.approx(0.0, abs=1e-12)
    assert stability_window_pymatgen(hull.phase_diagram, "LiPS") == pytest.approx(window)


def test_off_hull_phase_has_no_window():
    # LiCl2 at -0.4 eV/atom lies above the LiCl-Cl tie line (-0.67 eV/atom there).
    hull = _hull({"Li": 0.0, "Cl": 0.0, "LiCl": -2.0, "LiCl2": -1.2})
    assert stability_window(hull, "LiCl2") is None
    assert stability_window_pymatgen(hull.phase_diagram, "LiCl2") is None


# Published windows (V vs Li/Li+), Richards et al. 2016 and Zhu, He, Mo 2015 (same method).
PUBLISHED = [
    ("Li3N", 0.0, 0.44),
    ("Li2S", 0.0, 2.05),  # 2.0-2.1 V depending on the paper
    ("Li3PS4", 1.71, 2.31),
    ("Li2PNO2", 0.68, 2.63),
    ("Li2O", 0.0, 2.91),
    ("Li3PO4", 0.69, 4.21),
]


@pytest.mark.parametrize(("formula", "v_red", "v_ox"), PUBLISHED)
def test_published_windows_on_snapshot(snapshot_hulls, formula, v_red, v_ox):
    hull = snapshot_hulls.get(Composition(formula).chemical_system.split("-"))
    window = stability_window(hull, formula)
    assert window is not None, f"{formula} is not on the 2019 hull"
    assert window.v_ox == pytest.approx(v_ox, abs=0.3)
    assert window.v_red == pytest.approx(v_red, abs=0.3)


@pytest.mark.parametrize("chemsys", [["Li", "P", "S"], ["Li", "N", "O", "P"], ["B", "Li", "O"]])
def test_facet_route_equals_pymatgen_element_profile(snapshot_hulls, chemsys):
    hull = snapshot_hulls.get(chemsys)
    phase_diagram = hull.phase_diagram
    li_phases = [f for f in hull.stable_formulas if "Li" in Composition(f) and f != "Li"]
    assert len(li_phases) >= 3
    for formula in li_phases:
        ours = stability_window(hull, formula)
        library = stability_window_pymatgen(phase_diagram, formula)
        assert library is not None
        assert ours.v_ox == pytest.approx(library.v_ox, abs=1e-6), formula
        assert ours.v_red == pytest.approx(library.v_red, abs=1e-6), formula
