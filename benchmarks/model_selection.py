"""Choose the open recipe by cross-source validation, then score it once on the OBELiX test split.

Candidates (:mod:`sse_flows.models.selection`): three row choices (Li rows only; every row;
every row with the Na rows weighted 0.3) x three probability heads (Platt map of the
regressor; mean probability of a GB + LightGBM classifier pair; their calibrated blend).
log10 sigma and its 90 % interval come from the regressor pair in every candidate.

Each candidate is scored, with the Li rows of each test set, on

* ``grouped CV``: stratified group 5-fold over the composition clusters of all 676 rows
  of ``training_v2`` (pooled out-of-fold);
* ``held out: <source>``: trained on the other sources (Kang2023, Xu2020, OBELiX-train;
  a composition that two sources share counts as both and is held out with either);
* ``OBELiX-train by paper``: GroupKFold (5) over the first DOI of the OBELiX train rows,
  trained on every row whose first DOI is not in the held-out fold (pooled).

Calibration (Platt, blend) and the conformal half-width are fitted inside every training
set on its own composition-grouped out-of-fold predictions (``--inner-folds``, default 3 to
keep the study to minutes; the shipped recipe uses 5), as the shipped recipe does; the test
rows reach neither. Repeated for ``--seeds`` (grouped folds, inner folds
and model seeds). The rule (:data:`sse_flows.models.selection.RULE`) picks one candidate;
the OBELiX test split is not read by this stage.

Stage ``test`` then trains the shipped open recipe (``train_open_ensemble``: it must be the
chosen candidate) and scores it once on ``../shared/data/raw/obelix/test.csv`` with the
scoring functions of ``benchmarks/obelix_benchmark.py``.

Usage::

    nice -n 19 .venv/bin/python benchmarks/model_selection.py --stage select   # minutes
    nice -n 19 .venv/bin/python benchmarks/model_selection.py --stage test     # once
    .venv/bin/python benchmarks/model_selection.py --stage record               # md from json

Writes ``benchmarks/results/model_selection.json`` and ``docs/benchmarks/model_selection.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks/results/model_selection.json"
RECORD = ROOT / "docs/benchmarks/model_selection.md"
TARGETS = {"balanced_acc": 0.80, "auc": 0.88, "mae": 1.0, "coverage": (0.85, 0.95)}


def _write_json(path: Path, result: dict) -> None:
    from sse_flows.data.writers import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(result, indent=1, default=float) + "\n")


def stage_select(args) -> dict:
    import joblib

    from sse_flows.models.open_recipe import load_open_training_set
    from sse_flows.models.selection import (
        HEAD_DESCRIPTIONS,
        ROW_CHOICES,
        RULE,
        all_candidates,
        candidate_fold_outputs,
        choose_candidate,
        score_candidates,
        summarize,
    )

    seeds = [int(s) for s in args.seeds.split(",")]
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    per_seed: dict[int, dict] = {}
    training_set = load_open_training_set(li_only=False, structure=False)
    li = training_set.contains_li
    datasets, papers = training_set.extra["datasets"], training_set.extra["papers"]
    result = {
        "benchmark": "model_selection",
        "training": {
            "rows": len(training_set),
            "li_rows": int(li.sum()),
            "na_rows": int((~li).sum()),
            "li_rows_per_source": {
                s: int(sum(li[i] and s in str(d).split(";") for i, d in enumerate(datasets)))
                for s in ("Kang2023", "Xu2020", "OBELiX-train")
            },
            "composition_clusters": int(len(np.unique(training_set.clusters))),
            "obelix_train_papers": len(
                {p for p, d in zip(papers, datasets, strict=True) if "OBELiX-train" in str(d)}
            ),
        },
        "row_choices": {r.key: r.description for r in ROW_CHOICES},
        "heads": HEAD_DESCRIPTIONS,
        "seeds": seeds,
        "n_jobs": args.n_jobs,
        "inner_folds": args.inner_folds,
        "rule": RULE,
        "per_seed": {},
        "seconds_per_seed": previous.get("seconds_per_seed", {}) if args.resume else {},
    }
    for seed in seeds:
        cache = args.fold_cache / f"seed{seed}_inner{args.inner_folds}.joblib"
        if args.resume and cache.is_file():  # the fits of this seed, already made
            outputs = joblib.load(cache)
        else:
            start = time.perf_counter()
            outputs = candidate_fold_outputs(
                training_set, seed, n_inner=args.inner_folds, n_jobs=args.n_jobs
            )
            result["seconds_per_seed"][str(seed)] = round(time.perf_counter() - start, 1)
            args.fold_cache.mkdir(parents=True, exist_ok=True)
            joblib.dump(outputs, cache)
        per_seed[seed] = score_candidates(training_set, outputs)
        result["per_seed"][str(seed)] = per_seed[seed]
        result["load_average"] = os.getloadavg()
        _write_json(args.out, result)  # a seed at a time: --resume goes on from here
        print(f"seed {seed}: {result['seconds_per_seed'].get(str(seed))} s", flush=True)
    per_seed = {s: per_seed[s] for s in seeds}
    summary = summarize(per_seed)
    result["summary"] = summary
    result["choice"] = choose_candidate(summary, all_candidates())
    result["date"] = time.strftime("%Y-%m-%d")
    _write_json(args.out, result)
    return result


def stage_test(args) -> dict:
    """Train the shipped open recipe and score it once on the OBELiX test split."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from obelix_benchmark import _predict, _scores

    from sse_flows.data.open_data import obelix_cif_features, read_obelix, structure_feature_names
    from sse_flows.models.open_recipe import (
        PROBABILITY_HEAD,
        TRAINING_ROWS,
        add_fraction_features,
        load_open_training_set,
        train_open_ensemble,
    )
    from sse_flows.models.training import featurize_or_raise

    result = json.loads(args.out.read_text())
    if "choice" not in result:
        sys.exit(f"{args.out}: no choice yet; run --stage select first")
    if "obelix_test" in result and not args.rescore:
        sys.exit(
            f"{args.out} already holds the one OBELiX test run; --rescore repeats it "
            "(the choice never depends on it)"
        )
    chosen = result["choice"]["chosen"]
    shipped = f"{TRAINING_ROWS} + {PROBABILITY_HEAD}"
    if shipped != chosen:
        sys.exit(
            f"the shipped open recipe is {shipped!r}, the selection chose {chosen!r}: set "
            "open_recipe.TRAINING_ROWS and PROBABILITY_HEAD to the choice first"
        )
    start = time.perf_counter()
    training_set = load_open_training_set()
    ensemble = train_open_ensemble(training_set, n_members=args.members, n_jobs=args.n_jobs)
    seconds_train = time.perf_counter() - start
    test = read_obelix(args.raw, "test")
    y = test["log10_sigma"].to_numpy(float)
    censored = test["censored"].to_numpy(bool)
    labels = test["label"].to_numpy(int)
    _doc, formula_only = _predict(ensemble, test["formula"].tolist())
    rows = {}
    rows["all test rows, formula only (as predict)"] = _scores(
        y, formula_only["log10_sigma"], censored, labels, formula_only["p_superionic"],
        formula_only["log10_sigma_low"], formula_only["log10_sigma_high"],
    )  # fmt: skip
    if ensemble.structure_features:
        cif = obelix_cif_features(args.raw, "test")
        names = structure_feature_names()
        structure = np.array(
            [[cif[i][n[4:]] for n in names] if i in cif else [np.nan] * len(names)
             for i in test["id"]], float,
        )  # fmt: skip
        formulas = test["formula"].tolist()
        X = add_fraction_features(
            featurize_or_raise(formulas), formulas, ensemble.spec.fraction_elements
        )[ensemble.spec.feature_names].to_numpy(float)
        pred = ensemble.predict(X, structure)
        rows["all test rows, test CIFs where present"] = _scores(
            y, pred["log10_sigma"], censored, labels, pred["p_superionic"],
            pred["log10_sigma_low"], pred["log10_sigma_high"],
        )  # fmt: skip
        rows["all test rows, test CIFs where present"]["n_with_cif"] = int(
            np.isfinite(structure[:, 0]).sum()
        )
    median = float(np.median(training_set.extra["log10_sigma"]))
    result["obelix_test"] = {
        "recipe": chosen,
        "training_median_mae": float(np.abs(median - y).mean()),
        "n_members": args.members,
        "rows": rows,
        "calibration": ensemble.spec.calibration,
        "interval_halfwidth": ensemble.spec.interval_halfwidth,
        "train_seconds": round(seconds_train, 1),
        "load_average": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d"),
    }
    _write_json(args.out, result)
    return result


