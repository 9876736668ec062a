"""The nine classifiers of the paper: pipelines, search spaces and importance kinds.

Every algorithm is a scikit-learn :class:`~sklearn.pipeline.Pipeline` that starts with a
median imputer (pool formulas can give a NaN Magpie feature; the training table has none),
adds a :class:`~sklearn.preprocessing.StandardScaler` where the model is scale sensitive
(logistic regression, SGD, k-nearest neighbours) and ends with the estimator in the step
named ``"model"``. Search grids are small on purpose: the search is nested inside each of the
100 outer splits (see :mod:`sse_flows.models.evaluation`), so every grid point costs 100 x
``inner_folds`` fits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class AlgorithmSpec:
    """One classifier of the registry.

    Parameters
    ----------
    key
        Short key used on the command line and in documents (``"gb"``).
    name
        Human-readable name (``"Gradient boosting"``).
    build_estimator
        ``build_estimator(random_state, **params) -> estimator`` (the bare model).
    scale
        Whether a :class:`StandardScaler` precedes the model.
    search_space
        Grid of hyperparameters of the bare model (keys without the ``model__`` prefix).
    fixed_params
        Hyperparameters always passed (e.g. ``n_jobs=1``); recorded in documents.
    importance_kind
        What :func:`feature_importances` returns: ``"impurity"``, ``"split_count"``,
        ``"gain"``, ``"abs_coefficient"`` or ``None`` when the model has none.
    """

    key: str
    name: str
    build_estimator: Callable[..., BaseEstimator]
    scale: bool
    search_space: dict[str, list[Any]]
    fixed_params: dict[str, Any] = field(default_factory=dict)
    importance_kind: str | None = None

    def make_pipeline(self, random_state: int = 0, **params: Any) -> Pipeline:
        """Imputer (+ scaler) + model with ``params`` (bare names) and ``random_state``."""
        steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
        if self.scale:
            steps.append(("scale", StandardScaler()))
        merged = {**self.fixed_params, **params}
        steps.append(("model", self.build_estimator(random_state, **merged)))
        return Pipeline(steps)

    @property
    def param_grid(self) -> dict[str, list[Any]]:
        """The search space with the ``model__`` prefix used by scikit-learn searches."""
        return {f"model__{name}": values for name, values in self.search_space.items()}

    @property
    def n_candidates(self) -> int:
        """Number of grid points of the search."""
        return (
            int(np.prod([len(v) for v in self.search_space.values()])) if self.search_space else 1
        )


@dataclass(frozen=True)
class LazyEstimator:
    """A ``build_estimator``: the estimator class ``module.name``, imported when built.

    Parameters
    ----------
    module
        Module of the class (``"sklearn.ensemble"``).
    name
        Class name (``"GradientBoostingClassifier"``).
    seeded
        Whether the class takes ``random_state`` (naive Bayes and k-NN do not).
    """

    module: str
    name: str
    seeded: bool = True

    def __call__(self, random_state: int, **params: Any) -> BaseEstimator:
        """The estimator with ``params`` (and ``random_state`` when it takes one)."""
        import importlib

        estimator = getattr(importlib.import_module(self.module), self.name)
        if self.seeded:
            return estimator(random_state=random_state, **params)
        return estimator(**params)


_gnb = LazyEstimator("sklearn.naive_bayes", "GaussianNB", seeded=False)
_lr = LazyEstimator("sklearn.linear_model", "LogisticRegression")
_dt = LazyEstimator("sklearn.tree", "DecisionTreeClassifier")
_sgd = LazyEstimator("sklearn.linear_model", "SGDClassifier")
_knn = LazyEstimator("sklearn.neighbors", "KNeighborsClassifier", seeded=False)
_rf = LazyEstimator("sklearn.ensemble", "RandomForestClassifier")
_gb = LazyEstimator("sklearn.ensemble", "GradientBoostingClassifier")
_lgbm = LazyEstimator("lightgbm", "LGBMClassifier")
_xgb = LazyEstimator("xgboost", "XGBClassifier")


#: All algorithms, in the paper's order, by short key.
ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.key: spec
    for spec in [
        AlgorithmSpec(
            "gnb",
            "Gaussian naive Bayes",
            _gnb,
            scale=False,
            search_space={"var_smoothing": [1e-9, 1e-6, 1e-3, 1e-1]},
        ),
        AlgorithmSpec(
            "lr",
            "Logistic regression",
            _lr,
            scale=True,
            search_space={"C": [0.01, 0.1, 1.0]},
            fixed_params={"solver": "liblinear", "max_iter": 1000},
            importance_kind="abs_coefficient",
        ),
        AlgorithmSpec(
            "dt",
            "Decision tree",
            _dt,
            scale=False,
            search_space={"max_depth": [3, 6, None], "min_samples_leaf": [1, 4]},
            importance_kind="impurity",
        ),
        AlgorithmSpec(
            "sgd",
            "Stochastic gradient descent (linear)",
            _sgd,
            scale=True,
            search_space={"alpha": [1e-3, 1e-2, 1e-1], "loss": ["hinge", "log_loss"]},
            fixed_params={"max_iter": 1000, "tol": 1e-3},
            importance_kind="abs_coefficient",
        ),
        AlgorithmSpec(
            "knn",
            "k-nearest neighbours",
            _knn,
            scale=True,
            search_space={"n_neighbors": [3, 7, 15], "weights": ["uniform", "distance"]},
            fixed_params={"algorithm": "brute", "n_jobs": 1},
        ),
        AlgorithmSpec(
            "rf",
            "Random forest",
            _rf,
            scale=False,
            search_space={"min_samples_leaf": [1, 3]},
            fixed_params={"n_estimators": 100, "max_features": "sqrt", "n_jobs": 1},
            importance_kind="impurity",
        ),
        AlgorithmSpec(
            "gb",
            "Gradient boosting (scikit-learn)",
            _gb,
            scale=False,
            search_space={"max_depth": [2, 3]},
            fixed_params={"n_estimators": 100, "learning_rate": 0.1},
            importance_kind="impurity",
        ),
        AlgorithmSpec(
            "lgbm",
            "LightGBM",
            _lgbm,
            scale=False,
            search_space={"learning_rate": [0.05, 0.1], "num_leaves": [7, 15]},
            fixed_params={
                "n_estimators": 100,
                "min_child_samples": 10,
                "n_jobs": 1,
                "deterministic": True,
                "force_col_wise": True,
                "verbose": -1,
            },
            importance_kind="split_count",
        ),
        AlgorithmSpec(
            "xgb",
            "XGBoost",
            _xgb,
            scale=False,
            search_space={"learning_rate": [0.05, 0.3], "max_depth": [3, 5]},
            fixed_params={"n_estimators": 100, "n_jobs": 1, "tree_method": "hist"},
            importance_kind="gain",
        ),
    ]
}

#: The two algorithms of the paper's voting ensemble.
ENSEMBLE_ALGORITHMS: tuple[str, str] = ("gb", "lgbm")


def parse_algorithms(text: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Algorithm keys from ``"all"``, ``"gb,lgbm"`` or a list; unknown keys raise ``ValueError``.

    The result keeps the registry order and has no duplicates.
    """
    if text is None:
        return list(ALGORITHMS)
    items = text.split(",") if isinstance(text, str) else list(text)
    keys = {item.strip().lower() for item in items if item.strip()}
    if not keys or "all" in keys:
        return list(ALGORITHMS)
    unknown = sorted(keys - set(ALGORITHMS))
    if unknown:
        raise ValueError(
            f"unknown algorithm(s) {', '.join(unknown)}; choose from "
            f"{', '.join(ALGORITHMS)} or 'all'"
        )
    return [key for key in ALGORITHMS if key in keys]


def feature_importances(pipeline: Pipeline, kind: str | None) -> np.ndarray | None:
    """Importances of the fitted ``model`` step, one value per input feature.

    ``impurity``: scikit-learn ``feature_importances_`` (mean decrease in impurity, sums to
    1); ``split_count``: number of splits on each feature in the LightGBM booster;
    ``gain``: XGBoost's normalised total gain; ``abs_coefficient``: |coefficient| on the
    standardised features. Returns ``None`` when ``kind`` is ``None``.
    """
    if kind is None:
        return None
    model = pipeline.named_steps["model"]
    if kind == "split_count":
        return np.asarray(model.booster_.feature_importance(importance_type="split"), float)
    if kind in ("impurity", "gain"):
        return np.asarray(model.feature_importances_, dtype=float)
    if kind == "abs_coefficient":
        return np.abs(np.asarray(model.coef_, dtype=float)).ravel()
    raise ValueError(f"unknown importance kind {kind!r}")
