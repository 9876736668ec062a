"""What improves the grouped-split accuracy? A small, reproducible ablation study.

Each variant is an estimator recipe (fixed hyperparameters, no search, so the study stays
cheap) scored on the same splits: 10 random stratified 80/20 splits, the composition-cluster
splits (stratified group 5-fold, 2 repeats) and leave-one-family-out. Accuracy is also
reported on the Li-containing test rows alone, since the screening pool is Li-only.

Usage::

    python benchmarks/grouped_ablation_study.py [VARIANT ...]   # all variants, or the named
    python benchmarks/grouped_ablation_study.py --record-only    # the record from the JSON

Writes ``benchmarks/results/grouped_ablation_study.json`` (all variants only) and
``docs/benchmarks/grouped_ablation_study.md``; prints the table (research code: moved out of
the package, which it never served).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchrecord as br
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, brier_score_loss

from sse_flows.models.registry import ALGORITHMS
from sse_flows.models.splits import Split, cluster_splits, family_splits, random_splits
from sse_flows.models.training import TrainingSet


@dataclass
class Variant:
    """One recipe of the study.

    Attributes
    ----------
    name
        Short label.
    description
        What changes relative to the baseline.
    build
        ``build(seed) -> estimator`` with ``fit``/``predict_proba``.
    features
        Optional ``features(feature_names) -> boolean mask`` of the columns used.
    train_filter
        ``"li"`` to train on Li-containing rows only; ``None`` for all rows.
    weighting
        ``None``, ``"balanced"`` (class-balanced sample weights) or ``"cluster"``
        (weight 1/size of the row's composition cluster, so that 30 doped variants of one
        host count like one material).
    """

    name: str
    description: str
    build: Callable[[int], Any]
    features: Callable[[list[str]], np.ndarray] | None = None
    train_filter: str | None = None
    weighting: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _pipeline(key: str, **params: Any) -> Callable[[int], Any]:
    def build(seed: int):
        return ALGORITHMS[key].make_pipeline(random_state=seed, **params)

    return build


def _calibrated(key: str, **params: Any) -> Callable[[int], Any]:
    def build(seed: int):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import StratifiedKFold

        # shuffled folds: the table is ordered by family, unshuffled folds would be grouped
        folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
        return CalibratedClassifierCV(
            ALGORITHMS[key].make_pipeline(random_state=seed, **params), method="sigmoid", cv=folds
        )

    return build


def _top_features(key: str, n_features: int = 20, **params: Any) -> Callable[[int], Any]:
    """Select the ``n_features`` most important (by a GB fit on the training rows only)."""

    def build(seed: int):
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.feature_selection import SelectFromModel
        from sklearn.pipeline import Pipeline

        selector = SelectFromModel(
            GradientBoostingClassifier(n_estimators=50, max_depth=2, random_state=seed),
            max_features=n_features,
            threshold=-np.inf,
        )
        inner = ALGORITHMS[key].make_pipeline(random_state=seed, **params)
        return Pipeline([("select", selector), ("model", inner)])

    return build


def _means_only(names: list[str]) -> np.ndarray:
    return np.array([" mean " in f" {n} " for n in names])


GB = {"max_depth": 3}
LGBM = {"learning_rate": 0.1, "num_leaves": 15}


def default_variants() -> list[Variant]:
    """The variants of the study (baselines, data, weighting, calibration, features)."""
    return [
        Variant("gb", "GB baseline (depth 3, 100 trees, lr 0.1)", _pipeline("gb", **GB)),
        Variant("lgbm", "LightGBM baseline (15 leaves, lr 0.1)", _pipeline("lgbm", **LGBM)),
        Variant("rf", "random forest (100 trees)", _pipeline("rf")),
        Variant("lr", "logistic regression (C = 0.1)", _pipeline("lr", C=0.1)),
        Variant(
            "knn",
            "k-NN (k = 7, distance weights)",
            _pipeline("knn", n_neighbors=7, weights="distance"),
        ),
        Variant("gb_depth2", "GB, shallower trees (depth 2)", _pipeline("gb", max_depth=2)),
        Variant(
            "lgbm_small",
            "LightGBM, 7 leaves, min 20 rows per leaf, lr 0.05",
            _pipeline("lgbm", learning_rate=0.05, num_leaves=7, min_child_samples=20),
        ),
        Variant(
            "gb_balanced",
            "GB, class-balanced sample weights",
            _pipeline("gb", **GB),
            weighting="balanced",
        ),
        Variant(
            "lgbm_balanced",
            "LightGBM, class_weight='balanced'",
            _pipeline("lgbm", class_weight="balanced", **LGBM),
        ),
        Variant(
            "gb_cluster_weighted",
            "GB, rows weighted 1/cluster size",
            _pipeline("gb", **GB),
            weighting="cluster",
        ),
        Variant(
            "lgbm_cluster_weighted",
            "LightGBM, rows weighted 1/cluster size",
            _pipeline("lgbm", **LGBM),
            weighting="cluster",
        ),
        Variant(
            "gb_calibrated", "GB + sigmoid calibration (shuffled 3-fold)", _calibrated("gb", **GB)
        ),
        Variant(
            "gb_li_only", "GB trained on Li rows only", _pipeline("gb", **GB), train_filter="li"
        ),
        Variant(
            "lgbm_li_only",
            "LightGBM trained on Li rows only",
            _pipeline("lgbm", **LGBM),
            train_filter="li",
        ),
        Variant(
            "gb_means_only",
            "GB on the 22 'mean' Magpie features only",
            _pipeline("gb", **GB),
            features=_means_only,
        ),
        Variant(
            "gb_top20",
            "GB on the 20 most important features (chosen in-fold)",
            _top_features("gb", 20, **GB),
        ),
    ]


def _weights(kind: str | None, y: np.ndarray, clusters: np.ndarray) -> np.ndarray | None:
    if kind is None:
        return None
    if kind == "balanced":
        from sklearn.utils.class_weight import compute_sample_weight

        return compute_sample_weight("balanced", y)
    if kind == "cluster":
        _, inverse, counts = np.unique(clusters, return_inverse=True, return_counts=True)
        w = 1.0 / counts[inverse]
        return w * len(w) / w.sum()
    raise ValueError(f"unknown weighting {kind!r}")


def _run_split(
    variant: Variant,
    X: np.ndarray,
    y: np.ndarray,
    li: np.ndarray,
    clusters: np.ndarray,
    split: Split,
) -> dict[str, Any]:
    train = split.train
    if variant.train_filter == "li":
        train = train[li[train]]
    estimator = variant.build(split.seed)
    weights = _weights(variant.weighting, y[train], clusters[train])
    if weights is None:
        estimator.fit(X[train], y[train])
    else:
        estimator.fit(X[train], y[train], model__sample_weight=weights)
    p = estimator.predict_proba(X[split.test])[:, 1]
    return {
        "scheme": split.scheme,
        "y": y[split.test],
        "p": p,
        "li": li[split.test],
    }


def run_variant(
    variant: Variant, training_set: TrainingSet, splits: list[Split], n_jobs: int = 2
) -> dict[str, float]:
    """Scores of one variant on the given splits."""
    X = training_set.X
    if variant.features is not None:
        X = X[:, variant.features(training_set.feature_names)]
    y, li, clusters = training_set.labels, training_set.contains_li, training_set.clusters
    start = time.perf_counter()
    parts = Parallel(n_jobs=n_jobs)(
        delayed(_run_split)(variant, X, y, li, clusters, s) for s in splits
    )
    row: dict[str, float] = {"variant": variant.name, "description": variant.description}
    for scheme in ("random", "cluster", "family"):
        mine = [r for r in parts if r["scheme"] == scheme]
        if not mine:
            continue
        if scheme == "family":  # pooled over the held-out families
            yy = np.concatenate([r["y"] for r in mine])
            pp = np.concatenate([r["p"] for r in mine])
            ll = np.concatenate([r["li"] for r in mine])
            row["lofo_acc"] = accuracy_score(yy, pp >= 0.5)
            row["lofo_acc_li"] = accuracy_score(yy[ll], pp[ll] >= 0.5)
            continue
        accs = [accuracy_score(r["y"], r["p"] >= 0.5) for r in mine]
        accs_li = [accuracy_score(r["y"][r["li"]], r["p"][r["li"]] >= 0.5) for r in mine
                   if r["li"].any()]  # fmt: skip
        row[f"{scheme}_acc"] = float(np.mean(accs))
        row[f"{scheme}_acc_li"] = float(np.mean(accs_li))
        if scheme == "cluster":
            row["cluster_acc_std"] = float(np.std(accs))
            row["cluster_brier"] = float(np.mean([brier_score_loss(r["y"], r["p"]) for r in mine]))
    row["seconds"] = time.perf_counter() - start
    return row


def grouped_study(
    training_set: TrainingSet,
    variants: list[Variant] | None = None,
    n_random_splits: int = 10,
    n_cluster_repeats: int = 2,
    n_jobs: int = 2,
) -> pd.DataFrame:
    """Table of every variant's random, composition-cluster and leave-family-out accuracy."""
    y = training_set.labels
    splits = (
        random_splits(y, n_splits=n_random_splits)
        + cluster_splits(y, training_set.clusters, n_repeats=n_cluster_repeats)
        + family_splits(training_set.families)
    )
    rows = [run_variant(v, training_set, splits, n_jobs) for v in variants or default_variants()]
    return pd.DataFrame(rows).set_index("variant")


