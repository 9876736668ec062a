"""Time the screening funnel per stage and check its hulls against pymatgen on the same run.

    .venv/bin/python benchmarks/screening_funnel.py                 # funnel + library check
    .venv/bin/python benchmarks/screening_funnel.py --all-hulls     # + E_hull vs MP, all Li
    .venv/bin/python benchmarks/screening_funnel.py --figure docs/img/screening_funnel.png \
        --crosscheck

Prints the time of each stage of the offline funnel over every Li record of the MP 2019
snapshot, then, on a sample of the chemical systems the funnel built, the time of
pymatgen's ``PhaseDiagram`` against our ``ChemsysHull`` (ratio), the largest difference of
E_hull and of the stability windows (ours vs ``get_e_above_hull`` and
``get_element_profile``), the published-window table and, on request, the E_hull agreement
with MP over all Li compositions, the matsci176 cross-check and the funnel figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

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

PUBLISHED = [  # formula, V_red, V_ox (V vs Li/Li+), Richards 2016 / Zhu-He-Mo 2015
    ("Li3N", 0.0, 0.44),
    ("Li2S", 0.0, 2.05),
    ("Li3PS4", 1.71, 2.31),
    ("Li2PNO2", 0.68, 2.63),
    ("Li2O", 0.0, 2.91),
    ("Li3PO4", 0.69, 4.21),
    ("LiCl", 0.0, 4.26),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=150, help="systems in the library check")
    parser.add_argument("--all-hulls", action="store_true", help="E_hull vs MP for all Li")
    parser.add_argument("--figure", type=Path, default=None, help="write the funnel PNG here")
    parser.add_argument("--crosscheck", action="store_true", help="matsci176 cross-check")
    args = parser.parse_args()

    start = time.perf_counter()
    source = SnapshotSource()
    doc = screen_source(source, progress=False)
    total = time.perf_counter() - start
    print(f"offline funnel over {doc.stages[0].count} Li records: {total:.2f} s "
          f"(budget 60 s), {doc.n_phase_diagrams} chemical systems")
    for name, seconds in doc.stage_seconds.items():
        print(f"  {name:<24} {seconds:8.3f} s")
    print("\nstage                     ours   paper")
    for stage in doc.stages:
        print(f"  {stage.name:<22} {stage.count:>6} {PAPER_FUNNEL.get(stage.name, 0):>7}")
    print("anion classes:", json.dumps(doc.anion_classes))
    agreement = doc.hull_agreement
    print(f"E_hull vs MP (screened {agreement.n_compared}): "
          f"{agreement.fraction_within_tolerance:.1%} within 5 meV/atom, "
          f"same on/off-hull verdict {agreement.fraction_same_stability:.1%}")

    # library check on the same systems --------------------------------------------------
    index = FormationEnergyIndex(source.formation_energies())
    systems = sorted({frozenset(Composition(m.formula).chemical_system.split("-"))
                      for m in doc.on_hull}, key=lambda s: (len(s), sorted(s)))
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
            ours = energy - (hull.atomic_fractions([Composition(formula).as_dict()])
                             @ hull.facet_chempots.T).max()
            lib = e_above_hull_pymatgen(phase_diagram, formula, energy)
            max_e_diff = max(max_e_diff, abs(ours - lib))
        for formula in hull.stable_formulas:
            if "Li" not in Composition(formula) or formula == "Li":
                continue
            ours_w = stability_window(hull, formula)
            lib_w = stability_window_pymatgen(phase_diagram, formula)
            max_v_diff = max(max_v_diff, abs(ours_w.v_ox - lib_w.v_ox),
                             abs(ours_w.v_red - lib_w.v_red))
            n_windows += 1
    print(f"\nlibrary check on {len(sample)} of the {len(systems)} on-hull systems:")
    print(f"  hull build: ours {ours_s:.2f} s, pymatgen PhaseDiagram {library_s:.2f} s "
          f"(pymatgen/ours = {library_s / ours_s:.1f}x)")
    print(f"  max |E_hull ours - pymatgen| = {max_e_diff:.2e} eV/atom")
    print(f"  max |window ours - get_element_profile| over {n_windows} phases = "
          f"{max_v_diff:.2e} V")

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

    if args.all_hulls:
        tick = time.perf_counter()
        from sse_flows.screening.phase_diagrams import PhaseDiagramCache

        records = source.li_records()
        computed = compute_e_above_hull(
            records, PhaseDiagramCache(index.hull), progress=False
        )
        reference = {r.formula: r.energy_above_hull for r in records
                     if r.energy_above_hull is not None}
        full = hull_agreement(computed, reference)
        print(f"\nE_hull vs MP over all Li compositions ({time.perf_counter() - tick:.1f} s): "
              f"{full.model_dump_json()}")

    if args.crosscheck:
        report = cross_check(doc, source.li_records(), get_settings().RAW_DATA_DIR)
        print("\nmatsci176 cross-check:", report.model_dump_json(indent=1))

    if args.figure is not None:
        print("\nfigure:", plot_funnel(doc, args.figure))


if __name__ == "__main__":
    main()
