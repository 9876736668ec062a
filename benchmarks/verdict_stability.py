"""Do the MD verdicts of the two controls reproduce? The demo's protocol, N independent seeds.

Runs the positive (Li10GeP2S12) and negative (Li3PO4) controls through the one-structure
force-field engine (:func:`sse_flows.md.forcefield.run_forcefield_md`, what the demo's MD
jobs run) with the demo's protocol and seeds 0..N-1 (the seed sets the initial velocities
and the stochastic thermostats; the relaxation before the MD is deterministic), ``--jobs``
runs side by side (one torch thread each). For every run it stores the verdict, sigma_RT
with its interval, Ea, the MD's probability of being superionic and each temperature's D,
error, hops and length; the summary gives, per control, the share of each verdict, the
spread of log10 sigma_RT and of Ea, and the wall time, against the targets:

* Li10GeP2S12 superionic in >= 90 % of seeds, sd of log10 sigma_RT <= 0.5 decade, median
  Ea within 0.1 eV of 0.22 eV (Kamaya 2011 measure 0.22-0.25 eV; AIMD 0.21 eV, Mo 2012);
* Li3PO4 not superionic (or no diffusion) in 100 % of seeds.

Trajectories stay in ``--workdir``; ``--reanalyze`` recomputes every stored run's document
from its trajectories with the current analysis (no MD). Writes
``benchmarks/results/verdict_stability_<engine>.json`` and the record
``docs/benchmarks/verdict_stability.md``.

    python benchmarks/verdict_stability.py --seeds 5 --jobs 2     # 2 CPU cores
    python benchmarks/verdict_stability.py --seeds 5 --first-seed 3 --keep   # add seeds 3, 4
    python benchmarks/verdict_stability.py --record-only   # the record from the JSON
    python benchmarks/verdict_stability.py --seeds 8 --max-steps 3000 \
        --out benchmarks/results/verdict_stability_chgnet_max3000.json --record /tmp/v.md
        # another protocol on the same seeds: the main record shows it as a paired section
        # (``verdict_stability_<engine>_<name>.json`` beside the main results file)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import benchrecord as br

ROOT = Path(__file__).resolve().parents[1]
CONTROLS = {"Li10GeP2S12": "positive_control", "Li3PO4": "negative_control"}
TARGETS = {
    "positive_superionic_share": 0.9,
    "negative_not_superionic_share": 1.0,
    "positive_log10_sigma_sd": 0.5,
    "positive_ea_eV": 0.22,
    "positive_ea_tolerance_eV": 0.1,
}


def _protocol(args, seed: int):
    from sse_flows.md.protocol import DEMO_PROTOCOL

    changes = {"seed": seed}
    if args.temperatures:
        changes["temperatures"] = tuple(float(t) for t in args.temperatures.split(","))
        changes["fallback_temperatures"] = tuple(
            t for t in DEMO_PROTOCOL.fallback_temperatures if t not in changes["temperatures"]
        )
    for name in ("production_steps", "max_production_steps", "target_d_relative_error",
                 "equilibration_steps", "chunk_steps"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    return dataclasses.replace(DEMO_PROTOCOL, **changes)


def _summary(doc, wall_s: float | None) -> dict:
    """What the ranking reads from one MD document."""
    from sse_flows.ranking.selection import diffusion_verdict

    d = doc.diffusion
    return {
        "status": doc.status,
        "verdict": diffusion_verdict(d) if d else "failed",
        "sigma_rt_S_cm": d.sigma_rt_S_cm if d else None,
        "sigma_rt_low": d.sigma_rt_low if d else None,
        "sigma_rt_high": d.sigma_rt_high if d else None,
        "ea_eV": d.ea_eV if d else None,
        "ea_err_eV": d.ea_err_eV if d else None,
        "p_superionic_md": d.p_superionic_md if d else None,
        "n_fit": d.n_fit if d else 0,
        "wall_s": wall_s,
        "temperatures": {
            f"{t.T:g}": {"D_cm2_s": t.D_cm2_s, "D_err": t.D_err, "D_hop_cm2_s": t.D_hop_cm2_s,
                         "D_pymatgen_cm2_s": t.D_pymatgen_cm2_s, "li_hops": t.li_hops,
                         "ps": t.duration_ps, "diffusive": t.diffusive,
                         "used_in_fit": t.used_in_fit, "msd_exponent": t.msd_exponent}
            for t in (d.temperatures if d else [])
        },
    }


def _run_one(task: tuple) -> tuple[str, int, dict]:
    """One control at one seed, in a worker process with one torch thread."""
    formula, seed, args = task
    import torch

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    from sse_flows.md.forcefield import run_forcefield_md
    from sse_flows.sources.structures import StructureLibrary

    structure = StructureLibrary().find(None, formula).structure
    workdir = Path(args.workdir) / formula / f"seed{seed}"
    start = time.perf_counter()
    doc = run_forcefield_md(structure, _protocol(args, seed), workdir, engine=args.engine)
    wall = time.perf_counter() - start
    (workdir / "md_run_doc.json").write_text(doc.model_dump_json())
    return formula, seed, _summary(doc, wall)


def _results_path(args) -> Path:
    return args.out or ROOT / f"benchmarks/results/verdict_stability_{args.engine}.json"


def _unused_fallback(old_fields: dict | None, fields: dict) -> set[float] | None:
    """The old fallback temperatures when the protocols differ in those alone, else None
    (also when the results file records no protocol).

    A fallback temperature runs only after the protocol temperatures left no Arrhenius fit
    (``fallback_needed``), so a seed that ran none of the old ones made the same runs as it
    would under the new ones: it can be kept.
    """
    if old_fields is None:
        return None
    changed = {k for k in old_fields.keys() | fields.keys() if old_fields.get(k) != fields.get(k)}
    if changed != {"fallback_temperatures"}:
        return None
    return {float(t) for t in old_fields["fallback_temperatures"]}


def _kept_runs(args, controls: list[str], rerun: set[tuple[str, str]]) -> tuple[dict, dict]:
    """The runs of the results file that this run keeps, and the record's note on them.

    Refused when the results file's protocol is not this run's, except for a change of the
    fallback temperatures alone: then the seeds that ran an old fallback temperature are
    dropped (they must be run again) and the others kept (:func:`_unused_fallback`).
    ``rerun`` holds the (control, seed) runs this invocation makes again.
    """
    path = _results_path(args)
    old = json.loads(path.read_text()) if path.exists() else {}
    fields = {k: v for k, v in _protocol(args, 0).as_dict().items() if k != "seed"}
    note: dict[str, str] = {}
    unused: set[float] = set()
    if old and old.get("protocol_fields") != fields:
        unused = _unused_fallback(old.get("protocol_fields"), fields)
        if unused is None:
            raise SystemExit(f"--keep: {path} was made with another protocol; rerun all seeds")
        note["kept_protocol_note"] = (
            "made with the fallback temperature(s) "
            f"{'/'.join(f'{t:g}' for t in sorted(unused))} K, which they did not run (a "
            "fallback runs only when the protocol temperatures leave no Arrhenius fit), so "
            "they are the runs of this protocol; the seeds that ran one were run again")
    kept: dict[str, dict[str, dict]] = {c: {} for c in controls}
    for control, rows in old.get("runs", {}).items():
        kept[control] = {
            seed: row for seed, row in rows.items()
            if (control, seed) not in rerun and not unused & set(map(float, row["temperatures"]))
        }
    listed = "; ".join(f"{c} {', '.join(sorted(rows, key=int))}"
                       for c, rows in kept.items() if rows)
    if listed:
        note["kept_seeds"] = listed
        note["kept_load_average"] = old.get("kept_load_average") or old.get("load_average")
    return kept, note


def _reanalyze(workdir: Path) -> tuple[str, int, dict]:
    """Rebuild a stored run's document from its trajectories with the current code.

    The production records are read back from the stored document and go through
    :func:`sse_flows.md.documents.make_md_run_doc`, the builder the MD jobs use (the
    settled-temperature window, the checks, the analysis), so a reanalysis of unchanged
    code gives the stored numbers.
    """
    from pymatgen.core import Structure

    from sse_flows.md.documents import make_md_run_doc
    from sse_flows.md.protocol import MDProtocol
    from sse_flows.md.schemas import MDRunDoc, ProductionRecord

    doc = MDRunDoc.model_validate_json((workdir / "md_run_doc.json").read_text())
    protocol = MDProtocol.from_dict(doc.provenance.parameters["protocol"])
    stored = {run.temperature: run for run in doc.runs}
    records = []
    for temperature in protocol.run_temperatures:
        run = stored.get(temperature)
        records.append(None if run is None else ProductionRecord(
            temperature=temperature, files=run.trajectory_files,
            equilibration_steps=run.equilibration_steps,
            production_steps=run.production_steps, stop_reason=run.stop_reason,
            equilibrated=run.equilibrated, elapsed_s=run.elapsed_s or 0.0,
            error="; ".join(run.reasons) if run.status == "failed" and not run.trajectory_files
            else None,
        ))
    supercell = Structure.from_dict(doc.structure)
    rebuilt = make_md_run_doc(doc.engine, supercell, supercell, records, protocol,
                              material_id=doc.material_id, relaxation=doc.relaxation)
    return workdir.parent.name, int(workdir.name[4:]), _summary(rebuilt, None)


def _walls_from_log(path: Path) -> dict[tuple[str, int], float]:
    """(formula, seed) -> wall time (s) from the lines this script prints per finished run."""
    import re

    pattern = re.compile(r"^(\S+) seed (\d+): .*, (\d+) s$")
    walls = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = pattern.match(line.strip())
        if match:
            walls[(match.group(1), int(match.group(2)))] = float(match.group(3))
    return walls


def _control_summary(formula: str, rows: list[dict]) -> dict:
    """Verdict shares and spreads of one control over its seeds."""
    verdicts = [r["verdict"] for r in rows]
    shares = {v: verdicts.count(v) / len(verdicts) for v in sorted(set(verdicts))}
    logs = [math.log10(r["sigma_rt_S_cm"]) for r in rows if r["sigma_rt_S_cm"]]
    eas = [r["ea_eV"] for r in rows if r["ea_eV"] is not None]
    walls = [r["wall_s"] for r in rows if r["wall_s"]]
    return {
        "role": CONTROLS[formula],
        "seeds": len(rows),
        "verdict_shares": shares,
        "log10_sigma_rt_median": statistics.median(logs) if logs else None,
        "log10_sigma_rt_sd": statistics.stdev(logs) if len(logs) > 1 else None,
        "ea_median_eV": statistics.median(eas) if eas else None,
        "ea_sd_eV": statistics.stdev(eas) if len(eas) > 1 else None,
        "wall_s_median": statistics.median(walls) if walls else None,
        "wall_s_total": sum(walls) if walls else None,
    }


def _targets(summary: dict) -> dict:
    """Each target and whether it is met."""
    pos, neg = summary.get("Li10GeP2S12"), summary.get("Li3PO4")
    out = {}
    if pos:
        share = pos["verdict_shares"].get("superionic", 0.0)
        out["LGPS superionic share >= 0.9"] = [share, share >= TARGETS["positive_superionic_share"]]
        sd = pos["log10_sigma_rt_sd"]
        out["LGPS sd log10 sigma_RT <= 0.5"] = [sd, sd is not None and sd <= 0.5]
        ea = pos["ea_median_eV"]
        out["LGPS median Ea within 0.1 eV of 0.22"] = [
            ea, ea is not None and abs(ea - TARGETS["positive_ea_eV"]) <= 0.1]
    if neg:
        share = sum(neg["verdict_shares"].get(v, 0.0) for v in ("not superionic", "no diffusion"))
        out["Li3PO4 not superionic share == 1"] = [share, share >= 1.0]
    return out


def _fmt(value, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def record(result: dict) -> str:
    """The text of the Markdown record of the run (docs/benchmarks/verdict_stability.md)."""
    lines = [
        "# Verdict stability of the MD controls",
        "",
        "Generated by `benchmarks/verdict_stability.py` from "
        f"`benchmarks/results/{result['results_file']}` (`python benchmarks/verdict_stability.py "
        "--record-only` rewrites it from the JSON).",
        "",
        f"- date: {result['date']}; machine: {br.machine_text(result['machine'])}",
        f"- engine: {result['engine']}; protocol: {result['protocol']}",
        f"- seeds per control: {result['n_seeds']}; runs side by side: {result['jobs']} "
        f"({result['threads']} torch thread(s) each); "
        + ("analysis recomputed from the stored trajectories (`--reanalyze`); MD wall "
           "times from the run that made them" if result.get("reanalyzed")
           else f"wall time {result['wall_s']:.0f} s")
        + (f"; seeds {result['kept_seeds']} kept from earlier runs "
           + (result["kept_protocol_note"] if result.get("kept_protocol_note")
              else "of the same protocol")
           + f" (load average during the first of them: {result['kept_load_average']})"
           if result.get("kept_seeds") else ""),
        "- wall times are per run with one torch thread, while other jobs shared the 2 "
        "cores when the load average says so: "
        f"{result.get('load_average', '-')}",
        "",
        "| control | seeds | verdicts | median log10 sigma_RT | sd | median Ea (eV) | sd Ea "
        "| median wall (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for formula, s in result["summary"].items():
        shares = ", ".join(f"{v} {share:.0%}" for v, share in s["verdict_shares"].items())

        lines.append(
            f"| {formula} | {s['seeds']} | {shares} | {_fmt(s['log10_sigma_rt_median'])} | "
            f"{_fmt(s['log10_sigma_rt_sd'])} | {_fmt(s['ea_median_eV'])} | {_fmt(s['ea_sd_eV'])} "
            f"| {_fmt(s['wall_s_median'], '.0f')} |"
        )
    lines += ["", "| target | value | met |", "|---|---|---|"]
    for name, (value, met) in result["targets"].items():
        shown = "-" if value is None else f"{value:.2f}"
        lines.append(f"| {name} | {shown} | {'yes' if met else 'no'} |")
    lines += ["", "Per seed:", "", "| control | seed | verdict | sigma_RT [95 %] | Ea | "
              "P(superionic) | T: ps, hops, D +- err |", "|---|---|---|---|---|---|---|"]
    for formula, rows in result["runs"].items():
        for seed, r in sorted(rows.items(), key=lambda kv: int(kv[0])):
            sigma = ("-" if r["sigma_rt_S_cm"] is None else
                     f"{r['sigma_rt_S_cm']:.1e} [{r['sigma_rt_low']:.1e}, "
                     f"{r['sigma_rt_high']:.1e}]")
            if r["sigma_rt_S_cm"] is None and r["sigma_rt_high"] is not None:
                sigma = f"<= {r['sigma_rt_high']:.1e}"
            temps = "; ".join(
                f"{t} K: {v['ps']:.1f} ps, {v['li_hops']}, {v['D_cm2_s']:.1e} +- "
                f"{v['D_err']:.0e}{'' if v['used_in_fit'] else ' (not fitted)'}"
                for t, v in r["temperatures"].items())
            ea = "-" if r["ea_eV"] is None else f"{r['ea_eV']:.2f} +- {r['ea_err_eV']:.2f}"
            p = "-" if r["p_superionic_md"] is None else f"{r['p_superionic_md']:.2f}"
            lines.append(f"| {formula} | {seed} | {r['verdict']} | {sigma} | {ea} | {p} | "
                         f"{temps} |")
    for variant in _variants(result):
        lines += _paired_section(result, variant)
    return "\n".join(lines)


def _variants(result: dict) -> list[dict]:
    """The results of other protocols run on the same seeds, beside this results file
    (``verdict_stability_<engine>_<name>.json``, written with ``--out``)."""
    main = ROOT / "benchmarks" / "results" / result["results_file"]
    paths = sorted(main.parent.glob(f"{main.stem}_*.json"))
    return [json.loads(path.read_text()) for path in paths]


def _paired_section(result: dict, variant: dict) -> list[str]:
    """The variant protocol beside this one, seed by seed (same seed: same start)."""
    lines = [
        "", f"## Paired: {variant['protocol']}", "",
        f"- source: `benchmarks/results/{variant['results_file']}`; date: {variant['date']}; "
        f"machine: {br.machine_text(variant['machine'])}; wall time {variant['wall_s']:.0f} s "
        f"for {variant['n_seeds']} seed(s), {variant['jobs']} side by side",
        "- a seed starts from the same velocities in both; where the protocols differ only "
        "in production length, the variant's runs extend this record's trajectories",
        "- targets under the variant: " + "; ".join(
            f"{name}: {_fmt(value)} ({'met' if met else 'missed'})"
            for name, (value, met) in variant["targets"].items()),
        "",
        "| control | seeds | median log10 sigma_RT: this record -> variant | sd | median Ea (eV) "
        "| sd Ea | median wall (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for formula, rows in variant["runs"].items():
        mine = {seed: r for seed, r in result["runs"].get(formula, {}).items() if seed in rows}
        before = _control_summary(formula, list(mine.values())) if mine else {}
        after = _control_summary(formula, list(rows.values()))
        lines.append(
            f"| {formula} | {', '.join(sorted(rows, key=int))} | "
            f"{_fmt(before.get('log10_sigma_rt_median'))} -> "
            f"{_fmt(after['log10_sigma_rt_median'])} | {_fmt(before.get('log10_sigma_rt_sd'))} "
            f"-> {_fmt(after['log10_sigma_rt_sd'])} | {_fmt(before.get('ea_median_eV'))} -> "
            f"{_fmt(after['ea_median_eV'])} | {_fmt(before.get('ea_sd_eV'))} -> "
            f"{_fmt(after['ea_sd_eV'])} | {_fmt(before.get('wall_s_median'), '.0f')} -> "
            f"{_fmt(after['wall_s_median'], '.0f')} |"
        )
    lines += ["", "| control | seed | verdict | sigma_RT | Ea | T: ps, hops, D |",
              "|---|---|---|---|---|---|"]
    for formula, rows in variant["runs"].items():
        for seed, r in sorted(rows.items(), key=lambda kv: int(kv[0])):
            old = result["runs"].get(formula, {}).get(seed)
            pairs = [(old, "this record"), (r, "variant")] if old else [(r, "variant")]
            for run, label in pairs:
                temps = "; ".join(f"{t} K: {v['ps']:.1f}, {v['li_hops']}, {v['D_cm2_s']:.1e}"
                                  for t, v in run["temperatures"].items())
                lines.append(f"| {formula} | {seed} ({label}) | {run['verdict']} | "
                             f"{_fmt(run['sigma_rt_S_cm'], '.1e')} | {_fmt(run['ea_eV'])} | "
                             f"{temps} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per control")
    parser.add_argument("--first-seed", dest="first_seed", type=int, default=0,
                        help="run seeds FIRST..N-1 only (with --keep: add seeds to a record)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the runs already in the results file (same protocol only)")
    parser.add_argument("--controls", default=",".join(CONTROLS))
    parser.add_argument("--engine", default="chgnet", choices=["chgnet", "sevennet"])
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--temperatures", default=None, help="override, e.g. 600,800,1000")
    parser.add_argument("--production-steps", dest="production_steps", type=int, default=None)
    parser.add_argument("--max-steps", dest="max_production_steps", type=int, default=None)
    parser.add_argument("--target", dest="target_d_relative_error", type=float, default=None)
    parser.add_argument("--equil-steps", dest="equilibration_steps", type=int, default=None)
    parser.add_argument("--chunk-steps", dest="chunk_steps", type=int, default=None)
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "work" / "verdicts"))
    parser.add_argument("--reanalyze", action="store_true",
                        help="recompute the stored runs' analysis only (no MD); with --keep, "
                        "the results file's other runs stay")
    parser.add_argument("--log", type=Path, default=None,
                        help="with --reanalyze: the output of an interrupted run, for the "
                        "wall times of the runs it finished")
    parser.add_argument("--out", type=Path, default=None)
    br.add_record_options(parser, "verdict_stability")
    args = parser.parse_args()
    if br.record_only(args, "verdict_stability", _results_path(args), record):
        return
    warnings.simplefilter("ignore")
    controls = [c for c in args.controls.split(",") if c]
    start = time.perf_counter()
    runs: dict[str, dict[str, dict]] = {c: {} for c in controls}
    kept_note = {}
    if args.reanalyze:
        folders = [p for c in controls for p in sorted((Path(args.workdir) / c).glob("seed*"))
                   if (p / "md_run_doc.json").exists()]
        if args.keep:  # the results file's runs whose folders are not in --workdir stay
            runs, kept_note = _kept_runs(
                args, controls, {(p.parent.name, p.name[4:]) for p in folders})
        old = json.loads(args.out.read_text()) if args.out and args.out.exists() else {}
        walls = _walls_from_log(args.log) if args.log else {}
        for formula, seed, row in map(_reanalyze, folders):
            row["wall_s"] = old.get("runs", {}).get(formula, {}).get(str(seed), {}).get(
                "wall_s", walls.get((formula, seed)))
            runs[formula][str(seed)] = row
    else:
        tasks = [(c, seed, args) for seed in range(args.first_seed, args.seeds)
                 for c in controls]
        if args.keep:
            runs, kept_note = _kept_runs(args, controls, {(c, str(s)) for c, s, _ in tasks})
        os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for formula, seed, row in pool.map(_run_one, tasks):
                runs[formula][str(seed)] = row
                print(f"{formula} seed {seed}: {row['verdict']}, sigma_RT "
                      f"{row['sigma_rt_S_cm']}, Ea {row['ea_eV']}, {row['wall_s']:.0f} s",
                      flush=True)
    summary = {c: _control_summary(c, list(rows.values())) for c, rows in runs.items() if rows}
    out = _results_path(args)
    result = {
        "benchmark": "verdict_stability",
        "date": time.strftime("%Y-%m-%d"),
        "machine": br.machine(),
        "engine": args.engine,
        "protocol": _protocol(args, 0).describe(args.engine),
        "protocol_fields": {k: v for k, v in _protocol(args, 0).as_dict().items() if k != "seed"},
        "n_seeds": max((len(r) for r in runs.values()), default=0),
        "jobs": args.jobs,
        "threads": args.threads,
        "wall_s": time.perf_counter() - start,
        "reanalyzed": bool(args.reanalyze),
        **kept_note,
        "load_average": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
        "results_file": out.name,
        "summary": summary,
        "targets": _targets(summary),
        "runs": runs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    br.write_record("verdict_stability", record(result), args.record)
    for name, (value, met) in result["targets"].items():
        print(f"{name}: {value} -> {'met' if met else 'MISSED'}")
    print(f"wrote {out} and {args.record}")


if __name__ == "__main__":
    main()
