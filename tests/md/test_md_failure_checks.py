"""Failure checks of MD runs on synthetic trajectories with known defects."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from pymatgen.util.testing import MatSciTest

from sse_flows.md.documents import TemperatureTrajectory, make_md_run_doc
from sse_flows.md.failures import (
    FailureThresholds,
    check_md_run,
    count_li_hops,
    unwrapped_frac_coords,
)
from sse_flows.md.protocol import MDProtocol, make_md_supercell, supercell_scaling


@pytest.fixture(scope="module")
def li2o_cubic() -> Structure:
    """Conventional Li2O (a = 4.66 A) doubled: 96 atoms in a 9.3 A cube."""
    analyzer = SpacegroupAnalyzer(MatSciTest.get_structure("Li2O"))
    conventional = analyzer.get_conventional_standard_structure()
    return conventional * (2, 2, 2)


def thermal_frames(structure: Structure, n_frames: int = 30, sigma: float = 0.08, seed: int = 0):
    """Frames of a vibrating crystal: Gaussian displacements (A) around the sites."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_frames):
        cart = structure.cart_coords + rng.normal(0.0, sigma, size=(len(structure), 3))
        frame = Structure(structure.lattice, structure.species, cart, coords_are_cartesian=True)
        frames.append(frame)
    return frames


def test_vibrating_crystal_passes_every_check(li2o_cubic):
    frames = thermal_frames(li2o_cubic)
    energies = -5.0 * len(li2o_cubic) + np.random.default_rng(1).normal(0, 0.5, len(frames))
    check = check_md_run(frames, li2o_cubic, time_step_fs=2.0, step_skip=10, energies=energies)
    assert not check.failed, check.reasons
    assert check.framework_matches_initial is True
    assert check.framework_rmsd < 0.1  # averaging removes the 0.08 A vibrations
    assert check.li_hops == 0 and check.diffusive is False


def test_nan_and_exploding_energies_fail(li2o_cubic):
    frames = thermal_frames(li2o_cubic, n_frames=10)
    energies = np.full(10, -5.0 * len(li2o_cubic))
    nan = energies.copy()
    nan[4] = np.nan
    check = check_md_run(frames, li2o_cubic, 2.0, 10, energies=nan)
    assert check.failed and "non-finite" in check.reasons[0]
    exploding = energies.copy()
    exploding[-1] += 3.0 * len(li2o_cubic)  # +3 eV/atom in one frame
    check = check_md_run(frames, li2o_cubic, 2.0, 10, energies=exploding)
    assert check.failed and "exploding energy" in check.reasons[0]
    assert check.max_energy_deviation_per_atom == pytest.approx(3.0)


def test_too_close_contact_and_escaping_atom_fail(li2o_cubic):
    frames = thermal_frames(li2o_cubic, n_frames=10, sigma=0.02)
    # one O atom lands 0.3 A from its neighbour in frame 5
    o_index = next(i for i, s in enumerate(li2o_cubic) if s.specie.symbol == "O")
    neighbour = min(
        (j for j in range(len(li2o_cubic)) if j != o_index),
        key=lambda j: li2o_cubic.get_distance(o_index, j),
    )
    target = frames[5][neighbour].coords + np.array([0.3, 0.0, 0.0])
    frames[5].replace(o_index, "O", target, coords_are_cartesian=True)
    check = check_md_run(frames, li2o_cubic, 2.0, 1, thresholds=FailureThresholds())
    assert check.failed
    assert "too-close contact" in " | ".join(check.reasons)

    frames = thermal_frames(li2o_cubic, n_frames=10, sigma=0.02)
    frames[5].translate_sites([0], [4.0, 0.0, 0.0], frac_coords=False)  # 4 A in one 2 fs step
    check = check_md_run(frames, li2o_cubic, 2.0, 1)
    assert check.failed and "atom escaping" in " | ".join(check.reasons)


def test_amorphized_framework_fails(li2o_cubic):
    frames = thermal_frames(li2o_cubic, n_frames=30)
    o_sites = [i for i, s in enumerate(li2o_cubic) if s.specie.symbol == "O"]
    # from frame 10 on, the O sublattice sits ~2 A away from its sites (random directions)
    drift = np.random.default_rng(4).normal(0.0, 1.2, size=(len(o_sites), 3))
    for frame in frames[10:]:
        for n, i in enumerate(o_sites):
            frame.replace(i, "O", li2o_cubic[i].coords + drift[n], coords_are_cartesian=True)
    check = check_md_run(frames, li2o_cubic, 2.0, 100)
    assert check.failed
    assert any("melted or amorphized" in r for r in check.reasons)
    assert check.framework_rmsd > 1.0
    assert check.framework_matches_initial is False


def test_li_hops_are_counted_on_the_li_sublattice(li2o_cubic):
    # make a Li vacancy and let a neighbouring Li jump into it and back
    structure = li2o_cubic.copy()
    li_sites = [i for i, s in enumerate(structure) if s.specie.symbol == "Li"]
    vacancy = li_sites[0]
    vacancy_coords = structure[vacancy].coords
    structure.remove_sites([vacancy])
    li_sites = [i for i, s in enumerate(structure) if s.specie.symbol == "Li"]
    hopper = min(li_sites, key=lambda i: np.linalg.norm(structure[i].coords - vacancy_coords))
    start = structure[hopper].coords
    frames = thermal_frames(structure, n_frames=60, sigma=0.05)
    for k in range(20, 40):  # resides in the vacancy between frames 20 and 39
        frames[k].replace(hopper, "Li", vacancy_coords, coords_are_cartesian=True)
    assert count_li_hops(frames, smoothing_frames=5) == 2
    frames_back = frames[:40]
    assert count_li_hops(frames_back, smoothing_frames=5) == 1
    assert np.linalg.norm(frames[0][hopper].coords - start) < 0.5


