"""Arrhenius fit, extrapolation and Nernst-Einstein conversion against pymatgen."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.diffusion.analyzer import (
    fit_arrhenius,
    get_extrapolated_conductivity,
    get_extrapolated_diffusivity,
)
from pymatgen.core import Lattice, Structure

from sse_flows.analysis.arrhenius import K_B_EV, conductivity_S_cm, fit_arrhenius_weighted

TEMPS = [800.0, 1100.0, 1400.0, 1700.0]
DS = [4.6e-5, 8.5e-5, 1.5e-4, 2.1e-4]


@pytest.fixture(scope="module")
def li_cell() -> Structure:
    return Structure(
        Lattice.cubic(10.0), ["Li"] * 8 + ["S"] * 4, np.random.default_rng(0).random((12, 3))
    )


def test_equal_weights_reproduce_pymatgen_fit():
    fit = fit_arrhenius_weighted(TEMPS, DS)
    ea, c, ea_std = fit_arrhenius(TEMPS, DS)
    assert fit.ea_eV == pytest.approx(ea, rel=1e-10)
    assert fit.d0_cm2_s == pytest.approx(c, rel=1e-10)
    assert fit.ea_err_eV == pytest.approx(ea_std, rel=1e-8)
    d300, _, _ = fit.diffusivity(300.0)
    assert d300 == pytest.approx(get_extrapolated_diffusivity(TEMPS, DS, 300.0), rel=1e-10)


def test_sigma_equals_pymatgen_extrapolated_conductivity(li_cell):
    fit = fit_arrhenius_weighted(TEMPS, DS)
    ours = conductivity_S_cm(fit.diffusivity(300.0)[0], li_cell, 300.0, "Li")
    theirs = get_extrapolated_conductivity(TEMPS, DS, 300.0, li_cell, "Li") / 1000  # mS -> S
    assert ours == pytest.approx(theirs, rel=1e-10)


def test_nernst_einstein_by_hand(li_cell):
    """sigma = n q^2 D / (k T): 8 Li in 1000 A^3, D = 1e-6 cm^2/s at 300 K."""
    n = 8 / 1000e-24  # per cm^3
    expected = n * (1.602176634e-19) ** 2 * 1e-6 / (1.380649e-23 * 300.0)
    assert conductivity_S_cm(1e-6, li_cell, 300.0) == pytest.approx(expected, rel=1e-9)


def test_weights_follow_the_errors():
    """A point with a huge error barely pulls the line."""
    ds = list(DS)
    ds[0] *= 20  # outlier at 800 K
    errs = [d * 0.1 for d in ds]
    errs[0] = ds[0] * 50
    weighted = fit_arrhenius_weighted(TEMPS, ds, errs)
    clean = fit_arrhenius_weighted(TEMPS[1:], DS[1:], [d * 0.1 for d in DS[1:]])
    assert weighted.ea_eV == pytest.approx(clean.ea_eV, abs=0.01)


def test_interval_covers_the_truth_95_percent_of_the_time():
    """Monte Carlo: D(T) drawn with 30 % log-normal noise around a known Arrhenius law; the
    95 % interval of ln D(300 K) must cover the truth in ~95 % of 400 trials."""
    rng = np.random.default_rng(1)
    ea, d0, rel = 0.25, 1e-3, 0.3
    temps = np.array(TEMPS)
    true = d0 * np.exp(-ea / (K_B_EV * temps))
    true_rt = d0 * np.exp(-ea / (K_B_EV * 300.0))
    hits = 0
    trials = 400
    for _ in range(trials):
        d = true * np.exp(rng.normal(0, rel, size=4))
        fit = fit_arrhenius_weighted(temps, d, d * rel)
        _, low, high = fit.diffusivity(300.0)
        hits += low <= true_rt <= high
    assert 0.90 <= hits / trials <= 0.995


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError):
        fit_arrhenius_weighted([800.0], [1e-5])
    with pytest.raises(ValueError):
        fit_arrhenius_weighted([800.0, 1000.0], [1e-5, 0.0])
