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


def test_mp_structure_table_finds_screened_materials_by_id_and_by_formula():
    from sse_flows.sources.structures import StructureLibrary

    library = StructureLibrary()
    by_id = library.find("mp-1960")
    assert by_id.origin == "mp_structures:mp-1960" and by_id.tier == "mp_structures"
    assert by_id.structure.composition.reduced_formula == "Li2O" and len(by_id.structure) == 3
    # no snapshot id: the polymorph rule's choice, rock-salt LiCl (4.4 A Li-Li ... 2.57 A Li-Cl)
    licl = library.find(None, "ClLi")
    assert licl.origin == "mp_structures:mp-22905" and licl.key == "LiCl"
    assert min(licl.structure.distance_matrix[0][1:]) == pytest.approx(2.57, abs=0.05)
    # an id the table does not hold (another LiCl polymorph) falls back to the formula
    assert library.find("mp-1185319", "LiCl").origin == "mp_structures:mp-22905"
    # the documents store the origin; the MP id of the matched structure reads back from it
    from sse_flows.sources.structures import mp_structure_id

    assert mp_structure_id(licl.origin) == "mp-22905"
    assert mp_structure_id(library.find("mp-13725", "Li3PO4").origin) is None  # package tier
    assert mp_structure_id(None) is None


def test_tiers_are_user_then_package_then_mp_table_then_pymatgen(tmp_path):
    from sse_flows.sources.structures import TIERS, StructureLibrary

    assert TIERS == ("user", "package", "mp_structures", "pymatgen")
    # the package's controls and AIMD cells shadow the table's entries of the same material
    assert StructureLibrary().find("mp-13725", "Li3PO4").origin == "package:Li3PO4.json"
    assert StructureLibrary().find("mp-676361").origin == "package:mp-676361.json"
    # the table shadows pymatgen's bundled Li2O
    assert StructureLibrary().find(None, "Li2O").tier == "mp_structures"
    # a user file shadows the table, by formula even when the table has the id
    li2o = Structure(Lattice.cubic(4.7), ["Li", "Li", "O"], [[0.25] * 3, [0.75] * 3, [0, 0, 0]])
    li2o.to(filename=str(tmp_path / "Li2O.cif"))
    hit = StructureLibrary(tmp_path).find("mp-1960", "Li2O")
    assert hit.origin == "user:Li2O.cif" and hit.structure.lattice.a == pytest.approx(4.7)
    assert StructureLibrary(tmp_path, include_builtin=False).find("mp-22905", "LiCl") is None


def test_table_is_read_once_per_process():
    from sse_flows.data.mp_structure_table import load_mp_structure_table
    from sse_flows.sources.structures import StructureLibrary

    StructureLibrary().find("mp-1960")
    assert StructureLibrary()._mp_table() is load_mp_structure_table()
    assert len(load_mp_structure_table()) > 2000


def test_md_argument_resolves_an_mp_id_without_a_file(tmp_path, monkeypatch):
    from sse_flows.md.commands import argument_material_id, resolve_structure
    from sse_flows.sources.structures import StructureFileError

    monkeypatch.chdir(tmp_path)
    structure, origin = resolve_structure("mp-22905")
    assert origin == "mp_structures:mp-22905"
    assert structure.composition.reduced_formula == "LiCl" and structure.is_ordered
    assert argument_material_id("mp-22905") == "mp-22905"
    # a formula works too; a file keeps working and wins over the library
    assert resolve_structure("Li3ErCl6")[1] == "package:mp-676361.json"
    cell = Structure(Lattice.cubic(3.0), ["Li", "Cl"], [[0, 0, 0], [0.5] * 3])
    cell.to(filename=str(tmp_path / "LiCl.vasp"), fmt="poscar")
    structure, origin = resolve_structure("LiCl.vasp")
    assert origin == "LiCl.vasp" and len(structure) == 2
    cell.to(filename=str(tmp_path / "mp-22905"), fmt="poscar")  # a file named like an id
    assert argument_material_id("mp-22905") is None
    with pytest.raises(StructureFileError, match="Could not read a crystal structure from"):
        resolve_structure("mp-22905")
    with pytest.raises(StructureFileError, match="does not exist"):
        resolve_structure("missing.cif")
    with pytest.raises(StructureFileError, match="mp-0 is neither a structure file"):
        resolve_structure("mp-0")


def test_md_command_runs_a_screened_id_and_records_it(sse_home, monkeypatch):
    import json

    from click.testing import CliRunner

    import sse_flows.md.commands as md_commands
    from sse_flows.cli import cli

    seen = {}

    def fake_md(structure, engine, protocol, device, material_id, workdir):
        seen.update(formula=structure.composition.reduced_formula, material_id=material_id)
        return {"engine": engine, "formula": seen["formula"], "status": "completed"}

    monkeypatch.setattr(md_commands, "_run_forcefield", fake_md)
    result = CliRunner().invoke(cli, ["md", "mp-22905", "--device", "cpu", "--steps", "10",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert seen == {"formula": "LiCl", "material_id": "mp-22905"}
    assert json.loads(result.output.strip().splitlines()[-1])["formula"] == "LiCl"
    unknown = CliRunner().invoke(cli, ["md", "mp-0", "--device", "cpu"])
    assert unknown.exit_code != 0 and "neither a structure file" in unknown.output
