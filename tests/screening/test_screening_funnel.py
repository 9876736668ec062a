"""The funnel: order and monotonic counts, survivors meet every criterion, parameters."""

from __future__ import annotations

from sse_flows.screening.criteria import ScreeningCriteria
from sse_flows.screening.funnel import run_funnel
from sse_flows.sources.schemas import MaterialRecord

STAGES = ["li_containing", "no_transition_metal", "band_gap", "on_hull", "oxidation_voltage"]


def test_stages_in_order_and_monotonic(snapshot_doc, snapshot_source):
    counts = snapshot_doc.stage_counts()
    assert list(counts) == STAGES
    assert counts["li_containing"] == len(snapshot_source.li_records())
    values = list(counts.values())
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert values[-1] > 0
    assert values[-1] == len(snapshot_doc.survivors) == sum(snapshot_doc.anion_classes.values())
    # each stage's members are a subset of the previous stage's
    members = [set(snapshot_doc.stage_members[name]) for name in STAGES]
    assert [len(m) for m in members] == values
    assert all(later <= earlier for earlier, later in zip(members, members[1:], strict=False))


def test_survivors_meet_every_criterion(snapshot_doc):
    criteria = snapshot_doc.criteria
    for material in snapshot_doc.survivors:
        assert "Li" in material.formula
        assert not criteria.contains_excluded_element(_symbols(material.formula))
        assert material.band_gap >= 1.0
        assert material.e_above_hull <= 1e-6
        assert material.v_ox > 3.7
        assert material.v_red <= material.v_ox


def _symbols(formula: str) -> list[str]:
    from sse_flows.data.formulas import parse_formula

    return list(parse_formula(formula))


def test_known_electrolytes_in_their_stage(snapshot_doc):
    on_hull = {m.formula: m for m in snapshot_doc.on_hull}
    survivors = {m.formula for m in snapshot_doc.survivors}
    # Li3PS4 is a stable insulator but oxidises at ~2.3 V: removed only by step 4.
    assert "Li3PS4" in on_hull and "Li3PS4" not in survivors
    # Li3PO4 (4.2 V) and LiF (6.4 V) pass all four steps.
    assert {"Li3PO4", "LiF"} <= survivors
    # La is not a transition metal: La compounds can pass; Y and Zn ones cannot.
    assert any("La" in _symbols(f) for f in on_hull)
    assert not any({"Y", "Zn"} & set(_symbols(f)) for f in on_hull)


def test_thresholds_are_parameters(snapshot_source, snapshot_hulls, snapshot_doc):
    strict = run_funnel(
        snapshot_source.li_records(),
        snapshot_hulls,
        ScreeningCriteria(min_band_gap=3.0, min_oxidation_voltage=4.5),
        e_hull_from="computed",
        progress=False,
    )
    base = snapshot_doc.stage_counts()
    counts = strict.stage_counts()
    assert counts["no_transition_metal"] == base["no_transition_metal"]
    assert counts["band_gap"] < base["band_gap"]
    assert {m.formula for m in strict.survivors} < {m.formula for m in snapshot_doc.survivors}
    assert all(m.v_ox > 4.5 and m.band_gap >= 3.0 for m in strict.survivors)


def _record(formula, elements, gap, e_form=None, e_hull=None):
    return MaterialRecord(
        formula=formula, elements=elements, nelements=len(elements), band_gap=gap,
        formation_energy_per_atom=e_form, energy_above_hull=e_hull, source="test",
        data_version="test",
    )


def test_source_e_hull_is_used_when_given(snapshot_hulls, snapshot_source):
    # LiF carries a made-up MP E_hull of 0.2 eV/atom: with e_hull_from="source" the funnel
    # trusts it and drops LiF at step 3; with "computed" its own hull keeps it.
    e_form = snapshot_source.formation_energies()["LiF"]
    records = [_record("LiF", ["F", "Li"], 8.7, e_form=e_form, e_hull=0.2)]
    trusted = run_funnel(records, snapshot_hulls, e_hull_from="source", progress=False)
    computed = run_funnel(records, snapshot_hulls, e_hull_from="computed", progress=False)
    assert trusted.stage_counts()["on_hull"] == 0
    assert computed.stage_counts()["on_hull"] == 1
    assert computed.on_hull[0].e_above_hull_source == "computed"


def test_records_without_li_or_gap_are_removed(snapshot_hulls):
    records = [
        _record("NaCl", ["Cl", "Na"], 5.0, e_form=-2.1),
        _record("LiCl", ["Cl", "Li"], None, e_form=-1.9),
    ]
    doc = run_funnel(records, snapshot_hulls, progress=False)
    assert doc.stage_counts() == {
        "li_containing": 1, "no_transition_metal": 1, "band_gap": 0, "on_hull": 0,
        "oxidation_voltage": 0,
    }


class _FakeMPSource:
    """An MP-like source: records carry MP's E_hull, polymorphs share a composition."""

    name = "mp"
    data_version = "fake MP"

    def __init__(self, snapshot_source):
        self._snapshot = snapshot_source

    def li_records(self):
        keep = {"Li3PO4", "LiF", "Li3PS4", "LiCl", "Li2O"}
        records = [r for r in self._snapshot.li_records() if r.formula in keep]
        polymorph = records[0].model_copy(
            update={"material_id": "mp-fake", "energy_above_hull": 0.05}
        )
        return [r.model_copy(update={"energy_above_hull": 0.0}) for r in records] + [polymorph]

    def formation_energies(self):
        return self._snapshot.formation_energies()


def test_screen_source_uses_the_sources_e_hull(snapshot_source):
    from sse_flows.screening.funnel import screen_source

    doc = screen_source(_FakeMPSource(snapshot_source), progress=False)
    counts = doc.stage_counts()
    assert counts["li_containing"] == 6
    assert counts["on_hull"] == 5  # the 0.05 eV/atom polymorph is removed at step 3
    assert all(m.e_above_hull_source == "source" for m in doc.on_hull)
    assert doc.hull_agreement is None
    assert {m.formula for m in doc.survivors} == {"Li3PO4", "LiF", "LiCl"}
