"""The MSD estimator against the known answers: synthetic random walks and the authors' AIMD.

Three measurements, each of the estimator the analysis uses (GLS on the all-origin MSD with
kinisi's covariance, :mod:`sse_flows.analysis.msd_regression`) beside the earlier one
(pymatgen's DiffusionAnalyzer with the larger of the block and He et al. errors):

1. **Synthetic random walks** (exact D): bias, root-mean-square error and stated error
   over seeds, for short (3 ps, ~40 hops) and long (300 ps) runs; z = (D - D_true) / err
   should have unit spread.
2. **Halves of the authors' AIMD runs** (no exact D): D from the first and the second half
   of every stable-host diffusive run; z = (D1 - D2) / sqrt(err1^2 + err2^2) has unit root
   mean square for honest errors. This calibrates ``gls_error_inflation``.
3. **The 36 AIMD runs, old against new**: per material, sigma_RT and its 95 % interval from
   the earlier analysis (pymatgen D, weighted least squares) and from the current one (GLS
   D, sampled Arrhenius posterior), and the verdicts.

Writes ``benchmarks/results/msd_estimator.json`` and ``docs/benchmarks/msd_estimator.md``.

    python benchmarks/msd_estimator.py          # ~5 min on 2 cores
    python benchmarks/msd_estimator.py --record-only   # the record from the JSON
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import time
import warnings
from dataclasses import replace
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
AIMD = ROOT.parent / "shared" / "data" / "raw" / "kang2023" / "aimd"


def _li_displacements(run) -> np.ndarray:
    analyzer = run.to_diffusion_analyzer("Li", smoothed=False)
    return np.asarray(analyzer.corrected_displacements)[run.indices("Li")]


def synthetic(seeds: int) -> list[dict]:
    """Bias, error and z spread of both estimators on random walks of known D."""
    from sse_flows.analysis.diffusion import DiffusionSettings, analyze_temperature
    from sse_flows.analysis.synthetic import random_walk_run

    cases = [
        ("3 ps, 27 Li, 0.5 hops/ps", dict(hop_rate_per_ps=0.5, n_frames=300, time_step_fs=10.0,
                                          n_cells=3)),
        ("300 ps, 64 Li, 0.2 hops/ps", dict(hop_rate_per_ps=0.2, n_frames=3000,
                                            time_step_fs=100.0)),
    ]
    rows = []
    for label, kwargs in cases:
        for estimator in ("gls", "pymatgen"):
            settings = DiffusionSettings(estimator=estimator)
            rel, stated, z = [], [], []
            for seed in range(seeds):
                run = random_walk_run(seed=seed, **kwargs)
                true = run.metadata["true_D_cm2_s"]
                entry = analyze_temperature(run, settings)
                err = entry.D_err / (settings.gls_error_inflation if estimator == "gls" else 1)
                rel.append((entry.D_cm2_s - true) / true)
                stated.append(err / true)
                z.append((entry.D_cm2_s - true) / err)
            rows.append({
                "case": label, "estimator": estimator, "seeds": seeds,
                "bias": float(np.mean(rel)), "rms_error": float(np.sqrt(np.mean(np.square(rel)))),
                "stated_error": float(np.mean(stated)), "z_sd": float(np.std(z)),
                "note": "gls: kinisi's posterior sd, before the inflation" if estimator == "gls"
                else "pymatgen: the larger of the block and He et al. errors",
            })
            print(rows[-1], flush=True)
    return rows


def aimd_halves() -> dict:
    """z of the two halves of every stable-host diffusive AIMD run, for both estimators."""
    from sse_flows.analysis import load_runs
    from sse_flows.analysis.diffusion import DiffusionSettings, analyze_temperature

    out: dict = {"runs": []}
    for folder in sorted(glob.glob(str(AIMD / "mp-*"))):
        for run in load_runs(sorted(glob.glob(folder + "/*.json"))):
            whole = analyze_temperature(run)
            if not (whole.framework_stable and whole.diffusive):
                continue
            half = run.n_frames // 2
            row = {"material": Path(folder).name, "T": run.temperature_K}
            for estimator in ("gls", "pymatgen"):
                settings = DiffusionSettings(estimator=estimator)
                first, second = (analyze_temperature(part, settings)
                                 for part in (run.slice(0, half), run.slice(half, run.n_frames)))
                scale = settings.gls_error_inflation if estimator == "gls" else 1.0
                row[f"z_{estimator}_raw"] = (first.D_cm2_s - second.D_cm2_s) / math.hypot(
                    first.D_err / scale, second.D_err / scale)
            out["runs"].append(row)
    for key in ("z_gls_raw", "z_pymatgen_raw"):
        values = np.array([r[key] for r in out["runs"]])
        out[f"{key}_rms"] = float(np.sqrt(np.mean(values**2)))
    out["n"] = len(out["runs"])
    out["z_gls_inflated_rms"] = out["z_gls_raw_rms"] / _inflation()
    print({k: v for k, v in out.items() if k != "runs"}, flush=True)
    return out


def _inflation() -> float:
    from sse_flows.analysis.diffusion import DiffusionSettings

    return DiffusionSettings().gls_error_inflation


def _old_interval(doc) -> tuple[float | None, float | None, float | None]:
    """sigma_RT and its 95 % interval as the earlier analysis gave them (weighted least
    squares of the pymatgen D's, normal in ln D)."""
    from sse_flows.analysis.arrhenius import fit_arrhenius_weighted

    fitted = [t for t in doc.temperatures if t.used_in_fit]
    if len(fitted) < 2:
        return None, None, None
    fit = fit_arrhenius_weighted([t.T for t in fitted], [t.D_cm2_s for t in fitted],
                                 [t.D_err for t in fitted])
    if fit.ea_eV <= 0:
        return None, None, None
    return fit.diffusivity(300.0)


def aimd_series() -> list[dict]:
    """Old and new sigma_RT intervals and verdicts of the nine AIMD materials."""
    from sse_flows.analysis import analyze_runs, load_runs
    from sse_flows.analysis.arrhenius import conductivity_S_cm
    from sse_flows.analysis.diffusion import DiffusionSettings
    from sse_flows.analysis.verdict import diffusion_verdict, verdict

    rows = []
    for folder in sorted(glob.glob(str(AIMD / "mp-*"))):
        runs = load_runs(sorted(glob.glob(folder + "/*.json")))
        new = analyze_runs(runs)
        old = analyze_runs(runs, settings=replace(DiffusionSettings(), estimator="pymatgen"))
        structure = max(runs, key=lambda r: r.n_sites).initial_structure
        d, low, high = _old_interval(old)
        old_sigma = [None if x is None else conductivity_S_cm(x, structure) for x in (d, low, high)]
        if d is None:  # no fit: the earlier analysis gave the same kind of upper bound
            old_sigma[2] = old.sigma_rt_high
        old_verdict = verdict(*old_sigma, any(t.diffusive for t in old.temperatures
                                              if t.framework_stable))
        rows.append({
            "material": Path(folder).name, "formula": new.formula,
            "n_fit_new": new.n_fit, "n_fit_old": old.n_fit,
            "old": {"sigma_rt": old_sigma[0], "low": old_sigma[1], "high": old_sigma[2],
                    "ea_eV": old.ea_eV, "verdict": old_verdict},
            "new": {"sigma_rt": new.sigma_rt_S_cm, "low": new.sigma_rt_low,
                    "high": new.sigma_rt_high, "ea_eV": new.ea_eV, "ea_err_eV": new.ea_err_eV,
                    "p_superionic_md": new.p_superionic_md, "verdict": diffusion_verdict(new)},
        })
        print(rows[-1]["material"], rows[-1]["old"]["verdict"], "->",
              rows[-1]["new"]["verdict"], flush=True)
    return rows


def _decades(low, high) -> str:
    return "-" if not low or not high else f"{math.log10(high / low):.1f}"


def _sci(x) -> str:
    return "-" if x is None else f"{x:.1e}"


def record(result: dict) -> str:
    """The text of the Markdown record (docs/benchmarks/msd_estimator.md)."""
    lines = [
        "# The MSD estimator against known answers",
        "",
        "Generated by `benchmarks/msd_estimator.py` from `benchmarks/results/msd_estimator.json` "
        "(`python benchmarks/msd_estimator.py --record-only` rewrites it from the JSON).",
        "",
        f"- date: {result['date']}; machine: {br.machine_text(result['machine'])}; "
        f"wall {result['wall_s']:.0f} s",
        "",
        "## Synthetic random walks (exact D)",
        "",
        "| run | estimator | seeds | bias | rms error | stated error | sd of z |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["synthetic"]:
        lines.append(f"| {r['case']} | {r['estimator']} | {r['seeds']} | {r['bias']:+.3f} | "
                     f"{r['rms_error']:.3f} | {r['stated_error']:.3f} | {r['z_sd']:.2f} |")
    h = result["aimd_halves"]
    lines += [
        "",
        "GLS errors are kinisi's posterior standard deviations (before the inflation);",
        "pymatgen's are the larger of the block and He et al. estimates.",
        "",
        "## Halves of the authors' AIMD runs (stable host, diffusive)",
        "",
        f"{h['n']} runs. Root mean square of z = (D1 - D2) / sqrt(err1^2 + err2^2) (1 = honest):",
        "",
        "| errors | rms z |",
        "|---|---|",
        f"| GLS, kinisi's posterior | {h['z_gls_raw_rms']:.2f} |",
        f"| GLS x {result['gls_error_inflation']} (the analysis) | {h['z_gls_inflated_rms']:.2f} |",
        f"| pymatgen, block / He et al. | {h['z_pymatgen_raw_rms']:.2f} |",
        "",
        "## The nine AIMD materials: sigma_RT (S/cm) and its 95 % interval, old and new",
        "",
        "| material | formula | old: sigma [interval] (decades) | verdict | new: sigma [interval] "
        "(decades) | Ea (eV) | P(superionic) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["aimd_series"]:
        o, n = r["old"], r["new"]
        ea = "-" if n["ea_eV"] is None else f"{n['ea_eV']:.2f} +- {n['ea_err_eV']:.2f}"
        p = "-" if n["p_superionic_md"] is None else f"{n['p_superionic_md']:.2f}"
        lines.append(
            f"| {r['material']} | {r['formula']} | {_sci(o['sigma_rt'])} [{_sci(o['low'])}, "
            f"{_sci(o['high'])}] ({_decades(o['low'], o['high'])}) | {o['verdict']} | "
            f"{_sci(n['sigma_rt'])} [{_sci(n['low'])}, {_sci(n['high'])}] "
            f"({_decades(n['low'], n['high'])}) | {ea} | {p} | {n['verdict']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--series-only", action="store_true",
                        help="recompute only the nine-material table; keep the rest of --out")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/msd_estimator.json")
    br.add_record_options(parser, "msd_estimator")
    args = parser.parse_args()
    if br.record_only(args, "msd_estimator", args.out, record):
        return
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    if args.series_only:
        result = json.loads(args.out.read_text())
        result["aimd_series"] = aimd_series()
        args.out.write_text(json.dumps(result, indent=2))
        br.write_record("msd_estimator", record(result), args.record)
        print(f"wrote {args.out} and {args.record}")
        return
    result = {
        "benchmark": "msd_estimator",
        "date": time.strftime("%Y-%m-%d"),
        "machine": br.machine(),
        "gls_error_inflation": _inflation(),
        "synthetic": synthetic(args.seeds),
        "aimd_halves": aimd_halves(),
        "aimd_series": aimd_series(),
    }
    result["wall_s"] = time.perf_counter() - start
    args.out.write_text(json.dumps(result, indent=2))
    br.write_record("msd_estimator", record(result), args.record)
    print(f"wrote {args.out} and {args.record}")


if __name__ == "__main__":
    main()
