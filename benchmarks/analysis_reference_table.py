"""Analyse the nine Kang et al. 2023 AIMD series; compare with pymatgen's plain extrapolation.

Prints the Markdown tables of docs/analysis.md and writes docs/img/analysis_arrhenius.png.

    .venv/bin/python benchmarks/analysis_reference_table.py

"Library" columns: pymatgen-analysis-diffusion alone, as the published workflow used it:
``DiffusionAnalyzer.from_dict`` on the authors' file with ``smoothed`` = "constant" (their
stored setting, avg_nsteps=100), "max" (the library default) or False, then
``get_extrapolated_conductivity`` over all four temperatures (mS/cm -> S/cm).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer, get_extrapolated_conductivity

from sse_flows.analysis import analyze_runs, load_runs, plot_arrhenius
from sse_flows.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
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


def fmt(x, spec=".1e"):
    return "-" if x is None else format(x, spec)


def main() -> None:
    aimd = get_settings().RAW_DATA_DIR / "kang2023" / "aimd"
    docs, rows, lib_rows = [], [], []
    t0 = time.perf_counter()
    for mid in IDS:
        runs = load_runs([aimd / mid])
        doc = analyze_runs(runs)
        alt = analyze_runs(runs, smoothed=False)  # our pipeline with the unsmoothed estimator
        docs.append(doc)
        hops = " / ".join(str(e.li_hops) for e in doc.temperatures)
        marks = " ".join(
            "F" if e.used_in_fit else ("m" if not e.framework_stable else "n")
            for e in doc.temperatures
        )
        if doc.sigma_rt_S_cm is not None:
            sigma = fmt(doc.sigma_rt_S_cm)
            interval = f"[{fmt(doc.sigma_rt_low)}, {fmt(doc.sigma_rt_high)}]"
        else:
            sigma, interval = f"< {fmt(doc.sigma_rt_high)}", "upper bound"
        ea = "-" if doc.ea_eV is None else f"{doc.ea_eV:.2f} +- {doc.ea_err_eV:.2f}"
        verdict = {True: "yes", False: "no", None: "undecided"}[doc.superionic]
        rows.append(
            f"| {mid} | {doc.formula} | {doc.n_atoms} | {marks} | {hops} | {ea} | {sigma} | "
            f"{interval} | {verdict} |"
        )
        lib = library_sigmas(aimd / mid)
        spread = np.log10(max(lib.values())) - np.log10(min(lib.values()))
        ours_alt = fmt(alt.sigma_rt_S_cm) if alt.sigma_rt_S_cm else f"< {fmt(alt.sigma_rt_high)}"
        lib_rows.append(
            f"| {mid} | {fmt(lib['constant'])} | {fmt(lib['max'])} | {fmt(lib['False'])} | "
            f"{spread:.1f} | {sigma} | {ours_alt} |"
        )
    elapsed = time.perf_counter() - t0
    print(
        "| id | formula | atoms | 800/1100/1400/1700 K | Li hops | Ea (eV) | sigma_RT (S/cm) "
        "| 95 % interval | superionic |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(
        "| id | library 'constant' | library 'max' | library none | spread (decades) "
        "| ours | ours, unsmoothed D |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(lib_rows))
    print(f"\nnine materials (36 files, x2 analyses + library) in {elapsed:.1f} s")
    out = ROOT / "docs" / "img" / "analysis_arrhenius.png"
    plot_arrhenius(docs, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
