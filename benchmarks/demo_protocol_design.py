"""How long must the positive control run for a confident verdict? (the demo's protocol)

Runs CHGNet on the packaged ordered Li10GeP2S12 (8 A cell, 50 atoms) at 600 and 1000 K
for up to ``--ps`` ps of production each (150 equilibration steps), then cuts each run at
1, 2, ... ps and, for every pair of lengths, fits the Arrhenius law with the analysis
stage's own code: D with its error (the larger of the block and He et al. hop-count
estimates), Ea, sigma_RT and the lower end of its 95 % interval. The demo needs that
lower end >= 1e-4 S/cm ("superionic"); the table shows which lengths give it.

Trajectories stay in ``--workdir`` (rerun with the same folder to skip the MD).

    python benchmarks/demo_protocol_design.py            # ~15 min on 2 cores
    python benchmarks/demo_protocol_design.py --record-only   # the record from the JSON

Writes ``benchmarks/results/demo_protocol_design.json`` and its record
``docs/benchmarks/demo_protocol_design.md``.
"""

from __future__ import annotations

import argparse
import glob
import time
import warnings
from pathlib import Path

import benchrecord as br

NAME = "demo_protocol_design"
RESULT = br.RESULTS / f"{NAME}.json"
ROOT = Path(__file__).resolve().parents[1]
TEMPERATURES = (600.0, 1000.0)


def run_md(workdir: Path, ps: float) -> None:
    """CHGNet production of ``ps`` picoseconds at each temperature (fixed length)."""
    from sse_flows.md.forcefield import run_forcefield_md
    from sse_flows.md.protocol import MDProtocol
    from sse_flows.sources.structures import StructureLibrary

    steps = int(round(ps * 500))
    protocol = MDProtocol(
        temperatures=TEMPERATURES, equilibration_steps=150, production_steps=steps,
        chunk_steps=steps, min_lattice_length=8.0, trajectory_interval=5,
        relax_max_steps=150, skip_colder_without_hops=False,
    )
    lgps = StructureLibrary().find(formula="Li10GeP2S12").structure
    start = time.perf_counter()
    run_forcefield_md(lgps, protocol, workdir, engine="chgnet", progress=True)
    print(f"MD: {time.perf_counter() - start:.0f} s")


def table(workdir: Path, ps: float) -> list[dict]:
    """Lower end of the 95 % sigma_RT interval for each pair of run lengths."""
    from sse_flows.analysis import analyze_runs, load_runs

    runs = {}
    for temperature in TEMPERATURES:
        files = sorted(glob.glob(str(workdir / f"production_{temperature:g}K_*.traj")))
        (runs[temperature],) = load_runs(files, temperatures=[temperature] * len(files))
    lengths = [t for t in (1, 2, 3, 4, 5, 6, 8, 10) if t <= ps]

    def cut(run, t_ps):
        return run.slice(0, int(t_ps * 1000 / run.time_step_fs) + 1)

    rows = []
    for cold in lengths:
        for hot in lengths:
            doc = analyze_runs([cut(runs[600.0], cold), cut(runs[1000.0], hot)])
            entry = {e.T: e for e in doc.temperatures}[600.0]
            rows.append({"ps_600K": cold, "ps_1000K": hot, "diffusive_600K": entry.diffusive,
                         "ea_eV": doc.ea_eV, "ea_err_eV": doc.ea_err_eV,
                         "sigma_rt_S_cm": doc.sigma_rt_S_cm, "sigma_rt_low": doc.sigma_rt_low})
    return rows


def record(result: dict, result_path: Path = RESULT) -> str:
    """The Markdown record: for each pair of run lengths, the verdict's lower end."""
    fmt = br.fmt
    rows = []
    for r in result["rows"]:
        low = r["sigma_rt_low"]
        ea = "-" if r["ea_eV"] is None else f"{r['ea_eV']:.2f} +- {r['ea_err_eV']:.2f}"
        rows.append([str(r["ps_600K"]), str(r["ps_1000K"]), str(r["diffusive_600K"]), ea,
                     fmt(r["sigma_rt_S_cm"], ".1e"), fmt(low, ".1e"),
                     "superionic" if low is not None and low >= 1e-4 else "not decided"])
    return "\n".join([
        br.header(NAME, "How long must the positive control run?", [result_path],
                  {"date": result["date"], "machine": result["machine"],
                   "protocol": result["protocol"]}),
        *br.table(["600 K (ps)", "1000 K (ps)", "600 K diffusive", "Ea (eV)",
                   "sigma_RT (S/cm)", "95 % low", "verdict"], rows),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ps", type=float, default=8.0, help="production per temperature")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "work" / "demo_design"))
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, lambda result: record(result, args.out)):
        return
    workdir = Path(args.workdir)
    warnings.simplefilter("ignore")
    if not glob.glob(str(workdir / "production_*K_*.traj")):
        run_md(workdir, args.ps)
    result = {"benchmark": NAME, "date": time.strftime("%Y-%m-%d"),
              "machine": br.machine(),
              "protocol": f"CHGNet, packaged ordered Li10GeP2S12 (8 A cell), 600 and 1000 K, "
                          f"150 equilibration steps, up to {args.ps:g} ps of production each, "
                          "cut at 1, 2, ... ps",
              "rows": table(workdir, args.ps)}
    br.write_json(args.out, result)
    print(f"wrote {args.out} and {br.write_record(NAME, record(result, args.out), args.record)}")


if __name__ == "__main__":
    main()
