"""The offline source: the packaged MP 2019 snapshot (one record per reduced composition)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from functools import lru_cache

from pymatgen.analysis.phase_diagram import PDEntry
from pymatgen.core import Composition, Element

from sse_flows.data.snapshot import MP_VINTAGE, SNAPSHOT_SOURCE
from sse_flows.data.tables import _snapshot
from sse_flows.sources.base import MaterialsSource
from sse_flows.sources.schemas import MaterialRecord


def _none_if_nan(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


@lru_cache(maxsize=1)
def _li_records() -> tuple[MaterialRecord, ...]:
    table = _snapshot()
    li = table[table["contains_li"] == 1]
    records = []
    for row in li.itertuples(index=False):
        records.append(
            MaterialRecord(
                material_id=row.material_id or None,
                formula=row.formula,
                elements=row.elements.split("-"),
                nelements=row.nelements,
                band_gap=_none_if_nan(row.band_gap),
                band_gaps=[float(g) for g in row.band_gaps.split(";")] if row.band_gaps else [],
                formation_energy_per_atom=_none_if_nan(row.formation_energy_per_atom),
                energy_above_hull=_none_if_nan(row.e_hull_mp),
                structure=None,
                source=SNAPSHOT_SOURCE,
                data_version=MP_VINTAGE,
            )
        )
    return tuple(records)


@lru_cache(maxsize=1)
def _formation_energies() -> dict[str, float]:
    table = _snapshot()
    energies = dict(
        zip(table["formula"], table["formation_energy_per_atom"].astype(float), strict=True)
    )
    for formula, nelements in zip(table["formula"], table["nelements"], strict=True):
        if nelements == 1:
            energies[formula] = 0.0  # the elements are the zero references
    return energies


@lru_cache(maxsize=1)
def _by_chemsys() -> dict[str, tuple[tuple[str, float, str | None], ...]]:
    table = _snapshot()
    groups: dict[str, list] = {}
    for formula, elements, energy, material_id, n in zip(
        table["formula"],
        table["elements"],
        table["formation_energy_per_atom"],
        table["material_id"],
        table["nelements"],
        strict=True,
    ):
        if n == 1 or math.isnan(energy):
            continue  # elements are added as exact zero references
        groups.setdefault(elements, []).append((formula, float(energy), material_id or None))
    return {k: tuple(v) for k, v in groups.items()}


class SnapshotSource(MaterialsSource):
    """Offline MP 2019 snapshot (default source; no network, no key).

    One record per reduced composition: formation energy of the lowest-energy entry,
    band gap by the documented polymorph rule, MP id where known, no structures. See
    ``sse_flows.data.tables.snapshot_metadata()`` for vintage and limits.
    """

    name = "snapshot"

    @property
    def data_version(self) -> str:
        return MP_VINTAGE

    def li_records(self) -> list[MaterialRecord]:
        """All 9,161 Li-containing compositions (records are shared, treat as read-only)."""
        return list(_li_records())

    def formation_energies(self) -> dict[str, float]:
        """Reduced formula -> minimum formation energy (eV/atom); elements exactly 0.

        Keys are pymatgen reduced formulas, so diatomic elements appear as ``'O2'``,
        ``'N2'``, ``'H2'``, ``'F2'``, ``'Cl2'``.
        """
        return dict(_formation_energies())

    def entries_in_chemsys(self, elements: Iterable[str]) -> list[PDEntry]:
        """One ``PDEntry`` per snapshot composition within ``elements``, plus elements at 0.

        Entry energies are formation energies per reduced formula unit (eV), so the
        elemental references have energy 0 and ``PhaseDiagram`` gives formation energies
        and hull distances directly. ``entry.name`` is the formula and
        ``entry.attribute`` the MP id (or None).
        """
        symbols = sorted({str(e) for e in elements})
        if not symbols:
            raise ValueError("entries_in_chemsys needs at least one element")
        for symbol in symbols:
            Element(symbol)  # ValueError for an unknown element
        index = _by_chemsys()
        entries = [PDEntry(Composition(s), 0.0, name=s) for s in symbols]
        for n in range(2, len(symbols) + 1):
            for subset in itertools.combinations(symbols, n):
                for formula, energy, material_id in index.get("-".join(subset), ()):
                    composition = Composition(formula)
                    entries.append(
                        PDEntry(
                            composition,
                            energy * composition.num_atoms,
                            name=formula,
                            attribute=material_id,
                        )
                    )
        return entries
