"""Where MD structures come from when the live MP source is not used.

A :class:`StructureLibrary` looks structures up by MP id or by reduced formula in, in order:

1. the user's folder (``StructureLibrary(user_dir)``, ``--structures-dir`` on the command
   line) of CIF, POSCAR/CONTCAR, ``*.vasp`` or pymatgen JSON files named ``<mp-id>.<ext>``
   or ``<formula>.<ext>``;
2. the structures the package derives from the authors' AIMD runs
   (``sse_flows/data/structures/<mp-id>.json``, built by
   :func:`sse_flows.data.structure_builders.build_aimd_structures`);
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
