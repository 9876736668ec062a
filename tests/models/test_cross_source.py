"""Cross-source validation: held-out sources and papers never reach a training fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def v2_groups():
    from sse_flows.data.open_data import load_training_v2
    from sse_flows.models.splits import paper_group

    table = load_training_v2()
    datasets = table["datasets"].astype(str).tolist()
    papers = [paper_group(cell) for cell in table["source"].fillna("")]
    return datasets, np.array(papers)


def test_paper_group_is_the_first_doi_in_lower_case():
    from sse_flows.models.splits import paper_group

    assert paper_group("10.1039/C4CS00020J;10.1016/x") == "10.1039/c4cs00020j"
    assert paper_group(" ;10.1016/A|10.1021/b") == "10.1016/a"
    assert paper_group("") == ""


def test_no_held_out_source_row_is_ever_in_a_training_fold(v2_groups):
    from sse_flows.models.splits import cross_source_splits, source_sets

    datasets, papers = v2_groups
    sources = source_sets(datasets)
    splits = cross_source_splits(datasets, papers)
    by_source = [s for s in splits if s.scheme == "source"]
    assert [s.name for s in by_source] == ["Kang2023", "OBELiX-train", "Xu2020"]
    for split in by_source:
        assert all(split.name in sources[i] for i in split.test)
        assert not any(split.name in sources[i] for i in split.train)
        assert len(split.train) + len(split.test) == len(datasets)
    # a composition in two tables is held out with either of them
    shared = [i for i, s in enumerate(sources) if {"Kang2023", "OBELiX-train"} <= s]
    assert shared and all(
        i in s.test for s in by_source if s.name in ("Kang2023", "OBELiX-train") for i in shared
    )
    by_paper = [s for s in splits if s.scheme == "paper"]
    assert len(by_paper) == 5
    obelix = {i for i, s in enumerate(sources) if "OBELiX-train" in s}
    tested = np.concatenate([s.test for s in by_paper])
    assert sorted(tested.tolist()) == sorted(obelix)  # every OBELiX row tested exactly once
    for split in by_paper:
        held = set(papers[split.test].tolist())
        assert not held & set(papers[split.train].tolist())
        assert not set(split.test.tolist()) & set(split.train.tolist())


def test_a_model_that_memorises_sources_fails_cross_source_validation():
    """Labels that follow the paper (one lab's bias) are learnt perfectly by a lookup on
    the paper and the source; random splits reward it, cross-source splits expose it."""
    from sse_flows.models.selection import probability_scores
    from sse_flows.models.splits import cross_source_splits, random_splits

    rng = np.random.default_rng(0)
    rows = []
    for source, n_papers in (("A", 6), ("B", 6), ("C", 6)):
        for k in range(n_papers):
            label = (k + (source == "B")) % 2  # each paper all conductors or none
            for _ in range(8):
                rows.append({"datasets": source, "paper": f"{source}{k}", "label": label})
    table = pd.DataFrame(rows)
    labels = table["label"].to_numpy()
    y = np.where(labels == 1, -3.0, -7.0) + rng.normal(0, 0.1, len(table))
    keys = (table["datasets"] + "/" + table["paper"]).to_numpy()

    def memoriser_scores(split):
        train_mean = {k: labels[split.train][keys[split.train] == k].mean()
                      for k in set(keys[split.train])}  # fmt: skip
        fallback = labels[split.train].mean()
        p = np.array([train_mean.get(k, fallback) for k in keys[split.test]])
        log10 = np.where(p >= 0.5, -3.0, -7.0)
        return probability_scores(
            y[split.test], log10, np.zeros(len(split.test), bool), labels[split.test], p, 1.0
        )

    random = [memoriser_scores(s) for s in random_splits(labels, n_splits=5)]
    assert min(s["balanced_acc"] for s in random) == 1.0
    cross = cross_source_splits(
        table["datasets"].tolist(), table["paper"].to_numpy(), within="C", n_paper_folds=3
    )
    for split in cross:
        scores = memoriser_scores(split)
        assert scores["balanced_acc"] == 0.5, split.name  # a constant guess
        assert scores["auc"] == 0.5, split.name


class _RecordingModel:
    """Stands in for a fitted model; the first feature column is the row index."""

    fitted: list[np.ndarray] = []

    def __init__(self, rows):
        _RecordingModel.fitted.append(np.asarray(rows, dtype=int))

    def predict(self, X):
        return np.full(len(X), -4.0)

    def predict_proba(self, X):
        return np.column_stack([np.full(len(X), 0.5), np.full(len(X), 0.5)])


def test_neither_outer_nor_calibration_fits_see_a_test_row_and_li_rows_mean_li_rows(monkeypatch):
    """Every fit behind a candidate's score (the outer models and the inner folds its Platt,
    blend and interval are calibrated on) uses training rows of that split only; the "li"
    row choice fits no Na row, the weighted choice fits them with their weight."""
    import sse_flows.models.selection as selection
    from sse_flows.models.splits import cross_source_splits
    from sse_flows.models.training import TrainingSet

    rng = np.random.default_rng(1)
    n = 120
    datasets = np.array(["A", "B", "A;C", "C"] * (n // 4), dtype=object)
    papers = np.array([f"p{i % 12}" for i in range(n)], dtype=object)
    contains_li = np.arange(n) % 5 != 0
    labels = (rng.random(n) < 0.5).astype(int)
    features = pd.DataFrame({"row": np.arange(n, dtype=float), "x": rng.normal(size=n)})
    training_set = TrainingSet(
        features=features, labels=labels, formulas=[f"Li{i}" for i in range(n)],
        families=np.array(["f"] * n), contains_li=contains_li,
        clusters=np.arange(n) // 4, data_hash="synthetic", source="synthetic",
        extra={"log10_sigma": np.where(labels == 1, -3.0, -6.0) + rng.normal(0, 1, n),
               "censored": np.zeros(n, bool), "datasets": datasets, "papers": papers},
    )  # fmt: skip
    weights_seen = []

    def fake_fit(kind, algorithm, seed, X, target, weights=None, params=None):
        weights_seen.append(None if weights is None else np.asarray(weights))
        return _RecordingModel(X[:, 0])

    monkeypatch.setattr(selection, "fit_model", fake_fit)
    splits = selection.grouped_splits(training_set, seed=0, n_folds=4) + cross_source_splits(
        datasets, papers, within="C", n_paper_folds=3
    )
    for rows in selection.ROW_CHOICES:
        for plan in selection.fold_plans(training_set, splits, (rows,), seed=0, n_inner=3):
            _RecordingModel.fitted.clear()
            weights_seen.clear()
            (result,) = selection.run_fold_plans(training_set, [plan], n_jobs=1)
            assert len(_RecordingModel.fitted) == 2 * 2 * (1 + 3)  # reg/clf x gb/lgbm
            for fitted in _RecordingModel.fitted:
                assert not set(fitted.tolist()) & set(plan.test_rows.tolist()), plan.split.name
                assert set(fitted.tolist()) <= set(plan.split.train.tolist())
            assert contains_li[result["test_rows"]].all()  # scored on Li rows only
            fitted_na = [(~contains_li[f]).any() for f in _RecordingModel.fitted]
            if rows.key == "li":
                assert not any(fitted_na) and all(w is None for w in weights_seen)
            elif rows.key == "na0.3":
                assert all(fitted_na) and all(
                    np.allclose(w, np.where(contains_li[f], 1.0, 0.3))
                    for w, f in zip(weights_seen, _RecordingModel.fitted, strict=True)
                )


def test_the_rule_prefers_the_simpler_candidate_within_the_seed_spread():
    from sse_flows.models.selection import all_candidates, choose_candidate

    def entry(per_seed_bacc, auc):
        return {
            "cross_source": {"balanced_acc": float(np.mean(per_seed_bacc)), "auc": auc},
            "seed_range": {"balanced_acc": float(np.ptp(per_seed_bacc)), "auc": 0.01},
        }

    candidates = all_candidates()
    summary = {
        "li + platt": entry([0.70, 0.72], 0.80),
        "all + classifier": entry([0.72, 0.73], 0.80),  # better, but within the spread
        "na0.3 + blend": entry([0.60, 0.62], 0.80),
    }
    assert choose_candidate(summary, candidates)["chosen"] == "li + platt"
    summary["all + classifier"] = entry([0.78, 0.79], 0.80)  # clearly better
    choice = choose_candidate(summary, candidates)
    assert choice["chosen"] == "all + classifier" and choice["tied"] == ["all + classifier"]
    # tied on balanced accuracy, the AUC decides before simplicity
    summary = {"li + platt": entry([0.70, 0.72], 0.75), "li + blend": entry([0.71, 0.72], 0.82)}
    assert choose_candidate(summary, candidates)["chosen"] == "li + blend"
