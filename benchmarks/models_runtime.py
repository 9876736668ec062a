"""Runtime of the models stage: nested evaluation per algorithm, the vote ensemble, predict.

Usage::

    python benchmarks/models_runtime.py                 # all nine, 100 splits, n_jobs=2
    python benchmarks/models_runtime.py --splits 20 --algorithms gb,lgbm
    python benchmarks/models_runtime.py --skip-evaluation

Prints wall and CPU seconds per algorithm (search + fit over the random and grouped
splits), the GB+LightGBM 100-split ensemble time, and the time of voting 1,000 pool
formulas including training. Targets (issue 4, 2 cores): evaluation < 15 min, ensemble
< 1 min, predict 1,000 formulas < 2 min. The load average is printed because the numbers
scale with whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import os
import time


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
    args = parser.parse_args()

    from sse_flows.models.ensemble import train_ensemble
    from sse_flows.models.evaluation import evaluate_models
    from sse_flows.models.prediction import vote_materials
    from sse_flows.models.registry import parse_algorithms
    from sse_flows.models.training import load_training_set

    print(f"cpu count {os.cpu_count()}, load average at start {os.getloadavg()}")
    t0, c0 = time.perf_counter(), _cpu_seconds()
    training_set = load_training_set()
    print(f"training table: {len(training_set)} rows featurized in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip

    if not args.skip_evaluation:
        total_wall = 0.0
        print(f"\nnested evaluation, {args.splits} random + grouped splits, n_jobs={args.n_jobs}")
        print(f"{'algorithm':10s} {'wall s':>8s} {'cpu s':>8s} {'acc':>6s} {'grouped':>8s}")
        for key in parse_algorithms(args.algorithms):
            t, c = time.perf_counter(), _cpu_seconds()
            doc = evaluate_models(training_set, [key], n_splits=args.splits, n_jobs=args.n_jobs)
            wall, cpu = time.perf_counter() - t, _cpu_seconds() - c
            total_wall += wall
            m = doc.metrics[key]
            print(f"{key:10s} {wall:8.1f} {cpu:8.1f} {m.acc_mean:6.3f} {m.grouped_acc_mean:8.3f}")
        print(f"{'total':10s} {total_wall:8.1f}   (target < 900 s)")

    t, c = time.perf_counter(), _cpu_seconds()
    ensemble = train_ensemble(training_set, n_splits=100, n_jobs=args.n_jobs)
    wall, cpu = time.perf_counter() - t, _cpu_seconds() - c
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
    print(f"load average at end {os.getloadavg()}; whole run {time.perf_counter() - t0:.0f} s, "
          f"{_cpu_seconds() - c0:.0f} cpu s")  # fmt: skip


if __name__ == "__main__":
    main()
