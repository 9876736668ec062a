"""Accuracy of D on synthetic random walks: pymatgen's default fit window against ours.

    .venv/bin/python benchmarks/analysis_random_walk.py [--seeds 12]
    .venv/bin/python benchmarks/analysis_random_walk.py --record-only   # from the JSON

Each walk: 64 Li on a 2.5 A simple-cubic lattice, hop rate 0.2/ps (exact D = rate a^2/6 =
2.08e-5 cm^2/s), 3000 frames of 100 fs (300 ps, ~3800 hops). Compares D/D_exact per seed
for pymatgen's DiffusionAnalyzer with its default min_obs=30 (fit to the full run length)
and for the analysis stage's D (``analyze_temperature``), how often the exact D lies within
D +- 1.96 D_err, and the wall time of the full per-temperature analysis against one bare
DiffusionAnalyzer. Writes ``benchmarks/results/analysis_random_walk.json`` and its record
``docs/benchmarks/analysis_random_walk.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NAME = "analysis_random_walk"
RESULT = ROOT / "benchmarks" / "results" / f"{NAME}.json"


def measure(n_seeds: int = 12) -> dict:
    """D / D_exact of both estimators, coverage and timing over ``n_seeds`` walks."""
    from sse_flows.analysis.diffusion import analyze_temperature
    from sse_flows.analysis.synthetic import random_walk_run

    seeds = []
    t_lib = t_ours = 0.0
    analyze_temperature(random_walk_run(0.2, n_frames=200, seed=99))  # warm up imports
    for seed in range(n_seeds):
        run = random_walk_run(0.2, n_frames=3000, time_step_fs=100.0, seed=seed)
        exact = run.metadata["true_D_cm2_s"]
        t0 = time.perf_counter()
        d_lib = run.to_diffusion_analyzer("Li", smoothed="max", min_obs=30).diffusivity
        t1 = time.perf_counter()
        entry = analyze_temperature(run)
        t2 = time.perf_counter()
        t_lib += t1 - t0
        t_ours += t2 - t1
        seeds.append({"seed": seed, "library_ratio": d_lib / exact,
                      "ours_ratio": entry.D_cm2_s / exact,
                      "ours_relative_error": entry.D_err / entry.D_cm2_s,
                      "covered": bool(abs(entry.D_cm2_s - exact) <= 1.96 * entry.D_err),
                      "li_hops": entry.li_hops, "true_hops": run.metadata["true_hops"]})
        print(f"seed {seed:2d}: library {d_lib / exact:.3f}  ours {entry.D_cm2_s / exact:.3f}"
              f"  D_err/D {entry.D_err / entry.D_cm2_s:.3f}", flush=True)
    return {"benchmark": NAME, "date": time.strftime("%Y-%m-%d"),
            "machine": br.machine(),
            "walk": "64 Li, 2.5 A simple-cubic lattice, 0.2 hops/ps (exact D 2.08e-5 cm2/s), "
                    "3000 frames of 100 fs",
            "n_seeds": n_seeds, "seeds": seeds,
            "seconds_per_run_library": t_lib / n_seeds, "seconds_per_run_ours": t_ours / n_seeds}


def summary(result: dict) -> list[dict]:
    """Mean, standard deviation and largest deviation of D/D_exact per estimator."""
    out = []
    for key, name in (("library_ratio", "pymatgen default (`min_obs=30`)"),
                      ("ours_ratio", "the analysis (`analyze_temperature`)")):
        ratios = np.array([s[key] for s in result["seeds"]])
        out.append({"estimator": name, "mean": float(ratios.mean()),
                    "std": float(ratios.std()), "max_dev": float(np.abs(ratios - 1).max())})
    return out


def record(result: dict) -> str:
    """The Markdown record of a result."""
    seeds = result["seeds"]
    covered = sum(s["covered"] for s in seeds)
    rel = np.median([s["ours_relative_error"] for s in seeds])
    lib, ours = result["seconds_per_run_library"], result["seconds_per_run_ours"]
    return "\n".join([
        br.header(NAME, "D on synthetic random walks (exact D known)", [RESULT],
                          {"date": result["date"], "machine": result["machine"],
                           "walk": result["walk"], "seeds": result["n_seeds"]}),
        *br.table(["estimator", "mean D/D_exact", "std", "max deviation"],
                  [[r["estimator"], f"{r['mean']:.3f}", f"{r['std']:.3f}",
                    f"{r['max_dev']:.3f}"] for r in summary(result)]),
        "",
        f"- exact D inside D +- 1.96 D_err: {covered} of {len(seeds)} seeds "
        f"(median D_err/D {rel:.3f})",
        f"- time per 3000-frame run: the analysis {ours:.2f} s, one bare "
        f"`DiffusionAnalyzer` {lib:.2f} s",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return
    result = measure(args.seeds)
    br.write_json(args.out, result)
    print(f"wrote {args.out}")
    print(f"wrote {br.write_record(NAME, record(result), args.record)}")


if __name__ == "__main__":
    main()
