"""Throughput of the vectorized Magpie featurizer against matminer on the same formulas.

    .venv/bin/python benchmarks/features_throughput.py            # 20,000 MP formulas
    .venv/bin/python benchmarks/features_throughput.py --n 2000 --matminer-n 500
    .venv/bin/python benchmarks/features_throughput.py --record-only   # record from the JSON

Both run single-process on MP 2019 cell formulas (every Li formula of the snapshot, then
other formulas, deterministic order). matminer can be timed on the first
``--matminer-n`` of them; its rate is then extrapolated and the output says so. The
features of the formulas matminer saw are compared (max abs difference). A run with the
defaults writes ``benchmarks/results/features_throughput.json`` and
``docs/benchmarks/features_throughput.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NAME = "features_throughput"
RESULT = ROOT / "benchmarks/results/features_throughput.json"


def record(result: dict) -> str:
    """The text of docs/benchmarks/features_throughput.md, from the JSON."""
    protocol = [
        f"{result['n_formulas']:,} MP 2019 cell formulas (every distinct Li formula of the "
        f"snapshot, then other MP formulas, seed {result.get('seed', 0)}), featurized "
        "single-process by `sse_flows.features.featurize_formulas` and by matminer's "
        f"`MultipleFeaturizer` (n_jobs=1) on the first {result['n_matminer']:,} of them, "
        "parsing included. The element table is built once per process (timed apart).",
    ]
    rows = [
        ["`featurize_formulas` (vectorized)", f"{br.fmt(result['ours_s'], 2)} s (+"
         f"{br.fmt(result['ours_setup_s'], 1)} s element table)",
         f"{result['ours_formulas_per_s']:,.0f}"],
        [f"matminer `MultipleFeaturizer` ({result['n_matminer']:,} formulas)",
         f"{br.fmt(result['matminer_s'], 1)} s", f"{result['matminer_formulas_per_s']:,.0f}"],
        ["**ratio**", "", f"**{result['ratio']:.1f}x** (target >= {result['target_ratio']}x)"],
    ]  # fmt: skip
    body = br.table(["", "time", "formulas/s"], rows)
    body += [
        "",
        f"Largest |ours - matminer| over the {result['n_matminer']:,} formulas: "
        f"{result['max_abs_difference']:.1e}; same NaN pattern: "
        f"{'not recorded' if result['same_nan_pattern'] is None else result['same_nan_pattern']}.",
    ]
    return br.render(NAME, "Features: vectorized Magpie against matminer", result, RESULT,
                     protocol, body)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="formulas featurized (ours)")
    parser.add_argument(
        "--matminer-n", type=int, default=None, help="formulas timed with matminer (default: n)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return

    from sse_flows.features import featurize_formulas, featurize_with_matminer
    from sse_flows.features.element_table import get_element_table
    from sse_flows.features.formula_samples import sample_pool_formulas
    from sse_flows.features.matminer_reference import matminer_magpie_featurizer

    formulas = sample_pool_formulas(args.n, seed=args.seed, lithium_only=False)
    n_matminer = min(args.matminer_n or len(formulas), len(formulas))

    start = time.perf_counter()
    get_element_table()
    setup_ours = time.perf_counter() - start
    start = time.perf_counter()
    ours, errors = featurize_formulas(formulas, on_error="skip")
    time_ours = time.perf_counter() - start

    start = time.perf_counter()
    matminer_magpie_featurizer()
    setup_matminer = time.perf_counter() - start
    valid = [formulas[i] for i in ours.index[:n_matminer]]
    start = time.perf_counter()
    reference = featurize_with_matminer(valid)
    time_matminer = time.perf_counter() - start

    a = ours.iloc[: len(valid)].to_numpy()
    b = reference.to_numpy()
    same_nan = bool((np.isnan(a) == np.isnan(b)).all())
    max_diff = float(np.nanmax(np.abs(a - b))) if len(valid) else 0.0

    rate_ours = len(formulas) / time_ours
    rate_matminer = len(valid) / time_matminer
    result = {
        "n_formulas": len(formulas),
        "n_invalid": len(errors),
        "n_matminer": len(valid),
        "ours_s": round(time_ours, 3),
        "ours_formulas_per_s": round(rate_ours, 1),
        "ours_setup_s": round(setup_ours, 3),
        "matminer_s": round(time_matminer, 3),
        "matminer_formulas_per_s": round(rate_matminer, 1),
        "matminer_setup_s": round(setup_matminer, 3),
        "ratio": round(rate_ours / rate_matminer, 1),
        "max_abs_difference": max_diff,
        "same_nan_pattern": same_nan,
        "seed": args.seed,
        "target_ratio": 20,
    }
    print(f"formulas: {len(formulas)} MP 2019 cell formulas ({len(errors)} invalid, skipped)")
    print(
        f"ours:     {time_ours:8.3f} s  {rate_ours:10.0f} formulas/s  "
        f"(element table build {setup_ours:.2f} s, once per process)"
    )
    extrapolated = " (rate from this subset)" if len(valid) < len(formulas) else ""
    print(
        f"matminer: {time_matminer:8.3f} s  {rate_matminer:10.0f} formulas/s  on {len(valid)} "
        f"formulas{extrapolated}"
    )
    print(f"ratio:    {rate_ours / rate_matminer:.1f}x   (target >= 20x)")
    print(
        f"max |ours - matminer| over the {len(valid)} formulas: {max_diff:.2e}, "
        f"same NaN pattern: {same_nan}"
    )
    if args.n == 20_000 and args.matminer_n is None and args.seed == 0:  # the recorded run
        result.update(br.run_info())
        br.write_json(args.out, result)
        br.write_record(NAME, record(result), args.record)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
