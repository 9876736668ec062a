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


@pytest.fixture(scope="session")
def tiny_protocol():
    """One temperature, 6 + 12 steps, tight thermostats: an MD that ends in seconds."""
    from sse_flows.md.protocol import MDProtocol

    return MDProtocol(
        temperatures=(1000.0,), equilibration_steps=6, production_steps=12, chunk_steps=6,
        trajectory_interval=2, min_lattice_length=4.0, relax=False,
        langevin_friction_per_ps=200.0, thermostat_time_fs=10.0,
    )
