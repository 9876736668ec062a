"""The paper's voting ensemble: GB and LightGBM trained on each of the 100 splits.

Model ``i`` of an algorithm is trained on the training part of the stratified 80/20 split
with ``random_state = seeds[i]`` (and is itself seeded with ``seeds[i]``). For every
material each model votes superionic (predicted probability >= 0.5) or not; a material is
a candidate when every algorithm gives it at least ``min_votes`` votes (default: all of
them, the paper's unanimity rule).

Hyperparameters: one grid search per algorithm on the full training table with grouped
(composition-cluster) 5-fold cross-validation, i.e. chosen for new compositions; the
honest accuracy of this procedure is the nested evaluation of
:mod:`sse_flows.models.evaluation`, not the ensemble's own held-out splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from sse_flows.models.domain import ApplicabilityDomain
from sse_flows.models.registry import ALGORITHMS, ENSEMBLE_ALGORITHMS
from sse_flows.models.schemas import EnsembleSpec
from sse_flows.models.splits import random_splits
from sse_flows.models.training import TrainingSet
from sse_flows.provenance import parameter_hash

PARAM_SELECTION = "grid search, stratified group 5-fold over composition clusters, full table"


@dataclass
class VoteEnsemble:
    """Fitted models of the vote, with the recipe that rebuilds them.

    Attributes
    ----------
    spec
        Algorithms, hyperparameters, seeds and training-data hash.
    models
        Per algorithm key: the fitted pipelines, model ``i`` trained on split ``spec.seeds[i]``.
    domain
        Applicability domain of the training rows (:mod:`sse_flows.models.domain`); a
        material outside it is never a candidate. Not part of the votes.
    """

    spec: EnsembleSpec
    models: dict[str, list[Pipeline]] = field(default_factory=dict)
    domain: ApplicabilityDomain | None = None

    @property
    def n_models(self) -> dict[str, int]:
        """Number of models per algorithm."""
        return {alg: len(models) for alg, models in self.models.items()}

    def vote(self, X: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Votes and mean probability for the rows of ``X``.

        Returns
        -------
        votes
            Per algorithm: integer array, number of models voting superionic per row.
        p_superionic
            Mean predicted probability of the superionic class over all models.
        """
        X = np.asarray(X, dtype=float)
        votes: dict[str, np.ndarray] = {}
        prob_sum = np.zeros(len(X))
        n_total = 0
        for alg, models in self.models.items():
            probabilities = np.vstack([m.predict_proba(X)[:, 1] for m in models])
            votes[alg] = count_votes(probabilities)
            prob_sum += probabilities.sum(axis=0)
            n_total += len(models)
        return votes, prob_sum / max(n_total, 1)

    def save(self, path: str | Path) -> Path:
        """Write the fitted ensemble with joblib; returns the path."""
        return dump_ensemble(self, path)

    @staticmethod
    def load(path: str | Path) -> VoteEnsemble:
        """Read an ensemble written by :meth:`save`."""
        import joblib

        return joblib.load(Path(path))


