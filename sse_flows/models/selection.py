"""Choosing the open recipe: candidates scored on grouped CV and cross-source validation.

A **candidate** is a row choice (which training rows, with which weight) and a
probability head (how ``p_superionic`` is made); log10 sigma and its interval always come
from the regressor pair (GB + LightGBM, :data:`~sse_flows.models.open_recipe.OPEN_PARAMS`).

* Row choices (:data:`ROW_CHOICES`): the Li rows only; every row; every row with the Na
  rows weighted 0.3.
* Heads (:data:`HEADS`): ``platt`` (Platt map of the regressor's log10 sigma),
  ``classifier`` (mean probability of a GB + LightGBM classifier pair on the labels),
  ``blend`` (logistic regression of the labels on both, :func:`fit_blend`).

Every outer split is scored as the shipped recipe would be built on its training rows:
one GB + one LightGBM regressor and classifier fitted on them, and the calibration (Platt,
blend) and the conformal half-width fitted on their own composition-grouped ``N_FOLDS``-fold
out-of-fold predictions (nested: the test rows reach neither). Calibration, interval and
scores use the Li rows only (the pool and OBELiX are Li compounds).

Test sets (:func:`evaluate_candidates`): ``grouped CV`` (stratified group 5-fold over the
composition clusters of all rows, pooled), each source held out in turn
(:func:`~sse_flows.models.splits.cross_source_splits`) and ``OBELiX-train by paper``
(GroupKFold over the first DOI, pooled). The rule that picks one candidate is
:func:`choose_candidate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from sse_flows.models.open_recipe import (
    N_FOLDS,
    OPEN_ALGORITHMS,
    blend_probability,
    conformal_halfwidth,
    fit_blend,
    fit_model,
    fit_platt,
    model_output,
    platt_probability,
    regression_scores,
)
from sse_flows.models.splits import Split, cross_source_splits
from sse_flows.models.training import TrainingSet

#: Probability heads, simplest first.
HEADS: tuple[str, ...] = ("platt", "classifier", "blend")
HEAD_DESCRIPTIONS = {
    "platt": "Platt map of the regressor's log10 sigma",
    "classifier": "mean probability of the GB + LightGBM classifiers",
    "blend": "calibrated blend of the regressor's log10 sigma and the classifiers' log-odds",
}
#: The name of the paper-grouped test set within OBELiX train.
PAPER_SET = "OBELiX-train by paper"
GROUPED_SET = "grouped CV"


@dataclass(frozen=True)
class RowChoice:
    """Which training rows the models see, and with what weight.

    Attributes
    ----------
    key
        Short name (``"li"``, ``"all"``, ``"na0.3"``).
    description
        What it means, for the record.
    na_weight
        Sample weight of a row without Li (0: left out).
    """

    key: str
    description: str
    na_weight: float

    def weights(self, contains_li: np.ndarray) -> np.ndarray:
        """Per row: 1 for a Li row, :attr:`na_weight` for the others."""
        return np.where(np.asarray(contains_li, dtype=bool), 1.0, self.na_weight)


#: Row choices, simplest first.
ROW_CHOICES: tuple[RowChoice, ...] = (
    RowChoice("li", "Li rows only", 0.0),
    RowChoice("all", "every row (Na rows included)", 1.0),
    RowChoice("na0.3", "every row, Na rows weighted 0.3", 0.3),
)


@dataclass(frozen=True)
class Candidate:
    """A row choice with a probability head."""

    rows: RowChoice
    head: str

    @property
    def name(self) -> str:
        """``"<rows> + <head>"``, e.g. ``"li + platt"``."""
        return f"{self.rows.key} + {self.head}"

    @property
    def complexity(self) -> tuple[int, int, int]:
        """Sort key of simplicity: model sets and fitted parts, then head, then rows."""
        head = HEADS.index(self.head)
        rows = [r.key for r in ROW_CHOICES].index(self.rows.key) if self.rows in ROW_CHOICES else 9
        return (head + rows, head, rows)


def all_candidates(
    row_choices: tuple[RowChoice, ...] = ROW_CHOICES, heads: tuple[str, ...] = HEADS
) -> list[Candidate]:
    """Every row choice with every head."""
    return [Candidate(rows, head) for rows in row_choices for head in heads]


# ---------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------
def probability_scores(
    y: np.ndarray,
    log10_pred: np.ndarray,
    censored: np.ndarray,
    labels: np.ndarray,
    p: np.ndarray,
    halfwidth: np.ndarray | float,
) -> dict[str, float]:
    """Scores of one candidate on one test set.

    ``balanced_acc`` and ``auc`` of ``p`` (superionic when ``p >= 0.5``), ``mae`` of
    ``log10_pred`` (censored rows one-sided, :func:`regression_scores`), ``spearman``,
    ``balanced_acc_log10`` (log10 sigma >= -4) and ``coverage`` (the censored residual
    within ``halfwidth``, a number or one per row).
    """
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from sse_flows.data.open_data import censored_residuals

    y, log10_pred = np.asarray(y, float), np.asarray(log10_pred, float)
    labels, p = np.asarray(labels, int), np.asarray(p, float)
    regression = regression_scores(y, log10_pred, censored, labels)
    two_classes = len(np.unique(labels)) == 2
    residuals = censored_residuals(y, log10_pred, censored)
    return {
        "n": int(len(y)),
        "n_superionic": int(labels.sum()),
        "balanced_acc": float(balanced_accuracy_score(labels, p >= 0.5))
        if two_classes
        else float("nan"),
        "auc": float(roc_auc_score(labels, p)) if two_classes else float("nan"),
        "mae": regression["mae"],
        "spearman": regression["spearman"],
        "balanced_acc_log10": regression["balanced_acc"] if two_classes else float("nan"),
        "coverage": float(np.mean(residuals <= np.asarray(halfwidth, float))),
    }


# ---------------------------------------------------------------------------------------
# Nested fold predictions
# ---------------------------------------------------------------------------------------
def _fit_predict(kind, algorithm, seed, X, target, weights, fit_rows, predict_rows):
    w = None if weights is None else weights[fit_rows]
    model = fit_model(kind, algorithm, seed, X[fit_rows], target[fit_rows], w)
    return model_output(kind, model, X[predict_rows])


def calibration_folds(
    labels: np.ndarray, clusters: np.ndarray, rows: np.ndarray, seed: int, n_folds: int = N_FOLDS
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Composition-grouped folds inside ``rows`` (global indices), as the recipe's own.

    Stratified group k-fold over the clusters of ``rows`` (stratified k-fold when there
    are fewer clusters than folds), seeded with ``seed``.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    rows = np.asarray(rows)
    if len(np.unique(clusters[rows])) >= n_folds:
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        parts = cv.split(rows, labels[rows], clusters[rows])
    else:
        cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        parts = cv.split(rows, labels[rows])
    return [(rows[a], rows[b]) for a, b in parts]


@dataclass
class FoldPlan:
    """The fits behind one outer split for one row choice (filled by :func:`fold_plans`)."""

    split: Split
    rows: RowChoice
    seed: int
    fit_rows: np.ndarray
    test_rows: np.ndarray
    inner: list[tuple[np.ndarray, np.ndarray]]


def fold_plans(
    training_set: TrainingSet,
    splits: list[Split],
    row_choices: tuple[RowChoice, ...],
    seed: int,
    n_inner: int = N_FOLDS,
) -> list[FoldPlan]:
    """Per split and row choice: the rows fitted, the Li rows scored, the inner folds."""
    li = np.asarray(training_set.contains_li, dtype=bool)
    plans = []
    for split in splits:
        test_rows = split.test[li[split.test]]
        if len(test_rows) == 0:
            continue
        for rows in row_choices:
            fit_rows = split.train[rows.weights(li)[split.train] > 0]
            inner = calibration_folds(
                training_set.labels, training_set.clusters, fit_rows, seed, n_inner
            )
            plans.append(FoldPlan(split, rows, seed, fit_rows, test_rows, inner))
    return plans


def fold_outputs(
    training_set: TrainingSet, plans: list[FoldPlan], n_jobs: int = 2
) -> list[dict[str, Any]]:
    """Fit every plan's models: the expensive part of the study (heads come after).

    Returns, per plan: ``scheme``, ``split`` and ``rows`` (names), ``test_rows`` with
    ``reg_test`` (log10 sigma, mean of the regressor pair) and ``clf_test`` (probability,
    mean of the classifier pair), and ``calibration_rows`` (the Li rows of the fitted rows)
    with their inner out-of-fold ``reg_oof`` and ``clf_oof``.
    """
    X = training_set.X
    y = training_set.extra["log10_sigma"]
    labels = training_set.labels
    li = np.asarray(training_set.contains_li, dtype=bool)
    targets = {"reg": y, "clf": labels}
    tasks = []
    for index, plan in enumerate(plans):
        weights = plan.rows.weights(li)
        weights = None if np.all(weights[plan.fit_rows] == 1.0) else weights
        parts = [("outer", plan.fit_rows, plan.test_rows)] + [
            (f"inner {k}", fit, held) for k, (fit, held) in enumerate(plan.inner)
        ]
        for kind in ("reg", "clf"):
            for algorithm in OPEN_ALGORITHMS:
                for part, fit, held in parts:
                    tasks.append((index, kind, algorithm, part, fit, held, weights))
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(kind, alg, plans[i].seed, X, targets[kind], w, fit, held)
        for i, kind, alg, _part, fit, held, w in tasks
    )
    collected: list[dict[str, dict[str, np.ndarray]]] = [{"reg": {}, "clf": {}} for _ in plans]
    n_alg = len(OPEN_ALGORITHMS)
    for (index, kind, _alg, part, _fit, held, _w), out in zip(tasks, outputs, strict=True):
        store = collected[index][kind]
        if part == "outer":
            store["test"] = store.get("test", 0.0) + out / n_alg
        else:
            oof = store.setdefault("oof", np.full(len(y), np.nan))
            oof[held] = np.nan_to_num(oof[held]) + out / n_alg
    results = []
    for plan, store in zip(plans, collected, strict=True):
        calibration_rows = plan.fit_rows[li[plan.fit_rows]]
        results.append(
            {
                "scheme": plan.split.scheme,
                "split": plan.split.name,
                "rows": plan.rows.key,
                "test_rows": plan.test_rows,
                "reg_test": store["reg"]["test"],
                "clf_test": store["clf"]["test"],
                "calibration_rows": calibration_rows,
                "reg_oof": store["reg"]["oof"][calibration_rows],
                "clf_oof": store["clf"]["oof"][calibration_rows],
            }
        )
    return results


def apply_heads(training_set: TrainingSet, output: dict[str, Any]) -> dict[str, Any]:
    """The candidates' predictions for one :func:`fold_outputs` entry.

    Returns ``test_rows``, ``log10_sigma``, ``halfwidth`` (conformal, from the inner
    out-of-fold residuals of the calibration rows), ``p`` per head and ``calibration``
    (Platt and blend coefficients, fitted on the calibration rows only).
    """
    from sse_flows.data.open_data import censored_residuals

    rows = output["calibration_rows"]
    labels = training_set.labels[rows]
    y = training_set.extra["log10_sigma"][rows]
    censored = training_set.extra["censored"][rows]
    reg_oof, clf_oof = output["reg_oof"], output["clf_oof"]
    a, b = fit_platt(reg_oof, labels)
    blend = fit_blend(reg_oof, clf_oof, labels)
    reg_test, clf_test = output["reg_test"], output["clf_test"]
    return {
        "test_rows": output["test_rows"],
        "log10_sigma": reg_test,
        "halfwidth": conformal_halfwidth(censored_residuals(y, reg_oof, censored)),
        "p": {
            "platt": platt_probability(reg_test, a, b),
            "classifier": clf_test,
            "blend": blend_probability(reg_test, clf_test, blend),
        },
        "calibration": {"platt": {"a": a, "b": b}, "blend": blend},
    }


def run_fold_plans(
    training_set: TrainingSet, plans: list[FoldPlan], n_jobs: int = 2
) -> list[dict[str, Any]]:
    """:func:`fold_outputs` with the heads applied (:func:`apply_heads`), per plan."""
    return [apply_heads(training_set, out) for out in fold_outputs(training_set, plans, n_jobs)]


# ---------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------
def grouped_splits(training_set: TrainingSet, seed: int, n_folds: int = 5) -> list[Split]:
    """Stratified group ``n_folds``-fold over the composition clusters of every row."""
    from sklearn.model_selection import StratifiedGroupKFold

    rows = np.arange(len(training_set))
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    parts = cv.split(rows, training_set.labels, training_set.clusters)
    return [
        Split("cluster", f"seed {seed} fold {k}", seed, np.sort(a), np.sort(b))
        for k, (a, b) in enumerate(parts)
    ]


def pooled_set_name(split: Split) -> str:
    """The test set a split's predictions belong to (pooled over its folds)."""
    if split.scheme == "cluster":
        return GROUPED_SET
    if split.scheme == "source":
        return f"held out: {split.name}"
    return PAPER_SET


