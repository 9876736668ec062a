"""Runtime of the models stage: nested evaluation per algorithm, the vote ensemble, predict.

Usage::

    python benchmarks/models_runtime.py                 # all nine, 100 splits, n_jobs=2
    python benchmarks/models_runtime.py --splits 20 --algorithms gb,lgbm
    python benchmarks/models_runtime.py --skip-evaluation
    python benchmarks/models_runtime.py --record-only      # the record from the JSON

Prints wall and CPU seconds per algorithm (search + fit over the random, composition-cluster
and leave-one-family-out splits) with the evaluation's metrics, the GB+LightGBM 100-split
ensemble time, and the time of voting 1,000 pool formulas including training. Targets (2
cores): evaluation < 15 min, ensemble < 1 min, predict 1,000 formulas < 2 min. The load
average is recorded because the numbers scale with whatever else runs on the machine.

Writes ``benchmarks/results/models_runtime.json`` and ``docs/benchmarks/models_runtime.md``
(a run of every algorithm with the default splits only).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import benchrecord as br

ROOT = Path(__file__).resolve().parents[1]
NAME = "models_runtime"
RESULT = ROOT / "benchmarks/results/models_runtime.json"
METRICS = {
    "acc_mean": "ACC mean",
    "acc_max": "max",
    "acc_min": "min",
    "acc_std": "STD",
    "f1_mean": "F1",
    "auc_mean": "ROC-AUC",
    "grouped_acc_mean": "grouped ACC",
    "grouped_acc_std": "grouped STD",
    "grouped_auc_mean": "grouped AUC",
    "lofo_acc": "leave-family-out ACC",
}


def _params_text(params: dict) -> str:
    return ", ".join(f"{k.rpartition('__')[2]} {v}" for k, v in params.items())


def record(result: dict) -> str:
    """The text of docs/benchmarks/models_runtime.md, from the JSON."""
    protocol = [
        f"Paper recipe on the packaged training table ({result['training_rows']} rows, "
        f"majority rate {br.fmt(result['majority_rate'])}): every algorithm with nested "
        f"search (3 inner folds) over {result['splits']} random stratified 80/20 splits, the "
        "composition-cluster splits (stratified group 5-fold, 2 repeats) and leave-one-family-"
        f"out, n_jobs {result['n_jobs']}; then the GB + LightGBM {result['ensemble']['n_splits']}"
        f"-split vote ensemble (grouped-CV search included) and the vote on "
        f"{result['predict']['n_formulas']} Li-containing snapshot formulas (featurizing and "
        "training included). CPU = this process and its joblib workers. Load average: "
        f"{result['load_average']}.",
    ]
    ev = result["evaluation"]
    rows = []
    for key, entry in ev.items():
        m = entry["metrics"]
        chosen = f"{_params_text(m['chosen_params'])} ({m['chosen_params_frequency']:.0%})"
        rows.append(
            [key, *(br.fmt(m.get(k)) for k in METRICS), chosen,
             br.fmt(entry["wall_s"], 1), br.fmt(entry["cpu_s"], 1)]
        )  # fmt: skip
    total = result["evaluation_total"]
    rows.append(["**total**", *[""] * (len(METRICS) + 1), br.fmt(total["wall_s"], 1),
                 br.fmt(total["cpu_s"], 1)])  # fmt: skip
    body = br.table(
        ["key", *METRICS.values(), "most chosen (share of random splits)", "wall s", "CPU s"], rows
    )
    families = {k: e["metrics"]["lofo_family_acc"] for k, e in ev.items()
                if e["metrics"].get("lofo_family_acc")}  # fmt: skip
    for key, accs in families.items():
        body += ["", f"Leave-one-family-out accuracy of `{key}` per held-out family: "
                 + ", ".join(f"{fam} {acc:.2f}" for fam, acc in accs.items()) + "."]  # fmt: skip
    t, ens, pred = result["targets"], result["ensemble"], result["predict"]
    body += [
        "",
        *br.table(
            ["task", "wall s", "CPU s", "target s"],
            [
                ["nine algorithms, nested evaluation", br.fmt(total["wall_s"], 1),
                 br.fmt(total["cpu_s"], 1), str(t["evaluation_s"])],
                ["GB + LightGBM vote ensemble, grouped search included", br.fmt(ens["wall_s"], 1),
                 br.fmt(ens.get("cpu_s"), 1), str(t["ensemble_s"])],
                [f"predict {pred['n_formulas']} formulas, featurizing and training included "
                 f"({pred['n_candidates']} unanimous candidates)", br.fmt(pred["wall_s"], 1),
                 br.fmt(pred.get("cpu_s"), 1), str(t["predict_s"])],
            ],
        ),
    ]  # fmt: skip
    return br.render(
        NAME, "Paper recipe: nested evaluation and runtime", result, RESULT, protocol, body,
    )  # fmt: skip


def _cpu_seconds() -> float:
    """CPU seconds of this process and its live children (the joblib/loky workers)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:  # a worker that just exited
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=100)
    parser.add_argument("--algorithms", default="all")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--skip-evaluation", action="store_true")
    parser.add_argument("--pool-size", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return

    from sse_flows.models.ensemble import train_ensemble
    from sse_flows.models.evaluation import evaluate_models
    from sse_flows.models.prediction import vote_materials
    from sse_flows.models.registry import parse_algorithms
    from sse_flows.models.training import load_training_set

    print(f"cpu count {os.cpu_count()}, load average at start {os.getloadavg()}")
    t0, c0 = time.perf_counter(), _cpu_seconds()
    training_set = load_training_set()
    result: dict = {
        "benchmark": NAME,
        "splits": args.splits,
        "n_jobs": args.n_jobs,
        "training_rows": len(training_set),
        "evaluation": {},
        "targets": {"evaluation_s": 900, "ensemble_s": 60, "predict_s": 120},
    }
    print(f"training table: {len(training_set)} rows featurized in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip

    if not args.skip_evaluation:
        total_wall = total_cpu = 0.0
        print(f"\nnested evaluation, {args.splits} random + grouped splits, n_jobs={args.n_jobs}")
        print(f"{'algorithm':10s} {'wall s':>8s} {'cpu s':>8s} {'acc':>6s} {'grouped':>8s}")
        for key in parse_algorithms(args.algorithms):
            t, c = time.perf_counter(), _cpu_seconds()
            doc = evaluate_models(training_set, [key], n_splits=args.splits, n_jobs=args.n_jobs)
            wall, cpu = time.perf_counter() - t, _cpu_seconds() - c
            total_wall += wall
            total_cpu += cpu
            m = doc.metrics[key]
            result["majority_rate"] = doc.majority_rate
            fields = [*METRICS, "chosen_params", "chosen_params_frequency", "lofo_family_acc"]
            result["evaluation"][key] = {
                "wall_s": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "metrics": m.model_dump(include=set(fields), mode="json"),
            }
            print(f"{key:10s} {wall:8.1f} {cpu:8.1f} {m.acc_mean:6.3f} {m.grouped_acc_mean:8.3f}")
        print(f"{'total':10s} {total_wall:8.1f}   (target < 900 s)")
        result["evaluation_total"] = {"wall_s": round(total_wall, 1), "cpu_s": round(total_cpu, 1)}

    t, c = time.perf_counter(), _cpu_seconds()
    ensemble = train_ensemble(training_set, n_splits=100, n_jobs=args.n_jobs)
    wall, cpu = time.perf_counter() - t, _cpu_seconds() - c
    result["ensemble"] = {"n_splits": 100, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}
    print(
        f"\nGB+LightGBM ensemble, 100 splits incl. grouped-CV parameter search: "
        f"{wall:.1f} s wall, {cpu:.1f} s cpu (target < 60 s); params {ensemble.spec.params}"
    )

    from sse_flows.data.tables import load_snapshot_table

    pool = load_snapshot_table()
    li_pool = pool[pool["contains_li"].astype(bool)]
    formulas = li_pool["formula"].astype(str).sample(args.pool_size, random_state=0).tolist()
    t, c = time.perf_counter(), _cpu_seconds()
    training_set = load_training_set()
    ensemble = train_ensemble(training_set, n_splits=100, n_jobs=args.n_jobs)
    doc = vote_materials(formulas, ensemble)
    wall, cpu = time.perf_counter() - t, _cpu_seconds() - c
    print(f"predict {len(formulas)} Li pool formulas incl. training: {wall:.1f} s wall, "
          f"{cpu:.1f} s cpu (target < 120 s); {doc.n_candidates} unanimous candidates, "
          f"{doc.n_errors} errors")  # fmt: skip
    result["predict"] = {"n_formulas": len(formulas), "wall_s": round(wall, 1),
                         "cpu_s": round(cpu, 1), "n_candidates": doc.n_candidates}  # fmt: skip
    print(f"load average at end {os.getloadavg()}; whole run {time.perf_counter() - t0:.0f} s, "
          f"{_cpu_seconds() - c0:.0f} cpu s")  # fmt: skip
    full = (not args.skip_evaluation and args.algorithms == "all" and args.splits == 100
            and args.pool_size == 1000)  # fmt: skip
    if full:  # the record describes the default run only
        info = br.run_info()
        result["load_average"] = ", ".join(f"{x:.1f}" for x in info["machine"]["load_average"])
        result.update(info)
        br.write_json(args.out, result)
        print(f"wrote {args.out} and {br.write_record(NAME, record(result), args.record)}")


if __name__ == "__main__":
    main()