def test_unwrapping_follows_an_atom_across_the_boundary():
    lattice = np.eye(3) * 5.0
    frames = [
        Structure(lattice, ["Li"], [[x % 1.0, 0.5, 0.5]]) for x in np.linspace(0.8, 1.4, 7)
    ]
    unwrapped = unwrapped_frac_coords(frames)
    np.testing.assert_allclose(unwrapped[:, 0, 0], np.linspace(0.8, 1.4, 7), atol=1e-12)


def test_md_supercell_lengths_and_orientation():
    for name in ("Li2O", "LiFePO4"):
        structure = MatSciTest.get_structure(name)
        supercell = make_md_supercell(structure, 10.0)
        scaling = supercell_scaling(structure, 10.0)
        assert min(supercell.lattice.abc) >= 10.0
        # the smallest such diagonal supercell: one fewer repeat along any axis is too short
        for axis, n in enumerate(scaling):
            assert n == 1 or structure.lattice.abc[axis] * (n - 1) < 10.0
        matrix = supercell.lattice.matrix
        assert np.allclose(np.tril(matrix, -1), 0.0)  # upper triangular, as ASE's NPT needs
        # right-handed with a positive diagonal, so ASE has no axis to flip (a left-handed
        # input is re-expressed on a right-handed basis, see test_md_supercell_handedness)
        assert (np.diag(matrix) > 0).all()
        reference = structure * scaling
        np.testing.assert_allclose(
            np.sort(supercell.distance_matrix.ravel()),
            np.sort(reference.distance_matrix.ravel()),
            atol=1e-8,
        )


def test_failed_material_is_a_document_with_its_reason(li2o_cubic):
    protocol = MDProtocol(temperatures=(800, 1200), equilibration_steps=0, production_steps=30,
                          production_chunks=1, min_lattice_length=9.0, trajectory_interval=10)
    frames = thermal_frames(li2o_cubic, n_frames=4)
    trajectories = [
        TemperatureTrajectory(800.0, error="MD crashed: RuntimeError: CUDA out of memory"),
        TemperatureTrajectory(1200.0, frames=frames, energies=[np.nan] * 4),
    ]
    doc = make_md_run_doc("chgnet", li2o_cubic, li2o_cubic, trajectories, protocol, step_skip=10)
    assert doc.status == "failed"
    assert "800 K: MD crashed" in doc.reason and "1200 K: non-finite" in doc.reason
    assert [run.status for run in doc.runs] == ["failed", "failed"]
    assert doc.provenance.parameters["protocol"]["temperatures"] == [800.0, 1200.0]


def test_hop_count_of_a_trajectory_shorter_than_the_smoothing_window(li2o_cubic):
    frames = thermal_frames(li2o_cubic, n_frames=3)
    assert count_li_hops(frames, smoothing_frames=5) == 0
    assert count_li_hops(thermal_frames(li2o_cubic, n_frames=6), smoothing_frames=5) == 0


def test_diffusive_runs_carry_the_diffusion_analysis():
    from sse_flows.analysis.synthetic import arrhenius_hop_rate, random_walk_run

    ea = 0.3
    protocol = MDProtocol(temperatures=(800, 1000, 1200), equilibration_steps=0,
                          production_steps=30000, production_chunks=1, min_lattice_length=1.0,
                          trajectory_interval=50)  # 2 fs x 50 = 100 fs between frames
    trajectories = []
    for k, temperature in enumerate(protocol.temperatures):
        walk = random_walk_run(arrhenius_hop_rate(temperature, ea), temperature=temperature,
                               n_cells=3, n_frames=600, time_step_fs=100.0, seed=k)
        host = [i for i, symbol in enumerate(walk.species) if symbol != "Li"]
        if k == 0:
            host_coords = walk.frac_coords[:, host]  # one static host for every temperature
        walk.frac_coords[:, host] = host_coords
        frames = [Structure(walk.lattice, walk.species, coords) for coords in walk.frac_coords]
        trajectories.append(TemperatureTrajectory(float(temperature), frames=frames))
    initial = trajectories[0].frames[0]
    # walkers and host do not interact (two may share a site): no contact check here
    doc = make_md_run_doc("chgnet", initial, initial, trajectories, protocol, step_skip=50,
                          material_id="synthetic", thresholds=FailureThresholds(min_distance=0.0))
    assert doc.status == "ok", (doc.reason, [r.reasons for r in doc.runs])
    assert all(run.diffusive and run.li_hops >= 10 for run in doc.runs)
    hops = [run.li_hops for run in doc.runs]
    assert hops == sorted(hops)  # more hops when hotter
    assert doc.diffusion is not None, doc.warnings
    assert doc.diffusion["ea_eV"] == pytest.approx(ea, rel=0.25)
