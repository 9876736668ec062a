"""Invalid formulas are named in the error; a pool run reports and skips them explicitly."""

from __future__ import annotations

import pytest

from sse_flows.features import FeaturizationError, featurize_formulas


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("Li2Xx", "unknown element"),
        ("", "empty"),
        ("   ", "empty"),
        ("Li-1O", "negative"),
        ("Li2O)", "unparseable"),
        ("Li0", "empty composition"),
    ],
)
def test_invalid_formula_raises_naming_it(formula, reason):
    with pytest.raises(FeaturizationError) as info:
        featurize_formulas(["Li3PS4", formula, "LiCl"])
    assert repr(formula) in str(info.value)
    assert reason in str(info.value)
    assert info.value.formula == formula


def test_skip_reports_every_invalid_formula_and_keeps_positions(caplog):
    formulas = ["Li3PS4", "Qq2O", "LiCl", "", "Li-2S", "Li3PS4", None, "Li2O"]
    with caplog.at_level("WARNING", logger="sse_flows.features"):
        frame, errors = featurize_formulas(formulas, on_error="skip")
    assert "skipped 4 of 8 formulas" in caplog.text and "'Qq2O'" in caplog.text
    assert list(frame.index) == [0, 2, 5, 7]
    assert [position for position, _, _ in errors] == [1, 3, 4, 6]
    for position, formula, message in errors:
        assert formula == str(formulas[position])
        assert repr(formulas[position]) in message
    # the duplicate formula gets the same features at both of its positions
    assert frame.loc[0].equals(frame.loc[5].rename(0))


def test_on_error_must_be_raise_or_skip():
    with pytest.raises(ValueError, match="on_error"):
        featurize_formulas(["LiCl"], on_error="ignore")
