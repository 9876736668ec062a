"""The batched engine against the one-structure engine on the two controls, full demo protocol.

Runs the positive (Li10GeP2S12) and negative (Li3PO4) controls through
:func:`sse_flows.md.pool.run_pool_md` (the pool-wide mode's engine) and through
:func:`sse_flows.md.forcefield.run_forcefield_md` (the per-material flows' engine) with the
same protocol and seeds, and compares what the ranking reads: the verdict, D(T) per
temperature with its standard error (``z`` = difference over the combined error), Li hops,
Ea and sigma_RT. The two trajectories start identical and part after a few hundred steps
(float32 round-off in a chaotic system), so they agree statistically, not step by step.

Usage::

    .venv/bin/python benchmarks/batched_vs_single_controls.py --engine chgnet

    .venv/bin/python benchmarks/batched_vs_single_controls.py --record-only  # from the JSON

Writes ``benchmarks/results/batched_vs_single_controls_<engine>.json`` and the record
``docs/benchmarks/batched_vs_single_controls.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
import warnings
from pathlib import Path

import benchrecord as br

NAME = "batched_vs_single_controls"
ROOT = Path(__file__).resolve().parents[1]
CONTROLS = ("Li10GeP2S12", "Li3PO4")


def _summary(doc) -> dict:
    from sse_flows.ranking.selection import diffusion_verdict

    d = doc.diffusion
    return {
        "status": doc.status,
        "verdict": diffusion_verdict(d) if d else "failed",
        "sigma_rt_S_cm": d.sigma_rt_S_cm if d else None,
        "sigma_rt_interval": [d.sigma_rt_low, d.sigma_rt_high] if d else None,
        "ea_eV": d.ea_eV if d else None,
        "ea_err_eV": d.ea_err_eV if d else None,
        "temperatures": {f"{t.T:g}": {"D_cm2_s": t.D_cm2_s, "D_err": t.D_err,
                                      "li_hops": t.li_hops, "diffusive": t.diffusive}
                         for t in (d.temperatures if d else [])},
    }


def record(result: dict, result_path: Path) -> str:
    """The Markdown record of a result: per control and engine, what the ranking reads."""
    fmt = br.fmt
    rows = []
    for formula, control in result["controls"].items():
        for key, engine in (("batched", "batched"), ("one_structure", "one-structure")):
            s = control[key]
            low, high = s["sigma_rt_interval"] or (None, None)
            sigma = (f"{s['sigma_rt_S_cm']:.2g} [{fmt(low, '.1e')}, {fmt(high, '.1e')}]"
                     if s["sigma_rt_S_cm"] is not None else f"< {fmt(high, '.3g')}")
            temps = [f"{float(t):g} K: {fmt(v['D_cm2_s'], '.1e')} +- {fmt(v['D_err'], '.1e')} "
                     f"({v['li_hops']} hops)" for t, v in s["temperatures"].items()]
            z = ("; ".join(f"{float(t):g} K: {v:+.2f}" for t, v in control["z_D"].items())
                 if key == "batched" else "")
            rows.append([formula, engine, s["verdict"], sigma,
                         "-" if s["ea_eV"] is None else f"{s['ea_eV']:.2f} +- {s['ea_err_eV']:.2f}",
                         "; ".join(temps), z])
    return "\n".join([
        br.header(NAME, "Batched against one-structure MD on the controls",
                  [result_path],
                  {"date": result["date"],
                   "machine": result.get("machine", f"{result['device']}"),
                   "engine": result["engine"], "protocol": result["protocol"],
                   "wall time": f"batched {result['batched_s']:.0f} s, one-by-one "
                                f"{result['one_by_one_s']:.0f} s (relaxations "
                                "included)"}),
        "z of D: the difference of the two engines' D over their combined standard error.", "",
        *br.table(["control", "engine", "verdict", "sigma_RT (S/cm) [95 % interval]",
                   "Ea (eV)", "D (cm2/s) per temperature", "z of D"], rows),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="chgnet", choices=["chgnet", "sevennet"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="cap the production per temperature (a quick check; default: "
                        "the demo protocol's 2,500)")
    parser.add_argument("--out", type=Path, default=None)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    out = args.out or ROOT / f"benchmarks/results/batched_vs_single_controls_{args.engine}.json"
    if br.record_only(args, NAME, out, lambda result: record(result, out)):
        return

    from sse_flows.md.forcefield import run_forcefield_md
    from sse_flows.md.pool import run_pool_md
    from sse_flows.md.protocol import DEMO_PROTOCOL
    from sse_flows.sources.structures import StructureLibrary

    protocol = DEMO_PROTOCOL
    if args.max_steps:
        protocol = dataclasses.replace(
            protocol, max_production_steps=args.max_steps,
            production_steps=min(protocol.production_steps, args.max_steps),
            chunk_steps=min(protocol.chunk_steps, args.max_steps),
        )
    library = StructureLibrary()
    structures = [library.find(None, formula).structure for formula in CONTROLS]
    result: dict = {"engine": args.engine, "device": args.device,
                    "protocol": protocol.describe(args.engine),
                    "date": time.strftime("%Y-%m-%d"), "machine": br.machine(),
                    "controls": {}}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        pooled = run_pool_md(structures, protocol, Path(tmp) / "pool", labels=CONTROLS,
                             engine=args.engine, device=args.device, progress=True)
        result["batched_s"] = time.perf_counter() - start
        start = time.perf_counter()
        single = [run_forcefield_md(s, protocol, Path(tmp) / f"single_{i}",
                                    engine=args.engine, device=args.device)
                  for i, s in enumerate(structures)]
        result["one_by_one_s"] = time.perf_counter() - start
    for formula, b, s in zip(CONTROLS, pooled, single, strict=True):
        batched, reference = _summary(b), _summary(s)
        z = {}
        for temperature, row in batched["temperatures"].items():
            ref = reference["temperatures"].get(temperature)
            if ref and row["D_err"] and ref["D_err"]:
                z[temperature] = (row["D_cm2_s"] - ref["D_cm2_s"]) / math.hypot(
                    row["D_err"], ref["D_err"])
        result["controls"][formula] = {"batched": batched, "one_structure": reference,
                                       "z_D": z,
                                       "same_verdict": batched["verdict"] == reference["verdict"]}
        print(f"{formula}: verdict batched {batched['verdict']} / one-structure "
              f"{reference['verdict']}; sigma_RT {batched['sigma_rt_S_cm']} / "
              f"{reference['sigma_rt_S_cm']}; z(D) {z}")
    br.write_json(out, result, indent=2)
    print(f"wrote {out} and {br.write_record(NAME, record(result, out), args.record)}")


if __name__ == "__main__":
    main()
