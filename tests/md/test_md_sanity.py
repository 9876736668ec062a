"""Engine sanity checks and the MD document, on synthetic trajectories with known defects."""

from __future__ import annotations

import numpy as np
import pytest
from md_synthetic import save_run, vibrating_run

from sse_flows.analysis.synthetic import arrhenius_hop_rate, random_walk_run
from sse_flows.md.documents import make_md_run_doc
from sse_flows.md.protocol import MDProtocol
from sse_flows.md.sanity import SanityThresholds, check_trajectory, settled_start
from sse_flows.md.schemas import ProductionRecord


def test_vibrating_crystal_passes_every_check(li2o_cubic):
    check = check_trajectory(vibrating_run(li2o_cubic))
    assert not check.failed, check.reasons
    assert 1.4 < check.min_distance < 2.02  # Li-O bond in Li2O: 2.0 A, minus vibration
    assert check.max_energy_deviation_per_atom < 0.05


def test_nan_and_exploding_energies_fail(li2o_cubic):
    run = vibrating_run(li2o_cubic, n_frames=10)
    run.energies[4] = np.nan
    assert "non-finite" in check_trajectory(run).reasons[0]
    run = vibrating_run(li2o_cubic, n_frames=10)
    run.energies[-1] += 3.0 * len(li2o_cubic)  # +3 eV/atom in one frame
    assert "exploding energy" in check_trajectory(run).reasons[0]


def test_collapsed_and_escaping_atoms_fail(li2o_cubic):
    run = vibrating_run(li2o_cubic, n_frames=10, sigma=0.0, time_step_fs=2.0)
    run.frac_coords[5:, 1] = run.frac_coords[5:, 0] + 0.01  # two atoms 0.1 A apart
    reasons = check_trajectory(run).reasons
    assert any("too-close contact" in r for r in reasons)
    assert any("atom escaping" in r for r in reasons)  # it jumped there in one frame


def test_unsettled_start_of_production_is_discarded(li2o_cubic):
    run = vibrating_run(li2o_cubic, n_frames=60, time_step_fs=10.0)
    run.kinetic_temperatures[:10] = 700.0  # the first 0.1 ps still 30 % cold
    discard, settled = settled_start(run, 1000.0, 0.05, window_fs=100.0)
    assert settled and 10 <= discard <= 15
    run.kinetic_temperatures[:] = 1300.0
    assert settled_start(run, 1000.0, 0.05)[1] is False


def test_failed_temperatures_are_documents_with_their_reasons(li2o_cubic, tmp_path):
    protocol = MDProtocol(temperatures=(800, 1200), equilibration_steps=0, production_steps=30,
                          min_lattice_length=9.0, trajectory_interval=10)
    broken = vibrating_run(li2o_cubic, n_frames=10, temperature=1200.0)
    broken.energies[3] = np.nan
    records = [
        ProductionRecord(temperature=800.0, error="MD crashed: RuntimeError: out of memory"),
        ProductionRecord(temperature=1200.0, files=[save_run(broken, tmp_path / "b.json")],
                         production_steps=30, chunks=1, stop_reason="fixed length"),
    ]
    doc = make_md_run_doc("chgnet", li2o_cubic, li2o_cubic, records, protocol)
    assert doc.status == "failed"
    assert "800 K: MD crashed" in doc.reason and "1200 K: non-finite" in doc.reason
    assert [run.status for run in doc.runs] == ["failed", "failed"]
    assert doc.reduced_protocol is True  # derived from the protocol, never set by hand
    assert doc.provenance.parameters["protocol"]["temperatures"] == [800.0, 1200.0]


def test_a_caged_crystal_is_a_result_not_a_failure(li2o_cubic, tmp_path):
    """No Li diffusion (a negative control) is an ok document with only a sigma bound."""
    protocol = MDProtocol(temperatures=(1000, 1200), min_lattice_length=9.0)
    records = [
        ProductionRecord(
            temperature=t, production_steps=10000, chunks=1, stop_reason="fixed length",
            files=[save_run(vibrating_run(li2o_cubic, temperature=t, seed=k),
                            tmp_path / f"{t}.json")],
        )
        for k, t in enumerate((1000.0, 1200.0))
    ]
    doc = make_md_run_doc("chgnet", li2o_cubic, li2o_cubic, records, protocol)
    assert doc.status == "ok" and doc.reduced_protocol is True  # 9 A cells < the paper's 10
    assert all(run.status == "ok" and run.li_hops == 0 for run in doc.runs)
    assert all(run.framework.state == "plateau" for run in doc.runs)
    assert doc.diffusion.sigma_rt_is_upper_bound and doc.diffusion.sigma_rt_S_cm is None


def test_diffusive_runs_carry_the_diffusion_analysis(tmp_path):
    ea = 0.3
    protocol = MDProtocol(temperatures=(800, 1000, 1200), equilibration_steps=0,
                          production_steps=30000, min_lattice_length=1.0,
                          trajectory_interval=50)  # 2 fs x 50 = 100 fs between frames
    records, host_coords, initial = [], None, None
    for k, temperature in enumerate(protocol.temperatures):
        walk = random_walk_run(arrhenius_hop_rate(temperature, ea), temperature=temperature,
                               n_cells=3, n_frames=600, time_step_fs=100.0, seed=k)
        host = [i for i, symbol in enumerate(walk.species) if symbol != "Li"]
        if host_coords is None:
            host_coords = walk.frac_coords[:, host]  # one static host for every temperature
            initial = walk.initial_structure
        walk.frac_coords[:, host] = host_coords
        records.append(ProductionRecord(
            temperature=temperature, production_steps=30000, chunks=1,
            stop_reason="fixed length", files=[save_run(walk, tmp_path / f"{k}.json")],
        ))
    # walkers and host do not interact (two may share a site): no contact check here
    doc = make_md_run_doc("chgnet", initial, initial, records, protocol, material_id="synthetic",
                          thresholds=SanityThresholds(min_distance=0.0))
    assert doc.status == "ok", (doc.reason, [r.reasons for r in doc.runs])
    assert all(run.diffusive and run.li_hops >= 10 for run in doc.runs)
    hops = [run.li_hops for run in doc.runs]
    assert hops == sorted(hops)  # more hops when hotter
    assert doc.diffusion.ea_eV == pytest.approx(ea, rel=0.25)
