"""The packaged MP structure table: real archive structures, the polymorph rule, provenance."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from sse_flows.data.mp_structure_table import MP_STRUCTURES_FILE, load_mp_structure_table
from sse_flows.data.mp_structures import (
    ARCHIVE,
    ATTRIBUTION,
    LICENSE,
    build_mp_structure_table,
    parse_cif,
    table_text,
)
from sse_flows.data.polymorphs import RULES, choose_polymorph

#: Ids checked against their CIF in the archive: one per rule that chose them.
ARCHIVE_IDS = {
    "mp-1960": ("Li2O", "material_id"),
    "mp-13725": ("Li3PO4", "material_id"),
    "mp-1211461": ("KLiDyF5", "formula_single"),
    "mp-22905": ("LiCl", "formula_mp2025_ground_state"),
}


@pytest.fixture(scope="module")
def table():
    return load_mp_structure_table()


@pytest.fixture(scope="module")
def archive_cifs(raw_dir) -> dict[str, str]:
    """The CIF texts of :data:`ARCHIVE_IDS`, streamed from the raw archive."""
    texts = {}
    with tarfile.open(raw_dir / ARCHIVE, mode="r|gz") as tar:
        for member in tar:
            mid = member.name.rsplit("/", 1)[-1].removesuffix(".cif")
            if mid in ARCHIVE_IDS:
                texts[mid] = tar.extractfile(member).read().decode()
    return texts


def test_rows_are_the_archive_structures_with_their_id_and_formula(archive_cifs, table):
    """Each row equals its archive CIF read independently by pymatgen (same formula, same
    sites in the same order, lattice and coordinates within the rounding)."""
    texts = archive_cifs
    assert set(texts) == set(ARCHIVE_IDS)
    for mid, (formula, rule) in ARCHIVE_IDS.items():
        row = table.by_id[mid]
        assert (row.formula, row.rule) == (formula, rule)
        assert row.source.endswith(f"topology_databases@41163fcf52ff:cif/{mid}.cif")
        cif = Structure.from_str(texts[mid], fmt="cif")
        ours = row.structure()
        assert cif.composition.reduced_formula == ours.composition.reduced_formula == formula
        assert [s.symbol for s in cif.species] == [s.symbol for s in ours.species]
        assert np.allclose(cif.lattice.abc, ours.lattice.abc, atol=1e-4)
        assert np.allclose(cif.lattice.angles, ours.lattice.angles, atol=1e-3)
        delta = cif.frac_coords - ours.frac_coords
        assert np.abs(delta - np.round(delta)).max() < 1e-4
        assert ours.properties["material_id"] == mid and ours.properties["license"] == LICENSE


def test_polymorph_rule_gives_the_mp_ground_states(table):
    """Formulas without a snapshot id: rock-salt LiCl and LiF (MP's ground states, which
    CHGNet alone ranks wrongly for LiCl) and Pnma Li3PS4."""
    expected = {"LiCl": ("mp-22905", 225), "LiF": ("mp-1138", 225), "Li3PS4": ("mp-985583", 62)}
    for formula, (mid, space_group) in expected.items():
        row = table.by_formula[formula]
        assert (row.material_id, row.rule) == (mid, "formula_mp2025_ground_state")
        assert SpacegroupAnalyzer(row.structure(), symprec=0.1).get_space_group_number() == (
            space_group
        )
        assert mid in row.record["polymorphs"] and len(row.record["polymorphs"]) > 1
    check = table.metadata["chgnet_check"]
    assert check["disagree"]["LiCl"]["potential_lowest"] != "mp-22905"
    assert check["agree"] + len(check["disagree"]) == check["compositions"]


def test_every_energy_ranked_row_keeps_the_lowest_energy_polymorph(table):
    ranked = [r for r in table.by_id.values() if "polymorph_energies" in r.record]
    assert {r.rule for r in ranked} == {
        "formula_mp2025_ground_state", "formula_lowest_chgnet_energy"
    }
    for row in ranked:
        energies = row.record["polymorph_energies"]
        lowest = min(energies.values())
        assert energies[row.material_id] == pytest.approx(lowest, abs=1e-9), row.formula
        if row.rule == "formula_lowest_chgnet_energy":  # every candidate was ranked
            assert sorted(energies) == sorted(row.record["polymorphs"]), row.formula


def test_table_counts_provenance_and_size(table):
    from sse_flows.data import DATA_DIR

    counts = table.metadata["counts"]
    assert counts["rows"] == len(table) == len(table.by_formula)
    assert sum(counts["by_rule"].values()) == counts["rows"]
    assert set(counts["by_rule"]) == set(RULES)
    assert counts["rows"] + counts["missing"] == counts["scope_compositions"]
    assert counts["band_gap_step_rows"] >= 0.99 * counts["band_gap_step_compositions"]
    assert counts["atoms"] == sum(len(r.record["frac_coords"]) for r in table.by_id.values())
    assert table.metadata["attribution"] == ATTRIBUTION
    assert all(r.license == "CC BY 4.0" for r in table.by_id.values())
    assert (DATA_DIR / MP_STRUCTURES_FILE).stat().st_size < 3_000_000


def test_choose_polymorph_applies_the_rules_in_order():
    formulas = {"mp-1": "LiX", "mp-2": "LiX", "mp-3": "LiX", "mp-9": "LiY"}
    calls = []

    def potential(ids):
        calls.append(tuple(ids))
        return {"mp-1": -1.0, "mp-2": -2.0, "mp-3": -2.00001}

    candidates = ["mp-3", "mp-1", "mp-2"]
    by_id = choose_polymorph("mp-1", "LiX", formulas, candidates, {"mp-3": -9.0}, {}, potential)
    assert (by_id.material_id, by_id.rule) == ("mp-1", "material_id")
    # an id of another formula is not trusted: the formula decides
    single = choose_polymorph("mp-9", "LiZ", {**formulas, "mp-7": "LiZ"}, ["mp-7"], {}, {},
                              potential)
    assert (single.material_id, single.rule) == ("mp-7", "formula_single")
    roost = choose_polymorph(None, "LiX", formulas, candidates, {"mp-3": -1.0, "mp-1": -1.5},
                             {"mp-2": -3.0}, potential)
    assert (roost.material_id, roost.rule) == ("mp-1", "formula_lowest_formation_energy")
    stable = choose_polymorph(None, "LiX", formulas, candidates, {}, {"mp-3": -0.5}, potential)
    assert (stable.material_id, stable.rule) == ("mp-3", "formula_mp2025_ground_state")
    assert calls == []  # the potential is the last resort
    ranked = choose_polymorph(None, "LiX", formulas, candidates, {}, {}, potential)
    # mp-2 and mp-3 tie at 4 decimals: the smaller id wins
    assert (ranked.material_id, ranked.rule) == ("mp-2", "formula_lowest_chgnet_energy")
    assert calls == [("mp-1", "mp-2", "mp-3")] and ranked.candidates == ("mp-1", "mp-2", "mp-3")
    assert choose_polymorph(None, "LiQ", formulas, [], {}, {}, potential) is None


def _write_tiny_raw(raw, out) -> None:
    """A raw folder with four CIFs (two LiF polymorphs, Li2O, a Na compound) and the tables
    the builder reads, and a three-row snapshot in ``out``."""
    rock_salt = Structure(Lattice.cubic(4.03), ["Li"] * 4 + ["F"] * 4,
                          [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0],
                           [.5, .5, .5], [.5, 0, 0], [0, .5, 0], [0, 0, .5]])
    cscl = Structure(Lattice.cubic(2.5), ["Li", "F"], [[0, 0, 0], [.5, .5, .5]])
    li2o = Structure(Lattice.cubic(4.61), ["Li", "Li", "O"], [[.25] * 3, [.75] * 3, [0, 0, 0]])
    nacl = Structure(Lattice.cubic(5.6), ["Na", "Cl"], [[0, 0, 0], [.5, .5, .5]])
    (raw / ARCHIVE.parent).mkdir(parents=True)
    with tarfile.open(raw / ARCHIVE, "w:gz") as tar:
        for mid, structure in (("mp-20", cscl), ("mp-10", rock_salt), ("mp-5", li2o),
                               ("mp-7", nacl)):
            data = structure.to(fmt="cif").encode()
            info = tarfile.TarInfo(f"{mid}.cif")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (raw / "roost_mp2020").mkdir()
    (raw / "roost_mp2020" / "mp-formation.csv").write_text(
        "task_id,composition,formation_energy_per_atom\nmp-99,NaN,-0.1\n"
    )
    (raw / "matsci176_mp2025").mkdir()
    (raw / "matsci176_mp2025" / "feature_matrix_sample.csv").write_text(
        "material_id,formula,energy_above_hull,formation_energy_per_atom\n"
    )
    snapshot = pd.DataFrame({
        "formula": ["LiF", "Li2O", "LiCoO2", "NaCl"],
        "elements": ["F-Li", "Li-O", "Co-Li-O", "Cl-Na"],
        "material_id": ["", "mp-5", "mp-24850", ""],
        "band_gap": [8.7, 5.0, 2.0, 5.0],
    })
    snapshot.to_csv(out / "mp2019_snapshot.csv.gz", index=False)


@pytest.mark.slow
def test_builder_ranks_polymorphs_with_chgnet_and_is_deterministic(tmp_path):
    """On a tiny archive: Li2O by id, LiF by CHGNet (rock salt below the CsCl-type cell),
    LiCoO2 (transition metal) and NaCl (no Li) out of scope; rebuilding gives equal text."""
    from click.testing import CliRunner

    from sse_flows.cli import cli

    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    out.mkdir()
    _write_tiny_raw(raw, out)
    result = CliRunner().invoke(
        cli, ["data", "build", "--raw", str(raw), "--out", str(out), "--only", "mp_structures",
              "--json"],
    )
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.output.strip().splitlines()[-1])["sha256"]) == [
        MP_STRUCTURES_FILE
    ]
    with gzip.open(out / MP_STRUCTURES_FILE, "rt") as handle:
        table = json.load(handle)
    rows = {row["formula"]: row for row in table["rows"]}
    assert sorted(rows) == ["Li2O", "LiF"]
    assert (rows["Li2O"]["material_id"], rows["Li2O"]["rule"]) == ("mp-5", "material_id")
    lif = rows["LiF"]
    assert (lif["material_id"], lif["rule"]) == ("mp-10", "formula_lowest_chgnet_energy")
    assert lif["polymorph_energies"]["mp-20"] - lif["polymorph_energies"]["mp-10"] > 0.05
    assert lif["species"] == [["Li", 4], ["F", 4]] and len(lif["frac_coords"]) == 8
    assert table["counts"]["scope_compositions"] == 2 and table["counts"]["missing"] == 0
    assert json.loads(table_text(build_mp_structure_table(raw, out))) == table


def test_mp_structures_builder_runs_after_the_snapshot_it_reads():
    from sse_flows.data.build import BUILDERS, select_builders

    assert select_builders("mp_structures,snapshot") == ("snapshot", "mp_structures")
    assert BUILDERS[-1] == "mp_structures"


def test_cif_parsing_ignores_the_bond_loop(archive_cifs):
    text = archive_cifs["mp-1960"]
    assert "_geom_bond" in text  # the archive's CrystalNN bonds
    assert parse_cif(text).composition.reduced_formula == "Li2O"


def test_packaged_file_is_gzipped_json_with_one_row_per_line():
    from sse_flows.data import DATA_DIR

    with gzip.open(DATA_DIR / MP_STRUCTURES_FILE, "rt") as handle:
        lines = handle.read().splitlines()
    row_lines = [line for line in lines if line.startswith('{"formula"')]
    assert len(row_lines) == load_mp_structure_table().metadata["counts"]["rows"]
