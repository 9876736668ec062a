"""Accuracy of D on synthetic random walks: pymatgen's default fit window against ours.

    .venv/bin/python benchmarks/analysis_random_walk.py [n_seeds]

Each walk: 64 Li on a 2.5 A simple-cubic lattice, hop rate 0.2/ps (exact D = rate a^2/6 =
2.08e-5 cm^2/s), 3000 frames of 100 fs (300 ps, ~3800 hops). Prints D/D_exact per seed for
pymatgen's DiffusionAnalyzer with its default min_obs=30 (fit to the full run length) and
with our min_obs = 5 N_Li (fit to 1/5 of the run), plus the wall time of our full
per-temperature analysis relative to one bare DiffusionAnalyzer.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from sse_flows.analysis.diffusion import analyze_temperature
from sse_flows.analysis.synthetic import random_walk_run


def main(n_seeds: int = 12) -> None:
    library, ours, coverage = [], [], []
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
        library.append(d_lib / exact)
        ours.append(entry.D_cm2_s / exact)
        coverage.append(abs(entry.D_cm2_s - exact) <= 1.96 * entry.D_err)
        print(
            f"seed {seed:2d}: library {d_lib / exact:.3f}  ours {entry.D_cm2_s / exact:.3f}  "
            f"D_err/D {entry.D_err / entry.D_cm2_s:.3f}  hops {entry.li_hops} "
            f"(exact {run.metadata['true_hops']})"
        )
    library, ours = np.array(library), np.array(ours)
    print(
        f"library min_obs=30 : mean {library.mean():.3f}  std {library.std():.3f}  "
        f"max |dev| {np.abs(library - 1).max():.3f}"
    )
    print(
        f"ours min_obs=5 N_Li: mean {ours.mean():.3f}  std {ours.std():.3f}  "
        f"max |dev| {np.abs(ours - 1).max():.3f}"
    )
    print(f"exact D inside D +- 1.96 D_err: {np.mean(coverage):.0%} of seeds")
    print(
        f"time: bare DiffusionAnalyzer {t_lib / n_seeds:.2f} s, full analysis "
        f"{t_ours / n_seeds:.2f} s per run (ratio {t_ours / t_lib:.1f}; it runs 7 analyzers: "
        "D, the long MSD and 5 blocks, plus the hop count)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