NAME = "grouped_ablation_study"
RESULT = Path(__file__).resolve().parents[1] / "benchmarks/results/grouped_ablation_study.json"
COLUMNS = {
    "random_acc": "random ACC",
    "cluster_acc": "cluster ACC",
    "cluster_acc_std": "cluster std",
    "cluster_acc_li": "cluster ACC, Li rows",
    "lofo_acc": "LOFO ACC",
    "lofo_acc_li": "LOFO ACC, Li rows",
    "cluster_brier": "cluster Brier",
}
PROTOCOL = (
    "fixed hyperparameters (no search); 10 random stratified 80/20 splits, composition-cluster "
    "splits (stratified group 5-fold, 2 repeats), leave-one-family-out (9 families); packaged "
    "training table (361 rows)"
)


def record(result: dict) -> str:
    """The text of docs/benchmarks/grouped_ablation_study.md, from the JSON."""
    protocol = [
        f"Each variant: {result['protocol']}. `Li rows` columns score only the Li-containing "
        "test rows (the screening pool is Li-only); LOFO pools every row, each predicted by the "
        "model that never saw its family; Brier = mean squared error of the probability on the "
        "cluster splits (lower is better). A variant trained on Li rows only is scored on "
        "Na test rows it never saw in its all-row columns (in brackets).",
    ]
    rows = []
    for name, v in result["variants"].items():
        li_only = name.endswith("_li_only")
        cells = [f"`{name}`: {v['description']}"]
        for key in COLUMNS:
            text = br.fmt(v.get(key))
            in_brackets = li_only and key in ("random_acc", "cluster_acc")
            cells.append(f"({text})" if in_brackets else text)
        rows.append(cells)
    body = br.table(["variant", *COLUMNS.values()], rows)
    return br.render(
        NAME, "Paper recipe: what moves the grouped score", result, RESULT, protocol, body,
    )  # fmt: skip


def main() -> None:  # pragma: no cover - a documentation script
    """Run the study (or only rewrite its record) and print the table as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help="variant names (default: all)")
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return

    from sse_flows.models.training import load_training_set

    training_set = load_training_set()
    names = set(args.variants)
    variants = [v for v in default_variants() if not names or v.name in names]
    table = grouped_study(training_set, variants)
    columns = ["description", *COLUMNS, "seconds"]
    print(table[columns].to_markdown(floatfmt=".3f"))
    if names:  # a partial run leaves the stored study alone
        return
    result = {
        "benchmark": NAME,
        "protocol": PROTOCOL,
        "variants": {
            name: {k: (float(v) if k != "description" else v) for k, v in row.items()}
            for name, row in table[columns].to_dict(orient="index").items()
        },
        **br.run_info(),
    }
    br.write_json(args.out, result)
    print(f"wrote {args.out} and {br.write_record(NAME, record(result), args.record)}")


if __name__ == "__main__":  # pragma: no cover
    main()
