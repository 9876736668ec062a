"""Formula repair rules, composition keys and the charge-balance check."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition

from sse_flows.data.formulas import (
    MISSING_SUBSCRIPTS,
    composition_key,
    is_charge_balanced,
    parse_formula,
    repair_formula,
)


@pytest.mark.parametrize(
    ("raw", "repaired", "rules"),
    [
        ("Li1.3AL0.3Ti1.7(PO4)3", "Li1.3Al0.3Ti1.7(PO4)3", ["element_case"]),
        ("Li1.2Y0.2HF1.8 (PO4)3", "Li1.2Y0.2Hf1.8(PO4)3", ["strip_whitespace", "element_case"]),
        ("Na1.3Al0.3Zr1.7(PO4)3 ", "Na1.3Al0.3Zr1.7(PO4)3", ["strip_whitespace"]),
        ("Na2Mg0.5Zr1.5(PO4)", "Na2Mg0.5Zr1.5(PO4)3", ["missing_subscript"]),
        ("Li10GeP2S12", "Li10GeP2S12", []),
        ("HfO2", "HfO2", []),  # a correct "Hf" is left alone
    ],
)
def test_repairs(raw, repaired, rules):
    assert repair_formula(raw) == (repaired, rules)


def test_uppercase_typos_would_otherwise_change_the_elements():
    """pymatgen reads 'HF1.8' as hydrogen + fluorine: the reason the rule exists."""
    assert {"H", "F"} <= set(Composition("Li1.2Fe0.2HF1.8(PO4)3").as_dict())
    repaired, _ = repair_formula("Li1.2Fe0.2HF1.8(PO4)3")
    assert set(Composition(repaired).as_dict()) == {"Li", "Fe", "Hf", "P", "O"}


@pytest.mark.parametrize(("raw", "fixed"), sorted(MISSING_SUBSCRIPTS.items()))
def test_missing_subscript_fix_restores_charge_balance(raw, fixed):
    assert not is_charge_balanced(raw)
    assert is_charge_balanced(fixed)


@pytest.mark.parametrize(
    "bad", ["", "   ", "LiCrTa(PO4)3–0.2Li3PO4", "Li-P-S", "Xx2O", "Li2O;", "12"]
)
def test_parse_formula_rejects_non_formulas(bad):
    with pytest.raises(ValueError):
        parse_formula(bad)


def test_composition_key_ignores_writing_and_scale():
    assert composition_key("Na2.0Mg0.5Zr1.5(PO4)3") == composition_key("Na4MgZr3P6O24")
    assert composition_key("Li0.303La0.557TiO3") != composition_key("Li0.328La0.557TiO3")


@pytest.mark.parametrize(
    "formula",
    [
        "LiF",
        "Li2O",
        "Li3PS4",
        "Li7La3Zr2O12",
        "LiFePO4",
        "Li10GeP2S12",
        "NaZr2P3O12",
        "LiCl2",
        "Li3O",
        "NaMg",
        "LiAlO",
        "Li3N",
        "Li2S",
        "Na3Sc2P3O12",
    ],
)
def test_charge_balance_agrees_with_pymatgen_on_integer_formulas(formula):
    """One state per element (ours) vs pymatgen's oxi_state_guesses on the same states.

    pymatgen also allows mixed valence of one element (e.g. P3+/P5+ in 'LiTa2P3O12'), which
    ours does not; the formulas here have no such solution.
    """
    composition = Composition(formula)
    expected = bool(composition.oxi_state_guesses(all_oxi_states=False))
    assert is_charge_balanced(composition) is expected


def test_doped_formulas_are_checked_with_fractional_amounts():
    assert is_charge_balanced("Li1.3Al0.3Ti1.7(PO4)3")
    assert is_charge_balanced("Li6.4Ga0.2La3Zr2O12")
    assert not is_charge_balanced("Li1.7Ti1.3Cr1.7(PO4)3")  # +12 vs -9
