"""Magpie feature values checked against hand calculations from the element data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymatgen.core import Element

from sse_flows.features import featurize_formulas


def _row(formula: str):
    frame, _ = featurize_formulas([formula])
    return frame.iloc[0]


def test_stoichiometry_norms_of_li3ps4():
    row = _row("Li3PS4")
    fractions = np.array([3, 1, 4]) / 8
    assert row["0-norm"] == 3
    for p in (2, 3, 5, 7, 10):
        assert row[f"{p}-norm"] == pytest.approx((fractions**p).sum() ** (1 / p), rel=1e-12)


def test_atomic_number_statistics_of_li2o():
    row = _row("Li2O")  # Z: Li 3 (x2), O 8
    assert row["MagpieData minimum Number"] == 3
    assert row["MagpieData maximum Number"] == 8
    assert row["MagpieData range Number"] == 5
    assert row["MagpieData mean Number"] == pytest.approx((2 * 3 + 8) / 3)
    mean = 14 / 3
    assert row["MagpieData avg_dev Number"] == pytest.approx(
        (2 * abs(3 - mean) + abs(8 - mean)) / 3
    )
    assert row["MagpieData mode Number"] == 3  # Li has the largest amount


def test_mode_takes_smallest_value_among_tied_amounts():
    assert _row("NaLiO")["MagpieData mode Number"] == 3  # all tied: min(11, 3, 8)
    assert _row("Na2LiO2")["MagpieData mode Number"] == 8  # Na and O tied: min(11, 8)


def test_valence_fractions_of_licl():
    # Li: 2s1; Cl: 3s2 3p5 -> 1+7 valence electrons, s: 1+2, p: 5.
    row = _row("LiCl")
    assert row["frac s valence electrons"] == pytest.approx(3 / 8)
    assert row["frac p valence electrons"] == pytest.approx(5 / 8)
    assert row["frac d valence electrons"] == 0
    assert row["frac f valence electrons"] == 0


def test_ionic_character_of_nacl_from_pauling_electronegativity():
    x_na, x_cl = Element("Na").X, Element("Cl").X
    expected = 1 - math.exp(-0.25 * (x_na - x_cl) ** 2)
    row = _row("NaCl")
    assert row["max ionic char"] == pytest.approx(expected)
    assert row["avg ionic char"] == pytest.approx(0.25 * expected)  # f_Na * f_Cl = 1/4


def test_charge_balance_with_common_oxidation_states():
    assert _row("Li3PS4")["compound possible"] == 1.0  # 3(+1) + 5 + 4(-2) = 0
    assert _row("Li7La3Zr2O12")["compound possible"] == 1.0
    assert _row("LiO")["compound possible"] == 0.0  # Li+ and O2- only
    assert _row("LiNe")["compound possible"] == 0.0  # Ne has no common oxidation state
    li = _row("Li")
    assert (li["compound possible"], li["max ionic char"], li["avg ionic char"]) == (1, 0, 0)
