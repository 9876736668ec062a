"""One formula parser: data, featurization and screening read a formula the same way.

Before, ``sse_flows.data.formulas``, ``sse_flows.features.formula_parsing`` and
``sse_flows.screening.phase_diagrams`` each had a ``parse_formula`` (a ``Composition``, two
lists, a dict). Now there is one ``parse_formula``; the featurizer's
``featurization_amounts`` wraps it (two lists, in matminer's order) and screening imports it.
"""

from __future__ import annotations

import math

import pytest
from pymatgen.core import Composition

from sse_flows.data import formulas
from sse_flows.data.formulas import FormulaError, composition_key, parse_formula
from sse_flows.features import FeaturizationError, featurization_amounts
from sse_flows.screening import crosscheck, funnel, phase_diagrams
from sse_flows.screening.phase_diagrams import FormationEnergyIndex

VALID = [
    "Li3PS4",
    "Li1 P1 O3",  # Materials Project spelling
    "Li7La3Zr2O12",
    "Li0.5La0.5TiO3",
    "Li.5O",
    "LiOLi",  # a repeated element is summed, first appearance sets the order
    "Li0O",  # zero amounts are dropped, as pymatgen does
    "HF1.8",  # hydrogen + fluorine, as pymatgen reads it
    "Li10Ge(PS6)2",
    "Li1.3Al0.3Ti1.7(PO4)3",
    "Li2[SO4]",
    " Li6PS5Cl ",
]

INVALID = {
    "": "empty formula",
    "   ": "empty formula",
    "Li2Xx": "unknown element 'Xx'",
    "Xx2(PO4)": "unknown element 'Xx'",
    "Li-1O": "negative amount",
    "Li2O)": "unparseable",
    "Li-P-S": "unparseable",
    "Li2O;": "characters that are not a formula",
    "LiCrTa(PO4)3–0.2Li3PO4": "characters that are not a formula",
    "Li0": "empty composition",
    "12": "unparseable",
}


def _pymatgen(formula: str) -> dict[str, float]:
    return {el.symbol: float(amount) for el, amount in Composition(formula).items()}


def test_screening_modules_use_the_one_parser():
    assert phase_diagrams.parse_formula is parse_formula
    assert funnel.parse_formula is parse_formula
    assert crosscheck.parse_formula is parse_formula


@pytest.mark.parametrize("formula", VALID)
def test_the_three_former_parsers_agree_with_pymatgen(formula):
    expected = _pymatgen(formula)
    amounts = parse_formula(formula)
    assert amounts == pytest.approx(expected)
    assert list(amounts) == list(expected)  # pymatgen's (and matminer's) element order
    # featurization: the same elements and amounts as two lists
    symbols, values = featurization_amounts(formula)
    assert symbols == list(expected) and values == pytest.approx(list(expected.values()))
    # screening: the formation-energy index files the formula under its chemical system
    index = FormationEnergyIndex({formula: -1.0})
    if len(expected) > 1:
        found, found_amounts, energies = index.rows_in_chemsys(expected)
        row = found.index(formula)  # the elements are added as zero references
        assert found_amounts[row] == pytest.approx(expected) and energies[row] == -1.0
    # data: the composition key does not depend on how the formula was parsed
    assert composition_key(amounts) == composition_key(Composition(formula))


def test_both_paths_are_exercised():
    """Formulas without groups take the regular-expression path, others pymatgen's."""
    assert formulas._simple_amounts("Li1P1O3") == {"Li": 1.0, "P": 1.0, "O": 3.0}
    assert formulas._simple_amounts("Li10Ge(PS6)2") is None
    assert formulas._simple_amounts("Li2Xx") is None  # pymatgen names the unknown element


def test_compositions_are_accepted():
    composition = Composition({"Li": 3, "P": 1, "S": 4})
    assert parse_formula(composition) == {"Li": 3.0, "P": 1.0, "S": 4.0}
    assert featurization_amounts(composition) == (["Li", "P", "S"], [3.0, 1.0, 4.0])
    with pytest.raises(FormulaError, match="oxidation state"):
        parse_formula(Composition({"Li+": 1, "Cl-": 1}))


@pytest.mark.parametrize(("formula", "reason"), sorted(INVALID.items()))
def test_invalid_formulas_are_rejected_with_the_same_reason(formula, reason):
    with pytest.raises(FormulaError) as data_error:
        parse_formula(formula)
    assert isinstance(data_error.value, ValueError)
    assert reason in data_error.value.reason and repr(formula) in str(data_error.value)
    with pytest.raises(FeaturizationError) as features_error:
        featurization_amounts(formula)
    assert features_error.value.reason == data_error.value.reason
    assert features_error.value.formula == formula


@pytest.mark.parametrize("bad", [None, 3.5, math.nan])
def test_non_strings_are_rejected(bad):
    with pytest.raises(FormulaError, match="not a formula string"):
        parse_formula(bad)
