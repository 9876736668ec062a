"""The ``open`` recipe: log10 sigma_RT regressors on all open data, with intervals and a domain.

Beside the paper's classifier vote (the ``paper`` recipe, :mod:`sse_flows.models.ensemble`)
this recipe regresses log10 sigma_RT (S/cm) and derives the class from it:

* **Data**: the Li-containing rows of ``training_v2.csv`` (Kang 2023 + Xu 2020 + OBELiX
  train, no OBELiX test composition; :mod:`sse_flows.data.open_data`; its Na rows are
  left out, :data:`TRAINING_ROWS`, chosen with the probability head by cross-source
  validation: :mod:`sse_flows.models.selection`, ``benchmarks/model_selection.py``).
  Censored rows (``<1E-10``) are trained at their bound and scored one-sided.
* **Features**: the 145 Magpie features plus the atomic fraction of every element present in
  at least ``MIN_ELEMENT_ROWS`` (10) training compositions (``frac_<El>``), plus the five
  structure features of an OBELiX CIF (``cif_density``, ``cif_volume_per_atom``,
  ``cif_li_li_min``, ``cif_li_anion_mean``, ``cif_li_fraction``;
  :mod:`sse_flows.features.cif_features`) where a training row has one (217 of the 532 Li
  rows; NaN elsewhere, median-imputed) for the *structure branch*. A material predicted from its
  formula (every ``predict`` row) is predicted by the composition members;
  :meth:`OpenEnsemble.predict` uses the structure branch for rows whose structure is given
  (the benchmark's test CIFs).
* **Members**: ``n_members`` GradientBoostingRegressor and as many LGBMRegressor models
  (hyperparameters :data:`OPEN_PARAMS`, chosen by composition-grouped 5-fold CV, see
  ``docs/models.md``), member ``i`` trained on the training part of the stratified 80/20
  split with seed ``i`` (as in the paper's vote). A member votes superionic when its
  predicted log10 sigma >= -4.
* ``log10_sigma``: mean over all members.
* **Interval**: split-conformal on grouped-CV residuals: one GB + one LightGBM model per fold
  of a stratified group 5-fold over composition clusters; the half-width is the
  ``ceil((n + 1) * level) / n`` empirical quantile of the out-of-fold absolute residuals
  (censored rows one-sided), so ``[log10_sigma - w, log10_sigma + w]`` covers ``level`` of
  *new composition clusters* when they resemble the training clusters.
* ``p_superionic``: the probability head :data:`PROBABILITY_HEAD` (``"platt"``): Platt
  scaling of the same out-of-fold predictions, ``p = 1 / (1 + exp(-(a (log10_sigma + 4)
  + b)))`` fitted to the labels of the Li rows; a material is called superionic at
  ``p >= 0.5``. The other heads (``"classifier"``: the mean probability of as many GB +
  LightGBM classifiers on the labels, which then vote at p >= 0.5; ``"blend"``: a
  logistic regression on both with non-negative weights) are built by the same code and
  were not chosen.
* **Domain**: :class:`~sse_flows.models.domain.ApplicabilityDomain` of the training rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from sse_flows.models.domain import ApplicabilityDomain
from sse_flows.models.schemas import EnsembleSpec
from sse_flows.models.splits import random_splits
from sse_flows.models.training import TrainingSet
from sse_flows.provenance import parameter_hash

#: log10 of the superionic threshold (1e-4 S/cm).
LOG10_THRESHOLD = -4.0
#: Coverage of the predictive interval.
INTERVAL_LEVEL = 0.9
#: Members per algorithm by default.
N_MEMBERS = 10
#: An element gets a ``frac_<El>`` feature when at least this many training rows contain it.
MIN_ELEMENT_ROWS = 10
#: Folds of the grouped CV behind the interval and the calibration.
N_FOLDS = 5
#: A classifier probability is clipped to ``[PROBABILITY_CLIP, 1 - PROBABILITY_CLIP]``
#: before its log-odds enter the calibrated blend.
PROBABILITY_CLIP = 1e-3
OPEN_ALGORITHMS: tuple[str, str] = ("gb", "lgbm")
#: Attach the OBELiX CIF structure features to the packaged training table (chosen on
#: grouped CV: benchmarks/open_model_study.py).
USE_STRUCTURE = True
#: Sample weight of a packaged-table row without Li, per training-row choice: ``"li"``
#: (the Li rows only; Na rows left out), ``"all"`` (every row), ``"na0.3"`` (every row,
#: Na rows weighted 0.3). The candidates of benchmarks/model_selection.py.
NA_ROW_WEIGHTS: dict[str, float] = {"li": 0.0, "all": 1.0, "na0.3": 0.3}
#: The training rows of the packaged table (a key of :data:`NA_ROW_WEIGHTS`), chosen by
#: cross-source validation (benchmarks/model_selection.py, docs/models.md).
TRAINING_ROWS = "li"
#: Train on the Li-containing rows of the packaged table only (from :data:`TRAINING_ROWS`).
LI_ROWS_ONLY = NA_ROW_WEIGHTS[TRAINING_ROWS] == 0.0
#: How ``p_superionic`` is made: ``"platt"`` (Platt map of the regressors' log10 sigma),
#: ``"classifier"`` (mean probability of the classifier members) or ``"blend"`` (logistic
#: regression on both). Chosen by cross-source validation (benchmarks/model_selection.py).
PROBABILITY_HEAD = "platt"
PROBABILITY_HEADS: tuple[str, ...] = ("platt", "classifier", "blend")

#: Regressor hyperparameters, chosen on composition-grouped 5-fold CV of training_v2
#: (benchmarks/open_model_study.py reproduces the comparison; docs/models.md has the table).
OPEN_PARAMS: dict[str, dict[str, Any]] = {
    "gb": {
        "n_estimators": 300,
        "max_depth": 5,
        "learning_rate": 0.03,
        "subsample": 0.8,
        "max_features": 0.3,
        "min_samples_leaf": 5,
    },
    "lgbm": {
        "n_estimators": 1500,
        "learning_rate": 0.01,
        "num_leaves": 7,
        "min_child_samples": 8,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.3,
        "reg_lambda": 5.0,
        "n_jobs": 1,
        "verbose": -1,
        "deterministic": True,
    },
}
PARAM_SELECTION = "composition-grouped 5-fold CV on training_v2 (MAE of log10 sigma)"


#: (algorithm, head) -> (module, class) of the open recipe's models, imported when made.
OPEN_MODEL_CLASSES = {
    ("gb", "regressor"): ("sklearn.ensemble", "GradientBoostingRegressor"),
    ("lgbm", "regressor"): ("lightgbm", "LGBMRegressor"),
    ("gb", "classifier"): ("sklearn.ensemble", "GradientBoostingClassifier"),
    ("lgbm", "classifier"): ("lightgbm", "LGBMClassifier"),
}


def _make_model(algorithm: str, head: str, seed: int, params: dict[str, Any] | None):
    """A fresh ``head`` of ``algorithm`` (median imputer + model) seeded with ``seed``."""
    import importlib

    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    params = {**OPEN_PARAMS[algorithm], **(params or {})}
    if (algorithm, head) not in OPEN_MODEL_CLASSES:
        raise ValueError(f"no open-recipe {head} {algorithm!r} (known: gb, lgbm)")
    module, name = OPEN_MODEL_CLASSES[algorithm, head]
    model = getattr(importlib.import_module(module), name)(random_state=seed, **params)
    return Pipeline([("impute", SimpleImputer(strategy="median")), ("model", model)])


def make_regressor(algorithm: str, seed: int, params: dict[str, Any] | None = None):
    """A fresh regressor of ``algorithm`` (median imputer + model) seeded with ``seed``."""
    return _make_model(algorithm, "regressor", seed, params)


def make_classifier(algorithm: str, seed: int, params: dict[str, Any] | None = None):
    """A fresh classifier of ``algorithm`` (median imputer + model) seeded with ``seed``.

    The classifier head: the regressor's hyperparameters (:data:`OPEN_PARAMS`), fitted to
    the labels (sigma >= 1e-4 S/cm) instead of log10 sigma.
    """
    return _make_model(algorithm, "classifier", seed, params)


def fit_model(kind: str, algorithm: str, seed: int, X, target, weights=None, params=None):
    """Fit a regressor (``kind="reg"``, target log10 sigma) or a classifier (``"clf"``,
    target the labels), with per-row ``weights`` when given."""
    make = make_regressor if kind == "reg" else make_classifier
    model = make(algorithm, seed, params)
    if weights is None:
        return model.fit(X, target)
    return model.fit(X, target, model__sample_weight=np.asarray(weights, dtype=float))


def model_output(kind: str, model, X) -> np.ndarray:
    """log10 sigma of a regressor, the superionic probability of a classifier."""
    return model.predict(X) if kind == "reg" else model.predict_proba(X)[:, 1]


# ---------------------------------------------------------------------------------------
# Features and training set
# ---------------------------------------------------------------------------------------
def fraction_elements(formulas: list[str], min_rows: int = MIN_ELEMENT_ROWS) -> list[str]:
    """Elements present in at least ``min_rows`` of ``formulas`` (sorted)."""
    from pymatgen.core import Composition

    counts: dict[str, int] = {}
    for formula in formulas:
        for element in Composition(formula).elements:
            counts[element.symbol] = counts.get(element.symbol, 0) + 1
    return sorted(el for el, n in counts.items() if n >= min_rows)


def fraction_features(formulas: list[str], elements: list[str]) -> pd.DataFrame:
    """Atomic fraction of each of ``elements`` (columns ``frac_<El>``), one row per formula."""
    from pymatgen.core import Composition

    data = np.zeros((len(formulas), len(elements)))
    index = {el: i for i, el in enumerate(elements)}
    for row, formula in enumerate(formulas):
        for element, value in Composition(formula).fractional_composition.items():
            if element.symbol in index:
                data[row, index[element.symbol]] = float(value)
    return pd.DataFrame(data, columns=[f"frac_{el}" for el in elements])


def add_fraction_features(
    features: pd.DataFrame, formulas: list[str], elements: list[str]
) -> pd.DataFrame:
    """``features`` with the ``frac_<El>`` columns appended (rows aligned with formulas)."""
    fractions = fraction_features(formulas, elements)
    return pd.concat([features.reset_index(drop=True), fractions], axis=1)


def load_open_training_set(
    training_path: str | Path | None = None,
    cluster_threshold: float = 0.2,
    structure: bool | None = None,
    li_only: bool | None = None,
) -> TrainingSet:
    """The v2 table's Li rows (or a user CSV) with Magpie + fraction features and log10 sigma.

    ``extra`` holds ``log10_sigma`` (array), ``censored`` (bool array),
    ``fraction_elements`` (list), ``structure`` (``(n, k)`` array of the structure features,
    NaN where a row has no CIF), ``structure_features`` (their ``k`` names; empty for a
    user CSV, which has no CIFs), ``datasets`` (each row's source tables, ``;``-joined),
    ``papers`` (its first DOI; both empty strings for a user CSV) and ``row_weights``
    (the members' sample weights: ``None`` = every row weighs 1; the packaged table with
    :data:`TRAINING_ROWS` ``"na0.3"``: 0.3 for a row without Li). A user CSV
    (``formula, sigma_S_cm``) is validated by :func:`sse_flows.data.tables.load_training_table`;
    a conductivity of 0 becomes the upper bound 1e-12 S/cm (censored).

    Parameters
    ----------
    training_path
        A user CSV; default: the packaged ``training_v2.csv``.
    cluster_threshold
        Distance threshold of the composition clusters.
    structure
        Attach the packaged structure features (default :data:`USE_STRUCTURE` for the
        packaged table; always off for a user CSV).
    li_only
        Keep the rows whose composition contains Li only (default: :data:`TRAINING_ROWS`
        for the packaged table, whose Na-row weight applies; off for a user CSV: its rows
        are taken as given). ``False`` keeps every row, unweighted.
    """
    from sse_flows.data.open_data import load_training_v2
    from sse_flows.data.tables import load_training_table
    from sse_flows.models.splits import composition_clusters, paper_group
    from sse_flows.models.training import featurize_or_raise, hash_training_data

    na_weight = 1.0
    if training_path is None:
        table = load_training_v2()
        source = "open training_v2 (Kang 2023 + Xu 2020 + OBELiX train)"
        if LI_ROWS_ONLY if li_only is None else li_only:
            table = table[table["contains_li"].astype(bool)]
            source += ", Li rows"
        elif li_only is None and NA_ROW_WEIGHTS[TRAINING_ROWS] != 1.0:
            na_weight = NA_ROW_WEIGHTS[TRAINING_ROWS]
            source += f", Na rows weighted {na_weight:g}"
        log10_sigma = table["log10_sigma"].to_numpy(dtype=float)
        censored = table["censored"].to_numpy(dtype=bool)
        datasets = table["datasets"].fillna("").astype(str).tolist()
        papers = [paper_group(cell) for cell in table["source"].fillna("")]
    else:
        table = load_training_table(training_path)
        source = str(training_path)
        if li_only:
            table = table[table["contains_li"].astype(bool)]
            source += ", Li rows"
        if table.empty:
            raise ValueError(f"{training_path}: no training row left (Li rows only: {li_only})")
        sigma = table["sigma_S_cm"].to_numpy(dtype=float)
        censored = sigma <= 0
        log10_sigma = np.log10(np.where(censored, 1e-12, sigma))
        datasets = [""] * len(table)
        papers = [""] * len(table)
    table = table.reset_index(drop=True)
    formulas = [str(f) for f in table["formula"]]
    elements = fraction_elements(formulas, min(MIN_ELEMENT_ROWS, max(2, len(formulas) // 20)))
    features = add_fraction_features(featurize_or_raise(formulas), formulas, elements)
    labels = table["label"].to_numpy(dtype=int)
    families = table["family"].fillna("").astype(str).replace("", "unknown").to_numpy()
    use_structure = (USE_STRUCTURE if structure is None else structure) and training_path is None
    structure_names: list[str] = []
    structure_values = np.zeros((len(formulas), 0))
    if use_structure:
        from sse_flows.data.open_data import (
            load_training_v2_structures,
            structure_feature_names,
            structure_matrix,
        )

        structure_names = structure_feature_names()
        structure_values = structure_matrix(formulas, load_training_v2_structures())
    return TrainingSet(
        features=features,
        labels=labels,
        formulas=formulas,
        families=families,
        contains_li=table["contains_li"].to_numpy(dtype=bool),
        clusters=composition_clusters(
            table["reduced_formula"].astype(str).tolist(), distance_threshold=cluster_threshold
        ),
        data_hash=hash_training_data(formulas, labels)
        + parameter_hash([round(v, 4) for v in log10_sigma.tolist()])[:4],
        source=source,
        extra={
            "log10_sigma": log10_sigma,
            "censored": censored,
            "fraction_elements": elements,
            "structure": structure_values,
            "structure_features": structure_names,
            "datasets": np.asarray(datasets, dtype=object),
            "papers": np.asarray(papers, dtype=object),
            "row_weights": None
            if na_weight == 1.0
            else np.where(table["contains_li"].to_numpy(dtype=bool), 1.0, na_weight),
            # the packaged table's interval, calibration and domain rest on its Li rows
            "calibration_rows": table["contains_li"].to_numpy(dtype=bool)
            if training_path is None
            else None,
        },
    )


def model_matrix(training_set: TrainingSet) -> np.ndarray:
    """The matrix the regressors see: composition features, then structure features."""
    structure = training_set.extra.get("structure")
    if structure is None or structure.shape[1] == 0:
        return training_set.X
    return np.hstack([training_set.X, np.asarray(structure, dtype=float)])


# ---------------------------------------------------------------------------------------
# Grouped CV: interval and calibration
# ---------------------------------------------------------------------------------------
def grouped_folds(training_set: TrainingSet, n_folds: int = N_FOLDS, seed: int = 0):
    """Stratified group k-fold over composition clusters (stratified k-fold if too few)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    X, y = training_set.X, training_set.labels
    if len(np.unique(training_set.clusters)) >= n_folds:
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        return list(cv.split(X, y, training_set.clusters))
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(cv.split(X, y))


def _fit_predict(algorithm, seed, X, y, train, test, params):
    model = make_regressor(algorithm, seed, params).fit(X[train], y[train])
    return model.predict(X[test])


def _fit_output(kind, algorithm, seed, X, target, weights, train, test, params):
    w = None if weights is None else weights[train]
    model = fit_model(kind, algorithm, seed, X[train], target[train], w, params)
    return model_output(kind, model, X[test])


def grouped_oof_predictions(
    training_set: TrainingSet,
    algorithms: tuple[str, ...] = OPEN_ALGORITHMS,
    params: dict[str, dict[str, Any]] | None = None,
    n_folds: int = N_FOLDS,
    seed: int = 0,
    n_jobs: int = 2,
    structure: bool = False,
    kind: str = "reg",
) -> np.ndarray:
    """Out-of-fold predictions (mean over ``algorithms``) on composition-grouped folds.

    ``kind="reg"``: log10 sigma of the regressors; ``"clf"``: superionic probability of
    the classifiers (:func:`make_classifier`). ``structure``: the models see the structure
    features too (:func:`model_matrix`). The rows' ``extra["row_weights"]`` (when set)
    weight the fits.
    """
    X = model_matrix(training_set) if structure else training_set.X
    target = training_set.extra["log10_sigma"] if kind == "reg" else training_set.labels
    weights = training_set.extra.get("row_weights")
    folds = grouped_folds(training_set, n_folds, seed)
    tasks = [(alg, fold) for alg in algorithms for fold in range(len(folds))]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_output)(
            kind,
            alg,
            seed,
            X,
            target,
            weights,
            folds[f][0],
            folds[f][1],
            (params or {}).get(alg),
        )  # fmt: skip
        for alg, f in tasks
    )
    oof = np.zeros(len(target))
    for (_alg, f), pred in zip(tasks, results, strict=True):
        oof[folds[f][1]] += pred / len(algorithms)
    return oof


