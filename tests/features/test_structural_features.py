"""Structural extras: lattice a, c, a/c, volume and space group of real structures."""

from __future__ import annotations

import pytest
from pymatgen.util.testing import MatSciTest

from sse_flows.features import STRUCTURAL_FEATURE_LABELS, structural_features


def test_cubic_li2o_is_antifluorite():
    features = structural_features(MatSciTest.get_structure("Li2O"))
    assert tuple(features) == STRUCTURAL_FEATURE_LABELS
    assert features["space_group_number"] == 225  # Fm-3m
    assert features["a/c"] == pytest.approx(1.0)
    assert features["volume"] == pytest.approx(features["a"] ** 3)
    assert 4.4 < features["a"] < 4.8  # experimental 4.61 angstrom; PBE slightly larger


def test_features_do_not_depend_on_the_cell_given():
    structure = MatSciTest.get_structure("LiFePO4")
    base = structural_features(structure)
    supercell = structural_features(structure * (2, 1, 1))
    assert base["space_group_number"] == 62  # olivine Pnma
    for key in STRUCTURAL_FEATURE_LABELS:
        assert supercell[key] == pytest.approx(base[key])


def test_accepts_a_structure_dict():
    structure = MatSciTest.get_structure("Li2O")
    assert structural_features(structure.as_dict()) == structural_features(structure)
