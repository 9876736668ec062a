"""Ordering every disordered OBELiX CIF for MD, and the ordering against pymatgen's.

1. Every disordered CIF of OBELiX (train and test splits) through
   :func:`sse_flows.md.ordering.order_structure` (defaults; ``max_atoms`` 400): how many
   are ordered or refused (and why), the change of composition, the shortest distance, the
   time, and the size of the 8 A MD supercell.
2. LGPS (pymatgen's disordered ``Li10GeP2S12.json``, oxidation states Li+ Ge4+ P5+ S2-):
   the Ewald energy of our ordering against pymatgen's
   ``OrderDisorderedStructureTransformation`` (fast algorithm, lowest Ewald energy), and the
   time of each. Our ordering does not minimise the Ewald energy; this says how far from
   that minimum its cell is.

Usage::

    .venv/bin/python benchmarks/ordering_survey.py

    .venv/bin/python benchmarks/ordering_survey.py --record-only  # the record from the JSON

Writes ``benchmarks/results/ordering_survey.json`` and its record
``docs/benchmarks/ordering_survey.md``.
"""

from __future__ import annotations

import argparse
import json
import tarfile
import time
import warnings
from pathlib import Path

import benchrecord as br
import numpy as np

NAME = "ordering_survey"

ROOT = Path(__file__).resolve().parents[1]


def survey(raw: Path) -> list[dict]:
    from pymatgen.core import Structure

    from sse_flows.md.ordering import order_structure
    from sse_flows.md.protocol import MDStructureError, supercell_atoms

    rows = []
    for split in ("test", "train"):
        with tarfile.open(raw / "obelix" / f"{split}_cifs.tar.gz") as archive:
            members = sorted((m for m in archive.getmembers() if m.name.endswith(".cif")),
                             key=lambda m: m.name)
            for member in members:
                structure = Structure.from_str(archive.extractfile(member).read().decode(),
                                               fmt="cif")
                if structure.is_ordered:
                    continue
                row = {"id": Path(member.name).stem, "split": split,
                       "formula": structure.composition.reduced_formula,
                       "sites": len(structure)}
                start = time.perf_counter()
                try:
                    ordered, doc = order_structure(structure)
                    row.update(doc.model_dump(), md_supercell_atoms=supercell_atoms(ordered, 8.0))
                except MDStructureError as exc:
                    row["refused"] = str(exc)
                row["seconds"] = time.perf_counter() - start
                rows.append(row)
    return rows


def lgps_against_pymatgen() -> dict:
    import pymatgen.core
    from pymatgen.analysis.ewald import EwaldSummation
    from pymatgen.core import Structure
    from pymatgen.transformations.standard_transformations import (
        OrderDisorderedStructureTransformation,
    )

    from sse_flows.md.ordering import order_structure

    source = Path(pymatgen.core.__file__).resolve().parents[1] / "util" / "structures"
    disordered = Structure.from_file(source / "Li10GeP2S12.json")
    charges = {"Li": 1, "Ge": 4, "P": 5, "S": -2}

    def ewald_per_atom(structure: Structure) -> float:
        charged = structure.copy()
        charged.add_oxidation_state_by_element(charges)
        return EwaldSummation(charged).total_energy / len(charged)

    start = time.perf_counter()
    ours, doc = order_structure(disordered)
    ours_s = time.perf_counter() - start
    # pymatgen needs a charge-balanced cell with the same counts: ours, re-disordered
    # would be circular, so give it the Li10GeP2S12 occupancies (as build_ordered_lgps)
    from sse_flows.data.structure_builders import lgps_partial

    partial = lgps_partial(disordered)
    start = time.perf_counter()
    reference = OrderDisorderedStructureTransformation(
        algo=OrderDisorderedStructureTransformation.ALGO_FAST
    ).apply_transformation(partial)
    reference_s = time.perf_counter() - start
    reference.remove_oxidation_states()
    random_energies = []
    for seed in range(20):  # one random placement each, no swaps: the baseline
        cell, _ = order_structure(disordered, n_candidates=1, swaps_per_site=0, seed=seed,
                                  min_distance=0.0)
        random_energies.append(ewald_per_atom(cell))
    return {
        "formula_ours": doc.formula_ordered, "formula_pymatgen": reference.composition.formula,
        "ewald_eV_per_atom_ours": ewald_per_atom(ours),
        "ewald_eV_per_atom_pymatgen": ewald_per_atom(reference),
        "ewald_eV_per_atom_random_median": float(np.median(random_energies)),
        "ewald_eV_per_atom_random_min": float(np.min(random_energies)),
        "seconds_ours": ours_s, "seconds_pymatgen": reference_s,
    }