def candidate_fold_outputs(
    training_set: TrainingSet,
    seed: int,
    row_choices: tuple[RowChoice, ...] = ROW_CHOICES,
    n_folds: int = 5,
    n_paper_folds: int = 5,
    n_inner: int = N_FOLDS,
    n_jobs: int = 2,
) -> list[dict[str, Any]]:
    """:func:`fold_outputs` of every split (grouped, by source, by paper) and row choice.

    Parameters
    ----------
    training_set
        Every row of ``training_v2`` (``load_open_training_set(li_only=False,
        structure=False)``): needs ``extra['datasets']`` and ``extra['papers']``.
    seed
        Seeds the grouped folds, the inner calibration folds and the models.
    """
    datasets = training_set.extra.get("datasets")
    papers = training_set.extra.get("papers")
    if datasets is None or not all(datasets):
        raise ValueError(
            "the study needs the packaged training_v2 rows (their 'datasets' and 'source' "
            "columns); load them with load_open_training_set(li_only=False)"
        )
    splits = grouped_splits(training_set, seed, n_folds) + cross_source_splits(
        datasets, papers, n_paper_folds=n_paper_folds
    )
    plans = fold_plans(training_set, splits, row_choices, seed, n_inner)
    return fold_outputs(training_set, plans, n_jobs=n_jobs)


