"""Universal potentials against the authors' VASP AIMD, with the same analysis code.

For each of the nine Kang et al. (2023) materials and each AIMD temperature asked for, the
potential runs NVT MD in the *same cell* as the AIMD (the DiffusionAnalyzer's structure),
with sse-flows' force-field protocol (relaxation, Langevin equilibration, Bussi
production). Both trajectories go through ``sse_flows.analysis.analyze_runs``; the table
compares D(T) (log10 ratio), the host verdict (stable / melted), and, where both have two
or more fitted temperatures, Ea and sigma_RT.

Resumable: every finished (engine, material, T) run is saved to ``--results`` at once and
skipped on the next start; trajectories live in ``--workdir``.

    python benchmarks/mlip_vs_aimd.py                        # CPU subset (see --help)
    python benchmarks/mlip_vs_aimd.py --engines chgnet,sevennet --materials all \
        --temperatures all --device cuda --production 10000  # all 36 on a GPU
    python benchmarks/mlip_vs_aimd.py --record-only          # rewrite the record

Writes ``benchmarks/results/mlip_vs_aimd.json`` and its record
``docs/benchmarks/mlip_vs_aimd.md`` (``--table-only`` is the old name of
``--record-only``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw" / "kang2023" / "aimd"
NAME = "mlip_vs_aimd"
RESULT = ROOT / "benchmarks" / "results" / f"{NAME}.json"

#: the CPU subset: four materials whose AIMD host is stable at 1400 K
CPU_MATERIALS = ("mp-532413", "mp-1222404", "mp-676361", "mp-1222492")
ALL_MATERIALS = (
    "mp-532413", "mp-676361", "mp-29410", "mp-1106183", "mp-1222492", "mp-19896",
    "mp-1222404", "mp-1195055", "mp-557892",
)
AIMD_TEMPERATURES = (800.0, 1100.0, 1400.0, 1700.0)


def _aimd_runs(material: str):
    from sse_flows.analysis import load_runs

    return {run.temperature_K: run for run in load_runs([RAW / material])}


def _aimd_doc(material: str, temperatures):
    from sse_flows.analysis import analyze_runs

    runs = _aimd_runs(material)
    return analyze_runs([runs[t] for t in temperatures if t in runs], material_id=material)


def _run_one(engine, material, temperature, args) -> dict:
    """One MLIP run in the AIMD cell; returns its per-temperature numbers."""
    from sse_flows.analysis.diffusion import analyze_temperature
    from sse_flows.md.continuation import read_production
    from sse_flows.md.forcefield import load_calculator, md_chunk, relax_for_md
    from sse_flows.md.protocol import MDProtocol, standard_orientation

    aimd = _aimd_runs(material)[temperature]
    cell = aimd.initial_structure
    protocol = MDProtocol(
        temperatures=(temperature,),
        equilibration_steps=args.equilibration,
        production_steps=args.production,
        chunk_steps=args.production,
        min_lattice_length=1.0,  # the AIMD cell as it is
        trajectory_interval=10,
        relax_max_steps=200,
    )
    calculator = load_calculator(engine, args.device)
    start = time.perf_counter()
    supercell, relaxation = relax_for_md(cell, calculator, protocol)
    supercell = standard_orientation(supercell)
    workdir = Path(args.workdir) / engine / material
    chunk = md_chunk(supercell, temperature, protocol, workdir, calculator)
    elapsed = time.perf_counter() - start
    if chunk.error:
        return {"error": chunk.error, "elapsed_s": elapsed}
    run = read_production(chunk)
    entry = analyze_temperature(run)
    steps = protocol.equilibration_steps + chunk.production_steps
    return {
        "n_atoms": len(supercell),
        "D_cm2_s": entry.D_cm2_s,
        "D_err": entry.D_err,
        "li_hops": entry.li_hops,
        "diffusive": entry.diffusive,
        "framework_state": entry.framework.state if entry.framework else None,
        "framework_msd_A2": entry.framework_msd_A2,
        "volume_change": relaxation.volume_change,
        "duration_ps": entry.duration_ps,
        "steps_per_s": steps / chunk.elapsed_s if chunk.elapsed_s else None,
        "elapsed_s": elapsed,
    }


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _fit(points):
    """Ea (eV) and sigma-free Arrhenius fit of D(T) over stable, diffusive points."""
    from sse_flows.analysis.arrhenius import K_B_EV

    pts = [(t, d) for t, d in points if d and d > 0]
    if len(pts) < 2:
        return None
    x = np.array([1 / (K_B_EV * t) for t, _ in pts])
    y = np.log([d for _, d in pts])
    slope = np.polyfit(x, y, 1)[0]
    return float(-slope)


def table(results: dict) -> str:
    """The markdown comparison table (one row per engine, material and temperature)."""
    lines = [
        "| engine | material | T (K) | atoms | D MLIP (cm2/s) | D AIMD (cm2/s) | "
        "log10 ratio | hops MLIP / AIMD | host MLIP / AIMD | agree | steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary: dict[str, dict[str, list]] = {}
    ea_rows = []
    for key in sorted(results, key=lambda k: (k.split("|")[0], k.split("|")[1],
                                               float(k.split("|")[2]))):
        engine, material, temp = key.split("|")
        row = results[key]
        if "error" in row:
            lines.append(f"| {engine} | {material} | {temp} | - | error: {row['error']} |"
                         " | | | | | |")
            continue
        aimd = row["aimd"]
        mlip_stable = row["framework_state"] in ("plateau", "creeping")
        aimd_stable = aimd["framework_state"] in ("plateau", "creeping")
        agree = mlip_stable == aimd_stable and (
            not (mlip_stable and aimd_stable) or row["diffusive"] == aimd["diffusive"]
        )
        ratio = (
            math.log10(row["D_cm2_s"] / aimd["D_cm2_s"])
            if row["D_cm2_s"] > 0 and aimd["D_cm2_s"] > 0 and mlip_stable and aimd_stable
            else None
        )
        stats = summary.setdefault(engine, {"ratio": [], "agree": [], "host": {}, "both": {}})
        stats["agree"].append(agree)
        stats["host"][(material, temp)] = mlip_stable == aimd_stable
        stats["both"][(material, temp)] = agree
        if ratio is not None and aimd["diffusive"]:  # D compared wherever both hosts hold
            stats.setdefault("stable_ratio", {})[(material, temp)] = ratio
        if ratio is not None and row["diffusive"] and aimd["diffusive"]:
            stats["ratio"].append(ratio)
        lines.append(
            f"| {engine} | {aimd['formula']} ({material}) | {float(temp):.0f} | {row['n_atoms']} | "
            f"{row['D_cm2_s']:.2e} | {aimd['D_cm2_s']:.2e} | "
            f"{'-' if ratio is None else f'{ratio:+.2f}'} | {row['li_hops']} / {aimd['li_hops']} | "
            f"{row['framework_state']} / {aimd['framework_state']} | {'yes' if agree else 'NO'} | "
            f"{row['steps_per_s'] or 0:.1f} |"
        )
    by_material: dict[tuple[str, str], list] = {}
    for key, row in results.items():
        engine, material, temp = key.split("|")
        if "error" not in row:
            by_material.setdefault((engine, material), []).append((float(temp), row))
    for (engine, material), rows in sorted(by_material.items()):
        mlip = [(t, r["D_cm2_s"]) for t, r in rows
                if r["diffusive"] and r["framework_state"] in ("plateau", "creeping")]
        aimd = [(t, r["aimd"]["D_cm2_s"]) for t, r in rows
                if r["aimd"]["diffusive"] and r["aimd"]["framework_state"] in ("plateau",
                                                                              "creeping")]
        ea_m, ea_a = _fit(mlip), _fit(aimd)
        if ea_m is not None and ea_a is not None:
            ea_rows.append(f"| {engine} | {material} | {ea_m:.2f} | {ea_a:.2f} | "
                           f"{ea_m - ea_a:+.2f} |")
    out = lines + ["", "| engine | runs | host verdict agrees | host + diffusion verdict agrees | "
                   "mean abs log10 D ratio (both diffusive, both stable) |",
                   "|---|---|---|---|---|"]
    for engine, stats in sorted(summary.items()):
        mean_abs = np.mean(np.abs(stats["ratio"])) if stats["ratio"] else float("nan")
        n = len(stats["agree"])
        out.append(f"| {engine} | {n} | {sum(stats['host'].values())} of {n} | "
                   f"{sum(stats['agree'])} of {n} | {mean_abs:.2f} ({len(stats['ratio'])} runs) |")
    common = set.intersection(*(set(st["host"]) for st in summary.values())) if summary else set()
    if len(summary) > 1 and common:
        where = ", ".join(f"{m} {float(t):.0f} K" for m, t in sorted(common))
        out += ["", f"Paired (the runs every engine finished: {where}):", "",
                "| engine | host verdict agrees | host + diffusion verdict agrees | "
                "mean abs log10 D ratio (both hosts stable, AIMD diffusive) |",
                "|---|---|---|---|"]
        for engine, stats in sorted(summary.items()):
            host = sum(stats["host"][k] for k in common)
            both = sum(stats["both"][k] for k in common)
            ratios = [v for k, v in stats.get("stable_ratio", {}).items() if k in common]
            mean_abs = f"{np.mean(np.abs(ratios)):.2f} ({len(ratios)} runs)" if ratios else "-"
            out.append(f"| {engine} | {host} of {len(common)} | {both} of {len(common)} | "
                       f"{mean_abs} |")
    if ea_rows:
        out += ["", "| engine | material | Ea MLIP (eV) | Ea AIMD (eV) | difference |",
                "|---|---|---|---|---|", *ea_rows]
    return "\n".join(out)


def record(stored: dict, result_path: Path = RESULT) -> str:
    """The Markdown record of a stored result (``{"meta": ..., "runs": ...}``)."""
    meta = stored.get("meta") or {}
    return "\n".join([
        br.header(NAME, "Universal potentials against the authors' AIMD",
                  [result_path], {"date": meta.get("date"),
                                  "machine": meta.get("device"),
                                  "protocol": meta.get("protocol")}),
        "D ratios compare the MLIP with the AIMD where both hosts are stable; \"agree\": the "
        "same host verdict and, where both hosts hold, the same diffusive flag.", "",
        table(stored.get("runs", {})),
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="chgnet", help="chgnet,sevennet")
    parser.add_argument("--materials", default=",".join(CPU_MATERIALS),
                        help="mp ids, comma-separated, or 'all'")
    parser.add_argument("--temperatures", default="1400,1700",
                        help="AIMD temperatures (K) or 'all'")
    parser.add_argument("--equilibration", type=int, default=250)
    parser.add_argument("--production", type=int, default=1250)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "work" / "mlip_vs_aimd"))
    parser.add_argument("--results",
                        default=str(ROOT / "benchmarks" / "results" / "mlip_vs_aimd.json"))
    parser.add_argument("--table-only", action="store_true", help=argparse.SUPPRESS)
    br.add_record_options(parser, NAME)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    results_path = Path(args.results)
    stored = _load(results_path)
    results = stored.get("runs", {})
    meta = stored.get("meta") or {}
    materials = ALL_MATERIALS if args.materials == "all" else tuple(args.materials.split(","))
    temps = (AIMD_TEMPERATURES if args.temperatures == "all"
             else tuple(float(t) for t in args.temperatures.split(",")))
    if not (args.table_only or args.record_only):
        meta = {
            "date": time.strftime("%Y-%m-%d"),
            "device": f"{args.device}, {__import__('os').cpu_count()} cores",
            "protocol": f"relax, {args.equilibration} Langevin + {args.production} Bussi steps "
            "of 2 fs, the AIMD cell",
        }
        from sse_flows.analysis.diffusion import analyze_temperature

        for engine in args.engines.split(","):
            for material in materials:
                aimd_runs = _aimd_runs(material)
                for temp in temps:
                    key = f"{engine}|{material}|{temp:g}"
                    if key in results:
                        continue
                    print(f"{engine} {material} {temp:g} K ...", flush=True)
                    row = _run_one(engine, material, temp, args)
                    entry = analyze_temperature(aimd_runs[temp])
                    row["aimd"] = {
                        "formula": aimd_runs[temp].initial_structure.composition.reduced_formula,
                        "D_cm2_s": entry.D_cm2_s,
                        "li_hops": entry.li_hops,
                        "diffusive": entry.diffusive,
                        "framework_state": entry.framework.state if entry.framework else None,
                    }
                    results[key] = row
                    br.write_json(results_path, {"meta": meta, "runs": results}, sort_keys=True)
                    print(f"  D {row.get('D_cm2_s')} vs AIMD {entry.D_cm2_s:.2e}; host "
                          f"{row.get('framework_state')} vs {row['aimd']['framework_state']}; "
                          f"{row.get('elapsed_s', 0):.0f} s", flush=True)
    if results:
        path = br.write_record(NAME, record({"meta": meta, "runs": results}, results_path),
                               args.record)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
