"""Train the open recipe on the Li rows only, or on every row? Folds built on the Li rows.

``benchmarks/open_model_study.py`` ("Li rows only" variants) answers this on folds over
all 676 rows of training_v2, leaving the Na rows out of each training fold. This script
asks the same question on the recipe's own folds: stratified group 5-fold over the
composition clusters of the 532 Li rows (:func:`sse_flows.models.open_recipe.grouped_folds`,
fold seeds 0, 1, 2). Each fold's held-out Li rows are predicted by the mean of the tuned GB
and LightGBM regressors trained either on the fold's Li training rows alone, or on those
plus all 144 Na rows (Na rows are never held out: the pool and OBELiX are Li-only). Scores:
MAE (censored rows one-sided), Spearman, AUC at 1e-4 S/cm, R2, next to predicting the Li
rows' median. The OBELiX test split is never read.

Usage::

    .venv/bin/python benchmarks/open_li_rows.py
    .venv/bin/python benchmarks/open_li_rows.py --record-only   # the record from the JSON

Writes ``benchmarks/results/open_li_rows.json`` and ``docs/benchmarks/open_li_rows.md``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NAME = "open_li_rows"
RESULT = ROOT / "benchmarks/results/open_li_rows.json"
SCORES = ("mae", "spearman", "balanced_acc", "auc", "r2")


def record(result: dict) -> str:
    """The text of docs/benchmarks/open_li_rows.md, from the JSON."""
    protocol = [
        f"The {result['li_rows']} Li rows of `training_v2` ({result['folds']}, fold seeds "
        + ", ".join(str(p["seed"]) for p in next(iter(result["variants"].values()))["per_seed"])
        + "). Each fold's held-out Li rows are predicted by the mean of the tuned GB and "
        "LightGBM regressors (`open_recipe.OPEN_PARAMS`) trained either on the fold's Li "
        f"training rows alone or on those plus all {result['na_rows']} Na rows. MAE of log10 "
        "sigma (censored rows one-sided), Spearman, balanced accuracy and ROC-AUC at 1e-4 "
        "S/cm (log10 sigma >= -4), R2; mean over the seeds. The OBELiX test split is not read.",
    ]
    rows = []
    for name, entry in result["variants"].items():
        mean = entry["mean"]
        spread = float(np.ptp([p["mae"] for p in entry["per_seed"]]))
        rows.append([name, *(br.fmt(mean[k]) for k in SCORES), br.fmt(spread)])
    rows.append(["predict the Li rows' median", br.fmt(result["median_mae"]), *["-"] * 5])
    body = br.table(
        ["trained on", "MAE", "Spearman", "balanced acc", "ROC-AUC", "R2", "MAE seed range"], rows
    )
    return br.render(NAME, "Open recipe: Li rows only or every row", result, RESULT, protocol, body)


def main() -> None:
    args = br.open_study_parser(__doc__, NAME, RESULT).parse_args()
    if br.record_only(args, NAME, args.out, record):
        return
    warnings.simplefilter("ignore")
    from joblib import Parallel, delayed

    from sse_flows.models.open_recipe import (
        grouped_folds,
        load_open_training_set,
        make_regressor,
        median_baseline_mae,
        regression_scores,
    )

    every = load_open_training_set(li_only=False, structure=False)
    li = load_open_training_set(li_only=True, structure=False)
    li_index = np.flatnonzero(every.contains_li)
    na_index = np.flatnonzero(~every.contains_li)
    if [every.formulas[i] for i in li_index] != li.formulas:
        sys.exit("the Li rows of the two training sets are not aligned")
    y, censored, labels = li.extra["log10_sigma"], li.extra["censored"], li.labels
    seeds = [int(s) for s in args.seeds.split(",")]
    folds = {s: grouped_folds(li, seed=s) for s in seeds}

    def fit_predict(rows: str, algorithm: str, seed: int, fold: int) -> np.ndarray:
        train, test = folds[seed][fold]
        if rows == "Li rows":  # each set's own feature columns (fraction elements differ)
            X, target, train_rows, test_rows = li.X, y, train, test
        else:
            X, target = every.X, every.extra["log10_sigma"]
            train_rows = np.concatenate([li_index[train], na_index])
            test_rows = li_index[test]
        model = make_regressor(algorithm, seed).fit(X[train_rows], target[train_rows])
        return model.predict(X[test_rows])

    result = {"benchmark": "open_li_rows", "li_rows": len(y), "na_rows": len(na_index),
              "folds": "stratified group 5-fold over the Li rows' composition clusters",
              "median_mae": median_baseline_mae(y, censored),
              "variants": {}, **br.run_info()}  # fmt: skip
    for rows in ("Li rows", "Li rows + every Na row"):
        tasks = [(a, s, f) for a in ("gb", "lgbm") for s in seeds for f in range(len(folds[s]))]
        preds = Parallel(n_jobs=args.n_jobs)(delayed(fit_predict)(rows, *t) for t in tasks)
        oof = {s: np.zeros(len(y)) for s in seeds}
        for (_a, s, f), pred in zip(tasks, preds, strict=True):
            oof[s][folds[s][f][1]] += pred / 2
        per_seed = []
        for s in seeds:
            per_seed.append({"seed": s, **regression_scores(y, oof[s], censored, labels)})
        keys = [k for k in per_seed[0] if k != "seed"]
        mean = {k: float(np.mean([p[k] for p in per_seed])) for k in keys}
        result["variants"][rows] = {"per_seed": per_seed, "mean": mean}
        print(
            f"trained on {rows:24s} "
            + "  ".join(f"{k} {mean[k]:.3f}" for k in keys)
            + "  per-seed MAE "
            + " ".join(f"{p['mae']:.3f}" for p in per_seed),
            flush=True,
        )
    print(f"predict the Li rows' median: MAE {result['median_mae']:.3f}")
    br.write_json(args.out, result)
    print(f"wrote {args.out} and {br.write_record(NAME, record(result), args.record)}")


if __name__ == "__main__":
    main()