def count_votes(probabilities: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Models voting superionic per material.

    Parameters
    ----------
    probabilities
        ``(n_models, n_materials)`` predicted superionic probabilities.
    threshold
        A model votes superionic when its probability is >= ``threshold``.
    """
    return (np.asarray(probabilities) >= threshold).sum(axis=0).astype(int)


def select_candidates(votes: dict[str, np.ndarray], min_votes: int | dict[str, int]) -> np.ndarray:
    """Boolean mask: at least ``min_votes`` votes from every algorithm (the intersection)."""
    algorithms = list(votes)
    if not algorithms:
        raise ValueError("no votes given")
    rule = min_votes if isinstance(min_votes, dict) else dict.fromkeys(algorithms, min_votes)
    mask = np.ones(len(votes[algorithms[0]]), dtype=bool)
    for alg in algorithms:
        mask &= np.asarray(votes[alg]) >= rule[alg]
    return mask


def search_ensemble_params(
    training_set: TrainingSet, algorithm: str, n_folds: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Grid point of ``algorithm`` with the best grouped-CV accuracy on the full table."""
    spec = ALGORITHMS[algorithm]
    if spec.n_candidates <= 1:
        return {}
    if len(np.unique(training_set.clusters)) >= n_folds:
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = list(cv.split(training_set.X, training_set.labels, training_set.clusters))
    else:  # too few composition clusters for grouped folds
        cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = list(cv.split(training_set.X, training_set.labels))
    search = GridSearchCV(
        spec.make_pipeline(random_state=seed),
        spec.param_grid,
        cv=folds,
        scoring="accuracy",
        n_jobs=1,
        refit=False,
    )
    search.fit(training_set.X, training_set.labels)
    return {k.removeprefix("model__"): v for k, v in search.best_params_.items()}


def _fit_one(
    algorithm: str,
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    seed: int,
) -> Pipeline:
    pipeline = ALGORITHMS[algorithm].make_pipeline(random_state=seed, **params)
    return pipeline.fit(X[train], y[train])


def train_ensemble(
    training_set: TrainingSet,
    algorithms: tuple[str, ...] | list[str] = ENSEMBLE_ALGORITHMS,
    n_splits: int = 100,
    test_size: float = 0.2,
    params: dict[str, dict[str, Any]] | None = None,
    n_jobs: int = 2,
    progress: bool = False,
) -> VoteEnsemble:
    """Train every algorithm on each of the ``n_splits`` stratified splits.

    Parameters
    ----------
    training_set
        The training table with features.
    algorithms
        Voting algorithms (default GB and LightGBM, as in the paper).
    n_splits
        Splits (seeds ``0..n_splits-1``); one model per split and algorithm.
    test_size
        Held-out fraction of every split (the model never sees it).
    params
        Hyperparameters per algorithm; ``None`` (or a missing key) runs
        :func:`search_ensemble_params`. Fixed parameters of the registry are always added.
    n_jobs
        joblib workers over the models (each model single-threaded).
    progress
        tqdm bar over the models on stderr.
    """
    chosen: dict[str, dict[str, Any]] = {}
    for alg in algorithms:
        given = (params or {}).get(alg)
        chosen[alg] = (
            dict(given) if given is not None else search_ensemble_params(training_set, alg)
        )
    splits = random_splits(training_set.labels, n_splits=n_splits, test_size=test_size)
    X, y = training_set.X, training_set.labels
    tasks = [(alg, split) for alg in algorithms for split in splits]
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_one)(alg, chosen[alg], X, y, split.train, split.seed) for alg, split in tasks
    )
    if progress:
        import sys

        from tqdm import tqdm

        results = tqdm(results, total=len(tasks), desc="ensemble splits", file=sys.stderr)
    models: dict[str, list[Pipeline]] = {alg: [] for alg in algorithms}
    for (alg, _split), model in zip(tasks, results, strict=True):
        models[alg].append(model)
    spec = EnsembleSpec(
        algorithms=list(algorithms),
        params={alg: {**ALGORITHMS[alg].fixed_params, **chosen[alg]} for alg in algorithms},
        seeds=[s.seed for s in splits],
        test_size=test_size,
        training_hash=training_set.data_hash,
        training_source=training_set.source,
        n_training=len(training_set),
        feature_names=training_set.feature_names,
        param_selection=PARAM_SELECTION if params is None else "given",
    )
    domain = ApplicabilityDomain.fit(X, training_set.formulas)
    spec.domain_threshold = domain.threshold
    return VoteEnsemble(spec=spec, models=models, domain=domain)


def retrain_from_spec(
    spec: EnsembleSpec, training_set: TrainingSet, n_jobs: int = 2
) -> VoteEnsemble:
    """Rebuild an ensemble from its recipe (parameters + seeds); checks the training hash."""
    if spec.training_hash != training_set.data_hash:
        raise ValueError(
            f"training data {training_set.data_hash} differs from the ensemble's "
            f"{spec.training_hash}; load the same training table"
        )
    fixed = {alg: ALGORITHMS[alg].fixed_params for alg in spec.algorithms}
    params = {
        alg: {k: v for k, v in p.items() if k not in fixed[alg] or fixed[alg][k] != v}
        for alg, p in spec.params.items()
    }
    ensemble = train_ensemble(
        training_set,
        algorithms=spec.algorithms,
        n_splits=len(spec.seeds),
        test_size=spec.test_size,
        params=params,
        n_jobs=n_jobs,
    )
    ensemble.spec.param_selection = spec.param_selection
    return ensemble


