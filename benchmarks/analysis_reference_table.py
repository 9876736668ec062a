"""Analyse the nine Kang et al. 2023 AIMD series; compare with pymatgen's plain extrapolation.

Writes ``benchmarks/results/analysis_reference_table.json``, its record
``docs/benchmarks/analysis_reference_table.md`` and ``docs/img/analysis_arrhenius.png``.

    .venv/bin/python benchmarks/analysis_reference_table.py
    .venv/bin/python benchmarks/analysis_reference_table.py --record-only  # from the JSON

"Library" columns: pymatgen-analysis-diffusion alone, as the published workflow used it:
``DiffusionAnalyzer.from_dict`` on the authors' file with ``smoothed`` = "constant" (their
stored setting, avg_nsteps=100), "max" (the library default) or False, then
``get_extrapolated_conductivity`` over all four temperatures (mS/cm -> S/cm).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import benchrecord as br

ROOT = Path(__file__).resolve().parents[1]
NAME = "analysis_reference_table"
RESULT = ROOT / "benchmarks" / "results" / f"{NAME}.json"
FIGURE = ROOT / "docs" / "img" / "analysis_arrhenius.png"
IDS = [
    "mp-532413",
    "mp-1222492",
    "mp-676361",
    "mp-29410",
    "mp-1106183",
    "mp-1195055",
    "mp-557892",
    "mp-1222404",
    "mp-19896",
]
TEMPS = (800, 1100, 1400, 1700)


def library_sigmas(folder: Path) -> dict[str, float]:
    """sigma_RT (S/cm) of pymatgen's extrapolation with each smoothing mode."""
    from pymatgen.analysis.diffusion.analyzer import (
        DiffusionAnalyzer,
        get_extrapolated_conductivity,
    )

    out = {}
    for smoothed in ("constant", "max", False):
        ds = []
        for temp in TEMPS:
            raw = json.loads(json.loads((folder / f"{temp}_nteps_100.json").read_text()))
            raw["smoothed"] = smoothed
            analyzer = DiffusionAnalyzer.from_dict(raw)
            ds.append(analyzer.diffusivity)
        sigma = get_extrapolated_conductivity(list(TEMPS), ds, 300, analyzer.structure, "Li")
        out[str(smoothed)] = sigma / 1000
    return out


def measure() -> dict:
    """Analyse the nine series (ours, ours unsmoothed, the library) and plot them."""
    from sse_flows.analysis import analyze_runs, load_runs, plot_arrhenius
    from sse_flows.analysis.verdict import diffusion_verdict
    from sse_flows.settings import get_settings

    aimd = get_settings().RAW_DATA_DIR / "kang2023" / "aimd"
    docs, rows = [], []
    start = time.perf_counter()
    for mid in IDS:
        runs = load_runs([aimd / mid])
        doc = analyze_runs(runs)
        alt = analyze_runs(runs, smoothed=False)  # our pipeline with pymatgen's unsmoothed D
        docs.append(doc)
        rows.append({
            "id": mid, "formula": doc.formula, "n_atoms": doc.n_atoms,
            "temperatures": [{"T": e.T, "li_hops": e.li_hops, "used_in_fit": e.used_in_fit,
                              "framework_stable": e.framework_stable,
                              "diffusive": e.diffusive} for e in doc.temperatures],
            "ea_eV": doc.ea_eV, "ea_err_eV": doc.ea_err_eV,
            "sigma_rt_S_cm": doc.sigma_rt_S_cm, "sigma_rt_low": doc.sigma_rt_low,
            "sigma_rt_high": doc.sigma_rt_high,
            "upper_bound": doc.sigma_rt_S_cm is None, "verdict": diffusion_verdict(doc),
            "unsmoothed": {"sigma_rt_S_cm": alt.sigma_rt_S_cm,
                           "sigma_rt_high": alt.sigma_rt_high},
            "library": library_sigmas(aimd / mid),
        })
    elapsed = time.perf_counter() - start
    plot_arrhenius(docs, FIGURE)
    return {"benchmark": NAME, "date": time.strftime("%Y-%m-%d"),
            "machine": br.machine(), "wall_s": elapsed,
            "data": "Kang et al. 2023 VASP AIMD, 800/1100/1400/1700 K, 60 ps each",
            "rows": rows}


def _sigma(value, high) -> str:
    return br.fmt(value, ".1e") if value is not None else f"< {br.fmt(high, '.1e')}"


def record(result: dict) -> str:
    """The Markdown record of a result (an older one may hold the library columns alone)."""
    fmt = br.fmt
    ours = all("verdict" in r for r in result["rows"])
    main_rows, library_rows = [], []
    for r in result["rows"]:
        lib = r["library"]
        spread = math.log10(max(lib.values())) - math.log10(min(lib.values()))
        library_row = [r["id"], r["formula"], fmt(lib["constant"], ".1e"),
                       fmt(lib["max"], ".1e"), fmt(lib["False"], ".1e"), f"{spread:.1f}"]
        if not ours:
            library_rows.append(library_row)
            continue
        marks = " ".join("F" if t["used_in_fit"] else ("m" if not t["framework_stable"] else "n")
                         for t in r["temperatures"])
        hops = " / ".join(str(t["li_hops"]) for t in r["temperatures"])
        interval = ("upper bound" if r["upper_bound"] else
                    f"[{fmt(r['sigma_rt_low'], '.1e')}, {fmt(r['sigma_rt_high'], '.1e')}]")
        ea = "-" if r["ea_eV"] is None else f"{r['ea_eV']:.2f} +- {r['ea_err_eV']:.2f}"
        sigma = _sigma(r["sigma_rt_S_cm"], r["sigma_rt_high"])
        main_rows.append([r["id"], r["formula"], r["n_atoms"], marks, hops, ea, sigma, interval,
                          r["verdict"]])
        library_rows.append([*library_row, sigma, _sigma(r["unsmoothed"]["sigma_rt_S_cm"],
                                                         r["unsmoothed"]["sigma_rt_high"])])
    facts = {"date": result["date"], "machine": result.get("machine"), "data": result["data"]}
    if "wall_s" in result:
        facts["wall time"] = f"{result['wall_s']:.0f} s"
    body = [br.header(NAME, "The analysis on the nine reference AIMD series", [RESULT], facts)]
    if ours:
        body += [
            "Temperatures: F = in the fit, n = not diffusive, m = host melted / rearranged.",
            "",
            *br.table(["id", "formula", "atoms", "800/1100/1400/1700 K", "Li hops",
                       "Ea (eV)", "sigma_RT (S/cm)", "95 % interval", "verdict"],
                      main_rows),
            "",
        ]
    body += [
        "## pymatgen's extrapolation", "",
        "Library: `DiffusionAnalyzer` on the authors' files with each smoothing mode "
        "(`constant` as stored, `max` the default, none), then "
        "`get_extrapolated_conductivity` over all four temperatures (S/cm)"
        + ("; ours: the analysis, and the analysis with pymatgen's unsmoothed D." if ours
           else "."), "",
        *br.table(["id", "formula", "library constant", "library max", "library none",
                   "spread (decades)"]
                  + (["ours", "ours, unsmoothed D"] if ours else []), library_rows),
    ]
    if ours:
        body += ["", "![Arrhenius plots of the nine materials](../img/analysis_arrhenius.png)"]
    return "\n".join(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return
    result = measure()
    br.write_json(args.out, result)
    print(f"wrote {args.out} and {FIGURE}")
    print(f"wrote {br.write_record(NAME, record(result), args.record)}")


if __name__ == "__main__":
    main()
