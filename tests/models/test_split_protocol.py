"""The split protocols: the paper's 100 stratified splits, grouped splits, nested search."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from sse_flows.models.evaluation import evaluate_split
from sse_flows.models.registry import ALGORITHMS
from sse_flows.models.splits import (
    cluster_splits,
    composition_clusters,
    family_splits,
    inner_folds,
    random_splits,
)


def test_hundred_distinct_stratified_splits(training_set):
    y = training_set.labels
    n = len(y)
    splits = random_splits(y, n_splits=100)
    assert [s.seed for s in splits] == list(range(100))
    test_sets = {tuple(s.test) for s in splits}
    assert len(test_sets) == 100  # all distinct
    expected_pos = y.mean() * len(splits[0].test)
    for s in splits:
        assert len(np.intersect1d(s.train, s.test)) == 0
        assert len(s.train) + len(s.test) == n
        assert abs(len(s.test) - 0.2 * n) <= 1
        assert abs(y[s.test].sum() - expected_pos) <= 1  # stratified
    # the paper's protocol: train_test_split with random_state = seed
    _, test_7 = train_test_split(np.arange(n), test_size=0.2, stratify=y, random_state=7)
    assert np.array_equal(np.sort(test_7), splits[7].test)


def test_cluster_splits_never_share_a_cluster(training_set):
    y, groups = training_set.labels, training_set.clusters
    splits = cluster_splits(y, groups, n_folds=5, n_repeats=2)
    assert len(splits) == 10
    for s in splits:
        assert not set(groups[s.train]) & set(groups[s.test])
    for repeat in range(2):
        folds = splits[repeat * 5 : repeat * 5 + 5]
        covered = np.sort(np.concatenate([s.test for s in folds]))
        assert np.array_equal(covered, np.arange(len(y)))  # each row tested once per repeat


def test_family_splits_hold_out_whole_families(training_set):
    families = training_set.families
    splits = family_splits(families)
    assert {s.name for s in splits} == set(families)
    for s in splits:
        assert set(families[s.test]) == {s.name}
        assert s.name not in set(families[s.train])


def test_doped_variants_share_a_composition_cluster():
    formulas = ["Li7La3Zr2O12", "Li6.5La3Zr1.5Ta0.5O12", "Li6.4La3Zr1.4Ta0.6O12", "Li3PS4",
                "Li10GeP2S12"]  # fmt: skip
    clusters = composition_clusters(formulas)
    assert clusters[0] == clusters[1] == clusters[2]
    assert clusters[3] != clusters[0]
    assert clusters[4] != clusters[0]


def test_inner_search_folds_stay_inside_the_training_part(training_set):
    y, groups = training_set.labels, training_set.clusters
    outer = random_splits(y, n_splits=3) + cluster_splits(y, groups, n_repeats=1)
    for split in outer:
        grouped = None if split.scheme == "random" else groups
        folds = inner_folds(split, y, groups=grouped, n_folds=3)
        seen = np.unique(np.concatenate([np.concatenate(f) for f in folds]))
        assert np.array_equal(seen, split.train)
        assert len(np.intersect1d(seen, split.test)) == 0
        if grouped is not None:
            for fit, val in folds:
                assert not set(groups[fit]) & set(groups[val])


def test_evaluated_split_never_searched_its_test_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=80) > 0).astype(int)
    split = random_splits(y, n_splits=1)[0]
    result = evaluate_split(ALGORITHMS["dt"], X, y, split)
    assert len(np.intersect1d(result.searched_rows, split.test)) == 0
    assert np.array_equal(result.y_true, y[split.test])
    assert set(result.best_params) == set(ALGORITHMS["dt"].search_space)
    assert result.accuracy > 0.7  # a learnable signal is learned