def ensemble_cache_path(
    training_set: TrainingSet,
    algorithms: tuple[str, ...] | list[str] = ENSEMBLE_ALGORITHMS,
    n_splits: int = 100,
    test_size: float = 0.2,
    home: Path | None = None,
) -> Path:
    """Where :func:`load_or_train_ensemble` keeps this ensemble (``$SSE_FLOWS_HOME/models``)."""
    import lightgbm
    import sklearn

    from sse_flows import __version__

    if home is None:
        from sse_flows.settings import get_settings

        home = get_settings().HOME
    key = parameter_hash(
        {
            "algorithms": list(algorithms),
            "n_splits": n_splits,
            "test_size": test_size,
            "training": training_set.data_hash,
            "sklearn": sklearn.__version__,
            "lightgbm": lightgbm.__version__,
            "sse_flows": __version__,
            "grids": {alg: ALGORITHMS[alg].search_space for alg in algorithms},
            "fixed": {alg: ALGORITHMS[alg].fixed_params for alg in algorithms},
        }
    )[:16]
    return Path(home) / "models" / f"ensemble-{key}.joblib"


def load_or_train_ensemble(
    training_set: TrainingSet,
    algorithms: tuple[str, ...] | list[str] = ENSEMBLE_ALGORITHMS,
    n_splits: int = 100,
    test_size: float = 0.2,
    n_jobs: int = 2,
    cache: bool = True,
    progress: bool = False,
) -> VoteEnsemble:
    """The ensemble from the joblib cache under ``$SSE_FLOWS_HOME/models``, else trained.

    The cache key covers the training data hash, algorithms, splits, grids and library
    versions, so a changed table or library never reuses stale models.
    """
    path = ensemble_cache_path(training_set, algorithms, n_splits, test_size)
    if cache and path.is_file():
        try:
            ensemble = VoteEnsemble.load(path)
            # a spec pickled before new fields existed gets their defaults
            ensemble.spec = EnsembleSpec.model_validate(dict(ensemble.spec.__dict__))
            if ensemble.spec.training_hash == training_set.data_hash:
                if getattr(ensemble, "domain", None) is None:  # cached before the domain
                    ensemble.domain = ApplicabilityDomain.fit(training_set.X, training_set.formulas)
                return ensemble
        except Exception:  # a corrupt or incompatible cache file is rebuilt
            pass
    ensemble = train_ensemble(
        training_set, algorithms, n_splits, test_size, n_jobs=n_jobs, progress=progress
    )
    ensemble.spec.model_path = None
    if cache:
        cache_ensemble(ensemble, path)
    return ensemble


def dump_ensemble(ensemble, path: str | Path) -> Path:
    """Write a fitted ensemble (paper or open recipe) with joblib, recording the path in
    its spec; returns the path.

    The file is written next to ``path`` and renamed into place, so a failure (a full or
    read-only disk, a kill) leaves no partial file; the ``OSError`` is raised and the
    spec's ``model_path`` stays unset.
    """
    import os
    import tempfile

    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ensemble.spec.model_path = str(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        os.close(fd)
        joblib.dump(ensemble, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the mode a plain new file gets, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        ensemble.spec.model_path = None
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cache_ensemble(ensemble, path: str | Path) -> Path | None:
    """Keep a freshly fitted ensemble in the model cache, when the cache can be written.

    A cache that cannot be written (a read-only ``$SSE_FLOWS_HOME/models``, a full disk)
    does not cost the fitted models: the problem is recorded in the spec's
    ``cache_problem`` (the commands print it as one warning) and the ensemble is used
    uncached.

    Returns
    -------
    pathlib.Path or None
        The cache file, or None when it could not be written.
    """
    ensemble.spec.cache_problem = None
    try:
        return dump_ensemble(ensemble, path)
    except OSError as exc:
        folder = Path(path).parent
        ensemble.spec.cache_problem = (
            f"the fitted models could not be cached in {folder} "
            f"({exc.strerror or type(exc).__name__}), so the next run fits them again; make "
            "the folder writable, or pass --no-cache"
        )
        return None
