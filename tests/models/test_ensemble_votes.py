"""Vote counting, the candidate rule and reproducibility of the ensemble from its seeds."""

from __future__ import annotations

import numpy as np
import pytest

from sse_flows.models.ensemble import (
    VoteEnsemble,
    count_votes,
    retrain_from_spec,
    select_candidates,
    train_ensemble,
)
from sse_flows.models.schemas import EnsembleSpec


class _FixedModel:
    """A stand-in model whose superionic probability per material is given."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=float)

    def predict_proba(self, X):
        p = self.probabilities[: len(X)]
        return np.column_stack([1 - p, p])


def _spec(n_models: int) -> EnsembleSpec:
    return EnsembleSpec(
        algorithms=["gb", "lgbm"], params={"gb": {}, "lgbm": {}}, seeds=list(range(n_models)),
        test_size=0.2, training_hash="synthetic", training_source="synthetic", n_training=0,
        feature_names=["x"], param_selection="given",
    )  # fmt: skip


def test_vote_counts_and_candidates_on_a_known_case():
    # 4 materials, 5 models per algorithm.
    # material 0: every model says superionic -> 5/5 and 5/5, candidate
    # material 1: GB unanimous, one LightGBM model says no -> 5/4, not unanimous
    # material 2: nobody -> 0/0
    # material 3: probability exactly 0.5 counts as a superionic vote -> 5/5
    gb = [_FixedModel([0.9, 0.8, 0.1, 0.5]) for _ in range(5)]
    lgbm = [_FixedModel([0.7, 0.6, 0.2, 0.5]) for _ in range(4)]
    lgbm.append(_FixedModel([0.7, 0.4, 0.2, 0.5]))
    ensemble = VoteEnsemble(spec=_spec(5), models={"gb": gb, "lgbm": lgbm})
    votes, p_mean = ensemble.vote(np.zeros((4, 1)))
    assert votes["gb"].tolist() == [5, 5, 0, 5]
    assert votes["lgbm"].tolist() == [5, 4, 0, 5]
    np.testing.assert_allclose(p_mean, [0.8, (5 * 0.8 + 4 * 0.6 + 0.4) / 10, 0.15, 0.5])
    assert select_candidates(votes, 5).tolist() == [True, False, False, True]
    # a relaxed rule (>= 4 of 5 from each) admits material 1
    assert select_candidates(votes, 4).tolist() == [True, True, False, True]
    # per-algorithm rule
    assert select_candidates(votes, {"gb": 5, "lgbm": 5}).tolist() == [True, False, False, True]


def test_count_votes_threshold():
    probabilities = np.array([[0.49, 0.5, 0.99], [0.2, 0.51, 0.7], [0.6, 0.1, 0.9]])
    assert count_votes(probabilities).tolist() == [1, 2, 3]
    assert count_votes(probabilities, threshold=0.95).tolist() == [0, 0, 1]


@pytest.fixture(scope="module")
def small_ensemble(training_set):
    params = {"gb": {"max_depth": 2, "learning_rate": 0.1}, "lgbm": {"num_leaves": 7,
              "learning_rate": 0.1}}  # fmt: skip
    return train_ensemble(training_set, n_splits=4, params=params, n_jobs=1)


def test_ensemble_is_reproducible_from_its_seeds(training_set, small_ensemble, tmp_path):
    pool = training_set.X[::7]
    votes, p_mean = small_ensemble.vote(pool)
    # persisted models give the same votes after a round trip
    path = small_ensemble.save(tmp_path / "ensemble.joblib")
    loaded = VoteEnsemble.load(path)
    votes_loaded, p_loaded = loaded.vote(pool)
    # retraining from the recipe (params + seeds) gives bit-identical models
    rebuilt = retrain_from_spec(loaded.spec, training_set, n_jobs=1)
    votes_rebuilt, p_rebuilt = rebuilt.vote(pool)
    for alg in ("gb", "lgbm"):
        assert np.array_equal(votes[alg], votes_loaded[alg])
        assert np.array_equal(votes[alg], votes_rebuilt[alg])
    assert np.array_equal(p_mean, p_loaded)
    assert np.array_equal(p_mean, p_rebuilt)
    assert rebuilt.spec.seeds == [0, 1, 2, 3]
    assert rebuilt.spec.params == small_ensemble.spec.params


def test_different_seeds_give_different_models(training_set, small_ensemble):
    # the reproducibility above is not trivial: models of other splits do differ
    probabilities = np.vstack(
        [m.predict_proba(training_set.X)[:, 1] for m in small_ensemble.models["gb"]]
    )
    assert not np.allclose(probabilities[0], probabilities[1])


def test_retraining_refuses_another_training_table(training_set, small_ensemble):
    other = training_set.subset(training_set.contains_li)
    with pytest.raises(ValueError, match="training data"):
        retrain_from_spec(small_ensemble.spec, other, n_jobs=1)


def test_training_rows_are_voted_mostly_correctly(training_set, small_ensemble):
    votes, p_mean = small_ensemble.vote(training_set.X)
    predicted = (p_mean >= 0.5).astype(int)
    assert (predicted == training_set.labels).mean() > 0.9  # models saw ~80 % of these rows
