"""Synthetic lattice random walks with a known diffusivity D = rate a^2 / 6."""

from __future__ import annotations

import numpy as np
import pytest

from sse_flows.analysis import analyze_runs
from sse_flows.analysis.diffusion import analyze_temperature
from sse_flows.analysis.synthetic import (
    arrhenius_hop_rate,
    random_walk_diffusivity,
    random_walk_run,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_d_recovered_within_10_percent(seed):
    run = random_walk_run(0.2, n_frames=3000, time_step_fs=100.0, seed=seed)
    true_d = run.metadata["true_D_cm2_s"]
    assert true_d == pytest.approx(0.2e12 * (2.5e-8) ** 2 / 6)
    entry = analyze_temperature(run)
    assert entry.D_cm2_s == pytest.approx(true_d, rel=0.10)
    assert entry.diffusive and entry.framework_stable
    assert abs(entry.msd_exponent - 1) < 0.15
    # the stated error is honest: the truth lies within 3 standard errors
    assert abs(entry.D_cm2_s - true_d) < 3 * entry.D_err


def test_hop_count_tracks_the_true_number_of_hops():
    """Slow hopping (mean residence 20 ps >> the 1 ps smoothing): nearly every hop is seen,
    and none is counted twice."""
    run = random_walk_run(0.05, n_frames=3000, time_step_fs=100.0, seed=3)
    entry = analyze_temperature(run)
    true_hops = run.metadata["true_hops"]
    assert 0.8 * true_hops <= entry.li_hops <= 1.05 * true_hops
    assert entry.hop_distance_A == pytest.approx(2.5, rel=0.1)  # site spacing, blurred by vibration


def test_vibrating_li_is_not_diffusive():
    run = random_walk_run(0.0, n_frames=1000, vibration_A=0.3, seed=4)
    entry = analyze_temperature(run)
    assert entry.li_hops == 0
    assert not entry.diffusive
    assert entry.D_cm2_s < entry.D_detection_limit


def test_arrhenius_recovers_activation_energy_and_rt_diffusivity():
    ea_true = 0.30
    temps = (600.0, 800.0, 1000.0, 1200.0)
    runs = [
        random_walk_run(arrhenius_hop_rate(T, ea_true), temperature=T, n_frames=2500, seed=10 + i)
        for i, T in enumerate(temps)
    ]
    doc = analyze_runs(runs)
    assert doc.n_fit == 4 and doc.confident
    assert abs(doc.ea_eV - ea_true) < max(3 * doc.ea_err_eV, 0.03)
    true_d_rt = random_walk_diffusivity(arrhenius_hop_rate(300.0, ea_true), 2.5)
    # the 95 % interval of D(300 K) covers the exact value
    low = doc.sigma_rt_low / doc.sigma_rt_S_cm * doc.d_rt_cm2_s
    high = doc.sigma_rt_high / doc.sigma_rt_S_cm * doc.d_rt_cm2_s
    assert low <= true_d_rt <= high


def test_one_diffusive_temperature_gives_a_bound_not_a_number():
    """Only the hottest run diffuses: no Ea, sigma_RT only as an upper bound, and the bound
    is below what a zero-barrier extrapolation from the hot run would give."""
    runs = [
        random_walk_run(0.0, temperature=800.0, n_frames=1500, seed=20),
        random_walk_run(0.0, temperature=1000.0, n_frames=1500, seed=21),
        random_walk_run(0.2, temperature=1200.0, n_frames=1500, seed=22),
    ]
    doc = analyze_runs(runs)
    assert doc.n_fit == 1
    assert doc.sigma_rt_S_cm is None and doc.ea_eV is None
    assert doc.sigma_rt_is_upper_bound
    # the non-diffusive 1000 K run forces Ea > 0, so the bound beats "D(300) <= D(1200)"
    assert doc.ea_lower_bound_eV > 0.1
    hot = doc.temperatures[-1]
    from sse_flows.analysis.arrhenius import conductivity_S_cm

    naive = conductivity_S_cm(hot.D_cm2_s, runs[0].initial_structure, 300.0)
    assert doc.sigma_rt_high < naive
    assert np.isfinite(doc.sigma_rt_high)


def test_short_runs_give_a_bound_and_strict_json():
    """A few-ps run (the CHGNet test protocol): pymatgen's smoothed fit has too few lags,
    the analysis falls back to the unsmoothed MSD, sees too few hops, and reports a finite
    upper bound in valid JSON (no NaN/Infinity)."""
    import json

    runs = [
        random_walk_run(0.3, temperature=T, n_frames=12, time_step_fs=20.0, seed=int(T))
        for T in (600.0, 900.0, 1200.0)
    ]
    doc = analyze_runs(runs)
    assert all(e.smoothing == "none" and not e.diffusive for e in doc.temperatures)
    assert doc.sigma_rt_S_cm is None and np.isfinite(doc.sigma_rt_high)
    json.dumps(doc.summary(), allow_nan=False)
    with pytest.raises(ValueError, match="only 3 frames"):
        analyze_runs([random_walk_run(0.3, n_frames=3)])