def conformal_halfwidth(residuals: np.ndarray, level: float = INTERVAL_LEVEL) -> float:
    """Split-conformal half-width: the ``ceil((n+1) level)``-th smallest absolute residual."""
    residuals = np.sort(np.asarray(residuals, dtype=float))
    n = len(residuals)
    rank = min(n, math.ceil((n + 1) * level))
    return float(residuals[rank - 1])


def fit_platt(log10_pred: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Platt coefficients ``(a, b)`` of ``p = sigmoid(a (log10_pred + 4) + b)``."""
    from sklearn.linear_model import LogisticRegression

    x = (np.asarray(log10_pred, dtype=float) - LOG10_THRESHOLD).reshape(-1, 1)
    model = LogisticRegression(C=1e4).fit(x, np.asarray(labels, dtype=int))
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def platt_probability(log10_pred: np.ndarray, a: float, b: float) -> np.ndarray:
    """Superionic probability from a predicted log10 sigma (Platt scaling)."""
    z = a * (np.asarray(log10_pred, dtype=float) - LOG10_THRESHOLD) + b
    return 1.0 / (1.0 + np.exp(-z))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP)
    return np.log(p / (1.0 - p))


def fit_blend(
    log10_pred: np.ndarray, classifier_p: np.ndarray, labels: np.ndarray
) -> dict[str, float]:
    """Coefficients of the calibrated blend of the two heads (non-negative stacking).

    ``p = sigmoid(a (log10_pred + 4) + c logit(classifier_p) + b)``, a logistic regression
    of the labels on the regressor's log10 sigma and the classifier's log-odds (clipped to
    ``[PROBABILITY_CLIP, 1 - PROBABILITY_CLIP]``), fitted on out-of-fold predictions, with
    ``a, c >= 0``: when one input gets a negative coefficient (the two are strongly
    correlated, and the classifier's out-of-fold probabilities are over-confident) it adds
    nothing beyond the other, and the blend is refitted on the other alone (its
    coefficient set to 0).
    """
    from sklearn.linear_model import LogisticRegression

    columns = [np.asarray(log10_pred, dtype=float) - LOG10_THRESHOLD, _logit(classifier_p)]
    labels = np.asarray(labels, dtype=int)
    keep = [0, 1]
    while True:
        x = np.column_stack([columns[k] for k in keep])
        model = LogisticRegression(C=1e4).fit(x, labels)
        coef = dict(zip(keep, model.coef_[0].tolist(), strict=True))
        negative = [k for k in keep if coef[k] <= 0]
        if not negative or len(keep) == 1:
            break
        keep = [k for k in keep if k != min(negative, key=lambda k: coef[k])]
    return {
        "a": max(float(coef.get(0, 0.0)), 0.0),
        "c": max(float(coef.get(1, 0.0)), 0.0),
        "b": float(model.intercept_[0]),
    }


def blend_probability(
    log10_pred: np.ndarray, classifier_p: np.ndarray, coefficients: dict[str, float]
) -> np.ndarray:
    """Superionic probability of the calibrated blend (:func:`fit_blend`)."""
    z = (
        coefficients["a"] * (np.asarray(log10_pred, dtype=float) - LOG10_THRESHOLD)
        + coefficients["c"] * _logit(classifier_p)
        + coefficients["b"]
    )
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------------------
# The ensemble
# ---------------------------------------------------------------------------------------
@dataclass
class OpenEnsemble:
    """Fitted regressors of the open recipe, with interval, calibration and domain.

    Attributes
    ----------
    spec
        Recipe, algorithms, hyperparameters, seeds, interval half-width, calibration
        (``calibration["head"]``: how ``p_superionic`` is made, :data:`PROBABILITY_HEADS`).
    models
        Per algorithm: the fitted regressors, member ``i`` trained on split
        ``spec.seeds[i]``.
    classifiers
        Per algorithm: the classifier head's members (same splits and seeds as the
        regressors; empty when the head is ``"platt"``).
    domain
        Applicability domain of the training rows (composition features only).
    structure_features
        Names of the structure features (empty: the ensemble has no structure branch).
    structure_ensemble
        The structure branch: members trained on composition + structure features, with
        their own interval and calibration. :meth:`predict` uses it for the rows whose
        structure features are given, and the composition members for every other row.
    """

    spec: EnsembleSpec
    models: dict[str, list[Any]] = field(default_factory=dict)
    domain: ApplicabilityDomain | None = None
    structure_features: list[str] = field(default_factory=list)
    structure_ensemble: OpenEnsemble | None = None
    classifiers: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def head(self) -> str:
        """How ``p_superionic`` is made (``"platt"``, ``"classifier"`` or ``"blend"``)."""
        return str(self.spec.calibration.get("head", "platt"))

    @property
    def n_models(self) -> dict[str, int]:
        """Number of members per algorithm."""
        return {alg: len(models) for alg, models in self.models.items()}

    def member_predictions(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Per algorithm: ``(n_members, n_rows)`` predicted log10 sigma (of this branch)."""
        X = np.asarray(X, dtype=float)
        return {alg: np.vstack([m.predict(X) for m in ms]) for alg, ms in self.models.items()}

    def classifier_probabilities(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Per algorithm: ``(n_members, n_rows)`` superionic probability of the classifier
        head (empty for the ``"platt"`` head)."""
        X = np.asarray(X, dtype=float)
        return {
            alg: np.vstack([m.predict_proba(X)[:, 1] for m in ms])
            for alg, ms in getattr(self, "classifiers", {}).items()
        }

    def _predict_branch(self, X: np.ndarray) -> dict[str, Any]:
        members = self.member_predictions(X)
        log10_sigma = np.vstack(list(members.values())).mean(axis=0)
        width = float(self.spec.interval_halfwidth or 0.0)
        calibration = self.spec.calibration
        head = self.head
        if head == "platt":
            # a member votes superionic at log10 sigma >= -4; p is the Platt map of the mean
            p = platt_probability(log10_sigma, calibration["a"], calibration["b"])
            votes = {
                alg: (pred >= LOG10_THRESHOLD).sum(axis=0).astype(int)
                for alg, pred in members.items()
            }
        else:
            probabilities = self.classifier_probabilities(X)
            classifier_p = np.vstack(list(probabilities.values())).mean(axis=0)
            if head == "classifier":
                # a member votes superionic at probability >= 0.5; p is their mean
                p = classifier_p
                member_p = probabilities
            else:
                # member i of an algorithm: the blend of its regressor and classifier
                blend = calibration["blend"]
                p = blend_probability(log10_sigma, classifier_p, blend)
                member_p = {
                    alg: blend_probability(members[alg], probabilities[alg], blend)
                    for alg in members
                }
            votes = {alg: (q >= 0.5).sum(axis=0).astype(int) for alg, q in member_p.items()}
        return {
            "log10_sigma": log10_sigma,
            "log10_sigma_low": log10_sigma - width,
            "log10_sigma_high": log10_sigma + width,
            "p_superionic": p,
            "votes": votes,
        }

    def predict(self, X: np.ndarray, structure: np.ndarray | None = None) -> dict[str, Any]:
        """log10 sigma with interval, calibrated probability and votes for the rows of ``X``.

        Parameters
        ----------
        X
            Composition features (``spec.feature_names``), one row per material.
        structure
            Structure features (columns :attr:`structure_features`, NaN where unknown).
            A row with at least one known value is predicted by the structure branch
            (missing values median-imputed); ``None`` or an all-NaN row: the composition
            members (every ``sse-flows predict`` row).
        """
        X = np.asarray(X, dtype=float)
        out = self._predict_branch(X)
        if structure is None or self.structure_ensemble is None:
            return out
        structure = np.asarray(structure, dtype=float)
        k = len(self.structure_features)
        if structure.shape != (len(X), k):
            raise ValueError(f"structure features: expected shape {(len(X), k)}")
        known = np.isfinite(structure).any(axis=1)
        if known.any():
            branch = self.structure_ensemble._predict_branch(
                np.hstack([X[known], structure[known]])
            )
            for key in ("log10_sigma", "log10_sigma_low", "log10_sigma_high", "p_superionic"):
                out[key][known] = branch[key]
            for alg in out["votes"]:
                out["votes"][alg][known] = branch["votes"][alg]
        return out

    def vote(self, X: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Votes and calibrated probability (the interface of the paper's ensemble)."""
        out = self.predict(X)
        return out["votes"], out["p_superionic"]

    def save(self, path: str | Path) -> Path:
        """Write the fitted ensemble with joblib; returns the path."""
        from sse_flows.models.ensemble import dump_ensemble

        return dump_ensemble(self, path)


def _fit_member(kind, algorithm, params, X, target, weights, train, seed):
    w = None if weights is None else weights[train]
    return fit_model(kind, algorithm, seed, X[train], target[train], w, params)


def train_open_ensemble(
    training_set: TrainingSet,
    n_members: int = N_MEMBERS,
    params: dict[str, dict[str, Any]] | None = None,
    level: float = INTERVAL_LEVEL,
    n_jobs: int = 2,
    structure: bool = True,
    head: str | None = None,
) -> OpenEnsemble:
    """Fit the members, the conformal interval, the probability head and the domain.

    Two branches, each with its own members, interval and calibration: the composition
    members (Magpie + fractions; every formula-only prediction) and, when the training set
    carries structure features and ``structure`` is true, the structure branch
    (:attr:`OpenEnsemble.structure_ensemble`, composition + CIF features; used for rows
    whose structure is given). A formula-only row is never predicted by the structure
    branch: on grouped CV, the structure models asked without a CIF are worse on rows
    that have one (see ``docs/models.md``).

    Parameters
    ----------
    training_set
        From :func:`load_open_training_set` (needs ``extra['log10_sigma']``).
    n_members
        Members per algorithm (seeds ``0..n_members-1``).
    params
        Hyperparameters overriding :data:`OPEN_PARAMS` per algorithm.
    level
        Coverage of the interval.
    n_jobs
        joblib workers (each model single-threaded).
    structure
        Also fit the structure branch (when the training set has structure features).
    head
        How ``p_superionic`` is made (default :data:`PROBABILITY_HEAD`): ``"platt"``,
        ``"classifier"`` (adds ``n_members`` classifiers per algorithm) or ``"blend"``.
    """
    head = PROBABILITY_HEAD if head is None else head
    if head not in PROBABILITY_HEADS:
        raise ValueError(f"probability head {head!r}: use one of {', '.join(PROBABILITY_HEADS)}")
    ensemble = _train_branch(
        training_set, n_members, params, level, n_jobs, structure=False, head=head
    )
    names = list(training_set.extra.get("structure_features", []))
    if structure and names:
        ensemble.structure_ensemble = _train_branch(
            training_set, n_members, params, level, n_jobs, structure=True, head=head
        )
        ensemble.structure_features = names
    return ensemble


HEAD_METHODS = {
    "platt": "Platt scaling of composition-grouped 5-fold out-of-fold log10 sigma",
    "classifier": "mean probability of the classifier members (GB + LightGBM on the labels)",
    "blend": "logistic regression of the labels on composition-grouped 5-fold out-of-fold "
    "log10 sigma and classifier log-odds",
}


def _train_branch(
    training_set: TrainingSet,
    n_members: int,
    params: dict[str, dict[str, Any]] | None,
    level: float,
    n_jobs: int,
    structure: bool,
    head: str = "platt",
) -> OpenEnsemble:
    from sse_flows.data.open_data import censored_residuals

    start = time.perf_counter()
    X = model_matrix(training_set) if structure else training_set.X
    y = training_set.extra["log10_sigma"]
    censored = training_set.extra["censored"]
    weights = training_set.extra.get("row_weights")
    calibration_rows = training_set.extra.get("calibration_rows")
    rows = (
        np.ones(len(y), dtype=bool)
        if calibration_rows is None
        else np.asarray(calibration_rows, dtype=bool)
    )
    labels = training_set.labels
    oof = grouped_oof_predictions(training_set, params=params, n_jobs=n_jobs, structure=structure)
    residuals = censored_residuals(y[rows], oof[rows], censored[rows])
    halfwidth = conformal_halfwidth(residuals, level)
    a, b = fit_platt(oof[rows], labels[rows])
    calibration: dict[str, Any] = {"head": head, "a": a, "b": b, "method": HEAD_METHODS[head]}
    if head == "blend":
        clf_oof = grouped_oof_predictions(
            training_set, params=params, n_jobs=n_jobs, structure=structure, kind="clf"
        )
        calibration["blend"] = fit_blend(oof[rows], clf_oof[rows], labels[rows])
    splits = random_splits(labels, n_splits=n_members, test_size=0.2)
    kinds = ("reg",) if head == "platt" else ("reg", "clf")
    targets = {"reg": y, "clf": labels}
    tasks = [(kind, alg, split) for kind in kinds for alg in OPEN_ALGORITHMS for split in splits]
    fitted = Parallel(n_jobs=n_jobs)(
        delayed(_fit_member)(
            kind,
            alg,
            (params or {}).get(alg),
            X,
            targets[kind],
            weights,
            split.train,
            split.seed,
        )  # fmt: skip
        for kind, alg, split in tasks
    )
    models: dict[str, list[Any]] = {alg: [] for alg in OPEN_ALGORITHMS}
    classifiers: dict[str, list[Any]] = (
        {alg: [] for alg in OPEN_ALGORITHMS} if "clf" in kinds else {}
    )
    for (kind, alg, _split), model in zip(tasks, fitted, strict=True):
        (models if kind == "reg" else classifiers)[alg].append(model)
    formulas = [f for f, keep in zip(training_set.formulas, rows, strict=True) if keep]
    domain = ApplicabilityDomain.fit(training_set.X[rows], formulas)
    names = list(training_set.extra.get("structure_features", [])) if structure else []
    vote_rule = {
        "platt": "member votes superionic at log10 sigma >= -4",
        "classifier": "classifier member votes superionic at p >= 0.5",
        "blend": "member (regressor + classifier, blended) votes superionic at p >= 0.5",
    }[head]
    spec = EnsembleSpec(
        algorithms=list(OPEN_ALGORITHMS),
        params={alg: {**OPEN_PARAMS[alg], **(params or {}).get(alg, {})} for alg in models},
        seeds=[s.seed for s in splits],
        test_size=0.2,
        training_hash=training_set.data_hash,
        training_source=training_set.source,
        n_training=len(training_set),
        feature_names=training_set.feature_names + names,
        param_selection=PARAM_SELECTION if params is None else "given",
        recipe="open",
        target=f"log10 sigma_RT (S/cm); p_superionic: {head} head; {vote_rule}"
        + ("; structure branch (composition + CIF features)" if structure else ""),
        interval_level=level,
        interval_halfwidth=halfwidth,
        calibration={
            **calibration,
            "grouped_mae_log10": float(residuals.mean()),
            "grouped_coverage": float((residuals <= halfwidth).mean()),
            "seconds": round(time.perf_counter() - start, 2),
        },
        fraction_elements=list(training_set.extra.get("fraction_elements", [])),
        domain_threshold=domain.threshold,
    )
    return OpenEnsemble(spec=spec, models=models, domain=domain, classifiers=classifiers)


def open_cache_path(training_set: TrainingSet, n_members: int, home: Path | None = None) -> Path:
    """Where :func:`load_or_train_open_ensemble` keeps the fitted ensemble."""
    import lightgbm
    import sklearn

    from sse_flows import __version__

    if home is None:
        from sse_flows.settings import get_settings

        home = get_settings().HOME
    key = parameter_hash(
        {
            "recipe": "open",
            "n_members": n_members,
            "training": training_set.data_hash,
            "params": OPEN_PARAMS,
            "structure": list(training_set.extra.get("structure_features", [])),
            "level": INTERVAL_LEVEL,
            # the recipe chosen by cross-source validation: rows, probability head
            "rows": TRAINING_ROWS
            if training_set.extra.get("calibration_rows") is not None
            else "as given",
            "head": PROBABILITY_HEAD,
            "recipe_version": 2,
            "sklearn": sklearn.__version__,
            "lightgbm": lightgbm.__version__,
            "sse_flows": __version__,
        }
    )[:16]
    return Path(home) / "models" / f"open-{key}.joblib"


def load_or_train_open_ensemble(
    training_set: TrainingSet, n_members: int = N_MEMBERS, n_jobs: int = 2, cache: bool = True
) -> OpenEnsemble:
    """The open ensemble from the joblib cache under ``$SSE_FLOWS_HOME/models``, else trained."""
    import joblib

    path = open_cache_path(training_set, n_members)
    if cache and path.is_file():
        try:
            ensemble = joblib.load(path)
            # a spec pickled before new fields existed gets their defaults
            ensemble.spec = EnsembleSpec.model_validate(dict(ensemble.spec.__dict__))
            if ensemble.spec.training_hash == training_set.data_hash:
                return ensemble
        except Exception:  # a corrupt or incompatible cache file is rebuilt
            pass
    ensemble = train_open_ensemble(training_set, n_members=n_members, n_jobs=n_jobs)
    if cache:
        from sse_flows.models.ensemble import cache_ensemble

        cache_ensemble(ensemble, path)
    return ensemble


# ---------------------------------------------------------------------------------------
# Evaluation (``sse-flows train --recipe open``)
# ---------------------------------------------------------------------------------------
def regression_scores(
    y: np.ndarray, pred: np.ndarray, censored: np.ndarray, labels: np.ndarray
) -> dict[str, float]:
    """MAE (censored one-sided), Spearman, R2, accuracy, balanced accuracy and AUC at -4.

    ``r2`` is 1 - mean squared error / variance of ``y`` (censored rows at their bound).
    """
    from scipy.stats import spearmanr
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    from sse_flows.data.open_data import censored_residuals

    call = pred >= LOG10_THRESHOLD
    two_classes = len(np.unique(labels)) == 2
    return {
        "mae": float(censored_residuals(y, pred, censored).mean()),
        "spearman": float(spearmanr(pred, y)[0]) if len(y) > 2 else float("nan"),
        "r2": float(1.0 - np.mean((pred - y) ** 2) / np.var(y)) if np.var(y) > 0 else float("nan"),
        "acc": float(accuracy_score(labels, call)),
        "balanced_acc": float(balanced_accuracy_score(labels, call)) if two_classes else 0.0,
        "auc": float(roc_auc_score(labels, pred)) if two_classes else float("nan"),
    }


def median_baseline_mae(y: np.ndarray, censored: np.ndarray) -> float:
    """MAE (censored rows one-sided) of predicting the median of ``y`` for every row."""
    from sse_flows.data.open_data import censored_residuals

    return float(censored_residuals(y, np.full(len(y), np.median(y)), censored).mean())


def evaluate_open_regressor(
    training_set: TrainingSet, n_splits: int = 10, n_jobs: int = 2
) -> dict[str, Any]:
    """The open recipe's regressor (mean of one GB and one LightGBM) on random and grouped splits.

    Returns the ``train --json`` entry ``"regressor"``: ``acc_*``, ``f1_mean``,
    ``auc_mean`` over ``n_splits`` random splits (class = predicted log10 sigma >= -4),
    ``grouped_acc_mean``, ``mae_log10_grouped`` (beside ``mae_log10_median_grouped``, the
    MAE of predicting the training median for every row), ``r2_grouped`` (1 - mean squared
    out-of-fold error / variance of log10 sigma), ``spearman_grouped``, ``coverage_grouped``
    (of the 90 % conformal interval, half-width from the other folds' residuals) and
    ``mae_log10_random``.
    """
    from sklearn.metrics import f1_score

    from sse_flows.data.open_data import censored_residuals

    X = training_set.X  # the composition members: what ``predict`` uses for a formula
    y = training_set.extra["log10_sigma"]
    censored = training_set.extra["censored"]
    labels = training_set.labels
    splits = random_splits(labels, n_splits=n_splits)
    tasks = [(alg, s.train, s.test, s.seed) for s in splits for alg in OPEN_ALGORITHMS]
    preds = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(alg, seed, X, y, tr, te, None) for alg, tr, te, seed in tasks
    )
    random_scores = []
    for i, split in enumerate(splits):
        pred = (preds[2 * i] + preds[2 * i + 1]) / 2
        scores = regression_scores(y[split.test], pred, censored[split.test], labels[split.test])
        scores["f1"] = float(f1_score(labels[split.test], pred >= LOG10_THRESHOLD))
        random_scores.append(scores)
    folds = grouped_folds(training_set)
    oof = grouped_oof_predictions(training_set, n_jobs=n_jobs)
    residuals = censored_residuals(y, oof, censored)
    covered, fold_acc = [], []
    for train, test in folds:
        width = conformal_halfwidth(residuals[train])
        covered.extend((residuals[test] <= width).tolist())
        fold_acc.append(float(((oof[test] >= LOG10_THRESHOLD) == labels[test]).mean()))
    grouped = regression_scores(y, oof, censored, labels)
    acc = np.array([s["acc"] for s in random_scores])
    return {
        "acc_mean": float(acc.mean()),
        "acc_std": float(acc.std()),
        "acc_max": float(acc.max()),
        "acc_min": float(acc.min()),
        "f1_mean": float(np.mean([s["f1"] for s in random_scores])),
        "auc_mean": float(np.nanmean([s["auc"] for s in random_scores])),
        "grouped_acc_mean": float(np.mean(fold_acc)),
        "lofo_acc": None,
        "mae_log10_random": float(np.mean([s["mae"] for s in random_scores])),
        "mae_log10_grouped": grouped["mae"],
        "mae_log10_median_grouped": median_baseline_mae(y, censored),
        "r2_grouped": grouped["r2"],
        "spearman_grouped": grouped["spearman"],
        "balanced_acc_grouped": grouped["balanced_acc"],
        "auc_grouped": grouped["auc"],
        "coverage_grouped": float(np.mean(covered)),
    }
