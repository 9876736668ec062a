"""Time the screening funnel per stage and check its hulls against pymatgen on the same run.

    .venv/bin/python benchmarks/screening_funnel.py                 # funnel + library check
    .venv/bin/python benchmarks/screening_funnel.py --all-hulls     # + E_hull vs MP, all Li
    .venv/bin/python benchmarks/screening_funnel.py --figure docs/img/screening_funnel.png \
        --crosscheck
    .venv/bin/python benchmarks/screening_funnel.py --record-only   # the record from the JSON

Prints the time of each stage of the offline funnel over every Li record of the MP 2019
snapshot, then, on a sample of the chemical systems the funnel built, the time of
pymatgen's ``PhaseDiagram`` against our ``ChemsysHull`` (ratio), the largest difference of
E_hull and of the stability windows (ours vs ``get_e_above_hull`` and
``get_element_profile``), the published-window table and, on request, the E_hull agreement
with MP over all Li compositions, the matsci176 cross-check and the funnel figure. A run
with ``--all-hulls --crosscheck`` writes ``benchmarks/results/screening_funnel.json`` and
``docs/benchmarks/screening_funnel.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import benchrecord as br
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition

from sse_flows.screening.crosscheck import cross_check
from sse_flows.screening.funnel import compute_e_above_hull, screen_source
from sse_flows.screening.hull import e_above_hull_pymatgen, hull_agreement
from sse_flows.screening.phase_diagrams import FormationEnergyIndex
from sse_flows.screening.plotting import PAPER_FUNNEL, plot_funnel
from sse_flows.screening.voltage import stability_window, stability_window_pymatgen
from sse_flows.settings import get_settings
from sse_flows.sources import SnapshotSource

ROOT = Path(__file__).resolve().parents[1]
NAME = "screening_funnel"
RESULT = ROOT / "benchmarks/results/screening_funnel.json"

PUBLISHED = [  # formula, V_red, V_ox (V vs Li/Li+), Richards 2016 / Zhu-He-Mo 2015
    ("Li3N", 0.0, 0.44),
    ("Li2S", 0.0, 2.05),
    ("Li3PS4", 1.71, 2.31),
    ("Li2PNO2", 0.68, 2.63),
    ("Li2O", 0.0, 2.91),
    ("Li3PO4", 0.69, 4.21),
    ("LiCl", 0.0, 4.26),
]


def _agreement_row(label: str, a: dict) -> list[str]:
    return [
        label,
        str(a["n_compared"]),
        f"{a['fraction_within_tolerance']:.1%}",
        f"{a['fraction_same_stability']:.1%}",
        str(a["n_stable_ours_only"]),
        str(a["n_stable_mp_only"]),
        "-" if a["median_abs_difference"] is None else f"{a['median_abs_difference']:.1e}",
    ]


def _library_ratio(lib: dict) -> float:
    if lib.get("ratio") is not None:
        return lib["ratio"]
    return lib["pymatgen_s"] / lib["ours_s"]


def record(result: dict) -> str:
    """The text of docs/benchmarks/screening_funnel.md, from the JSON."""
    lib = result["library_check"]
    protocol = [
        f"The offline funnel (default `ScreeningCriteria`) over every Li record of the "
        f"snapshot ({result['data_version']}), phase diagrams included, timed per stage; the "
        "paper's counts beside it. Library check: on a sample of the chemical systems of the "
        "on-hull materials, the hull built by `ChemsysHull` against pymatgen's `PhaseDiagram` "
        "(time, E_hull against `get_e_above_hull`, windows against `get_element_profile`). "
        "E_hull agreement with MP's own `e_hull_mp` (5 meV/atom; same on/off-hull verdict at "
        "1 meV). Published windows: Richards et al. 2016, Zhu, He & Mo 2015.",
    ]
    paper_classes = result["paper_anion_classes"]
    body = ["### Funnel", ""]
    body += br.table(
        ["stage", "paper (MP materials, 2022)", "this run (MP 2019 compositions)"],
        [[st["name"], str(st["paper"] or "-"), str(st["count"])] for st in result["stages"]],
    )
    classes = sorted(
        set(paper_classes) | set(result["anion_classes"]) | set(result["anion_classes_on_hull"]),
        key=lambda c: (-result["anion_classes_on_hull"].get(c, 0), c),
    )
    n_surv, n_hull = result["stages"][-1]["count"], result["stages"][-2]["count"]
    body += ["", "### Anion classes", ""]
    body += br.table(
        ["class", f"paper ({sum(paper_classes.values())})", f"survivors ({n_surv})",
         f"on hull ({n_hull})"],
        [[c, str(paper_classes.get(c, "-")), str(result["anion_classes"].get(c, 0)),
          str(result["anion_classes_on_hull"].get(c, 0))] for c in classes],
    )  # fmt: skip
    agreement = [_agreement_row("step-2 survivors (the funnel)", result["hull_agreement"])]
    if result.get("hull_agreement_all_li"):
        agreement.append(
            _agreement_row("all Li compositions (`--all-hulls`)", result["hull_agreement_all_li"])
        )
    body += ["", "### E_hull against MP", ""]
    body += br.table(
        ["set", "compared", "within 5 meV/atom", "same verdict (1 meV)", "on our hull only",
         "on MP's only", "median abs difference (eV/atom)"],
        agreement,
    )  # fmt: skip
    if result.get("all_hulls_s") is not None:
        body += ["", f"All Li hulls: {result['all_hulls_s']:.1f} s."]
    body += ["", "### Stability windows against published values", ""]
    body += br.table(
        ["compound", "V_red", "V_ox", "published V_red-V_ox"],
        [[w["formula"], f"{w['v_red']:.2f}", f"{w['v_ox']:.2f}",
          f"{w['published_v_red']:.2f}-{w['published_v_ox']:.2f}"] for w in result["windows"]],
    )  # fmt: skip
    body += [
        "",
        f"Library check on {lib['n_systems']} of the {lib['n_on_hull_systems']} on-hull "
        f"systems: building the hulls is {_library_ratio(lib):.1f}x faster than `PhaseDiagram`"
        + (
            f" ({lib['ours_s']:.2f} s against {lib['pymatgen_s']:.2f} s)"
            if lib.get("ours_s") is not None
            else ""
        )
        + f"; largest E_hull difference {lib['max_e_above_hull_difference']:.1e} eV/atom; "
        f"largest window difference {lib['max_window_difference']:.1e} V over "
        f"{lib['n_windows']} Li phases.",
        "",
        "### Time per stage",
        "",
    ]
    body += br.table(
        ["stage", "s"],
        [[name, f"{sec:.2f}"] for name, sec in result["stage_seconds"].items()]
        + [["**total**", f"**{result['total_s']:.2f}**"]],
    )
    body += ["", f"Chemical systems with a phase diagram: {result['n_phase_diagrams']}."]
    if result.get("stage_seconds_note"):
        body += ["", f"Note: {result['stage_seconds_note']}."]
    cov = result.get("structure_coverage")
    if cov:
        body += [
            "",
            f"Structures for MD (offline library): {cov['n_with_structure']} of "
            f"{cov['n_survivors']} survivors ("
            + ", ".join(f"{k} {v}" for k, v in cov["by_tier"].items())
            + "); none for "
            + (", ".join(cov["missing"]) or "-")
            + ".",
        ]
    cc = result.get("crosscheck")
    if cc:
        body += ["", "### matsci176 cross-check (2025 MP pool, steps 1-3)", "", "```json",
                 json.dumps(cc, indent=1), "```"]  # fmt: skip
    return br.render(
        NAME, "Screening funnel: counts, hulls, windows and time", result, RESULT, protocol,
        body, figure="screening_funnel.png" if result.get("figure") else None,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=150, help="systems in the library check")
    parser.add_argument("--all-hulls", action="store_true", help="E_hull vs MP for all Li")
    parser.add_argument("--figure", type=Path, default=None, help="write the funnel PNG here")
    parser.add_argument("--crosscheck", action="store_true", help="matsci176 cross-check")
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return
    from sse_flows.constants import PAPER_ANION_CLASSES

    start = time.perf_counter()
    source = SnapshotSource()
    doc = screen_source(source, progress=False)
    total = time.perf_counter() - start
    print(
        f"offline funnel over {doc.stages[0].count} Li records: {total:.2f} s "
        f"(budget 60 s), {doc.n_phase_diagrams} chemical systems"
    )
    for name, seconds in doc.stage_seconds.items():
        print(f"  {name:<24} {seconds:8.3f} s")
    print("\nstage                     ours   paper")
    for stage in doc.stages:
        print(f"  {stage.name:<22} {stage.count:>6} {PAPER_FUNNEL.get(stage.name, 0):>7}")
    print("anion classes:", json.dumps(doc.anion_classes))
    result: dict = {
        "benchmark": NAME,
        "data_version": source.data_version,
        "total_s": total,
        "n_phase_diagrams": doc.n_phase_diagrams,
        "stage_seconds": dict(doc.stage_seconds),
        "stages": [{"name": st.name, "count": st.count, "paper": PAPER_FUNNEL.get(st.name)}
                   for st in doc.stages],
        "anion_classes": dict(doc.anion_classes),
        "anion_classes_on_hull": dict(Counter(m.anion_class for m in doc.on_hull).most_common()),
        "paper_anion_classes": dict(PAPER_ANION_CLASSES),
        "hull_agreement": doc.hull_agreement.model_dump(mode="json"),
        "structure_coverage": (doc.structure_coverage.model_dump(mode="json")
                               if doc.structure_coverage else None),
    }  # fmt: skip
    agreement = doc.hull_agreement
    print(
        f"E_hull vs MP (screened {agreement.n_compared}): "
        f"{agreement.fraction_within_tolerance:.1%} within 5 meV/atom, "
        f"same on/off-hull verdict {agreement.fraction_same_stability:.1%}"
    )

    # library check on the same systems --------------------------------------------------
    index = FormationEnergyIndex(source.formation_energies())
    systems = sorted(
        {frozenset(Composition(m.formula).chemical_system.split("-")) for m in doc.on_hull},
        key=lambda s: (len(s), sorted(s)),
    )
    step = max(1, len(systems) // args.sample)
    sample = systems[::step][: args.sample]
    ours_s = library_s = 0.0
    max_e_diff = max_v_diff = 0.0
    n_windows = 0
    for chemsys in sample:
        tick = time.perf_counter()
        hull = index.hull(chemsys)
        ours_s += time.perf_counter() - tick
        formulas, amounts, energies = index.rows_in_chemsys(chemsys)
        tick = time.perf_counter()
        phase_diagram = PhaseDiagram(hull.phase_diagram.all_entries)
        library_s += time.perf_counter() - tick
        for formula, energy in zip(hull.formulas, hull.energies, strict=True):
            ours = (
                energy
                - (
                    hull.atomic_fractions([Composition(formula).as_dict()]) @ hull.facet_chempots.T
                ).max()
            )
            lib = e_above_hull_pymatgen(phase_diagram, formula, energy)
            max_e_diff = max(max_e_diff, abs(ours - lib))
        for formula in hull.stable_formulas:
            if "Li" not in Composition(formula) or formula == "Li":
                continue
            ours_w = stability_window(hull, formula)
            lib_w = stability_window_pymatgen(phase_diagram, formula)
            max_v_diff = max(
                max_v_diff, abs(ours_w.v_ox - lib_w.v_ox), abs(ours_w.v_red - lib_w.v_red)
            )
            n_windows += 1
    print(f"\nlibrary check on {len(sample)} of the {len(systems)} on-hull systems:")
    print(
        f"  hull build: ours {ours_s:.2f} s, pymatgen PhaseDiagram {library_s:.2f} s "
        f"(pymatgen/ours = {library_s / ours_s:.1f}x)"
    )
    print(f"  max |E_hull ours - pymatgen| = {max_e_diff:.2e} eV/atom")
    print(f"  max |window ours - get_element_profile| over {n_windows} phases = {max_v_diff:.2e} V")
    result["library_check"] = {
        "n_systems": len(sample), "n_on_hull_systems": len(systems), "ours_s": ours_s,
        "pymatgen_s": library_s, "ratio": library_s / ours_s,
        "max_e_above_hull_difference": max_e_diff,
        "max_window_difference": max_v_diff, "n_windows": n_windows,
    }  # fmt: skip
    result["windows"] = []

    on_hull = {m.formula: m for m in doc.on_hull}
    print("\n| compound | V_red (ours) | V_ox (ours) | published V_red-V_ox |")
    print("|---|---|---|---|")
    for formula, v_red, v_ox in PUBLISHED:
        material = on_hull.get(formula)
        if material is None:  # not in the funnel (e.g. gap rule): compute directly
            hull = index.hull(Composition(formula).chemical_system.split("-"))
            window = stability_window(hull, formula)
            got_red, got_ox = window.v_red, window.v_ox
        else:
            got_red, got_ox = material.v_red, material.v_ox
        print(f"| {formula} | {got_red:.2f} | {got_ox:.2f} | {v_red:.2f}-{v_ox:.2f} |")
        result["windows"].append({"formula": formula, "v_red": got_red, "v_ox": got_ox,
                                  "published_v_red": v_red, "published_v_ox": v_ox})  # fmt: skip

    if args.all_hulls:
        tick = time.perf_counter()
        from sse_flows.screening.phase_diagrams import PhaseDiagramCache

        records = source.li_records()
        computed = compute_e_above_hull(records, PhaseDiagramCache(index.hull), progress=False)
        reference = {
            r.formula: r.energy_above_hull for r in records if r.energy_above_hull is not None
        }
        full = hull_agreement(computed, reference)
        result["all_hulls_s"] = time.perf_counter() - tick
        result["hull_agreement_all_li"] = full.model_dump(mode="json")
        print(
            f"\nE_hull vs MP over all Li compositions ({time.perf_counter() - tick:.1f} s): "
            f"{full.model_dump_json()}"
        )

    if args.crosscheck:
        report = cross_check(doc, source.li_records(), get_settings().RAW_DATA_DIR)
        print("\nmatsci176 cross-check:", report.model_dump_json(indent=1))
        result["crosscheck"] = report.model_dump(mode="json")

    if args.figure is not None:
        print("\nfigure:", plot_funnel(doc, args.figure))
        result["figure"] = str(args.figure)

    if args.all_hulls and args.crosscheck:  # the recorded run
        result.update(br.run_info())
        br.write_json(args.out, result)
        print(f"wrote {args.out} and {br.write_record(NAME, record(result), args.record)}")


if __name__ == "__main__":
    main()
