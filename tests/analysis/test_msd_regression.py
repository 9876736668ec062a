"""D from the whole MSD (kinisi's GLS), the hop rate, the sampled Arrhenius fit and the
temperature that limits it: each checked against a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from sse_flows.analysis.arrhenius import fit_arrhenius_sampled
from sse_flows.analysis.diffusion import analyze_temperature, hop_rate_diffusivity
from sse_flows.analysis.msd_regression import msd_gls
from sse_flows.analysis.synthetic import (
    arrhenius_hop_rate,
    random_walk_diffusivity,
    random_walk_run,
)
from sse_flows.constants import K_B_EV


def _li_displacements(run) -> np.ndarray:
    analyzer = run.to_diffusion_analyzer("Li", smoothed=False)
    return np.asarray(analyzer.corrected_displacements)[run.indices("Li")]


@pytest.mark.slow
def test_gls_gives_kinisis_posterior():
    """The same trajectory through kinisi 2.1 (Bayesian regression, MCMC) and through our
    closed-form GLS with every lag: the same D and the same standard deviation."""
    scipp = pytest.importorskip("scipp")
    kinisi_analyze = pytest.importorskip("kinisi.analyze")
    from pymatgen.io.ase import AseAtomsAdaptor

    run = random_walk_run(1.0, n_frames=120, time_step_fs=10.0, seed=3, n_cells=3)
    atoms = [AseAtomsAdaptor.get_atoms(run.structure(i)) for i in range(run.n_frames)]
    analyzer = kinisi_analyze.DiffusionAnalyzer.from_ase(
        atoms, specie="Li", time_step=scipp.scalar(10.0, unit="fs"),
        step_skip=scipp.scalar(1), progress=False,
    )
    analyzer.diffusion(start_dt=scipp.scalar(200.0, unit="fs"), progress=False,
                       n_samples=1000, random_state=np.random.RandomState(0))
    assert str(analyzer.D.unit) == "cm^2/s"
    kinisi_mean, kinisi_sd = float(np.mean(analyzer.D.values)), float(np.std(analyzer.D.values))
    ours = msd_gls(_li_displacements(run), 10.0, min_start_fs=200.0, max_start_fs=200.0,
                   max_lags=10_000)
    assert ours.D_cm2_s == pytest.approx(kinisi_mean, rel=0.03)
    assert ours.D_err_cm2_s == pytest.approx(kinisi_sd, rel=0.15)


def test_gls_interval_covers_the_true_d_at_its_stated_rate():
    """Short runs (3 ps, ~40 hops): the GLS's own 95 % interval holds the exact D of the
    random walk in about 95 % of seeds, and its z-scores have unit spread."""
    z = []
    for seed in range(24):
        run = random_walk_run(0.5, n_frames=300, time_step_fs=10.0, seed=seed, n_cells=3)
        fit = msd_gls(_li_displacements(run), run.time_step_fs)
        z.append((fit.D_cm2_s - run.metadata["true_D_cm2_s"]) / fit.D_err_cm2_s)
    z = np.array(z)
    assert np.mean(np.abs(z) < 1.96) >= 0.8
    assert 0.6 < z.std() < 1.4
    assert abs(z.mean()) < 0.6  # no bias beyond noise


def test_analysis_uses_the_gls_and_states_an_honest_error():
    run = random_walk_run(0.5, n_frames=300, time_step_fs=10.0, seed=5, n_cells=3)
    entry = analyze_temperature(run)
    true_d = run.metadata["true_D_cm2_s"]
    assert entry.D_method == "gls"
    assert entry.msd_fit_start_ps == pytest.approx(0.3, abs=0.011)  # a tenth of 3 ps
    assert abs(entry.D_cm2_s - true_d) < 3 * entry.D_err
    # pymatgen's estimate is kept beside it, and agrees within the errors
    assert abs(entry.D_pymatgen_cm2_s - entry.D_cm2_s) < 3 * max(entry.D_err, entry.D_err_hops)


def test_hop_rate_recovers_a_slow_walks_diffusivity():
    """Residence 20 ps >> the smoothing window: the counter sees 80-105 % of the hops
    (test_analysis_random_walk), so the hop rate gives D to within a quarter, with a
    Poisson error."""
    run = random_walk_run(0.05, n_frames=3000, time_step_fs=100.0, seed=3)
    entry = analyze_temperature(run)
    true_d = random_walk_diffusivity(0.05, 2.5)
    assert entry.D_hop_cm2_s == pytest.approx(true_d, rel=0.25)
    assert entry.D_hop_err / entry.D_hop_cm2_s == pytest.approx(
        entry.li_hops**-0.5, rel=0.5)


def test_hop_rate_error_widens_with_uneven_hops():
    even = hop_rate_diffusivity(np.full(10, 4), 2.5, 1000.0)
    uneven = hop_rate_diffusivity(np.array([40] + [0] * 9), 2.5, 1000.0)
    assert even[0] == pytest.approx(uneven[0])  # same number of hops, same rate
    assert uneven[1] > 2 * even[1]  # one ion doing every hop is far less certain
    none = hop_rate_diffusivity(np.zeros(10), 2.5, 1000.0)
    assert none[0] == 0 and none[1] > 0  # no hop: an error of one hop, not zero


def test_sampled_arrhenius_interval_covers_the_truth_at_its_rate():
    """D values drawn with known 30 % errors at 600/800/1000 K: the 95 % interval of
    D(300 K) from the sampled fit holds the true value in about 95 % of trials."""
    rng = np.random.default_rng(0)
    temps = np.array([600.0, 800.0, 1000.0])
    ea, ln_d0 = 0.25, np.log(1e-3)
    true = np.exp(ln_d0 - ea / (K_B_EV * temps))
    true_rt = np.exp(ln_d0 - ea / (K_B_EV * 300.0))
    covered = []
    for trial in range(150):
        d = true * (1 + 0.3 * rng.standard_normal(3))
        d = np.maximum(d, 0.05 * true)
        posterior = fit_arrhenius_sampled(temps, d, 0.3 * d, n_samples=1000, seed=trial)
        _, low, high = posterior.diffusivity(300.0)
        covered.append(low <= true_rt <= high)
    assert 0.88 <= np.mean(covered) <= 1.0


def test_sampled_arrhenius_matches_weighted_least_squares_when_errors_are_small():
    temps = [600.0, 800.0, 1000.0, 1200.0]
    d = [np.exp(np.log(1e-3) - 0.3 / (K_B_EV * t)) for t in temps]
    posterior = fit_arrhenius_sampled(temps, d, [0.02 * x for x in d])
    assert posterior.fit.ea_eV == pytest.approx(0.3, rel=1e-6)
    # the weights floor the relative error at 5 %: Ea's spread is the WLS standard error
    assert posterior.ea_err_eV == pytest.approx(
        float(np.sqrt(posterior.fit.covariance[1, 1])), rel=0.1)


def test_limiting_temperature_is_the_one_whose_longer_run_helps_most():
    from sse_flows.analysis import analyze_runs
    from sse_flows.analysis.verdict import limiting_temperature

    runs = [
        random_walk_run(arrhenius_hop_rate(t, 0.3), temperature=t, n_frames=600,
                        time_step_fs=50.0, seed=i)
        for i, t in enumerate((600.0, 800.0, 1000.0))
    ]
    doc = analyze_runs(runs)
    assert doc.n_fit == 3
    # equal run lengths: the coldest has the fewest hops and the shortest lever to 300 K
    assert limiting_temperature(doc) == 600.0
    # only the hottest diffuses: the coldest non-diffusive run decides whether a second
    # point exists
    frozen = [random_walk_run(0.0, temperature=t, n_frames=300, seed=9)
              for t in (600.0, 800.0)]
    bound = analyze_runs([*frozen, runs[2]])
    assert bound.n_fit == 1
    assert limiting_temperature(bound) == 600.0
