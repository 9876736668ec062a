"""The applicability domain's distance: standardized features, constant ones left unscaled."""

from __future__ import annotations

import numpy as np

from sse_flows.models.domain import ApplicabilityDomain


def _training(rng: np.random.Generator, constant_column: np.ndarray) -> np.ndarray:
    varying = rng.normal(size=(len(constant_column), 3))
    return np.column_stack([varying, constant_column])


def test_a_feature_constant_up_to_rounding_does_not_blow_up_the_distance():
    """A training column of 1/3 whose std is float rounding (~1e-17) is constant: a query
    value of 0.5 adds |0.5 - 1/3| to the distance, not 1e16 (seen with a 60-row table)."""
    rng = np.random.default_rng(0)
    column = np.full(60, 1 / 3)
    column[-1] = np.nextafter(1 / 3, 1.0)
    assert 0 < column.std() < 1e-15
    X = _training(rng, column)
    domain = ApplicabilityDomain.fit(X, ["Li3PS4"] * len(X))
    query = X[:1].copy()
    query[0, 3] = 0.5
    distance = domain.distances(query)[0]
    assert np.isclose(distance, 0.5 - 1 / 3, rtol=1e-6)


def test_an_exactly_constant_feature_and_a_varying_one():
    """Exactly constant: unit scale; varying: standardized by its own std."""
    rng = np.random.default_rng(1)
    X = _training(rng, np.full(40, 2.0))
    domain = ApplicabilityDomain.fit(X, ["LiCl"] * len(X))
    assert domain.scale[3] == 1.0
    assert np.allclose(domain.scale[:3], X[:, :3].std(axis=0))
