"""Every survivor's MD structure is looked up offline; coverage is stored and printed."""

from __future__ import annotations

from click.testing import CliRunner


def test_default_screen_has_a_structure_for_at_least_270_of_274_survivors(snapshot_doc):
    coverage = snapshot_doc.structure_coverage
    assert coverage.n_survivors == len(snapshot_doc.survivors) == 274
    assert coverage.n_with_structure >= 270
    assert sum(coverage.by_tier.values()) == coverage.n_with_structure
    assert coverage.by_tier["mp_structures"] >= 260
    assert len(coverage.missing) == coverage.n_survivors - coverage.n_with_structure
    # mp-10103 (LiYbAlF6) is the one survivor id the archive lacks, nor has its formula
    assert "mp-10103" in coverage.missing
    found = [m for m in snapshot_doc.survivors if m.structure_origin is not None]
    assert len(found) == coverage.n_with_structure
    # structures found by id carry that id
    by_id = [m for m in found if m.structure_origin.startswith("mp_structures:")
             and m.material_id is not None]
    assert sum(m.structure_origin == f"mp_structures:{m.material_id}" for m in by_id) >= 250
    # the on-hull table (a superset) is looked up as well
    assert sum(m.structure_origin is not None for m in snapshot_doc.on_hull) >= 580


def test_coverage_counts_a_user_library_and_can_be_skipped(snapshot_source, snapshot_hulls,
                                                           tmp_path):
    from pymatgen.core import Lattice, Structure

    from sse_flows.screening.funnel import run_funnel
    from sse_flows.sources.structures import StructureLibrary

    records = [r for r in snapshot_source.li_records() if r.formula in {"LiCl", "LiF", "Li2O"}]
    plain = run_funnel(records, snapshot_hulls, e_hull_from="computed", progress=False,
                       find_structures=False)
    assert plain.structure_coverage is None and "structure_coverage" not in plain.summary()
    Structure(Lattice.cubic(5.1), ["Li", "Cl"], [[0, 0, 0], [0.5] * 3]).to(
        filename=str(tmp_path / "LiCl.cif")
    )
    doc = run_funnel(records, snapshot_hulls, e_hull_from="computed", progress=False,
                     structure_library=StructureLibrary(tmp_path))
    origins = {m.formula: m.structure_origin for m in doc.survivors}
    assert origins["LiCl"] == "user:LiCl.cif" and origins["LiF"] == "mp_structures:mp-1138"
    assert doc.structure_coverage.by_tier == {
        "mp_structures": len(origins) - 1, "user": 1
    }
    assert doc.structure_coverage.library.startswith("user folder")


def test_documents_without_coverage_still_load(snapshot_doc):
    from sse_flows.screening.schemas import ScreeningDoc

    old = snapshot_doc.model_dump(mode="json")
    del old["structure_coverage"]
    for material in old["survivors"] + old["on_hull"]:
        del material["structure_origin"]
    doc = ScreeningDoc.model_validate(old)
    assert doc.structure_coverage is None and doc.survivors[0].structure_origin is None
    assert doc.summary()["stages"] == snapshot_doc.summary()["stages"]


def test_screen_prints_the_coverage_line(sse_home, snapshot_doc):
    from sse_flows.cli import cli

    result = CliRunner().invoke(cli, ["screen", "--source", "snapshot"])
    assert result.exit_code == 0, result.output
    coverage = snapshot_doc.structure_coverage
    line = next(x for x in result.stdout.splitlines() if x.startswith("Structures for MD"))
    assert f"{coverage.n_with_structure} of 274 survivors have a structure" in line
    assert f"mp_structures {coverage.by_tier['mp_structures']}" in line
    assert "mp-10103" in line
