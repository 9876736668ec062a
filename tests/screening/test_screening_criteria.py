"""The element rule and the thresholds of the four steps."""

from __future__ import annotations

import pytest

from sse_flows.screening.criteria import TRANSITION_METALS, ScreeningCriteria


def test_transition_metals_are_groups_3_to_12_without_lanthanides():
    # Sc-Zn (10) + Y-Cd (10) + Hf-Hg (9) + Rf-Cn (9)
    assert len(TRANSITION_METALS) == 38
    for symbol in ("Sc", "Zn", "Y", "Cd", "Hf", "Hg", "Rf", "Cn", "Ti", "Zr", "Nb", "Au"):
        assert symbol in TRANSITION_METALS
    for symbol in ("La", "Ce", "Pr", "Nd", "Tm", "Yb", "Lu", "Ac", "Th", "Al", "Ga", "Sn"):
        assert symbol not in TRANSITION_METALS


@pytest.mark.parametrize(
    ("elements", "excluded"),
    [
        (["La", "Li", "O", "Zr"], True),
        (["La", "Li", "O"], False),
        (["Cl", "Li", "Y"], True),
        (["Li", "O", "P", "Zn"], True),
        (["F", "Li", "Yb"], False),
        (["Cl", "Li", "Tm"], False),
    ],
)
def test_element_rule(elements, excluded):
    assert ScreeningCriteria().contains_excluded_element(elements) is excluded


def test_element_rule_is_a_parameter():
    criteria = ScreeningCriteria(excluded_elements=sorted(TRANSITION_METALS - {"Y"}))
    assert not criteria.contains_excluded_element(["Cl", "Li", "Y"])


def test_threshold_edges():
    criteria = ScreeningCriteria()
    assert criteria.passes_band_gap(1.0) and not criteria.passes_band_gap(0.999)
    assert not criteria.passes_band_gap(None)
    assert criteria.is_on_hull(0.0) and criteria.is_on_hull(5e-7)
    assert not criteria.is_on_hull(1e-3) and not criteria.is_on_hull(None)
    assert not criteria.passes_oxidation_voltage(3.7)  # strictly above
    assert criteria.passes_oxidation_voltage(3.71)
    assert ScreeningCriteria(max_e_above_hull=0.05).is_on_hull(0.04)
