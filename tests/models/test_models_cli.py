"""`sse-flows predict` and `sse-flows train` contracts, and metrics sanity on the real table."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from sse_flows.cli import cli
from sse_flows.models.evaluation import evaluate_models


def test_predict_keeps_every_row_in_order_and_reports_invalid_formulas(sse_home, tmp_path):
    formulas = ["Li10GeP2S12", "Xx2O", "Li3PS4", "", "LiGe2(PO4)3", "Li7La3Zr2O12"]
    source = tmp_path / "formulas.csv"
    pd.DataFrame({"formula": formulas, "material_id": [f"m{i}" for i in range(6)]}).to_csv(
        source, index=False
    )
    output = tmp_path / "out" / "predictions.csv"
    args = ["predict", str(source), "-o", str(output), "--splits", "3", "--n-jobs", "1", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n_formulas"] == 6 and summary["n_errors"] == 2

    table = pd.read_csv(output, keep_default_na=False)
    assert list(table.columns[:6]) == [
        "formula", "p_superionic", "votes_gb", "votes_lgbm", "candidate", "error",
    ]  # fmt: skip
    assert table["formula"].tolist() == formulas
    assert table["material_id"].tolist() == [f"m{i}" for i in range(6)]
    bad = table.iloc[[1, 3]]
    assert all(bad["error"].str.len() > 0)
    assert "Xx" in bad["error"].iloc[0]
    assert all(bad["votes_gb"] == "") and all(bad["candidate"].astype(str) == "False")
    good = table.drop(index=[1, 3])
    assert all(good["error"] == "")
    votes_gb = good["votes_gb"].astype(int)
    votes_lgbm = good["votes_lgbm"].astype(int)
    assert votes_gb.between(0, 3).all() and votes_lgbm.between(0, 3).all()
    # default rule: unanimous in both algorithms
    unanimous = (votes_gb == 3) & (votes_lgbm == 3)
    assert (good["candidate"].astype(str) == "True").tolist() == unanimous.tolist()
    p = good["p_superionic"].astype(float)
    assert p.between(0, 1).all()
    # LGPS (1e-2 S/cm, in the training table) is voted superionic; the NASICON
    # LiGe2(PO4)3 (8e-8 S/cm) is not
    assert p.iloc[0] > 0.5 and p.iloc[2] < 0.5


def test_predict_tells_each_unfeaturizable_formula_once(sse_home, tmp_path, caplog):
    source = tmp_path / "formulas.csv"
    pd.DataFrame({"formula": ["Li3PS4", "Xx2O", "Li7La3Zr2O12"]}).to_csv(source, index=False)
    args = ["predict", str(source), "-o", str(tmp_path / "o.csv"), "--splits", "2",
            "--n-jobs", "1"]  # fmt: skip
    with caplog.at_level("WARNING"):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    told = result.stderr + caplog.text
    # the summary counts it, one line names it with its reason
    assert "1 not featurizable" in result.stdout
    assert told.count("unknown element 'Xx'") == 1, told


def test_predict_rejects_a_table_without_formula_column(sse_home, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("composition\nLi3PS4\n")
    result = CliRunner().invoke(cli, ["predict", str(source), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code != 0
    assert "formula" in result.output


def test_train_json_contract(sse_home):
    args = ["train", "--algorithms", "gnb", "--splits", "3", "--n-jobs", "1", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(summary["algorithms"]) == ["gnb"]
    metrics = summary["algorithms"]["gnb"]
    for key in ("acc_mean", "acc_std", "acc_max", "acc_min", "f1_mean", "auc_mean",
                "grouped_acc_mean"):  # fmt: skip
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["acc_min"] <= metrics["acc_mean"] <= metrics["acc_max"]


def test_train_rejects_unknown_algorithm(sse_home):
    result = CliRunner().invoke(cli, ["train", "--algorithms", "gb,svm"])
    assert result.exit_code != 0
    assert "svm" in result.output


def test_gradient_boosting_beats_the_majority_class(training_set):
    doc = evaluate_models(training_set, "gb", n_splits=3, grouped=False, n_jobs=1)
    gb = doc.metrics["gb"]
    assert doc.majority_rate < 0.6
    assert gb.acc_mean > doc.majority_rate + 0.15
    assert gb.auc_mean > 0.8
    assert gb.chosen_params["max_depth"] in (2, 3)
    # the summed confusion counts add up to the test rows
    matrix = doc.confusion_matrices["gb"]["random"]
    assert sum(map(sum, matrix)) == sum(s.n_test for s in doc.per_split if s.algorithm == "gb")
    # GB impurity importances average to a distribution over the 145 features
    assert abs(sum(doc.importances["gb"]) - 1.0) < 1e-9
    assert len(doc.importances["gb"]) == len(doc.feature_names) == 145


def _user_table(path, n_rows: int) -> None:
    from sse_flows.data.tables import load_training_table

    table = load_training_table()
    parts = [table[table["label"] == label].iloc[::3].head(n_rows // 2) for label in (0, 1)]
    pd.concat(parts)[["formula", "sigma_S_cm"]].to_csv(path, index=False)


def test_train_and_predict_with_a_user_table_without_families(sse_home, tmp_path):
    training = tmp_path / "mine.csv"
    _user_table(training, 60)
    args = ["train", "--training", str(training), "--algorithms", "gnb", "--splits", "3",
            "--n-jobs", "1", "--json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    gnb = json.loads(result.stdout.strip().splitlines()[-1])["algorithms"]["gnb"]
    assert gnb["grouped_acc_mean"] is not None  # composition clusters need no family column
    assert gnb["lofo_acc"] is None  # one (unknown) family: no leave-family-out estimate

    pool = tmp_path / "pool.csv"
    pool.write_text("formula\nLi3PS4\nLi6PS5Cl\n")
    output = tmp_path / "pred.csv"
    args = ["predict", str(pool), "-o", str(output), "--training", str(training), "--splits",
            "2", "--n-jobs", "1"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output)
    assert table["formula"].tolist() == ["Li3PS4", "Li6PS5Cl"]
    assert table["votes_gb"].between(0, 2).all()


def test_train_refuses_a_table_too_small_to_split(sse_home, tmp_path):
    training = tmp_path / "tiny.csv"
    _user_table(training, 8)
    result = CliRunner().invoke(cli, ["train", "--training", str(training), "--splits", "3"])
    assert result.exit_code != 0
    assert "at least 10" in result.output
