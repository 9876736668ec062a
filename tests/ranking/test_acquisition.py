"""The acquisition score ranks screened materials as sse_flows.ranking.acquisition documents."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from sse_flows.ranking.acquisition import (
    DEFAULT_MD_TOP,
    OUT_OF_DOMAIN_SD_FACTOR,
    acquisition_score,
    default_md_top,
    rank_by_acquisition,
)
from sse_flows.ranking.schemas import CandidateDoc

Z90 = NormalDist().inv_cdf(0.95)


def _row(formula, mu=None, half=None, in_domain=True, p=None, material_id=None):
    return CandidateDoc(
        material_id=material_id,
        formula=formula,
        p_superionic=p,
        log10_sigma_model=mu,
        log10_sigma_model_low=None if mu is None else mu - half,
        log10_sigma_model_high=None if mu is None else mu + half,
        in_domain=in_domain,
    )


def test_score_is_the_normal_probability_above_minus_four():
    # half-width z: sd = 1 decade; one sd below the threshold
    at_minus_five = acquisition_score(-5.0, -5.0 - Z90, -5.0 + Z90, in_domain=True)
    assert at_minus_five.score == pytest.approx(NormalDist().cdf(-1.0))  # 0.159
    assert at_minus_five.sd == pytest.approx(1.0) and at_minus_five.basis == "model interval"
    assert acquisition_score(-4.0, -5.0, -3.0).score == pytest.approx(0.5)
    # out of domain: the same material with a 1.5x wider normal
    wide = acquisition_score(-5.0, -5.0 - Z90, -5.0 + Z90, in_domain=False)
    assert wide.sd == pytest.approx(OUT_OF_DOMAIN_SD_FACTOR)
    assert wide.score == pytest.approx(NormalDist().cdf(-1.0 / 1.5))  # 0.252
    assert "out of domain" in wide.basis
    # above the threshold the wider normal lowers the score
    above = acquisition_score(-3.0, -3.0 - Z90, -3.0 + Z90, in_domain=False)
    assert above.score == pytest.approx(NormalDist().cdf(1.0 / 1.5))
    assert above.score < NormalDist().cdf(1.0)
    # a 99 % interval of the same width is a narrower normal
    level99 = acquisition_score(-5.0, -5.0 - Z90, -5.0 + Z90, interval_level=0.99)
    assert level99.sd == pytest.approx(Z90 / NormalDist().inv_cdf(0.995))


def test_uncertain_out_of_domain_material_outranks_a_confident_slow_one():
    confident = _row("LiConfident", mu=-4.5, half=0.5, in_domain=True, p=0.2)
    uncertain = _row("LiUncertain", mu=-5.0, half=3.0, in_domain=False, p=0.1)
    ranked = rank_by_acquisition([confident, uncertain])
    assert [r.formula for r in ranked] == ["LiUncertain", "LiConfident"]
    assert [r.acquisition_rank for r in ranked] == [1, 2]
    # sd = 3 / 1.645 * 1.5 = 2.74: P = Phi(-1 / 2.74) = 0.36 against Phi(-1.645) = 0.05
    assert uncertain.acquisition_score == pytest.approx(
        NormalDist().cdf(-1.0 / (3.0 / Z90 * 1.5)), rel=1e-9
    )
    assert confident.acquisition_score == pytest.approx(0.05, abs=1e-4)
    # the same uncertain material inside the domain still beats the confident one
    assert acquisition_score(-5.0, -8.0, -2.0, in_domain=True).score > 0.05


def test_at_equal_sd_the_higher_mean_ranks_first():
    rows = [_row(f"Li{k}X", mu=mu, half=1.6) for k, mu in enumerate([-6.0, -3.5, -4.2, -5.0])]
    ranked = rank_by_acquisition(rows)
    assert [r.log10_sigma_model for r in ranked] == [-3.5, -4.2, -5.0, -6.0]
    scores = [r.acquisition_score for r in ranked]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.5 > scores[1]


def test_paper_recipe_falls_back_to_the_vote_probability():
    paper = [_row("LiA", p=0.3), _row("LiB", p=0.8), _row("LiC", p=None)]
    ranked = rank_by_acquisition(paper)
    assert [r.formula for r in ranked] == ["LiB", "LiA", "LiC"]
    assert [r.acquisition_score for r in ranked] == [0.8, 0.3, 0.0]
    assert {r.acquisition_basis for r in ranked} == {"vote probability"}
    # an open row without an interval falls back too
    assert acquisition_score(-3.0, None, None, p_superionic=0.42).score == 0.42


def test_structure_log_odds_shift_moves_the_score_in_log_odds():
    base = acquisition_score(-4.0, -5.0, -3.0)
    shifted = acquisition_score(-4.0, -5.0, -3.0, structure_log_odds=math.log(3.0))
    assert base.score == pytest.approx(0.5) and shifted.score == pytest.approx(0.75)
    rows = [_row("LiA", mu=-4.0, half=1.0, material_id="mp-1"),
            _row("LiB", mu=-3.9, half=1.0, material_id="mp-2")]  # fmt: skip
    ranked = rank_by_acquisition(rows, structure_log_odds={"mp-1": 2.0})
    assert [r.material_id for r in ranked] == ["mp-1", "mp-2"]
    assert rank_by_acquisition(rows)[0].material_id == "mp-2"  # no shift: the higher mean


def test_ties_are_broken_by_mean_then_probability_then_formula():
    # zero-width intervals above the threshold: every score is exactly 1
    rows = [
        _row("LiZ", mu=-3.0, half=0.0, p=0.5),
        _row("LiB", mu=-3.0, half=0.0, p=0.5),
        _row("LiA", mu=-3.0, half=0.0, p=0.9),
        _row("LiY", mu=-2.0, half=0.0, p=0.1),
    ]
    ranked = rank_by_acquisition(rows)
    assert {r.acquisition_score for r in ranked} == {1.0}
    assert [r.formula for r in ranked] == ["LiY", "LiA", "LiB", "LiZ"]
    assert [r.formula for r in rank_by_acquisition(list(reversed(rows)))] == [
        "LiY", "LiA", "LiB", "LiZ"]


def test_recipe_defaults_of_md_top():
    assert DEFAULT_MD_TOP == {"open": 3, "paper": 0}
    assert default_md_top("open") == 3 and default_md_top("paper") == 0
    assert default_md_top(None) == 0
