"""Which class threshold on the open recipe's log10 sigma gives the best balanced accuracy?

On the composition-grouped out-of-fold predictions of the open recipe's composition members
(:func:`sse_flows.models.open_recipe.grouped_oof_predictions`, fold seeds 0, 1, 2; the
Li rows of training_v2, the OBELiX test split is never read): balanced accuracy at 1e-4
S/cm when a material is called superionic at predicted log10 sigma >= t, for t from -6.5
to -4, next to Platt's p >= 0.5 (the recipe's rule, crossing near -5.6) and p >= the
training prevalence.

Usage::

    .venv/bin/python benchmarks/open_class_threshold.py
    .venv/bin/python benchmarks/open_class_threshold.py --record-only   # record from the JSON

Writes ``benchmarks/results/open_class_threshold.json`` and
``docs/benchmarks/open_class_threshold.md``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (-6.5, -6.0, -5.5, -5.0, -4.5, -4.0)
NAME = "open_class_threshold"
RESULT = ROOT / "benchmarks/results/open_class_threshold.json"


def record(result: dict) -> str:
    """The text of docs/benchmarks/open_class_threshold.md, from the JSON."""
    mean, spread = result["mean"], result["seed_range"]
    seeds = ", ".join(str(r["seed"]) for r in result["per_seed"])
    protocol = [
        f"Composition-grouped out-of-fold log10 sigma of the open recipe's composition members "
        f"on the {result['rows']} Li rows of `training_v2` (`open_recipe.grouped_oof_predictions`,"
        f" fold seeds {seeds}; superionic prevalence {br.fmt(result['prevalence'])}). Balanced "
        "accuracy at 1e-4 S/cm of each rule, mean over the seeds (range in brackets). The "
        "OBELiX test split is not read.",
    ]
    rules = [
        ("Platt p >= 0.5 (the recipe's rule)", "platt_p_0.5"),
        ("Platt p >= prevalence", "platt_p_prevalence"),
    ]
    rules += [(f"log10 sigma >= {t}", f"log10>={t}") for t in THRESHOLDS]
    body = br.table(
        ["rule", "balanced acc", "seed range"],
        [[label, br.fmt(mean[key]), br.fmt(spread[key])] for label, key in rules if key in mean],
    )
    body += [
        "",
        f"ROC-AUC of the out-of-fold log10 sigma: {br.fmt(mean['auc'])}; the Platt map "
        f"crosses p = 0.5 at log10 sigma = {br.fmt(mean['platt_crossing_log10'], 2)} "
        f"(seed range {br.fmt(spread['platt_crossing_log10'], 2)}).",
    ]
    return br.render(
        NAME,
        "Open recipe: class threshold on log10 sigma",
        result,
        RESULT,
        protocol,
        body,
    )


def main() -> None:
    args = br.open_study_parser(__doc__, NAME, RESULT).parse_args()
    if br.record_only(args, NAME, args.out, record):
        return
    warnings.simplefilter("ignore")

    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from sse_flows.models.open_recipe import (
        fit_platt,
        grouped_oof_predictions,
        load_open_training_set,
        platt_probability,
    )

    ts = load_open_training_set()
    labels = ts.labels.astype(int)
    prevalence = float(labels.mean())
    per_seed = []
    for seed in (int(s) for s in args.seeds.split(",")):
        oof = grouped_oof_predictions(ts, seed=seed, n_jobs=args.n_jobs)
        a, b = fit_platt(oof, labels)
        p = platt_probability(oof, a, b)
        row = {
            "seed": seed,
            "auc": float(roc_auc_score(labels, oof)),
            "platt_crossing_log10": float(-4.0 - b / a),
            "platt_p_0.5": float(balanced_accuracy_score(labels, p >= 0.5)),
            "platt_p_prevalence": float(balanced_accuracy_score(labels, p >= prevalence)),
        }
        row.update(
            {f"log10>={t}": float(balanced_accuracy_score(labels, oof >= t)) for t in THRESHOLDS}
        )
        per_seed.append(row)
        print(
            "  ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
            ),
            flush=True,
        )
    keys = [k for k in per_seed[0] if k != "seed"]
    mean = {k: float(np.mean([r[k] for r in per_seed])) for k in keys}
    spread = {k: float(np.ptp([r[k] for r in per_seed])) for k in keys}
    print("mean  " + "  ".join(f"{k} {mean[k]:.3f} (range {spread[k]:.3f})" for k in keys))
    result = {
        "benchmark": "open_class_threshold",
        "rows": len(labels),
        "prevalence": prevalence,
        "per_seed": per_seed,
        "mean": mean,
        "seed_range": spread,
        **br.run_info(),
    }
    br.write_json(args.out, result)
    print(f"wrote {args.out} and {br.write_record(NAME, record(result), args.record)}")


if __name__ == "__main__":
    main()