def score_candidates(
    training_set: TrainingSet,
    outputs: list[dict[str, Any]],
    heads: tuple[str, ...] = HEADS,
) -> dict[str, dict[str, dict[str, float]]]:
    """``{candidate name: {test set: scores}}`` from :func:`candidate_fold_outputs`.

    The folds of one scheme are pooled (grouped CV, OBELiX train by paper); each held-out
    source is its own test set. Scores: :func:`probability_scores` on the Li test rows.
    """
    y = training_set.extra["log10_sigma"]
    censored = training_set.extra["censored"]
    labels = training_set.labels
    pooled: dict[tuple[str, str], dict[str, Any]] = {}
    for output in outputs:
        split = Split(output["scheme"], output["split"], 0, np.zeros(0), np.zeros(0))
        result = apply_heads(training_set, output)
        pool = pooled.setdefault(
            (output["rows"], pooled_set_name(split)), {"rows": [], "log10": [], "w": [], "p": {}}
        )
        n = len(result["test_rows"])
        pool["rows"].append(result["test_rows"])
        pool["log10"].append(result["log10_sigma"])
        pool["w"].append(np.full(n, result["halfwidth"]))
        for head, p in result["p"].items():
            pool["p"].setdefault(head, []).append(p)
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for (rows_key, test_set), pool in pooled.items():
        rows = np.concatenate(pool["rows"])
        log10 = np.concatenate(pool["log10"])
        width = np.concatenate(pool["w"])
        for head in heads:
            name = f"{rows_key} + {head}"
            p = np.concatenate(pool["p"][head])
            scores.setdefault(name, {})[test_set] = probability_scores(
                y[rows], log10, censored[rows], labels[rows], p, width
            )
    return scores


