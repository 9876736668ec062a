"""Ordered MD cells from disordered structures (sse_flows.md.ordering): the composition is
kept, split sites are never doubly occupied, the supercell makes the occupancies whole, and
impossible cells are refused."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pymatgen.core
import pytest
from pymatgen.core import Lattice, Structure

from sse_flows.md.ordering import order_structure, ordering_scaling
from sse_flows.md.protocol import MDStructureError, check_md_structure

PYMATGEN_STRUCTURES = Path(pymatgen.core.__file__).resolve().parents[1] / "util" / "structures"


@pytest.fixture(scope="module")
def lgps_disordered() -> Structure:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Structure.from_file(PYMATGEN_STRUCTURES / "Li10GeP2S12.json")


def test_lgps_orders_to_its_stoichiometric_cell(lgps_disordered):
    assert not lgps_disordered.is_ordered
    ordered, doc = order_structure(lgps_disordered)
    check_md_structure(ordered)  # now an MD input
    # experimental occupancies (Li 20.2, Ge 2.06, P 3.94 per cell) round to Li20Ge2P4S24
    assert ordered.composition.reduced_formula == "Li10Ge(PS6)2"
    assert doc.n_atoms == 50 and doc.scaling == [1, 1, 1]
    assert doc.max_fraction_error < 0.005
    # Li-Li (or any) contacts stay physical: no two atoms on neighbouring partial sites
    assert doc.shortest_distance_A > 1.5
    # the same seed gives the same cell
    again, _ = order_structure(lgps_disordered)
    np.testing.assert_allclose(again.frac_coords, ordered.frac_coords)
    assert again.species == ordered.species


def _split_site_cell(occupancy: float = 0.5) -> Structure:
    """Cubic Cl sublattice (5 A) with 8 Li split sites per cell: pairs 0.6 A apart, each
    half occupied (by default), so one Li per pair is the only physical ordering."""
    species, coords = ["Cl"], [[0.0, 0.0, 0.0]]
    rng = np.random.default_rng(3)
    centres = [[0.25 + 0.5 * i, 0.25 + 0.5 * j, 0.25 + 0.5 * k]
               for i in range(2) for j in range(2) for k in range(2)]
    for centre in centres:
        direction = rng.normal(size=3)
        offset = 0.3 * direction / np.linalg.norm(direction) / 5.0
        for sign in (1, -1):
            species.append({"Li": occupancy})
            coords.append(list(np.array(centre) + sign * offset))
    return Structure(Lattice.cubic(5.0), species, coords)


def test_split_sites_are_never_doubly_occupied():
    cell = _split_site_cell()
    ordered, doc = order_structure(cell, seed=1)
    assert ordered.composition["Li"] == 8  # 16 half-occupied sites -> 8 atoms
    li = [site for site in ordered if site.specie.symbol == "Li"]
    shortest_li_li = min(a.distance(b) for a in li for b in li if a is not b)
    assert shortest_li_li > 1.0  # a doubly occupied pair would be 0.6 A apart
    assert doc.shortest_distance_A > 1.0


def test_supercell_makes_the_occupancies_whole_atoms():
    # two Li sites per cell at occupancy 1/4: half an atom per cell, one atom per 2 cells
    cell = Structure(Lattice.orthorhombic(4.0, 4.5, 5.0), ["Cl", {"Li": 0.25}, {"Li": 0.25}],
                     [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.0, 0.5]])
    scaling = ordering_scaling(cell, max_atoms=100)
    assert int(np.prod(scaling)) == 2
    ordered, doc = order_structure(cell)
    assert ordered.composition["Li"] == 1 and ordered.composition["Cl"] == 2
    assert doc.max_fraction_error < 1e-9


def test_mixed_sites_keep_their_ratio():
    # an argyrodite-like S/Cl mixed site, 50:50 on 4 sites per cell: 2 S and 2 Cl
    cell = Structure(Lattice.cubic(6.0), ["Li"] + [{"S": 0.5, "Cl": 0.5}] * 4,
                     [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
    ordered, _ = order_structure(cell)
    assert ordered.composition["S"] == 2 and ordered.composition["Cl"] == 2
    assert ordered.is_ordered


def test_ordered_input_is_unchanged_and_overlaps_are_refused():
    ordered_in = Structure(Lattice.cubic(4.0), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    out, doc = order_structure(ordered_in)
    assert out.composition == ordered_in.composition and doc.disordered_groups == 0
    overlap = Structure(Lattice.cubic(4.0), ["Li", "Cl"], [[0, 0, 0], [0.1, 0, 0]])
    with pytest.raises(MDStructureError, match="0.40 A apart"):
        order_structure(overlap)


def test_split_pairs_refined_above_half_occupancy_lose_the_extra_atom():
    # 8 split pairs at occupancy 0.6: 9.6 -> 10 atoms on 8 pairs would force two clashes;
    # the ordering leaves those sites empty instead (one Li per pair) and says so
    ordered, doc = order_structure(_split_site_cell(0.6), seed=0)
    scale = int(np.prod(doc.scaling))
    assert ordered.composition["Li"] == 8 * scale  # one per pair, whatever the supercell
    assert doc.atoms_removed == round(16 * scale * 0.6) - 8 * scale
    assert doc.shortest_distance_A > 1.0
    assert doc.max_fraction_error > 0.01  # the composition moved, and the document says it


def test_md_command_orders_only_when_asked(lgps_disordered, tmp_path):
    import json

    from click.testing import CliRunner
    from pymatgen.io.cif import CifWriter

    from sse_flows.md.commands import md

    path = tmp_path / "LGPS_disordered.cif"
    CifWriter(lgps_disordered).write_file(path)
    refused = CliRunner().invoke(md, [str(path), "--engine", "vasp", "--dry-run"])
    assert refused.exit_code != 0 and "--order" in refused.output
    ordered = CliRunner().invoke(md, [str(path), "--engine", "vasp", "--dry-run", "--order",
                                      "--json"])
    assert ordered.exit_code == 0, ordered.output
    summary = json.loads(ordered.output.strip().splitlines()[-1])
    assert summary["ordering"]["formula_ordered"] == "Li20 Ge2 P4 S24"
    flow_file = next(tmp_path.glob("aimd_flow_*.json"))
    assert "Li10Ge(PS6)2" in flow_file.name  # the flow simulates the ordered cell
    assert json.loads(flow_file.read_text())["jobs"]


def test_a_dilute_dopant_is_kept_by_a_larger_supercell():
    # 10 % Na on the Li site of a 2-atom cell rounds to nothing in the cell itself
    from sse_flows.md.ordering import FRACTION_TOLERANCE

    cell = Structure(Lattice.cubic(5.1), [{"Li": 0.9, "Na": 0.1}, "Cl"],
                     [[0, 0, 0], [0.5, 0.5, 0.5]])
    ordered, doc = order_structure(cell)
    assert ordered.composition["Na"] >= 1
    assert doc.max_fraction_error <= FRACTION_TOLERANCE
    assert int(np.prod(doc.scaling)) > 1
