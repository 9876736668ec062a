"""SnapshotSource: Li records, formation energies and phase-diagram entries."""

from __future__ import annotations

import pytest
from pymatgen.analysis.phase_diagram import PhaseDiagram

from sse_flows.data.tables import load_snapshot_table
from sse_flows.sources import MaterialRecord, SnapshotSource, get_source


@pytest.fixture(scope="module")
def source() -> SnapshotSource:
    return SnapshotSource()


def test_get_source_default_is_the_offline_snapshot():
    source = get_source()
    assert isinstance(source, SnapshotSource)
    assert source.name == "snapshot"
    assert "2019" in source.data_version
    with pytest.raises(ValueError, match="unknown materials source"):
        get_source("oqmd")


def test_li_records_are_every_li_composition(source):
    records = source.li_records()
    table = load_snapshot_table()
    assert len(records) == int(table["contains_li"].sum())
    assert all(isinstance(r, MaterialRecord) for r in records)
    assert all("Li" in r.elements and r.nelements == len(r.elements) for r in records)
    assert len({r.formula for r in records}) == len(records)
    by_formula = {r.formula: r for r in records}
    lif = by_formula["LiF"]
    assert lif.formation_energy_per_atom == pytest.approx(-3.18088, abs=1e-5)
    assert lif.band_gap == pytest.approx(8.7161) and len(lif.band_gaps) == 2
    assert lif.structure is None and lif.source == "mp-2019-snapshot"
    assert by_formula["Li2O"].material_id == "mp-1960"


def test_li_records_are_cached_and_copied(source):
    first, second = source.li_records(), source.li_records()
    assert first is not second and first[0] is second[0]


def test_formation_energies_cover_all_compositions_with_zero_elements(source):
    energies = source.formation_energies()
    assert len(energies) == len(load_snapshot_table())
    assert energies["Li"] == energies["O2"] == energies["S"] == 0.0  # pymatgen: "O2"
    assert energies["NaCl"] < 0 and energies["MgO"] < 0


def test_entries_in_chemsys_are_the_subsets_with_zero_references(source):
    entries = source.entries_in_chemsys(["S", "Li", "P"])
    names = {e.name for e in entries}
    assert {"Li", "P", "S", "Li3PS4", "Li2S", "P2S5"} <= names
    assert all(set(el.symbol for el in e.composition) <= {"Li", "P", "S"} for e in entries)
    references = [e for e in entries if len(e.composition) == 1]
    assert sorted(e.name for e in references) == ["Li", "P", "S"]
    assert all(e.energy == 0.0 for e in references)
    li3ps4 = next(e for e in entries if e.name == "Li3PS4")
    assert li3ps4.energy_per_atom == pytest.approx(source.formation_energies()["Li3PS4"])


def test_hulls_from_snapshot_entries_agree_with_mps_own_e_hull(source):
    """Hulls built from the minimum formation energies reproduce MP's e_hull (2019)."""
    diagram = PhaseDiagram(source.entries_in_chemsys(["Li", "P", "S", "O"]))
    table = load_snapshot_table().set_index("formula")
    compared = 0
    close = 0
    for entry in diagram.all_entries:
        e_hull_mp = table.loc[entry.name, "e_hull_mp"] if entry.name in table.index else None
        if entry.composition.is_element or e_hull_mp is None or e_hull_mp != e_hull_mp:
            continue
        compared += 1
        close += abs(diagram.get_e_above_hull(entry) - e_hull_mp) < 0.005
    assert compared > 20
    assert close / compared >= 0.8
    assert diagram.get_e_above_hull(
        next(e for e in diagram.all_entries if e.name == "Li3PS4")
    ) == pytest.approx(0.0, abs=1e-6)


def test_entries_in_chemsys_rejects_nonsense(source):
    with pytest.raises(ValueError):
        source.entries_in_chemsys([])
    with pytest.raises(ValueError):
        source.entries_in_chemsys(["Li", "Xq"])