def evaluate_candidates(
    training_set: TrainingSet,
    seed: int,
    row_choices: tuple[RowChoice, ...] = ROW_CHOICES,
    heads: tuple[str, ...] = HEADS,
    n_folds: int = 5,
    n_paper_folds: int = 5,
    n_inner: int = N_FOLDS,
    n_jobs: int = 2,
) -> dict[str, dict[str, dict[str, float]]]:
    """Scores of every candidate on every test set, for one seed.

    :func:`candidate_fold_outputs` then :func:`score_candidates`: ``{candidate name:
    {test set: scores}}``, the test sets being ``grouped CV``, ``held out: <source>`` and
    ``OBELiX-train by paper``.
    """
    outputs = candidate_fold_outputs(
        training_set, seed, row_choices, n_folds, n_paper_folds, n_inner, n_jobs
    )
    return score_candidates(training_set, outputs, heads)


def cross_source_sets(scores: dict[str, dict[str, float]]) -> list[str]:
    """The cross-source test sets among a candidate's scores (every set but grouped CV)."""
    return [name for name in scores if name != GROUPED_SET]


def summarize(
    per_seed: dict[int, dict[str, dict[str, dict[str, float]]]],
) -> dict[str, dict[str, Any]]:
    """Per candidate: every score averaged over the seeds, the cross-source means, and the
    seed-to-seed range of the two numbers the rule uses."""
    seeds = sorted(per_seed)
    names = list(per_seed[seeds[0]])
    summary = {}
    for name in names:
        sets = list(per_seed[seeds[0]][name])
        mean = {
            test_set: {
                metric: (
                    per_seed[seeds[0]][name][test_set][metric]
                    if metric in ("n", "n_superionic")  # the same rows for every seed
                    else float(np.mean([per_seed[s][name][test_set][metric] for s in seeds]))
                )
                for metric in per_seed[seeds[0]][name][test_set]
            }
            for test_set in sets
        }
        cross = cross_source_sets(per_seed[seeds[0]][name])
        per_seed_cross = {
            metric: [float(np.mean([per_seed[s][name][t][metric] for t in cross])) for s in seeds]
            for metric in ("balanced_acc", "auc", "mae", "coverage")
        }
        summary[name] = {
            "scores": mean,
            "cross_source": {m: float(np.mean(v)) for m, v in per_seed_cross.items()},
            "cross_source_per_seed": per_seed_cross,
            "seed_range": {m: float(np.max(v) - np.min(v)) for m, v in per_seed_cross.items()},
        }
    return summary


