"""Which class threshold on the open recipe's log10 sigma gives the best balanced accuracy?

On the composition-grouped out-of-fold predictions of the open recipe's composition members
(:func:`sse_flows.models.open_recipe.grouped_oof_predictions`, fold seeds 0, 1, 2; the
Li rows of training_v2, the OBELiX test split is never read): balanced accuracy at 1e-4
S/cm when a material is called superionic at predicted log10 sigma >= t, for t from -6.5
to -4, next to Platt's p >= 0.5 (the recipe's rule, crossing near -5.6) and p >= the
training prevalence.

Usage::

    .venv/bin/python benchmarks/open_class_threshold.py

Writes ``benchmarks/results/open_class_threshold.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (-6.5, -6.0, -5.5, -5.0, -4.5, -4.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/open_class_threshold.json"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from sse_flows.data.writers import write_text_atomic
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
        "date": time.strftime("%Y-%m-%d"),
    }
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
