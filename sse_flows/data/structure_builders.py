"""Derive the packaged MD structures (``sse_flows/data/structures/*.json``) from raw data.

* :func:`build_aimd_structures`: the starting structures of the authors' AIMD runs
  (Kang et al. 2023), one ``<mp-id>.json`` each;
* :func:`build_ordered_lgps`: an ordered Li10GeP2S12 cell, the MD positive control;
* :func:`build_obelix_controls`: gamma-Li3PO4 from OBELiX's train CIFs, the MD negative
  control.

:func:`build_structures` runs all three; it is the ``structures`` builder of
``sse-flows data build`` (:func:`sse_flows.data.build.build_all`), which writes into
``<out>/structures/``. Every file is pymatgen ``Structure.as_dict()`` JSON with sorted keys
plus a ``properties`` record of its provenance, written atomically. Reading and looking up
structures is :mod:`sse_flows.sources.structures`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pymatgen.core import Composition, Structure

from sse_flows.data.writers import write_text_atomic
from sse_flows.sources.structures import PACKAGE_STRUCTURES, StructureFileError, read_structure


def _reduced(formula: str) -> str:
    return Composition(formula).reduced_formula


def _write_record(path: Path, record: dict) -> None:
    write_text_atomic(path, json.dumps(record, sort_keys=True, indent=1) + "\n")


def build_aimd_structures(
    raw_dir: str | Path, out_dir: str | Path = PACKAGE_STRUCTURES
) -> list[Path]:
    """Derive the starting structures of the authors' AIMD runs into the package.

    Reads ``raw/kang2023/aimd/<mp-id>/800_nteps_100.json`` (pymatgen DiffusionAnalyzer dicts)
    and writes ``<mp-id>.json`` with the primitive standard structure, so the MD stage has
    real structures offline. Deterministic: rebuilding gives identical files.
    """
    raw_dir = Path(raw_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for folder in sorted((raw_dir / "kang2023" / "aimd").iterdir()):
        files = sorted(folder.glob("*_nteps_100.json"), key=lambda p: float(p.name.split("_")[0]))
        if not files:
            continue
        structure = read_structure(files[0])
        from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

        try:
            primitive = SpacegroupAnalyzer(
                structure, symprec=0.1
            ).get_primitive_standard_structure()
        except Exception:
            primitive = structure.get_primitive_structure()
        if _reduced(primitive.formula) != _reduced(structure.formula):
            primitive = structure
        record = primitive.as_dict()
        record["properties"] = {
            "material_id": folder.name,
            "source": "kminmin/LiSSE-MP@a223cc80ea98 AIMD (Kang et al., J. Phys. Chem. C 2023)",
        }
        path = out_dir / f"{folder.name}.json"
        _write_record(path, record)
        written.append(path)
    return written


def lgps_partial(disordered: Structure) -> Structure:
    """pymatgen's disordered LGPS with the Li10GeP2S12 occupancies and oxidation states:
    partial Li sites at 2/3 (16 of 24), Ge/P 1:1 on the 4d site, Li+ Ge4+ P5+ S2-."""
    from pymatgen.core import Species

    charges = {"Li": 1, "Ge": 4, "P": 5, "S": -2}
    occupancies = []
    for site in disordered:
        symbols = sorted(el.symbol for el in site.species.elements)
        if site.is_ordered:
            occupancies.append({Species(symbols[0], charges[symbols[0]]): 1.0})
        elif symbols == ["Ge", "P"]:
            occupancies.append({Species("Ge", 4): 0.5, Species("P", 5): 0.5})
        else:
            occupancies.append({Species("Li", 1): 2 / 3})
    return Structure(disordered.lattice, occupancies, disordered.frac_coords)


def build_ordered_lgps(out_dir: str | Path = PACKAGE_STRUCTURES) -> Path:
    """An ordered Li10GeP2S12 cell (Li20Ge2P4S24, 50 atoms) for the MD positive control.

    pymatgen ships LGPS with its experimental partial occupancies (Li 0.64/0.69, Ge/P 0.5 on
    the 4d site). We set the partial Li sites to 16 of 24 and Ge/P to 1:1 (the Li10GeP2S12
    stoichiometry, Z = 2) and take the lowest-Ewald-energy ordering found by pymatgen's
    ``OrderDisorderedStructureTransformation`` (fast algorithm; deterministic).
    """
    import pymatgen.core
    from pymatgen.transformations.standard_transformations import (
        OrderDisorderedStructureTransformation,
    )

    source = Path(pymatgen.core.__file__).resolve().parents[1] / "util" / "structures"
    partial = lgps_partial(read_structure(source / "Li10GeP2S12.json"))
    transformation = OrderDisorderedStructureTransformation(
        algo=OrderDisorderedStructureTransformation.ALGO_FAST
    )
    ordered = transformation.apply_transformation(partial)
    ordered.remove_oxidation_states()
    for site in ordered:  # drop the partial-occupancy labels inherited from the input
        site.label = site.specie.symbol
    record = ordered.as_dict()
    record["properties"] = {
        "material_id": None,
        "source": "pymatgen util/structures/Li10GeP2S12.json, ordered by sse-flows",
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "Li10GeP2S12.json"
    _write_record(path, record)
    return path


#: Known poor conductors from OBELiX's train split used as MD negative controls:
#: OBELiX ID -> (reduced formula, measured sigma_RT in S/cm, source DOI).
OBELIX_CONTROLS = {"w7d": ("Li3PO4", 4.2e-18, "10.1006/jssc.1995.1140")}


def build_obelix_controls(
    raw_dir: str | Path, out_dir: str | Path = PACKAGE_STRUCTURES
) -> list[Path]:
    """Derive the negative-control structures from OBELiX's train CIFs into the package.

    gamma-Li3PO4 (Pnma, 32 atoms; OBELiX ``w7d``, measured 4.2e-18 S/cm at room
    temperature). OBELiX is CC BY 4.0 (Therrien et al., Digital Discovery 2026); its CIFs
    carry small random noise on the positions, which the MD's relaxation removes. Only the
    train split is read: test.csv is the model benchmark.
    """
    import tarfile

    archive = Path(raw_dir) / "obelix" / "train_cifs.tar.gz"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(archive) as tar:
        members = {Path(m.name).stem: m for m in tar.getmembers() if m.name.endswith(".cif")}
        for obelix_id, (formula, sigma, doi) in sorted(OBELIX_CONTROLS.items()):
            text = tar.extractfile(members[obelix_id]).read().decode("utf-8")
            structure = Structure.from_str(text, fmt="cif")
            if _reduced(structure.formula) != formula or not structure.is_ordered:
                raise StructureFileError(f"OBELiX {obelix_id} is not an ordered {formula}")
            record = structure.as_dict()
            record["properties"] = {
                "material_id": None,
                "source": f"OBELiX train CIF {obelix_id} (NRC-Mila/OBELiX@4eaac889809d, CC BY 4.0)",
                "sigma_rt_S_cm": sigma,
                "doi": doi,
            }
            path = out_dir / f"{formula}.json"
            _write_record(path, record)
            written.append(path)
    return written


def build_structures(raw_dir: str | Path, out_dir: str | Path = PACKAGE_STRUCTURES) -> list[Path]:
    """Every packaged structure (AIMD starts, ordered LGPS, OBELiX controls) into ``out_dir``."""
    written = build_aimd_structures(raw_dir, out_dir)
    written.append(build_ordered_lgps(out_dir))
    written += build_obelix_controls(raw_dir, out_dir)
    return written
