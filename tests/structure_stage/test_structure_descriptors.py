"""Li-transport descriptors on structures whose geometry is known."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from pymatgen.util.testing import MatSciTest

from sse_flows.structure_stage.descriptors import (
    guess_oxidation_states,
    li_network,
    li_sublattice,
    li_transport_descriptors,
)

PACKAGED = Path(__file__).resolve().parents[2] / "sse_flows" / "data" / "structures"


def _pymatgen(name: str) -> Structure:
    """One of the structures bundled with pymatgen (``pymatgen/util/structures``)."""
    return MatSciTest.get_structure(name)


def test_li2o_antifluorite_li_sublattice_is_simple_cubic_with_edge_a_over_2():
    structure = _pymatgen("Li2O")
    a = SpacegroupAnalyzer(structure).get_conventional_standard_structure().lattice.a
    assert a == pytest.approx(4.65, abs=0.05)  # Li2O antifluorite, a = 4.61-4.66 A
    d = li_transport_descriptors(structure)
    # Li fills the tetrahedral holes of the O fcc: a simple cubic Li lattice of edge a/2
    assert d["li_li_min_A"] == pytest.approx(a / 2, abs=0.01)
    assert d["li_percolation_1d_A"] == pytest.approx(a / 2, abs=0.01)
    assert d["li_percolation_3d_A"] == pytest.approx(a / 2, abs=0.01)
    assert d["li_network_dimension"] == 3
    assert d["li_network_fraction"] == 1.0
    # 8 Li per conventional cube
    assert d["li_per_nm3"] == pytest.approx(8 / a**3 * 1000, rel=0.01)
    assert d["volume_per_anion_A3"] == pytest.approx(a**3 / 4, rel=0.01)
    assert d["oxidation_states"] == {"Li": 1, "O": -2}


def test_li2o_free_volume_from_shannon_radii():
    structure = _pymatgen("Li2O")
    d = li_transport_descriptors(structure)
    spheres = 4 / 3 * math.pi * (2 * 0.90**3 + 1.26**3)  # Li+ 0.90 A, O2- 1.26 A (Shannon)
    assert d["free_volume_fraction"] == pytest.approx(1 - spheres / structure.volume, abs=1e-3)


def test_lifepo4_li_runs_in_one_dimensional_channels_along_b():
    structure = _pymatgen("LiFePO4")
    b = sorted(structure.lattice.abc)[1]  # Pnma a 10.4, b 6.07, c 4.74 A
    assert b == pytest.approx(6.07, abs=0.05)
    d = li_transport_descriptors(structure)
    assert d["li_li_min_A"] == pytest.approx(b / 2, abs=0.05)
    assert d["li_percolation_1d_A"] == pytest.approx(b / 2, abs=0.05)  # the chain itself
    assert d["li_network_dimension"] == 1  # separate channels at 4 A
    assert d["li_network_fraction"] == pytest.approx(0.5)  # two channels per cell
    assert 4.0 < d["li_percolation_2d_A"] <= d["li_percolation_3d_A"] < 6.0


@pytest.mark.parametrize("name", ["LiFePO4", "Li10GeP2S12", "Li3V2(PO4)3"])
def test_network_dimension_agrees_with_pymatgen_larsen(name):
    from pymatgen.analysis.dimensionality import get_dimensionality_larsen
    from pymatgen.analysis.graphs import StructureGraph
    from pymatgen.analysis.local_env import CutOffDictNN

    li = li_sublattice(_pymatgen(name))
    for cutoff in (2.5, 3.0, 3.5, 4.0, 5.0):
        graph = StructureGraph.from_local_env_strategy(li, CutOffDictNN({("Li", "Li"): cutoff}))
        ours = li_network(li, max_cutoff=6.0, fixed_cutoff=cutoff)["dimension"]
        assert ours == get_dimensionality_larsen(graph), cutoff


def test_disordered_lgps_counts_partially_occupied_li_sites():
    structure = _pymatgen("Li10GeP2S12")
    assert not structure.is_ordered
    d = li_transport_descriptors(structure)
    # occupancy-weighted Li: 20.2 per 50-site cell of 289 A^3 -> about 70 per nm^3 x 0.3
    assert d["li_per_nm3"] == pytest.approx(
        float(structure.composition["Li"]) / structure.volume * 1000, rel=1e-9
    )
    assert d["li_network_dimension"] == 3  # LGPS conducts in 3D through its partial sites
    assert d["li_li_min_A"] < 2.0  # neighbouring partially occupied sites
    assert d["oxidation_states"] == {"Li": 1, "Ge": 4, "P": 5, "S": -2}


def test_packaged_li3po4_is_described():
    structure = Structure.from_file(str(PACKAGED / "Li3PO4.json"))
    d = li_transport_descriptors(structure)
    assert d["oxidation_states"] == {"Li": 1, "P": 5, "O": -2}
    assert 2.4 < d["li_li_min_A"] < 3.2  # Li-Li in gamma-Li3PO4 ~ 2.6-3.0 A
    assert d["li_network_dimension"] == 3
    assert 0.0 < d["free_volume_fraction"] < 1.0


def test_a_structure_without_li_is_refused():
    with pytest.raises(ValueError, match="no Li site"):
        li_transport_descriptors(_pymatgen("Si"))


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("Li3PS4", {"Li": 1, "P": 5, "S": -2}),
        ("Li2SO4", {"Li": 1, "S": 6, "O": -2}),
        ("Li6PS5Cl", {"Li": 1, "P": 5, "S": -2, "Cl": -1}),
        ("Li6.4La3Zr1.4Ta0.6O12", {"Li": 1, "La": 3, "Zr": 4, "Ta": 5, "O": -2}),
        ("Li3ErCl6", {"Li": 1, "Er": 3, "Cl": -1}),
    ],
)
def test_guess_oxidation_states(formula, expected):
    assert guess_oxidation_states(formula) == expected
