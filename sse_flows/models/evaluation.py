"""Nested evaluation of the classifiers over random and grouped splits.

Nesting: for every outer split the grid search runs a stratified (grouped, for grouped
outer splits) 3-fold cross-validation on that split's training rows only, refits the best
grid point on those rows and scores it on the split's test rows. The reported accuracy of
a split is thus never measured on rows the search saw. The chosen hyperparameters of every
split are kept; the most frequent choice is reported per algorithm.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sse_flows.models.registry import (
    ALGORITHMS,
    AlgorithmSpec,
    feature_importances,
    parse_algorithms,
)
from sse_flows.models.schemas import AlgorithmMetrics, ModelEvaluationDoc, SplitMetrics
from sse_flows.models.splits import (
    Split,
    cluster_splits,
    family_splits,
    inner_folds,
    random_splits,
)
from sse_flows.models.training import TrainingSet
from sse_flows.provenance import Provenance


@dataclass
class SplitResult:
    """Outcome of one algorithm on one outer split (kept in memory, summarised in docs)."""

    algorithm: str
    split: Split
    searched_rows: np.ndarray
    best_params: dict[str, Any]
    y_true: np.ndarray
    y_pred: np.ndarray
    y_score: np.ndarray
    importances: np.ndarray | None
    seconds: float

    @property
    def accuracy(self) -> float:
        """Test accuracy."""
        return float(accuracy_score(self.y_true, self.y_pred))

    @property
    def f1(self) -> float:
        """Test F1 of the positive (superionic) class."""
        return float(f1_score(self.y_true, self.y_pred, zero_division=0))

    @property
    def auc(self) -> float | None:
        """Test ROC-AUC (None when the test rows hold one class only)."""
        if len(np.unique(self.y_true)) < 2:
            return None
        return float(roc_auc_score(self.y_true, self.y_score))

    @property
    def confusion(self) -> np.ndarray:
        """2x2 confusion matrix [[TN, FP], [FN, TP]]."""
        return confusion_matrix(self.y_true, self.y_pred, labels=[0, 1])

    def to_metrics(self) -> SplitMetrics:
        """The storable summary of this result."""
        return SplitMetrics(
            algorithm=self.algorithm,
            scheme=self.split.scheme,
            split=self.split.name,
            seed=self.split.seed,
            n_train=len(self.split.train),
            n_test=len(self.split.test),
            accuracy=self.accuracy,
            f1=self.f1,
            auc=self.auc,
            confusion=self.confusion.tolist(),
            best_params=self.best_params,
        )


def positive_scores(pipeline: Pipeline, X: np.ndarray) -> np.ndarray:
    """Probability of the superionic class, or the decision function for hinge-loss SGD."""
    if hasattr(pipeline, "predict_proba"):
        return pipeline.predict_proba(X)[:, 1]
    return pipeline.decision_function(X)


def evaluate_split(
    spec: AlgorithmSpec,
    X: np.ndarray,
    y: np.ndarray,
    split: Split,
    groups: np.ndarray | None = None,
    n_inner_folds: int = 3,
) -> SplitResult:
    """Nested evaluation on one outer split: grid-search ``spec`` on ``split.train`` only
    (inner folds drawn from the training rows, grouped when ``groups`` is given), refit the
    best point there, score it on ``split.test``.

    The result's ``searched_rows`` holds the global indices of every row the search used (a
    subset of ``split.train``), so a test can prove that no test row reached the search.
    """
    start = time.perf_counter()
    train = split.train
    folds = inner_folds(split, y, groups=groups, n_folds=n_inner_folds)
    searched_rows = np.unique(np.concatenate([np.concatenate(f) for f in folds]))
    # the folds hold global row numbers; the search sees X[train], so map to positions
    local_folds = [(np.searchsorted(train, a), np.searchsorted(train, b)) for a, b in folds]
    pipeline = spec.make_pipeline(random_state=split.seed)
    best: dict[str, Any] = {}
    if spec.n_candidates > 1:
        search = GridSearchCV(
            pipeline,
            spec.param_grid,
            cv=local_folds,
            scoring="accuracy",
            n_jobs=1,
            refit=True,
            error_score="raise",
        )
        search.fit(X[train], y[train])
        best = {k.removeprefix("model__"): v for k, v in search.best_params_.items()}
        pipeline = search.best_estimator_
    else:
        pipeline.fit(X[train], y[train])
    X_test = X[split.test]
    return SplitResult(
        algorithm=spec.key,
        split=split,
        searched_rows=searched_rows,
        best_params=best,
        y_true=y[split.test],
        y_pred=pipeline.predict(X_test),
        y_score=positive_scores(pipeline, X_test),
        importances=feature_importances(pipeline, spec.importance_kind),
        seconds=time.perf_counter() - start,
    )


def build_splits(
    training_set: TrainingSet,
    n_splits: int = 100,
    test_size: float = 0.2,
    grouped: bool = True,
    n_cluster_repeats: int = 2,
    n_cluster_folds: int = 5,
) -> list[tuple[Split, np.ndarray | None]]:
    """All outer splits with the groups their inner search uses (None: not grouped)."""
    y = training_set.labels
    tasks: list[tuple[Split, np.ndarray | None]] = [
        (s, None) for s in random_splits(y, n_splits=n_splits, test_size=test_size)
    ]
    if grouped:
        clusters = training_set.clusters
        if len(np.unique(clusters)) >= n_cluster_folds:
            tasks += [
                (s, clusters)
                for s in cluster_splits(
                    y, clusters, n_folds=n_cluster_folds, n_repeats=n_cluster_repeats
                )
            ]
        if len(np.unique(training_set.families)) >= 2:  # a table without families: skip
            tasks += [(s, clusters) for s in family_splits(training_set.families)]
    return tasks


#: Fewest rows of each class :func:`evaluate_models` accepts.
MIN_ROWS_PER_CLASS = 10


def check_class_counts(labels: np.ndarray, minimum: int = MIN_ROWS_PER_CLASS) -> None:
    """Raise ``ValueError`` when a class has fewer than ``minimum`` rows."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    if counts.min() < minimum:
        raise ValueError(
            f"the training table has {counts[1]} superionic and {counts[0]} non-superionic "
            f"rows; the split protocol needs at least {minimum} of each"
        )


