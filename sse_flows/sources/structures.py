"""Where MD structures come from when the live MP source is not used.

A :class:`StructureLibrary` looks structures up by MP id, else by reduced formula, in
these tiers, in order (the first tier that has the material wins, so a user file shadows
everything below it):

1. ``user``: the user's folder (``StructureLibrary(user_dir)``, ``--structures-dir`` on
   the command line) of CIF, POSCAR/CONTCAR, ``*.vasp`` or pymatgen JSON files named
   ``<mp-id>.<ext>`` or ``<formula>.<ext>``;
2. ``package``: the structures the package derives from the authors' AIMD runs and the
   two MD controls (``sse_flows/data/structures/*.json``, built by
   :mod:`sse_flows.data.structure_builders`);
3. ``mp_structures``: the packaged Materials Project structure table
   (``sse_flows/data/mp_structures.json.gz``, one structure per Li composition of the
   offline snapshot that passes the element rule; :mod:`sse_flows.data.mp_structure_table`),
   read once per process;
4. ``pymatgen``: the real structures that ship with pymatgen
   (``pymatgen/util/structures/*.json``: Li10GeP2S12, Li2O, Li3V2(PO4)3, LiFePO4, ...).

The live MP source, when used, comes before all of them
(:func:`sse_flows.ranking.jobs.structure_finder`). A file that does not parse raises
:class:`StructureFileError` naming the file.
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


#: The lookup tiers, in order (see the module docstring).
TIERS = ("user", "package", "mp_structures", "pymatgen")


def mp_structure_id(origin: str | None) -> str | None:
    """The MP id in a ``structure_origin`` of the ``mp_structures`` tier, else None.

    Parameters
    ----------
    origin : str or None
        A :attr:`StructureHit.origin` as stored in the documents, e.g.
        ``"mp_structures:mp-22905"`` or ``"package:Li3PO4.json"``.
    """
    tier, _, name = (origin or "").partition(":")
    return name if tier == "mp_structures" else None


@dataclass
class StructureHit:
    """A structure found for a material, with where it came from.

    Attributes
    ----------
    structure
        The structure (ordered: MD needs one atom per site).
    origin
        ``<tier>:<name>``: the tier (:data:`TIERS`) and the file name, or for the
        ``mp_structures`` tier the MP id of the row.
    key
        The MP id or reduced formula that matched.
    """

    structure: Structure
    origin: str
    key: str

    @property
    def tier(self) -> str:
        """The tier the structure came from (``origin`` up to the colon)."""
        return self.origin.split(":", 1)[0]


class StructureLibrary:
    """Look up MD structures by MP id or reduced formula (tiers in the module docstring).

    Parameters
    ----------
    user_dir
        The user's folder of structure files (first tier), or None.
    include_builtin
        Also search the package's files, the MP structure table and pymatgen's structures.
    mp_table
        Path of an MP structure table (default: the packaged ``mp_structures.json.gz``).
    """

    def __init__(
        self,
        user_dir: str | Path | None = None,
        include_builtin: bool = True,
        mp_table: str | Path | None = None,
    ):
        self.user_dir = Path(user_dir).expanduser() if user_dir else None
        if self.user_dir is not None and not self.user_dir.is_dir():
            raise StructureFileError(
                f"Structure folder {self.user_dir} does not exist; create it or fix the path."
            )
        self.include_builtin = include_builtin
        self.mp_table = mp_table
        self._tiers: dict[str, dict[str, Path]] | None = None

    def _folders(self) -> list[tuple[Path, str]]:
        folders: list[tuple[Path, str]] = []
        if self.user_dir is not None:
            folders.append((self.user_dir, "user"))
        if self.include_builtin:
            folders.append((PACKAGE_STRUCTURES, "package"))
            import pymatgen.core

            pmg_root = Path(pymatgen.core.__file__).resolve().parents[1]
            folders.append((pmg_root / "util" / "structures", "pymatgen"))
        return folders

    def _file_tiers(self) -> dict[str, dict[str, Path]]:
        """Tier -> {key (MP id or reduced formula) -> file}; the first file of a key wins."""
        if self._tiers is None:
            tiers: dict[str, dict[str, Path]] = {}
            for folder, origin in self._folders():
                keyed = tiers.setdefault(origin, {})
                if not folder.is_dir():
                    continue
                for path in sorted(folder.iterdir()):
                    if path.suffix.lower() in SUFFIXES or path.name in BARE_NAMES:
                        for key in _file_keys(path):
                            keyed.setdefault(key, path)
            self._tiers = tiers
        return self._tiers

    def index(self) -> dict[str, tuple[Path, str]]:
        """Key (MP id or reduced formula) -> (file, tier) of the structure files; earlier
        tiers win. Reads every file (a user file that does not parse raises here). The MP
        structure table is not listed (see :meth:`find`)."""
        index: dict[str, tuple[Path, str]] = {}
        for origin, keyed in self._file_tiers().items():
            for key, path in keyed.items():
                index.setdefault(key, (path, origin))
        return index

    def _mp_table(self):
        from sse_flows.data.mp_structure_table import load_mp_structure_table

        return load_mp_structure_table(self.mp_table)

    def _find_in_files(
        self, keyed: dict[str, Path], origin: str, material_id: str | None, formula: str | None
    ) -> StructureHit | None:
        for key in (material_id, formula):
            if not key or key not in keyed:
                continue
            path = keyed[key]
            structure = read_structure(path)
            # a formula match must hold that formula; an id match is trusted
            if key != material_id and _reduced(structure.formula) != formula:
                continue
            if not structure.is_ordered:  # MD needs one atom per site
                continue
            return StructureHit(structure=structure, origin=f"{origin}:{path.name}", key=key)
        return None

    def _find_in_table(
        self, material_id: str | None, formula: str | None
    ) -> StructureHit | None:
        row = self._mp_table().find(material_id, formula)
        if row is None:
            return None
        key = material_id if material_id == row.material_id else row.formula
        return StructureHit(
            structure=row.structure(), origin=f"mp_structures:{row.material_id}", key=key
        )

    def find(
        self, material_id: str | None = None, formula: str | None = None
    ) -> StructureHit | None:
        """The structure of a material by MP id, else by reduced formula; None if absent.

        The tiers are searched in order; inside a tier the MP id is tried before the
        formula.
        """
        formula = _reduced(formula) if formula else None
        files = self._file_tiers()
        for tier in TIERS:
            if tier == "mp_structures":
                hit = self._find_in_table(material_id, formula) if self.include_builtin else None
            elif tier in files:
                hit = self._find_in_files(files[tier], tier, material_id, formula)
            else:
                hit = None
            if hit is not None:
                return hit
        return None


def _file_keys(path: Path) -> list[str]:
    """The keys of a structure file: its stem, and the reduced formula it holds or names."""
    stem = path.stem
    keys = [stem]
    if stem.startswith("mp-"):  # also findable by the formula it holds
        keys.append(_reduced(read_structure(path).formula))
    else:
        try:
            keys.append(_reduced(stem))
        except Exception:  # a name that is no formula: key by name only
            pass
    return keys
