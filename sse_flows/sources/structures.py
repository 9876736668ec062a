"""Where MD structures come from when the live MP source is not used.

A :class:`StructureLibrary` looks structures up by MP id or by reduced formula in, in order:

1. the user's folder (``StructureLibrary(user_dir)``, ``--structures-dir`` on the command
   line) of CIF, POSCAR/CONTCAR, ``*.vasp`` or pymatgen JSON files named ``<mp-id>.<ext>``
   or ``<formula>.<ext>``;
2. the structures the package derives from the authors' AIMD runs
   (``sse_flows/data/structures/<mp-id>.json``, built by :func:`build_aimd_structures`);
3. the real structures that ship with pymatgen (``pymatgen/util/structures/*.json``:
   Li10GeP2S12, Li2O, Li3V2(PO4)3, LiFePO4, ...).

A file that does not parse raises :class:`StructureFileError` naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pymatgen.core import Composition, Structure

PACKAGE_STRUCTURES = Path(__file__).resolve().parents[1] / "data" / "structures"
SUFFIXES = (".cif", ".json", ".vasp", ".poscar")
BARE_NAMES = ("POSCAR", "CONTCAR")


class StructureFileError(ValueError):
    """A structure file that cannot be read; the message names the file and the fix."""


def read_structure(path: str | Path) -> Structure:
    """Read one structure file (CIF, POSCAR/CONTCAR/.vasp, pymatgen JSON), or raise clearly."""
    path = Path(path)
    if not path.is_file():
        raise StructureFileError(f"Structure file {path} does not exist.")
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, str):  # doubly-encoded JSON
                data = json.loads(data)
            structure = Structure.from_dict(data.get("structure", data))
        else:
            structure = Structure.from_file(path)
    except Exception as exc:  # pymatgen raises many kinds
        raise StructureFileError(
            f"Could not read a crystal structure from {path} ({type(exc).__name__}: {exc}). "
            "Give a valid CIF, POSCAR or pymatgen Structure JSON file."
        ) from exc
    if len(structure) == 0:
        raise StructureFileError(f"{path} holds no atoms; give a valid structure file.")
    return structure


def _reduced(formula: str) -> str:
    return Composition(formula).reduced_formula


@dataclass
class StructureHit:
    """A structure found for a material, with where it came from."""

    structure: Structure
    origin: str
    key: str


class StructureLibrary:
    """Look up MD structures by MP id or reduced formula (see module docstring)."""

    def __init__(self, user_dir: str | Path | None = None, include_builtin: bool = True):
        self.user_dir = Path(user_dir).expanduser() if user_dir else None
        if self.user_dir is not None and not self.user_dir.is_dir():
            raise StructureFileError(
                f"Structure folder {self.user_dir} does not exist; create it or fix the path."
            )
        self.include_builtin = include_builtin
        self._index: dict[str, tuple[Path, str]] | None = None

    def _files(self) -> list[tuple[Path, str]]:
        folders: list[tuple[Path, str]] = []
        if self.user_dir is not None:
            folders.append((self.user_dir, "user"))
        if self.include_builtin:
            folders.append((PACKAGE_STRUCTURES, "package"))
            import pymatgen.core

            pmg_root = Path(pymatgen.core.__file__).resolve().parents[1]
            folders.append((pmg_root / "util" / "structures", "pymatgen"))
        files = []
        for folder, origin in folders:
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.suffix.lower() in SUFFIXES or path.name in BARE_NAMES:
                        files.append((path, origin))
        return files

    def index(self) -> dict[str, tuple[Path, str]]:
        """Key (MP id or reduced formula) -> (file, origin); earlier folders win."""
        if self._index is None:
            index: dict[str, tuple[Path, str]] = {}
            for path, origin in self._files():
                stem = path.stem
                keys = [stem]
                if stem.startswith("mp-"):  # also findable by the formula it holds
                    keys.append(_reduced(read_structure(path).formula))
                else:
                    try:
                        keys.append(_reduced(stem))
                    except Exception:  # a name that is no formula: key by name only
                        pass
                for key in keys:
                    index.setdefault(key, (path, origin))
            self._index = index
        return self._index

    def find(
        self, material_id: str | None = None, formula: str | None = None
    ) -> StructureHit | None:
        """The structure of a material by MP id, else by reduced formula; None if absent."""
        index = self.index()
        for key in (material_id, _reduced(formula) if formula else None):
            if key and key in index:
                path, origin = index[key]
                structure = read_structure(path)
                if formula and _reduced(structure.formula) != _reduced(formula):
                    if key != material_id:
                        continue
                if not structure.is_ordered:  # MD needs one atom per site
                    continue
                return StructureHit(structure=structure, origin=f"{origin}:{path.name}", key=key)
        return None


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
        path.write_text(json.dumps(record, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written


def build_ordered_lgps(out_dir: str | Path = PACKAGE_STRUCTURES) -> Path:
    """An ordered Li10GeP2S12 cell (Li20Ge2P4S24, 50 atoms) for the MD positive control.

    pymatgen ships LGPS with its experimental partial occupancies (Li 0.64/0.69, Ge/P 0.5 on
    the 4d site). We set the partial Li sites to 16 of 24 and Ge/P to 1:1 (the Li10GeP2S12
    stoichiometry, Z = 2) and take the lowest-Ewald-energy ordering found by pymatgen's
    ``OrderDisorderedStructureTransformation`` (fast algorithm; deterministic).
    """
    import pymatgen.core
    from pymatgen.core import Species
    from pymatgen.transformations.standard_transformations import (
        OrderDisorderedStructureTransformation,
    )

    source = Path(pymatgen.core.__file__).resolve().parents[1] / "util" / "structures"
    disordered = read_structure(source / "Li10GeP2S12.json")
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
    partial = Structure(disordered.lattice, occupancies, disordered.frac_coords)
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
    path.write_text(json.dumps(record, sort_keys=True, indent=1) + "\n", encoding="utf-8")
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
                "source": f"OBELiX train CIF {obelix_id} (NRC-Mila/OBELiX@4eaac889809d, "
                "CC BY 4.0)",
                "sigma_rt_S_cm": sigma,
                "doi": doi,
            }
            path = out_dir / f"{formula}.json"
            path.write_text(json.dumps(record, sort_keys=True, indent=1) + "\n", encoding="utf-8")
            written.append(path)
    return written
