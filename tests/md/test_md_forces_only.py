"""The MD calculator skips CHGNet's stress pass and must give CHGNet's own energy and
forces (the library's numbers), while the relaxation keeps the stress."""

from __future__ import annotations

import warnings

import numpy as np

from sse_flows.md.forcefield import forces_only, load_calculator


def test_forces_only_gives_chgnets_energy_and_forces(li2o):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = load_calculator("chgnet")
    atoms = li2o.to_ase_atoms()
    atoms.rattle(0.05, seed=1)  # off the minimum: forces are not zero by symmetry
    reference = atoms.copy()
    reference.calc = full
    fast = atoms.copy()
    fast.calc = forces_only(full)
    np.testing.assert_allclose(fast.get_forces(), reference.get_forces(), atol=1e-5)
    assert abs(fast.get_potential_energy() - reference.get_potential_energy()) < 1e-5
    assert np.abs(reference.get_forces()).max() > 0.01
    assert "stress" not in fast.calc.results and "stress" in full.results
    # the shared calculator is untouched: it still predicts the stress for a relaxation
    assert forces_only(full) is not full and full.calculate.__name__ == "calculate"
