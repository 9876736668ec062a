"""Read the packaged MP structure table (``mp_structures.json.gz``) and look structures up.

The file is read once per process (:func:`load_mp_structure_table`, cached) and indexed
by MP id and by reduced formula; a :class:`~pymatgen.core.Structure` is built only for
the row asked for. The builder is :mod:`sse_flows.data.mp_structures`.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pymatgen.core import Lattice, Structure

from sse_flows.data import DATA_DIR

#: File name of the table in the package's data folder (same as the builder's).
MP_STRUCTURES_FILE = "mp_structures.json.gz"


@dataclass(frozen=True)
class MPStructureRow:
    """One row of the table: a Materials Project structure of one reduced composition.

    Attributes
    ----------
    material_id
        MP id of the structure.
    formula
        Reduced formula (the snapshot's).
    rule
        The polymorph rule that chose the structure (:mod:`sse_flows.data.polymorphs`).
    source
        ``repository@commit:path`` of the CIF it was read from.
    license
        Licence of the structure (CC BY 4.0).
    record
        The row as stored (lattice, run-length species, fractional coordinates, ...).
    """

    material_id: str
    formula: str
    rule: str
    source: str
    license: str
    record: dict

    def structure(self) -> Structure:
        """The row's structure (a new object on every call)."""
        species = [symbol for symbol, count in self.record["species"] for _ in range(count)]
        return Structure(
            Lattice(self.record["lattice"]),
            species,
            self.record["frac_coords"],
            properties={"material_id": self.material_id, "source": self.source,
                        "license": self.license},
        )


class MPStructureTable:
    """The rows of the table indexed by MP id and by reduced formula.

    Parameters
    ----------
    path
        The ``.json.gz`` table (default: the packaged one). A missing file gives an empty
        table, so a package built without it still runs.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else DATA_DIR / MP_STRUCTURES_FILE
        document = _read(self.path)
        self.metadata: dict = {k: v for k, v in document.items() if k != "rows"}
        self.by_id: dict[str, MPStructureRow] = {}
        self.by_formula: dict[str, MPStructureRow] = {}
        for record in document.get("rows", []):
            row = MPStructureRow(
                material_id=record["material_id"],
                formula=record["formula"],
                rule=record["rule"],
                source=record["source"],
                license=record["license"],
                record=record,
            )
            self.by_id[row.material_id] = row
            self.by_formula[row.formula] = row

    def __len__(self) -> int:
        return len(self.by_id)

    def find(self, material_id: str | None = None, formula: str | None = None) -> (
        MPStructureRow | None
    ):
        """The row of an MP id, else of a reduced formula (already reduced); None if absent."""
        if material_id and material_id in self.by_id:
            return self.by_id[material_id]
        if formula and formula in self.by_formula:
            return self.by_formula[formula]
        return None


def _read(path: Path) -> dict:
    if not path.is_file():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def load_mp_structure_table(path: str | Path | None = None) -> MPStructureTable:
    """The table at ``path`` (default: the packaged one), read once per process."""
    return _load(Path(path).resolve() if path is not None else DATA_DIR / MP_STRUCTURES_FILE)


@lru_cache(maxsize=4)
def _load(path: Path) -> MPStructureTable:
    return MPStructureTable(path)