def run_evaluation(
    training_set: TrainingSet,
    keys: list[str],
    splits: list,
    n_inner_folds: int = 3,
    n_jobs: int = 2,
    progress: bool = False,
) -> list[SplitResult]:
    """Every (algorithm, outer split) result, computed in parallel with joblib.

    ``keys`` are algorithm keys and ``splits`` the ``(split, groups)`` pairs of
    :func:`build_splits`.
    """
    X, y = training_set.X, training_set.labels
    # slowest algorithms first so the two workers finish together
    order = sorted(keys, key=lambda k: -ALGORITHMS[k].n_candidates * _COST.get(k, 1.0))
    tasks = [(ALGORITHMS[k], split, groups) for k in order for split, groups in splits]
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    results_iter = runner(
        delayed(evaluate_split)(spec, X, y, split, groups, n_inner_folds)
        for spec, split, groups in tasks
    )
    if progress:
        import sys

        from tqdm import tqdm

        results_iter = tqdm(results_iter, total=len(tasks), desc="splits", file=sys.stderr)
    return list(results_iter)


#: Rough relative cost of one fit (for scheduling only).
_COST = {"gb": 10.0, "rf": 6.0, "xgb": 3.0, "lgbm": 2.0}


def _mode_params(params: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
    if not params:
        return {}, 0.0
    counts = Counter(json.dumps(p, sort_keys=True, default=str) for p in params)
    blob, count = counts.most_common(1)[0]
    return json.loads(blob), count / len(params)


def summarize(
    training_set: TrainingSet,
    results: list[SplitResult],
    parameters: dict[str, Any],
    seconds: float,
) -> ModelEvaluationDoc:
    """Aggregate split results into a :class:`ModelEvaluationDoc`."""
    keys = [k for k in ALGORITHMS if any(r.algorithm == k for r in results)]
    y = training_set.labels
    metrics: dict[str, AlgorithmMetrics] = {}
    importances: dict[str, list[float]] = {}
    importances_std: dict[str, list[float]] = {}
    confusions: dict[str, dict[str, list[list[int]]]] = {}
    accuracies: dict[str, dict[str, list[float]]] = {}
    for key in keys:
        spec = ALGORITHMS[key]
        by_scheme = {
            scheme: [r for r in results if r.algorithm == key and r.split.scheme == scheme]
            for scheme in ("random", "cluster", "family")
        }
        rand, clus, fam = by_scheme["random"], by_scheme["cluster"], by_scheme["family"]
        acc = np.array([r.accuracy for r in rand])
        aucs = [r.auc for r in rand if r.auc is not None]
        chosen, freq = _mode_params([r.best_params for r in rand])
        clus_acc = np.array([r.accuracy for r in clus])
        clus_auc = [r.auc for r in clus if r.auc is not None]
        lofo_true = np.concatenate([r.y_true for r in fam]) if fam else None
        lofo_pred = np.concatenate([r.y_pred for r in fam]) if fam else None
        metrics[key] = AlgorithmMetrics(
            key=key,
            name=spec.name,
            n_splits=len(rand),
            acc_mean=float(acc.mean()),
            acc_std=float(acc.std()),
            acc_max=float(acc.max()),
            acc_min=float(acc.min()),
            f1_mean=float(np.mean([r.f1 for r in rand])),
            auc_mean=float(np.mean(aucs)) if aucs else float("nan"),
            grouped_acc_mean=float(clus_acc.mean()) if clus else None,
            grouped_acc_std=float(clus_acc.std()) if clus else None,
            grouped_f1_mean=float(np.mean([r.f1 for r in clus])) if clus else None,
            grouped_auc_mean=float(np.mean(clus_auc)) if clus_auc else None,
            lofo_acc=float(accuracy_score(lofo_true, lofo_pred)) if fam else None,
            lofo_family_acc={r.split.name: r.accuracy for r in fam},
            chosen_params=chosen,
            chosen_params_frequency=freq,
            fixed_params=_jsonable(spec.fixed_params),
            search_space=_jsonable(spec.search_space),
            importance_kind=spec.importance_kind,
            seconds=float(sum(r.seconds for r in rand + clus + fam)),
        )
        imps = [r.importances for r in rand if r.importances is not None]
        if imps:
            stack = np.vstack(imps)
            importances[key] = stack.mean(axis=0).tolist()
            importances_std[key] = stack.std(axis=0).tolist()
        confusions[key] = {
            scheme: np.sum([r.confusion for r in rs], axis=0).astype(int).tolist()
            for scheme, rs in by_scheme.items()
            if rs
        }
        accuracies[key] = {
            scheme: [r.accuracy for r in rs] for scheme, rs in by_scheme.items() if rs
        }
    n_pos = int(y.sum())
    return ModelEvaluationDoc(
        algorithms=keys,
        metrics=metrics,
        n_samples=len(y),
        n_superionic=n_pos,
        majority_rate=max(n_pos, len(y) - n_pos) / len(y),
        feature_names=training_set.feature_names,
        importances=importances,
        importances_std=importances_std,
        confusion_matrices=confusions,
        accuracies=accuracies,
        protocol=parameters,
        per_split=[r.to_metrics() for r in results],
        seconds=seconds,
        provenance=Provenance.make(
            parameters=parameters,
            data_version=f"training table {training_set.data_hash}",
            inputs={"training": training_set.source, "n_rows": len(y)},
        ),
    )


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def evaluate_models(
    training_set: TrainingSet,
    algorithms: str | list[str] | None = "all",
    n_splits: int = 100,
    test_size: float = 0.2,
    grouped: bool = True,
    n_cluster_repeats: int = 2,
    n_cluster_folds: int = 5,
    n_inner_folds: int = 3,
    n_jobs: int = 2,
    progress: bool = False,
) -> ModelEvaluationDoc:
    """Evaluate the algorithms with nested search over random and grouped splits.

    Parameters
    ----------
    training_set
        Output of :func:`sse_flows.models.training.load_training_set`.
    algorithms
        ``"all"``, ``"gb,lgbm"`` or a list of keys (see :data:`ALGORITHMS`).
    n_splits
        Random stratified splits (seeds ``0..n_splits-1``); the paper used 100.
    test_size
        Test fraction of each random split.
    grouped
        Also run the composition-cluster and leave-one-family-out splits.
    n_cluster_repeats, n_cluster_folds
        Repeats and folds of the stratified group k-fold over composition clusters.
    n_inner_folds
        Folds of the nested search inside each outer training set.
    n_jobs
        joblib workers over (algorithm, split) tasks; each model uses one thread.
    progress
        Show a tqdm bar on stderr.
    """
    start = time.perf_counter()
    check_class_counts(training_set.labels)
    parameters = {
        "algorithms": parse_algorithms(algorithms),
        "n_splits": n_splits,
        "test_size": test_size,
        "grouped": grouped,
        "n_cluster_repeats": n_cluster_repeats,
        "n_cluster_folds": n_cluster_folds,
        "n_clusters": int(len(np.unique(training_set.clusters))),
        "n_inner_folds": n_inner_folds,
        "search": "GridSearchCV on each outer training set (nested)",
    }
    splits = build_splits(
        training_set, n_splits, test_size, grouped, n_cluster_repeats, n_cluster_folds
    )
    results = run_evaluation(
        training_set, parameters["algorithms"], splits, n_inner_folds, n_jobs, progress
    )
    return summarize(training_set, results, parameters, time.perf_counter() - start)
