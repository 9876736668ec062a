"""The open recipe: log10 sigma with intervals, calibrated p, applicability domain, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sse_flows.cli import cli

NONSENSE = ["Li", "H2O", "NaCl", "Li1000000PS4"]


@pytest.fixture(scope="module")
def open_set():
    from sse_flows.models.open_recipe import load_open_training_set

    return load_open_training_set()


@pytest.fixture(scope="module")
def open_ensemble(open_set):
    from sse_flows.models.open_recipe import train_open_ensemble

    return train_open_ensemble(open_set, n_members=3, n_jobs=2)


def test_open_training_set_is_v2_with_fraction_features(open_set):
    assert len(open_set) > 600  # Kang + Xu + OBELiX train, merged
    assert "frac_Li" in open_set.feature_names and "frac_S" in open_set.feature_names
    y = open_set.extra["log10_sigma"]
    assert ((y >= -4) == (open_set.labels == 1)).all()
    assert open_set.extra["censored"].sum() > 0


def test_nonsense_formulas_are_out_of_domain_with_a_reason_and_never_candidates(open_ensemble):
    from sse_flows.models.prediction import vote_materials

    doc = vote_materials(NONSENSE + ["Li10GeP2S12", "Li6PS5Cl"], open_ensemble, min_votes=0)
    by_formula = {v.formula: v for v in doc.votes}
    for formula in NONSENSE:
        vote = by_formula[formula]
        assert vote.in_domain is False and not vote.candidate, formula
        assert vote.reason, formula
    assert by_formula["H2O"].reason == by_formula["NaCl"].reason == "no Li"
    assert by_formula["Li"].reason == "single element"
    assert "Li atomic fraction" in by_formula["Li1000000PS4"].reason
    # min_votes=0 makes every in-domain material a candidate: the domain alone excludes
    for formula in ("Li10GeP2S12", "Li6PS5Cl"):
        assert by_formula[formula].in_domain and by_formula[formula].candidate


def test_paper_recipe_also_applies_the_domain(training_set):
    from sse_flows.models.ensemble import train_ensemble
    from sse_flows.models.prediction import vote_materials

    params = {"gb": {"max_depth": 2}, "lgbm": {"learning_rate": 0.05, "num_leaves": 7}}
    ensemble = train_ensemble(training_set, n_splits=2, params=params, n_jobs=1)
    doc = vote_materials(NONSENSE, ensemble, min_votes=0)
    assert [v.in_domain for v in doc.votes] == [False] * 4
    assert not any(v.candidate for v in doc.votes)
    assert all(v.log10_sigma is None for v in doc.votes)  # no regressor in the paper recipe


def test_interval_and_probability_are_consistent(open_ensemble, open_set):
    spec = open_ensemble.spec
    assert spec.recipe == "open" and spec.interval_level == 0.9
    out = open_ensemble.predict(open_set.X[:50])
    width = out["log10_sigma_high"] - out["log10_sigma_low"]
    assert np.allclose(width, 2 * spec.interval_halfwidth)
    # calibrated p increases with the predicted conductivity and crosses 0.5 near 1e-4 S/cm
    assert spec.calibration["a"] > 0
    order = np.argsort(out["log10_sigma"])
    assert (np.diff(out["p_superionic"][order]) >= 0).all()
    from sse_flows.models.open_recipe import platt_probability

    p = platt_probability(
        np.array([-8.0, -4.0, -1.0]), spec.calibration["a"], spec.calibration["b"]
    )
    assert p[0] < 0.2 and p[2] > 0.8 and 0.2 < p[1] < 0.8


def test_interval_coverage_on_grouped_splits_is_near_its_level(open_set):
    """90 % conformal intervals cover 82-97 % of held-out composition clusters."""
    from sse_flows.models.open_recipe import evaluate_open_regressor

    scores = evaluate_open_regressor(open_set, n_splits=2, n_jobs=2)
    assert 0.82 <= scores["coverage_grouped"] <= 0.97
    # the regressor ranks held-out clusters better than chance and beats the median guess
    y = open_set.extra["log10_sigma"]
    assert scores["spearman_grouped"] > 0.3
    assert scores["mae_log10_grouped"] < np.abs(y - np.median(y)).mean()


def test_predict_cli_open_recipe_columns(sse_home, tmp_path):
    source = tmp_path / "pool.csv"
    formulas = ["Li10GeP2S12", "Xx2O", "NaCl", "Li1000000PS4", "Li3PS4"]
    pd.DataFrame({"formula": formulas}).to_csv(source, index=False)
    output = tmp_path / "pred.csv"
    args = ["predict", str(source), "-o", str(output), "--splits", "2", "--min-votes", "0",
            "--json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["recipe"] == "open" and summary["n_out_of_domain"] == 2
    table = pd.read_csv(output, keep_default_na=False)
    assert list(table.columns[:11]) == [
        "formula", "p_superionic", "votes_gb", "votes_lgbm", "candidate", "error",
        "log10_sigma", "log10_sigma_low", "log10_sigma_high", "in_domain", "reason",
    ]  # fmt: skip
    good = table.iloc[[0, 4]]
    low, mid, high = (good[c].astype(float) for c in
                      ("log10_sigma_low", "log10_sigma", "log10_sigma_high"))  # fmt: skip
    assert (low < mid).all() and (mid < high).all()
    assert (good["in_domain"].astype(str) == "True").all()
    out = table.iloc[[2, 3]]
    assert (out["in_domain"].astype(str) == "False").all()
    assert (out["candidate"].astype(str) == "False").all()
    assert (out["reason"].str.len() > 0).all()


def test_train_json_has_recipe_and_regressor(sse_home):
    args = ["train", "--algorithms", "gnb", "--splits", "2", "--n-jobs", "2", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["recipe"] == "open"
    assert list(summary["algorithms"]) == ["gnb"]
    reg = summary["regressor"]
    assert 0.5 < reg["grouped_acc_mean"] <= 1.0
    assert 0.0 < reg["mae_log10_grouped"] < 3.0
    assert summary["algorithms"]["gnb"]["grouped_acc_mean"] is not None
