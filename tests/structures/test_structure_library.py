"""The local structure library: lookup order, real derived structures, clear errors."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure


def test_aimd_structures_are_found_by_id_and_by_formula():
    from sse_flows.sources.structures import StructureLibrary

    library = StructureLibrary()
    by_id = library.find("mp-1222492")
    assert by_id.structure.composition.reduced_formula == "Li3ErBr6"
    by_formula = library.find(None, "LiAlS2")
    assert by_formula.origin == "package:mp-1106183.json"


def test_positive_control_lgps_is_ordered_and_stoichiometric():
    from sse_flows.sources.structures import StructureLibrary

    hit = StructureLibrary().find(None, "Li10GeP2S12")
    assert hit.structure.is_ordered
    assert hit.structure.composition.reduced_composition.as_dict() == {
        "Li": 10,
        "Ge": 1,
        "P": 2,
        "S": 12,
    }
    # no two atoms closer than 1.8 A (an ordering that stacks Li on Li would fail this)
    assert hit.structure.distance_matrix[hit.structure.distance_matrix > 0].min() > 1.8


def test_user_folder_wins_and_unparseable_files_name_the_file(tmp_path):
    from sse_flows.sources.structures import StructureFileError, StructureLibrary, read_structure

    li2o = Structure(Lattice.cubic(4.6), ["Li", "Li", "O"], [[0.25] * 3, [0.75] * 3, [0, 0, 0]])
    li2o.to(filename=str(tmp_path / "Li2O.cif"))
    hit = StructureLibrary(tmp_path).find("mp-1960", "Li2O")
    assert hit.origin.startswith("user:") and len(hit.structure) == 3

    bad = tmp_path / "mp-123.cif"
    bad.write_text("data_broken\n_cell_length_a oops\n")
    with pytest.raises(StructureFileError, match=r"mp-123\.cif"):
        read_structure(bad)
    with pytest.raises(StructureFileError, match="does not exist"):
        StructureLibrary(tmp_path / "missing")


def test_unknown_material_has_no_structure():
    from sse_flows.sources.structures import StructureLibrary

    assert StructureLibrary().find("mp-0", "Li9Xe") is None
