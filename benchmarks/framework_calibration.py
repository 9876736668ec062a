"""The framework-stability criterion on the authors' 36 VASP AIMD runs (calibration table).

For each run: the framework elements' drift-corrected MSD at half and at the end of the
60 ps (polyanion ligands moved with their group), the element that decides, the state
(plateau / creeping / melted / rearranged), the verdict, and the largest polyanion
rotation (information only). Writes ``benchmarks/results/framework_calibration.json`` and
its record ``docs/benchmarks/framework_calibration.md``.

    python benchmarks/framework_calibration.py
    python benchmarks/framework_calibration.py --record-only   # the record from the JSON
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import benchrecord as br

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw" / "kang2023" / "aimd"
NAME = "framework_calibration"
RESULT = ROOT / "benchmarks" / "results" / f"{NAME}.json"


def measure() -> dict:
    """The stability verdict of every AIMD run."""
    from sse_flows.analysis import load_runs
    from sse_flows.analysis.stability import _SEVERITY, framework_stability

    rows = []
    start = time.perf_counter()
    for folder in sorted(RAW.iterdir()):
        for run in load_runs([folder]):
            verdict = framework_stability(run)
            worst = max(verdict.species, key=lambda s: (_SEVERITY[s.state], s.msd_end_A2))
            rotation = verdict.rotation
            rows.append({
                "material": folder.name,
                "formula": run.initial_structure.composition.reduced_formula,
                "T": run.temperature_K, "n_atoms": run.n_sites,
                "framework_msd_half_A2": verdict.framework_msd_half_A2,
                "framework_msd_end_A2": verdict.framework_msd_end_A2,
                "deciding_element": worst.element, "element_msd_half_A2": worst.msd_half_A2,
                "element_msd_end_A2": worst.msd_end_A2, "state": verdict.state,
                "stable": verdict.stable,
                "rotation_centre": rotation["centre"] if rotation else None,
                "rotation_max_deg": rotation["max_deg"] if rotation else None,
            })
    return {"benchmark": NAME, "date": time.strftime("%Y-%m-%d"),
            "machine": br.machine(), "wall_s": time.perf_counter() - start,
            "data": "Kang et al. 2023 VASP AIMD, 9 materials x 800/1100/1400/1700 K, 60 ps each",
            "rows": rows}


def record(result: dict) -> str:
    """The Markdown record of a result."""
    rows = [[f"{r['formula']} ({r['material']})", f"{r['T']:.0f}", r["n_atoms"],
             f"{r['framework_msd_half_A2']:.2f} -> {r['framework_msd_end_A2']:.2f}",
             f"{r['deciding_element']}: {r['element_msd_half_A2']:.2f} -> "
             f"{r['element_msd_end_A2']:.2f}",
             r["state"], "stable" if r["stable"] else "**unstable**",
             f"{r['rotation_centre']}: {r['rotation_max_deg']:.0f} deg"
             if r["rotation_centre"] else "-"] for r in result["rows"]]
    unstable = sum(not r["stable"] for r in result["rows"])
    facts = {"date": result["date"], "machine": result.get("machine"), "data": result["data"]}
    if "wall_s" in result:
        facts["wall time"] = f"{result['wall_s']:.0f} s"
    return "\n".join([
        br.header(NAME, "Host-framework stability on the authors' AIMD runs", [RESULT], facts),
        f"{unstable} of {len(result['rows'])} runs unstable (melted or rearranged).", "",
        *br.table(["material", "T (K)", "atoms", "framework MSD half -> end (A^2)",
                   "deciding element: half -> end (A^2)", "state", "verdict",
                   "polyanion rotation (max)"], rows),
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return 0
    result = measure()
    br.write_json(args.out, result)
    print(f"wrote {args.out}")
    print(f"wrote {br.write_record(NAME, record(result), args.record)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