RULE = (
    "1. The score is the mean balanced accuracy at p >= 0.5 over the cross-source test "
    "sets (each source held out in turn, and OBELiX train by paper), averaged over the "
    "seeds. 2. Candidates within the seed spread of the best are tied (the spread: the "
    "mean over candidates of the seed-to-seed range of that score). 3. Among the tied, "
    "those whose mean cross-source ROC-AUC is within its seed spread of the best tied "
    "AUC. 4. Among those, the simplest (fewest model sets and fitted parts: head Platt < "
    "classifier < blend, rows Li only < all < Na weighted), then the higher score."
)


def choose_candidate(
    summary: dict[str, dict[str, Any]], candidates: list[Candidate]
) -> dict[str, Any]:
    """Apply :data:`RULE` to a :func:`summarize` result.

    Returns
    -------
    dict
        ``chosen`` (candidate name), ``tied`` (step 2), ``tied_auc`` (step 3), the
        ``spread`` of each number and the ``rule`` text.
    """
    by_name = {c.name: c for c in candidates if c.name in summary}
    names = list(by_name)
    score = {n: summary[n]["cross_source"]["balanced_acc"] for n in names}
    auc = {n: summary[n]["cross_source"]["auc"] for n in names}
    spread_score = float(np.mean([summary[n]["seed_range"]["balanced_acc"] for n in names]))
    spread_auc = float(np.mean([summary[n]["seed_range"]["auc"] for n in names]))
    best = max(score.values())
    tied = [n for n in names if score[n] >= best - spread_score]
    best_auc = max(auc[n] for n in tied)
    tied_auc = [n for n in tied if auc[n] >= best_auc - spread_auc]
    chosen = min(tied_auc, key=lambda n: (by_name[n].complexity, -score[n]))
    return {
        "chosen": chosen,
        "best_by_score": max(names, key=lambda n: score[n]),
        "tied": tied,
        "tied_auc": tied_auc,
        "spread": {"balanced_acc": spread_score, "auc": spread_auc},
        "rule": RULE,
    }
