"""A left-handed cell becomes the same crystal on a right-handed, ASE-ready basis."""

from __future__ import annotations

import numpy as np
from pymatgen.analysis.structure_matcher import StructureMatcher


def test_left_handed_lgps_gets_positive_upper_triangular_cell():
    from sse_flows.md.protocol import make_md_supercell
    from sse_flows.sources.structures import StructureLibrary

    lgps = StructureLibrary().find(None, "Li10GeP2S12").structure
    assert np.linalg.det(lgps.lattice.matrix) < 0  # pymatgen's LGPS cell is left-handed
    supercell = make_md_supercell(lgps, 8.0)
    matrix = supercell.lattice.matrix
    assert np.allclose(np.tril(matrix, -1), 0.0)  # ASE's upper-triangular form
    assert (np.diag(matrix) > 0).all()  # no axis flip left for ASE to do
    assert StructureMatcher().fit(supercell, lgps)
    # every interatomic distance is unchanged: the same crystal, not its mirror image
    assert np.allclose(
        np.sort(supercell.distance_matrix.ravel()), np.sort(lgps.distance_matrix.ravel())
    )
