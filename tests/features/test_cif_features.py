"""Structure features (density, volume per atom, Li-Li and Li-anion distances) of real cells."""

from __future__ import annotations

import math

import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.util.testing import MatSciTest

from sse_flows.features.cif_features import (
    CIF_FEATURE_LABELS,
    cif_structure_features,
    read_cif_features,
)


def _li2o_conventional() -> Structure:
    """Antifluorite Li2O, a = 4.61 angstrom (Fm-3m), built from its Wyckoff positions."""
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["O", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]]
    )


def test_antifluorite_distances_follow_the_geometry():
    structure = _li2o_conventional()
    features = cif_structure_features(structure)
    assert tuple(features) == CIF_FEATURE_LABELS
    a = 4.61
    assert len(structure) == 12
    assert features["li_li_min"] == pytest.approx(a / 2)  # Li simple cubic sublattice
    assert features["li_anion_mean"] == pytest.approx(a * math.sqrt(3) / 4)  # LiO4 tetrahedra
    assert features["volume_per_atom"] == pytest.approx(a**3 / 12)
    assert features["density"] == pytest.approx(structure.density)
    assert features["li_fraction"] == pytest.approx(2 / 3)


def test_values_equal_pymatgen_on_a_shipped_structure_and_do_not_depend_on_the_cell():
    structure = MatSciTest.get_structure("Li10GeP2S12")
    base = cif_structure_features(structure)
    assert base["density"] == pytest.approx(float(structure.density))
    assert not structure.is_ordered  # partially occupied Li sites, as in many CIFs
    n_atoms = structure.composition.num_atoms  # occupancy-weighted
    assert base["volume_per_atom"] == pytest.approx(structure.volume / n_atoms)
    li = [i for i, s in enumerate(structure) if "Li" in s.species]
    s_sites = [i for i, s in enumerate(structure) if "S" in s.species]
    dm = structure.distance_matrix
    expected_li_s = sum(min(dm[i, j] for j in s_sites) for i in li) / len(li)
    assert base["li_anion_mean"] == pytest.approx(expected_li_s)
    supercell = cif_structure_features(structure * (1, 1, 2))
    for key in CIF_FEATURE_LABELS:
        assert supercell[key] == pytest.approx(base[key])


def test_partial_occupancy_is_weighted_and_split_positions_are_skipped():
    ordered = _li2o_conventional()
    half = ordered.copy()
    half.replace_species({"Li": {"Li": 0.5}})
    features = cif_structure_features(half)
    assert features["li_fraction"] == pytest.approx(4 / (4 + 4))
    assert features["volume_per_atom"] == pytest.approx(half.volume / 8)
    assert features["density"] == pytest.approx(float(half.density))
    assert features["density"] < cif_structure_features(ordered)["density"]
    split = Structure(Lattice.cubic(5.0), ["Li", "Li", "Cl"],
                      [[0, 0, 0], [0.04, 0, 0], [0.5, 0.5, 0.5]])  # fmt: skip
    assert cif_structure_features(split)["li_li_min"] == pytest.approx(4.8)  # 0.2 A ignored


def test_no_li_gives_nan_distances():
    features = cif_structure_features(MatSciTest.get_structure("Si"))
    assert math.isnan(features["li_li_min"]) and math.isnan(features["li_anion_mean"])
    assert features["li_fraction"] == 0.0


def test_read_cif_features_reads_files_and_skips_unreadable_ones(tmp_path):
    path = tmp_path / "li2o.cif"
    _li2o_conventional().to(filename=str(path))
    bad = tmp_path / "bad.cif"
    bad.write_text("not a cif\n")
    out = read_cif_features({"li2o": path, "bad": bad})
    assert list(out) == ["li2o"]
    assert out["li2o"]["li_li_min"] == pytest.approx(4.61 / 2, abs=1e-4)