def record(result: dict, result_path: Path) -> str:
    """The Markdown record of a result."""
    s, lgps = result["summary"], result["lgps_against_pymatgen"]
    ordered = [r for r in result["rows"] if "refused" not in r]
    within = sum(r["max_fraction_error"] <= 0.005 for r in ordered)
    moved = sum(r["max_fraction_error"] > 0.02 for r in ordered)
    gain = ((lgps["ewald_eV_per_atom_ours"] - lgps["ewald_eV_per_atom_random_median"])
            / (lgps["ewald_eV_per_atom_pymatgen"] - lgps["ewald_eV_per_atom_random_median"]))
    survey = [
        ["disordered CIFs (train + test)", s["disordered_cifs"]],
        ["ordered", s["ordered"]],
        ["refused (atoms closer than 0.8 A)", len(s["refused"])],
        ["composition within 0.005 in every atomic fraction", within],
        ["composition moved by more than 0.02", moved],
        ["median / largest change of an atomic fraction",
         f"{s['max_fraction_error_median']:.4f} / {s['max_fraction_error_max']:.3f}"],
        ["with atoms removed (clashes the counts force)", s["with_atoms_removed"]],
        ["shortest distance in an ordered cell (A)", f"{s['shortest_distance_min_A']:.2f}"],
        ["8 A MD supercell <= 144 / <= 400 atoms",
         f"{s['md_supercell_atoms_le_144']} / {s['md_supercell_atoms_le_400']}"],
        ["time per CIF, largest / all CIFs (s)",
         f"{s['seconds_max']:.1f} / {s['seconds_total']:.0f}"],
    ]
    moved_rows = [[i, formula, ordered_formula, f"{error:.3f}"]
                  for i, formula, ordered_formula, error in s["over_0.01"]]
    lgps_rows = [
        ["ordered formula", lgps["formula_ours"], lgps["formula_pymatgen"]],
        ["Ewald energy (eV/atom; Li+ Ge4+ P5+ S2-)", f"{lgps['ewald_eV_per_atom_ours']:.2f}",
         f"{lgps['ewald_eV_per_atom_pymatgen']:.2f}"],
        ["time (s)", f"{lgps['seconds_ours']:.2f}", f"{lgps['seconds_pymatgen']:.2f}"],
    ]
    return "\n".join([
        br.header(NAME, "Ordering the disordered OBELiX CIFs for MD", [result_path],
                  {"date": result["date"], "machine": result.get("machine"),
                   "protocol": "`order_structure` defaults (max_atoms 400, 8 "
                               "placements, 20 swaps per disordered site, seed 0)"}),
        *br.table(["", "CIFs"], survey), "",
        "Refused: " + "; ".join(f"{k}: {v.split(':')[0]}" for k, v in s["refused"].items())
        + ".", "",
        "## CIFs whose composition moves by more than 0.01", "",
        *br.table(["OBELiX id", "CIF formula", "ordered cell", "largest change"],
                  moved_rows), "",
        "## LGPS against pymatgen's `OrderDisorderedStructureTransformation`", "",
        *br.table(["", "order_structure", "pymatgen (fast, lowest Ewald)"], lgps_rows),
        "",
        f"Random placements (20 seeds, no swaps): median "
        f"{lgps['ewald_eV_per_atom_random_median']:.2f}, lowest "
        f"{lgps['ewald_eV_per_atom_random_min']:.2f} eV/atom: the ordering goes "
        f"{gain:.0%} of the way from the median random placement to pymatgen's Ewald "
        "minimum.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "data" / "raw")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "ordering_survey.json")
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if br.record_only(args, NAME, args.out, lambda result: record(result, args.out)):
        return
    rows = survey(args.raw)
    ordered = [r for r in rows if "refused" not in r]
    errors = np.array([r["max_fraction_error"] for r in ordered])
    summary = {
        "disordered_cifs": len(rows), "ordered": len(ordered),
        "refused": {r["id"]: r["refused"] for r in rows if "refused" in r},
        "max_fraction_error_median": float(np.median(errors)),
        "max_fraction_error_max": float(errors.max()),
        "over_0.01": sorted((r["id"], r["formula"], r["formula_ordered"],
                             round(r["max_fraction_error"], 3)) for r in ordered
                            if r["max_fraction_error"] > 0.01),
        "with_atoms_removed": sum(r["atoms_removed"] > 0 for r in ordered),
        "shortest_distance_min_A": min(r["shortest_distance_A"] for r in ordered),
        "md_supercell_atoms_le_144": sum(r["md_supercell_atoms"] <= 144 for r in ordered),
        "md_supercell_atoms_le_400": sum(r["md_supercell_atoms"] <= 400 for r in ordered),
        "seconds_max": max(r["seconds"] for r in rows),
        "seconds_total": sum(r["seconds"] for r in rows),
    }
    lgps = lgps_against_pymatgen()
    print(json.dumps(summary, indent=1))
    print(json.dumps(lgps, indent=1))
    result = {"benchmark": NAME, "date": time.strftime("%Y-%m-%d"),
              "machine": br.machine(), "summary": summary,
              "lgps_against_pymatgen": lgps, "rows": rows}
    br.write_json(args.out, result)
    print(f"wrote {args.out} and {br.write_record(NAME, record(result, args.out), args.record)}")


if __name__ == "__main__":
    main()
