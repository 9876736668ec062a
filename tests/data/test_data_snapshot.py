"""The offline MP 2019 snapshot: completeness, minimum formation energy, band-gap rule."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pymatgen.core import Composition

from sse_flows.data.snapshot import select_band_gap
from sse_flows.data.tables import load_snapshot_table, snapshot_metadata


@pytest.fixture(scope="module")
def snapshot() -> pd.DataFrame:
    return load_snapshot_table().set_index("formula", drop=False)


def test_common_compounds_present_including_those_roost_lacks(snapshot):
    for formula in ("LiF", "LiCl", "Li3PS4", "Li2O", "NaCl", "MgO", "ZrO2", "Li2B4O7"):
        assert formula in snapshot.index, formula
    assert "Li3YCl6" not in snapshot.index  # added to MP after 2019: a stated limit
    # "NaN" (sodium nitride) is a formula, not a missing value
    assert snapshot.loc["NaN", "elements"] == ["N", "Na"]


def test_all_compositions_not_only_li(snapshot):
    assert snapshot["contains_li"].sum() < 0.2 * len(snapshot)
    assert snapshot.index.is_unique
    assert (snapshot["nelements"] == snapshot["elements"].map(len)).all()
    assert snapshot["formation_energy_per_atom"].notna().all()
    sample = snapshot.sample(200, random_state=0)
    for formula, elements in zip(sample["formula"], sample["elements"], strict=True):
        assert Composition(formula).reduced_formula == formula
        assert sorted(el.symbol for el in Composition(formula)) == elements


def test_formation_energy_is_the_minimum_over_raw_entries(raw_dir, snapshot):
    raw = pd.read_csv(raw_dir / "crabnet_mp2019" / "mp_e_form.csv", keep_default_na=False)
    li_p_s = raw[raw["formula"].str.contains("Li") & raw["formula"].str.contains("S")]
    reduced = li_p_s["formula"].map(lambda f: Composition(f).reduced_formula)
    expected = li_p_s.groupby(reduced)["target"].agg(["min", "size"])
    assert len(expected) > 100
    assert (expected["size"] > 1).sum() > 10  # compositions with several entries
    got = snapshot.loc[expected.index]
    assert (got["formation_energy_per_atom"] - expected["min"]).abs().max() < 1e-6
    assert (got["n_entries"] == expected["size"]).all()
    # LiF: three 2019 entries (F1Li1 twice, F2Li2); the lowest is taken
    lif = raw[raw["formula"].isin(["F1Li1", "F2Li2", "Li1F1"])]["target"]
    assert len(lif) == 3 and lif.max() - lif.min() > 0.2
    assert snapshot.loc["LiF", "formation_energy_per_atom"] == pytest.approx(lif.min(), abs=1e-6)


def test_elements_have_zero_formation_energy(snapshot):
    elements = snapshot[snapshot["nelements"] == 1]
    assert len(elements) > 80
    assert elements["formation_energy_per_atom"].abs().max() < 1e-9


def test_material_ids_and_gaps_come_from_roost_where_listed(raw_dir, snapshot):
    roost = pd.read_csv(raw_dir / "roost_mp2020" / "mp-bandgaps.csv", keep_default_na=False)
    li2o = roost[roost["composition"] == "Li2O"].iloc[0]
    assert snapshot.loc["Li2O", "material_id"] == li2o["task_id"] == "mp-1960"
    assert snapshot.loc["Li2O", "band_gap"] == pytest.approx(li2o["band_gap"])
    assert snapshot.loc["LiF", "material_id"] is None  # roost lacks LiF
    with_id = snapshot[snapshot["material_id"].notna()]
    assert with_id["material_id"].str.match(r"^(mp|mvc)-\d+$").all()


@pytest.mark.parametrize(
    ("gaps", "id_gap", "expected", "rule"),
    [
        ([1.0, 3.0], 1.0, 1.0, "id_matched"),  # the id's polymorph, even if not the max
        ([1.0, 3.0], 1.0004, 1.0004, "id_matched"),  # equal within 1 meV
        ([1.0, 3.0], 2.0, 3.0, "max_of_polymorphs"),  # id gap matches none of the 2019 gaps
        ([1.0, 3.0], None, 3.0, "max_of_polymorphs"),
        ([2.5, 2.5, 2.5], None, 2.5, "single"),
        ([], 4.2, 4.2, "id_only"),
        ([], None, None, "none"),
    ],
)
def test_band_gap_rule(gaps, id_gap, expected, rule):
    value, used = select_band_gap(gaps, id_gap)
    assert used == rule
    assert (value is None and expected is None) or value == pytest.approx(expected)


def test_band_gap_rule_applied_in_the_table(snapshot):
    several = snapshot[snapshot["band_gap_rule"] == "max_of_polymorphs"]
    assert len(several) > 0
    assert (several["band_gap"] == several["band_gaps"].map(max)).all()
    matched = snapshot[snapshot["band_gap_rule"] == "id_matched"]
    assert (matched["band_gap"] == matched["material_id_band_gap"]).all()
    # LiF: 2019 lists 7.48 and 8.72 eV; rock salt (8.72 eV) is the ground state
    assert snapshot.loc["LiF", "band_gap"] == pytest.approx(8.7161)


def test_max_rule_is_closer_to_recent_ground_state_gaps_than_min(raw_dir, snapshot):
    """Against 2025 MP ground states (E_hull = 0), the largest 2019 gap is the closer choice."""
    recent = pd.read_csv(raw_dir / "matsci176_mp2025" / "feature_matrix_sample.csv")
    recent["reduced"] = recent["formula"].map(lambda f: Composition(f).reduced_formula)
    joined = recent.join(snapshot, on="reduced", how="inner", rsuffix="_snapshot")
    several = joined[joined["band_gap_rule"] == "max_of_polymorphs"]
    assert len(several) >= 5
    error_max = (several["band_gaps"].map(max) - several["bandgap"]).abs().median()
    error_min = (several["band_gaps"].map(min) - several["bandgap"]).abs().median()
    assert error_max < error_min


def test_metadata_records_vintage_and_limits():
    meta = snapshot_metadata()
    assert meta["data_version"] == "MP 2019-04-02 via matbench v0.1"
    limits = " ".join(meta["limits"])
    for word in ("polymorphs", "structures", "after 2019"):
        assert word in limits
    assert meta["counts"]["compositions"] == len(load_snapshot_table())
    assert not math.isnan(meta["counts"]["li_compositions"])