# ---------------------------------------------------------------------------------------
# The record
# ---------------------------------------------------------------------------------------
def _f(value, digits=3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def write_record(result: dict, path: Path) -> None:
    """docs/benchmarks/model_selection.md from the JSON (tables only, no narrative)."""
    summary, choice = result["summary"], result["choice"]
    seeds = result["seeds"]
    first = summary[next(iter(summary))]["scores"]
    sets = list(first)
    cross = [s for s in sets if s != "grouped CV"]
    n_rows = {s: first[s]["n"] for s in sets}
    n_pos = {s: first[s]["n_superionic"] for s in sets}
    lines = [
        "# Open recipe: model selection",
        "",
        "Generated by `benchmarks/model_selection.py` from "
        "`benchmarks/results/model_selection.json`; do not edit by hand.",
        "",
        f"Training rows: {result['training']['rows']} of `training_v2.csv` "
        f"({result['training']['li_rows']} Li, {result['training']['na_rows']} Na; Li rows "
        "per source: "
        + ", ".join(f"{k} {v}" for k, v in result["training"]["li_rows_per_source"].items())
        + f"; {result['training']['composition_clusters']} composition clusters; "
        f"{result['training']['obelix_train_papers']} OBELiX train papers by first DOI). "
        f"Seeds: {', '.join(map(str, seeds))} (grouped folds, inner calibration folds, "
        "models); every number is the mean over the seeds. Scores use the Li rows of each "
        "test set. Balanced accuracy and ROC-AUC are of `p_superionic` (superionic at "
        "p >= 0.5); MAE of log10 sigma with censored rows one-sided; coverage of the 90 % "
        "conformal interval.",
        "",
        "Test sets (Li rows, superionic): "
        + "; ".join(f"{s} ({n_rows[s]}, {n_pos[s]})" for s in sets)
        + ".",
        "",
        "Candidates: rows "
        + "; ".join(f"`{k}` {v}" for k, v in result["row_choices"].items())
        + ". Heads "
        + "; ".join(f"`{k}` {v}" for k, v in result["heads"].items())
        + ".",
        "",
        "## Cross-source and grouped scores",
        "",
        "| candidate | cross-source bal. acc (seed range) | cross-source AUC | cross-source MAE "
        "| cross-source coverage | "
        + " | ".join(f"{s}: bal. acc / AUC / MAE / cov." for s in sets)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(sets),
    ]
    for name, entry in summary.items():
        mark = "**" if name == choice["chosen"] else ""
        cs = entry["cross_source"]
        cells = [
            f"{mark}{name}{mark}",
            f"{_f(cs['balanced_acc'])} ({_f(entry['seed_range']['balanced_acc'])})",
            _f(cs["auc"]),
            _f(cs["mae"], 2),
            _f(cs["coverage"], 2),
        ]
        for s in sets:
            sc = entry["scores"][s]
            cells.append(
                f"{_f(sc['balanced_acc'])} / {_f(sc['auc'])} / {_f(sc['mae'], 2)} / "
                f"{_f(sc['coverage'], 2)}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Cross-source = the mean over {', '.join(cross)}.",
        "",
        "## Rule and choice",
        "",
        choice["rule"],
        "",
        f"* Seed spread: balanced accuracy {_f(choice['spread']['balanced_acc'])}, "
        f"AUC {_f(choice['spread']['auc'])}.",
        f"* Best score: `{choice['best_by_score']}`; tied within the spread: "
        + ", ".join(f"`{n}`" for n in choice["tied"])
        + "; of those, within the AUC spread: "
        + ", ".join(f"`{n}`" for n in choice["tied_auc"])
        + ".",
        f"* **Chosen: `{choice['chosen']}`.**",
        "",
    ]
    test = result.get("obelix_test")
    lines += ["## OBELiX test split (scored once, after the choice)", ""]
    if test is None:
        lines += ["Not scored yet (`--stage test`).", ""]
    else:
        lines += [
            f"The shipped open recipe (`{test['recipe']}`, {test['n_members']} + "
            f"{test['n_members']} members per head) trained on `training_v2`, scored on "
            "`../shared/data/raw/obelix/test.csv` with `benchmarks/obelix_benchmark.py`'s "
            "scoring functions.",
            "",
            "| rows | n | balanced acc (p >= 0.5) | ROC-AUC | MAE log10 sigma | "
            "MAE, censored one-sided | Spearman | 90 % coverage |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, sc in test["rows"].items():
            lines.append(
                f"| {name} | {sc['n']} | {_f(sc['balanced_acc'])} | {_f(sc['auc'])} | "
                f"{_f(sc['mae'], 2)} | {_f(sc['mae_censored'], 2)} | {_f(sc['spearman'], 2)} "
                f"| {_f(sc['coverage'], 2)} |"
            )
        if "training_median_mae" in test:
            n = next(iter(test["rows"].values()))["n"]
            lines.append(
                f"| predict the training median | {n} | | | "
                f"{_f(test['training_median_mae'], 2)} | | | |"
            )
        low, high = TARGETS["coverage"]
        met = {
            "balanced_acc": lambda v: v >= TARGETS["balanced_acc"],
            "auc": lambda v: v >= TARGETS["auc"],
            "mae": lambda v: v <= TARGETS["mae"],
            "coverage": lambda v: low <= v <= high,
        }
        names = list(test["rows"])
        lines += [
            "",
            "| target | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for metric, label in (
            ("balanced_acc", f"balanced accuracy >= {TARGETS['balanced_acc']}"),
            ("auc", f"ROC-AUC >= {TARGETS['auc']}"),
            ("mae", f"MAE <= {TARGETS['mae']}"),
            ("coverage", f"coverage {low:.0%}-{high:.0%}"),
        ):
            values = [test["rows"][n][metric] for n in names]
            cells = [f"{_f(v)} ({'met' if met[metric](v) else 'missed'})" for v in values]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    seconds = result.get("seconds_per_seed", {})
    lines += [
        "## Run",
        "",
        "Seconds per seed (nice 19, n_jobs "
        f"{result.get('n_jobs')}, shared 2-core machine): "
        + ", ".join(f"seed {k} {v}" for k, v in seconds.items())
        + "; load average at the end "
        + ", ".join(f"{x:.1f}" for x in result.get("load_average", []))
        + ".",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("select", "test", "record", "all"), default="all")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--inner-folds", type=int, default=3, help="grouped folds of the nested calibration"
    )
    parser.add_argument("--members", type=int, default=10, help="members per algorithm (test)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the fits cached in --fold-cache (heads and scores are recomputed)",
    )
    parser.add_argument(
        "--fold-cache",
        type=Path,
        default=Path(os.environ.get("SSE_FLOWS_HOME", Path.home() / ".sse_flows"))
        / "cache"
        / "model_selection",
        help="where the fitted models' fold predictions are kept, per seed",
    )
    parser.add_argument("--rescore", action="store_true", help="repeat the OBELiX test run")
    parser.add_argument("--raw", default=str(ROOT.parent / "shared" / "data" / "raw"))
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--record", type=Path, default=RECORD)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.stage in ("select", "all"):
        stage_select(args)
    if args.stage in ("test", "all"):
        stage_test(args)
    write_record(json.loads(args.out.read_text()), args.record)
    print(args.record.read_text())


if __name__ == "__main__":
    main()
