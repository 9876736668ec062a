"""Fixtures of the MD tests: small real structures."""

from __future__ import annotations

import pytest
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from pymatgen.util.testing import MatSciTest


@pytest.fixture(scope="session")
def li2o() -> Structure:
    """pymatgen's Li2O: a 3-atom rhombohedral cell (not upper triangular)."""
    return MatSciTest.get_structure("Li2O")


@pytest.fixture(scope="session")
def li2o_cubic() -> Structure:
    """Conventional Li2O (a = 4.66 A) doubled: 96 atoms in a 9.3 A cube."""
    conventional = SpacegroupAnalyzer(MatSciTest.get_structure("Li2O"))
    return conventional.get_conventional_standard_structure() * (2, 2, 2)
