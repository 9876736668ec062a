"""The combined model + MD estimate of log10 sigma_RT (sse_flows.ranking.evidence)."""

from __future__ import annotations

import math

import pytest

from sse_flows.ranking.evidence import Z_MD, Z_MODEL, combine_log10_sigma


def test_two_estimates_meet_at_the_inverse_variance_mean():
    # model: -5 +- 1.645 decades (90 %): sigma 1; MD: 1e-3 S/cm with a 95 % interval of
    # +-0.98 decades: sigma 0.5 -> weights 1 : 4
    low, high = 10 ** (-3 - 0.5 * Z_MD), 10 ** (-3 + 0.5 * Z_MD)
    both = combine_log10_sigma(-5.0, -5.0 - Z_MODEL, -5.0 + Z_MODEL, 1e-3, low, high)
    assert both.source == "model+md"
    assert both.log10_sigma == pytest.approx((1 * -5.0 + 4 * -3.0) / 5)
    assert both.stderr == pytest.approx(5 ** -0.5)  # narrower than either alone
    # the estimate sits at -3.4, 1.34 standard errors above -4
    assert both.p_superionic == pytest.approx(0.5 * (1 + math.erf(0.6 * 5**0.5 / 2**0.5)))


def test_an_md_upper_bound_caps_the_model_and_never_raises_it():
    capped = combine_log10_sigma(-2.0, -3.9, -0.1, None, None, 1e-6, md_upper_bound=True)
    assert capped.source == "model capped by md bound"
    assert capped.log10_sigma == pytest.approx(-6.0) and capped.p_superionic == 0.0
    below = combine_log10_sigma(-8.0, -9.9, -6.1, None, None, 1e-6, md_upper_bound=True)
    assert below.source == "model" and below.log10_sigma == -8.0


def test_either_alone_and_neither():
    assert combine_log10_sigma(None, md_sigma_S_cm=1e-2, md_low_S_cm=1e-3,
                               md_high_S_cm=1e-1).source == "md"
    alone = combine_log10_sigma(-3.0, -4.645, -1.355)
    assert alone.source == "model" and alone.stderr == pytest.approx(1.0, rel=1e-3)
    none = combine_log10_sigma(None)
    assert none.log10_sigma is None and none.p_superionic is None and none.source == "none"


def test_an_md_bound_alone_is_a_bound_with_no_probability():
    """Li3PO4 in the demo: no Li hop at any temperature, no model estimate (a control): the
    MD's upper bound of 2.8 S/cm is a bound, not a value, and says nothing about p."""
    bound = combine_log10_sigma(None, md_high_S_cm=2.8, md_upper_bound=True)
    assert bound.source == "md bound" and bound.is_upper_bound
    assert bound.log10_sigma == pytest.approx(math.log10(2.8))
    assert bound.p_superionic is None and bound.stderr is None
    # a bound below 1e-4 S/cm does decide: not superionic
    low = combine_log10_sigma(None, md_high_S_cm=3e-6, md_upper_bound=True)
    assert low.is_upper_bound and low.p_superionic == 0.0


def test_a_bound_above_the_threshold_truncates_the_model():
    # model -3 +- 1 decade, MD bound at -3.5: the model is capped, and the probability is
    # the model's normal truncated at -3.5: P(-4 <= L <= -3.5) / P(L <= -3.5)
    capped = combine_log10_sigma(-3.0, -3.0 - Z_MODEL, -3.0 + Z_MODEL, None, None,
                                 10**-3.5, md_upper_bound=True)
    assert capped.is_upper_bound and capped.log10_sigma == pytest.approx(-3.5)

    def cdf(x):
        return 0.5 * (1 + math.erf(x / 2**0.5))

    expected = (cdf(-0.5) - cdf(-1.0)) / cdf(-0.5)
    assert capped.p_superionic == pytest.approx(expected, rel=1e-6)
    assert 0 < capped.p_superionic < 1
