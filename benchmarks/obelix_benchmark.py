"""OBELiX benchmark: both recipes on the official OBELiX test split, next to published baselines.

Usage::

    python benchmarks/obelix_benchmark.py                       # both recipes, parity plot
    python benchmarks/obelix_benchmark.py --pool survivors.csv  # + the vote on a screened pool
    python benchmarks/obelix_benchmark.py --no-structure --skip-paper --out other.json
    python benchmarks/obelix_benchmark.py --record-only         # the record from the JSON

Trains on the packaged training tables only (``paper``: training.csv, Kang + Xu;
``open``: training_v2.csv, Kang + Xu + OBELiX train, no test composition) and reports on
``../shared/data/raw/obelix/test.csv``: MAE and Spearman of log10 sigma, balanced accuracy
and ROC-AUC at 1e-4 S/cm, coverage of the 90 % interval, with the composition-grouped CV
numbers beside them. The ``paper`` recipe is scored on the test rows that are not within
1e-3 atomic fraction of its own training table (Kang holds 11 test compositions); the
``open`` recipe on all rows and on that subset. Censored test rows (``<1E-10``) count at
their bound in ``mae`` (the published convention) and one-sided in ``mae_censored``.
The open recipe's members see the structure features of an OBELiX CIF where a row has one
(training rows: ``training_v2_structures.csv``; test rows: ``test_cifs.tar.gz``, read from
the raw folder at run time), so it is scored twice: with the test CIFs where present, and
from the formula alone (as ``sse-flows predict`` sees a pool material). Hyperparameters are
never chosen on the test split (``benchmarks/open_model_study.py``: grouped CV only).

Writes ``benchmarks/results/obelix_benchmark.json``, ``docs/img/obelix_parity.png`` and
``docs/benchmarks/obelix_benchmark.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED_MAE = {
    "predict the median (OBELiX paper)": 2.16,
    "random forest, composition + lattice (OBELiX paper)": 1.54,
    "MLP (OBELiX paper)": 1.64,
    "structure GNNs (OBELiX paper)": "2.5-2.9",
}

NAME = "obelix_benchmark"
RESULT = ROOT / "benchmarks/results/obelix_benchmark.json"
OPEN_ROWS = {  # JSON key -> the row's label in the record
    "all test rows": "open, all rows, test CIFs where present",
    "all test rows, formula only (no test CIF)": "open, all rows, formula only (as `predict`)",
    "rows not in the paper table": "open, rows not in the paper table (test CIFs)",
    "in-domain rows": "open, in-domain rows (test CIFs)",
    "test rows with a CIF": "open, the rows with a CIF: structure branch",
    "test rows with a CIF, formula only": "open, the same rows, formula only",
}
POOL_COLUMNS = (
    "n_in_domain",
    "unanimous_gb_alone",
    "unanimous_lgbm_alone",
    "unanimous_votes",
    "unanimous_and_in_domain (candidates)",
    "p_ge_0.5",
    "p_ge_0.5_and_in_domain",
)


def record(result: dict) -> str:
    """The text of docs/benchmarks/obelix_benchmark.md, from the JSON."""
    f2 = lambda v: br.fmt(v, 2)  # noqa: E731
    opn = result["open"]
    protocol = [
        f"Each recipe trains on its packaged table and is scored on the official OBELiX test "
        f"split (`../shared/data/raw/obelix/test.csv`, {result['test_rows']} rows). The paper "
        f"recipe is scored on the {result['test_rows_not_in_paper_table']} test rows that are "
        "not within 1e-3 atomic fraction of its own table; the open recipe on all rows and on "
        "that subset, once with the test CIFs where present (structure branch, "
        f"{opn.get('n_test_rows_with_cif', 0)} rows) and once from the formula alone (as "
        "`sse-flows predict`). Censored test rows count at their bound in MAE; balanced "
        "accuracy and ROC-AUC at 1e-4 S/cm; coverage of the 90 % interval "
        f"(half-width {f2(opn['interval_halfwidth'])} decades). Published baselines from the "
        "OBELiX paper.",
    ]
    header = [
        "OBELiX test split",
        "rows",
        "MAE log10 sigma",
        "Spearman",
        "balanced acc (p >= 0.5)",
        "balanced acc (log10 >= -4)",
        "ROC-AUC",
        "90 % coverage",
    ]
    rows = []
    for key, label in OPEN_ROWS.items():
        sc = opn["test"].get(key)
        if sc is not None:
            rows.append(
                [
                    label,
                    str(sc["n"]),
                    f2(sc["mae"]),
                    f2(sc["spearman"]),
                    br.fmt(sc["balanced_acc"]),
                    br.fmt(sc["balanced_acc_log10"]),
                    br.fmt(sc["auc"]),
                    f2(sc["coverage"]),
                ]
            )
    if "paper" in result:
        sc = result["paper"]["test (rows not in the paper table)"]
        rows.append(
            [
                "paper (rows not in its table)",
                str(sc["n"]),
                "-",
                "-",
                f"{br.fmt(sc['balanced_acc'])} (unanimous vote: "
                f"{br.fmt(sc['balanced_acc_unanimous'])})",
                "-",
                br.fmt(sc["auc"]),
                "-",
            ]
        )
    rows.append(
        [
            "predict the training median",
            str(result["test_rows"]),
            f2(opn["median_of_training_mae"]),
            "",
            "",
            "",
            "",
            "",
        ]
    )
    for name, mae in result["published_mae"].items():
        rows.append(
            [
                f"published: {name}",
                str(result["test_rows"]),
                mae if isinstance(mae, str) else f2(mae),
                "",
                "",
                "",
                "",
                "",
            ]
        )
    g = opn["grouped_cv"]
    rows.append(
        [
            "open composition members, composition-grouped CV (Li rows of training_v2)",
            "-",
            f"{f2(g['mae_log10_grouped'])} (median: {f2(g['mae_log10_median_grouped'])})",
            f2(g["spearman_grouped"]),
            "",
            br.fmt(g["balanced_acc_grouped"]),
            br.fmt(g["auc_grouped"]),
            f2(g["coverage_grouped"]),
        ]
    )
    body = br.table(header, rows)
    rt = result.get("open_runtime_s")
    if rt:
        body += [
            "",
            f"Open recipe runtime: train both branches {rt['train']} s, predict 10,000 "
            f"formulas {rt['predict_10000']} s, total {rt['total']} s (target "
            f"{rt['target']} s). Load average "
            + ", ".join(f"{x:.1f}" for x in result.get("load_average", []))
            + ".",
        ]
    if "pool_vote" in result:
        body += ["", "### The vote on the screened pool", ""]
        pool_rows = []
        for name, v in result["pool_vote"].items():
            cands = ", ".join(v["candidates"]) if v["candidates"] else "-"
            pool_rows.append([name, str(v["n_pool"]), *(str(v[c]) for c in POOL_COLUMNS), cands])
        body += br.table(
            [
                "recipe / variant",
                "pool",
                "in domain",
                "unanimous GB",
                "unanimous LightGBM",
                "unanimous both",
                "candidates (unanimous + in domain)",
                "p >= 0.5",
                "p >= 0.5 and in domain",
                "candidates",
            ],
            pool_rows,
        )
    return br.render(
        NAME,
        "OBELiX benchmark: both recipes on the OBELiX test split",
        result,
        RESULT,
        protocol,
        body,
        figure="obelix_parity.png",
    )


def _scores(y, pred, censored, labels, p=None, low=None, high=None) -> dict:
    from scipy.stats import spearmanr
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from sse_flows.data.open_data import censored_residuals

    out = {"n": int(len(y))}
    if pred is not None:
        out["mae"] = float(np.abs(pred - y).mean())
        out["mae_censored"] = float(censored_residuals(y, pred, censored).mean())
        out["spearman"] = float(spearmanr(pred, y)[0])
        out["balanced_acc_log10"] = float(balanced_accuracy_score(labels, pred >= -4))
    if p is not None:
        out["balanced_acc"] = float(balanced_accuracy_score(labels, p >= 0.5))
        out["auc"] = float(roc_auc_score(labels, p))
    if low is not None:
        covered = np.where(censored, low <= y, (low <= y) & (y <= high))
        out["coverage"] = float(covered.mean())
    return out


def _predict(ensemble, formulas):
    from sse_flows.models.prediction import vote_materials

    doc = vote_materials(formulas, ensemble, min_votes=None)
    get = lambda key: np.array(  # noqa: E731
        [np.nan if getattr(v, key) is None else getattr(v, key) for v in doc.votes], float
    )
    return doc, {
        k: get(k) for k in ("log10_sigma", "log10_sigma_low", "log10_sigma_high", "p_superionic")
    }


def _parity_plot(y, pred, low, high, censored, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 5))
    lo, hi = -19, 0
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
    ax.axhline(-4, color="grey", ls=":", lw=0.8)
    ax.axvline(-4, color="grey", ls=":", lw=0.8)
    for mask, marker, label in ((~censored, "o", "measured"), (censored, "v", "upper bound")):
        ax.errorbar(
            y[mask], pred[mask], yerr=[pred[mask] - low[mask], high[mask] - pred[mask]],
            fmt=marker, ms=4, alpha=0.7, elinewidth=0.6, capsize=0, label=label,
        )  # fmt: skip
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured log10 sigma_RT (S/cm)")
    ax.set_ylabel("predicted log10 sigma_RT (S/cm), 90 % interval")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _pool_vote(pool_csv: Path, ensembles: dict) -> dict:
    import pandas as pd

    pool = pd.read_csv(pool_csv, keep_default_na=False, dtype=str)
    out = {}
    for recipe, ensemble in ensembles.items():
        doc, pred = _predict(ensemble, pool["formula"].tolist())
        in_domain = np.array([bool(v.in_domain) for v in doc.votes])
        unanimous = np.array(
            [all(v.votes.get(a, -1) >= n for a, n in ensemble.n_models.items()) for v in doc.votes]
        )
        p = pred["p_superionic"]
        alone = {
            f"unanimous_{alg}_alone": int(sum(v.votes.get(alg, -1) >= n for v in doc.votes))
            for alg, n in ensemble.n_models.items()
        }
        out[recipe] = {
            "n_pool": len(pool),
            "n_in_domain": int(in_domain.sum()),
            "unanimous_votes": int(unanimous.sum()),
            **alone,
            "unanimous_and_in_domain (candidates)": int((unanimous & in_domain).sum()),
            "p_ge_0.5": int((p >= 0.5).sum()),
            "p_ge_0.5_and_in_domain": int(((p >= 0.5) & in_domain).sum()),
            "candidates": [v.formula for v in doc.votes if v.candidate][:60],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", default=str(ROOT.parent / "shared" / "data" / "raw"))
    parser.add_argument("--members", type=int, default=10, help="open-recipe members")
    parser.add_argument("--paper-splits", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--pool", type=Path, default=None, help="screened pool CSV (formula)")
    parser.add_argument(
        "--no-structure", action="store_true", help="open recipe without the CIF features"
    )
    parser.add_argument("--skip-paper", action="store_true", help="score the open recipe only")
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--plot", type=Path, default=ROOT / "docs/img/obelix_parity.png")
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return

    from sklearn.metrics import balanced_accuracy_score

    from sse_flows.data.open_data import (
        nearest_test_distance,
        obelix_cif_features,
        read_obelix,
        structure_feature_names,
    )
    from sse_flows.data.tables import load_snapshot_table, load_training_table
    from sse_flows.models.ensemble import train_ensemble
    from sse_flows.models.open_recipe import (
        add_fraction_features,
        evaluate_open_regressor,
        load_open_training_set,
        train_open_ensemble,
    )
    from sse_flows.models.prediction import vote_materials
    from sse_flows.models.training import featurize_or_raise, load_training_set

    report: dict = {"load_average": os.getloadavg(), "published_mae": PUBLISHED_MAE,
                    **br.run_info()}  # fmt: skip
    test = read_obelix(args.raw, "test")
    y = test["log10_sigma"].to_numpy(float)
    censored = test["censored"].to_numpy(bool)
    labels = test["label"].to_numpy(int)
    paper_table = load_training_table()
    unseen_by_paper = (
        nearest_test_distance(test["formula"].tolist(), paper_table["formula"].tolist()) > 1e-3
    )
    report["test_rows"] = len(test)
    report["test_rows_not_in_paper_table"] = int(unseen_by_paper.sum())

    # --- open recipe: train + predict 10,000 formulas (timed) ---------------------------
    start = time.perf_counter()
    open_set = load_open_training_set(structure=not args.no_structure)
    open_ens = train_open_ensemble(open_set, n_members=args.members, n_jobs=args.n_jobs)
    t_train = time.perf_counter() - start
    snapshot = load_snapshot_table()
    formulas = (
        snapshot.loc[snapshot["contains_li"], "formula"].tolist()
        + snapshot.loc[~snapshot["contains_li"], "formula"].tolist()
    )[:10_000]
    start = time.perf_counter()
    vote_materials(formulas, open_ens)
    t_predict = time.perf_counter() - start
    report["open_runtime_s"] = {
        "train": round(t_train, 1),
        "predict_10000": round(t_predict, 1),
        "total": round(t_train + t_predict, 1),
        "target": "< 180",
    }
    _doc, pred_formula_only = _predict(open_ens, test["formula"].tolist())
    in_domain = np.array([bool(v.in_domain) for v in _doc.votes])
    pred = pred_formula_only
    n_test_cif = 0
    if open_ens.structure_features:
        cif = obelix_cif_features(args.raw, "test")
        names = structure_feature_names()
        nan = dict.fromkeys(names, np.nan)
        structure = np.array(
            [[cif[i][n[4:]] for n in names] if i in cif else list(nan.values())
             for i in test["id"]], float,
        )  # fmt: skip
        n_test_cif = int(np.isfinite(structure[:, 0]).sum())
        formulas_test = test["formula"].tolist()
        X = add_fraction_features(
            featurize_or_raise(formulas_test), formulas_test, open_ens.spec.fraction_elements
        )[open_ens.spec.feature_names].to_numpy(float)
        pred = {
            k: v
            for k, v in open_ens.predict(X, structure).items()
            if k in ("log10_sigma", "log10_sigma_low", "log10_sigma_high", "p_superionic")
        }
    open_scores = {
        "all test rows": _scores(
            y, pred["log10_sigma"], censored, labels, pred["p_superionic"],
            pred["log10_sigma_low"], pred["log10_sigma_high"],
        ),
        "rows not in the paper table": _scores(
            y[unseen_by_paper], pred["log10_sigma"][unseen_by_paper], censored[unseen_by_paper],
            labels[unseen_by_paper], pred["p_superionic"][unseen_by_paper],
            pred["log10_sigma_low"][unseen_by_paper], pred["log10_sigma_high"][unseen_by_paper],
        ),
        "in-domain rows": _scores(
            y[in_domain], pred["log10_sigma"][in_domain], censored[in_domain],
            labels[in_domain], pred["p_superionic"][in_domain],
            pred["log10_sigma_low"][in_domain], pred["log10_sigma_high"][in_domain],
        ),
    }  # fmt: skip
    if open_ens.structure_features:
        p = pred_formula_only
        open_scores["all test rows, formula only (no test CIF)"] = _scores(
            y, p["log10_sigma"], censored, labels, p["p_superionic"],
            p["log10_sigma_low"], p["log10_sigma_high"],
        )  # fmt: skip
        has_cif = np.isfinite(structure[:, 0])
        for name, q in (
            ("test rows with a CIF", pred),
            ("test rows with a CIF, formula only", pred_formula_only),
        ):
            open_scores[name] = _scores(
                y[has_cif], q["log10_sigma"][has_cif], censored[has_cif], labels[has_cif],
                q["p_superionic"][has_cif], q["log10_sigma_low"][has_cif],
                q["log10_sigma_high"][has_cif],
            )  # fmt: skip
    report["open"] = {
        "structure_features": open_ens.structure_features,
        "n_test_rows_with_cif": n_test_cif,
        "params": open_ens.spec.params,
        "test": open_scores,
        "n_test_in_domain": int(in_domain.sum()),
        "interval_halfwidth": open_ens.spec.interval_halfwidth,
        "grouped_cv": evaluate_open_regressor(open_set, n_splits=10, n_jobs=args.n_jobs),
        "median_of_training_mae": float(
            np.abs(np.median(open_set.extra["log10_sigma"]) - y).mean()
        ),
    }  # fmt: skip
    _parity_plot(
        y, pred["log10_sigma"], pred["log10_sigma_low"], pred["log10_sigma_high"], censored,
        args.plot,
        f"open recipe, OBELiX test split ({len(y)} rows, {n_test_cif} with a CIF)\nMAE "
        f"{open_scores['all test rows']['mae']:.2f}, 90 % interval coverage "
        f"{open_scores['all test rows']['coverage']:.2f}",
    )  # fmt: skip

    if args.skip_paper:
        br.write_json(args.out, report)
        print(json.dumps(report, indent=1, default=float))
        if args.out == RESULT:
            br.write_record(NAME, record(report), args.record)
        return
    # --- paper recipe ---------------------------------------------------------------------
    start = time.perf_counter()
    paper_set = load_training_set()
    paper_ens = train_ensemble(paper_set, n_splits=args.paper_splits, n_jobs=args.n_jobs)
    t_paper = time.perf_counter() - start
    doc, ppred = _predict(paper_ens, test["formula"].tolist())
    mask = unseen_by_paper
    report["paper"] = {
        "train_s": round(t_paper, 1),
        "params": paper_ens.spec.params,
        "test (rows not in the paper table)": _scores(
            y[mask], None, censored[mask], labels[mask], ppred["p_superionic"][mask]
        ),
    }
    unanimous = np.array([all(n == args.paper_splits for n in v.votes.values()) for v in doc.votes])
    report["paper"]["test (rows not in the paper table)"]["balanced_acc_unanimous"] = float(
        balanced_accuracy_score(labels[mask], unanimous[mask])
    )
    if args.pool:
        # the paper recipe's variants: which choice moves the unanimous count?
        kang = (paper_table["dataset"] == "Kang2023").to_numpy()
        library_defaults = {
            "gb": {},
            "lgbm": {"num_leaves": 31, "learning_rate": 0.1, "min_child_samples": 20},
        }
        variants = {
            "open": open_ens,
            "paper": paper_ens,
            "paper, Kang rows only (328)": train_ensemble(
                paper_set.subset(kang), n_splits=args.paper_splits, n_jobs=args.n_jobs,
                params={a: {k: v for k, v in p.items() if k in ("max_depth", "learning_rate",
                        "num_leaves")} for a, p in paper_ens.spec.params.items()},
            ),
            "paper, library-default hyperparameters": train_ensemble(
                paper_set, n_splits=args.paper_splits, n_jobs=args.n_jobs,
                params=library_defaults,
            ),
        }  # fmt: skip
        report["pool_vote"] = _pool_vote(args.pool, variants)
    br.write_json(args.out, report)
    print(json.dumps(report, indent=1, default=float))
    if args.out == RESULT:
        print(f"wrote {br.write_record(NAME, record(report), args.record)}")


if __name__ == "__main__":
    main()
