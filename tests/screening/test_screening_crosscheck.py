"""Cross-check against the 2025 MP pool of matsci176 (already cut by steps 1-3)."""

from __future__ import annotations

import pandas as pd
import pytest

from sse_flows.screening.criteria import ScreeningCriteria
from sse_flows.screening.crosscheck import cross_check, load_matsci176, matsci176_element_rule


@pytest.fixture(scope="module")
def matsci176(raw_dir) -> pd.DataFrame:
    return load_matsci176(raw_dir)


def test_our_criteria_keep_every_matsci176_record_on_its_own_values(matsci176):
    # Same values -> same answer: their 2025 gaps and hulls pass our steps 2-3, and our
    # element rule (a subset of theirs) keeps every record. Differences come from data.
    criteria = ScreeningCriteria()
    for row in matsci176.itertuples():
        assert "Li" in row.elements
        assert not criteria.contains_excluded_element(row.elements)
        assert criteria.passes_band_gap(row.bandgap)
        assert criteria.is_on_hull(row.energy_above_hull)


def test_substring_rule_drops_ytterbium_which_we_keep(matsci176):
    assert not matsci176_element_rule("Li1 Yb1 Al1 F6")
    assert matsci176_element_rule("Li3 La1 Cl6")
    assert not ScreeningCriteria().contains_excluded_element(["Al", "F", "Li", "Yb"])
    assert not any("Yb" in elements for elements in matsci176["elements"])


def test_cross_check_reasons(snapshot_doc, snapshot_source, raw_dir):
    report = cross_check(snapshot_doc, snapshot_source.li_records(), raw_dir)
    assert sum(report.their_reasons.values()) == report.n_matsci176_compositions
    assert report.n_kept_by_our_element_rule == report.n_matsci176_compositions
    assert sum(report.our_reasons.values()) == snapshot_doc.stage_counts()["on_hull"]
    # our on-hull Yb compounds are missing from theirs because of the substring rule
    assert report.our_reasons.get("removed_by_substring_rule", 0) >= 1
    assert all("Yb" in f for f in report.examples["removed_by_substring_rule"])
    # most 2025 stable Li insulators were already stable insulators in 2019
    assert report.their_reasons["passes"] / report.n_matsci176_compositions > 0.8
