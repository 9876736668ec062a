"""Convex hulls per chemical system, built once and cached.

The offline snapshot holds one formation energy (eV/atom, elements are the zero reference)
per reduced composition.  :class:`FormationEnergyIndex` groups those compositions by
chemical system, so the entries of any system (all of its sub-systems included) are
gathered without scanning all ~95k compositions.  :class:`ChemsysHull` is the lower convex
hull of one system computed exactly as pymatgen's ``PhaseDiagram._compute`` does (same
qhull call, same filtering of positive formation energies, same extra point), but from
numpy arrays instead of ``Composition`` objects, which makes it ~10x faster to build; it
keeps the chemical potentials of every facet (used for E_hull and for the Li stability
window) and builds the equivalent pymatgen ``PhaseDiagram`` on request.
:class:`PhaseDiagramCache` keeps one hull per chemical system.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram, get_facets
from pymatgen.core import Composition

from sse_flows.data.formulas import parse_formula

Chemsys = frozenset[str]

#: Formation energies at or above this (eV/atom) are left out of the hull (pymatgen's value).
FORMATION_ENERGY_TOL = PhaseDiagram.formation_energy_tol


class ChemsysHull:
    """Lower convex hull of one chemical system (all of its sub-systems included).

    Parameters
    ----------
    elements
        Element symbols of the system (their order is the column order of the arrays).
    formulas
        Reduced formula of each row.
    amounts
        Element amounts of each row.
    energies_per_atom
        Energy per atom of each row (formation energies for the snapshot).  Several rows
        of one composition are allowed: the lowest is used, as in pymatgen.

    Attributes
    ----------
    facet_chempots
        ``(n_facets, n_elements)`` chemical potentials (eV/atom) at every facet (invariant
        point) of the lower hull.
    facets
        Row indices (into ``formulas``) of the phases of each facet.
    vertex_index
        Reduced formula -> row index of every phase on the hull.
    element_references
        Element symbol -> reference energy per atom (lowest elemental row).
    """

    def __init__(
        self,
        elements: Sequence[str],
        formulas: Sequence[str],
        amounts: Sequence[Mapping[str, float]],
        energies_per_atom: Sequence[float],
    ) -> None:
        self.elements = sorted({str(el) for el in elements})
        order = {el: k for k, el in enumerate(self.elements)}
        dim = len(self.elements)
        fractions = np.zeros((len(formulas), dim))
        for row, composition in enumerate(amounts):
            for symbol, amount in composition.items():
                fractions[row, order[str(symbol)]] = amount
        fractions /= fractions.sum(axis=1, keepdims=True)
        energies = np.asarray(energies_per_atom, dtype=float)

        # lowest energy per reduced formula (pymatgen: min_entries)
        best: dict[str, int] = {}
        for row, formula in enumerate(formulas):
            if formula not in best or energies[row] < energies[best[formula]]:
                best[formula] = row
        keep = np.array(sorted(best.values()), dtype=int)
        self.formulas = [formulas[k] for k in keep]
        self.fractions = fractions[keep]
        self.energies = energies[keep]
        self.source_rows = keep

        pure = self.fractions.max(axis=1) > 1 - 1e-12
        self.element_references: dict[str, float] = {}
        for row in np.flatnonzero(pure):
            symbol = self.elements[int(self.fractions[row].argmax())]
            ref = self.element_references.get(symbol)
            if ref is None or self.energies[row] < ref:
                self.element_references[symbol] = float(self.energies[row])
        if missing := set(self.elements) - set(self.element_references):
            raise ValueError(f"Missing terminal entries for elements {sorted(missing)}")
        references = np.array([self.element_references[el] for el in self.elements])
        formation = self.energies - self.fractions @ references

        on_hull_candidates = [
            int(k) for k in np.flatnonzero(formation < -FORMATION_ENERGY_TOL)
        ]
        for symbol in self.elements:
            column = self.elements.index(symbol)
            rows = [
                int(k) for k in np.flatnonzero(pure)
                if self.fractions[k].argmax() == column
                and self.energies[k] == self.element_references[symbol]
            ]
            on_hull_candidates.append(rows[0])
        candidates = np.array(on_hull_candidates, dtype=int)

        if dim == 1:
            facets = [[int(candidates[0])]]
        else:
            data = np.column_stack([self.fractions[candidates, 1:], self.energies[candidates]])
            extra = np.zeros(dim) + 1 / dim
            extra[-1] = np.max(data) + 1
            data = np.vstack([data, extra])
            simplices = np.asarray(get_facets(data), dtype=int)
            simplices = simplices[simplices.max(axis=1) < len(data) - 1]  # drop the extra point
            matrices = data[simplices].copy()
            matrices[..., -1] = 1
            if len(simplices):
                simplices = simplices[np.abs(np.linalg.det(matrices)) > 1e-14]
            facets = candidates[simplices]
        self.facets = np.asarray(facets, dtype=int).reshape(-1, dim)
        if len(self.facets):
            self.facet_chempots = np.linalg.solve(
                self.fractions[self.facets], self.energies[self.facets][..., None]
            )[..., 0]
        else:
            self.facet_chempots = np.zeros((0, dim))
        on_hull = sorted(set(self.facets.ravel().tolist()))
        self.vertex_index: dict[str, int] = {self.formulas[k]: k for k in on_hull}
        self._phase_diagram: PhaseDiagram | None = None

    @classmethod
    def from_entries(cls, entries: Sequence[PDEntry]) -> ChemsysHull:
        """Hull of pymatgen entries (e.g. a source's ``entries_in_chemsys``)."""
        elements = sorted({str(el) for entry in entries for el in entry.composition.elements})
        hull = cls(
            elements,
            [entry.composition.reduced_formula for entry in entries],
            [{str(el): amt for el, amt in entry.composition.items()} for entry in entries],
            [entry.energy_per_atom for entry in entries],
        )
        hull._entries = list(entries)
        return hull

    def atomic_fractions(self, compositions: Iterable[Mapping[str, float]]) -> np.ndarray:
        """``(n, n_elements)`` atomic fractions of ``compositions`` in ``elements`` order."""
        order = {el: k for k, el in enumerate(self.elements)}
        rows = []
        for amounts in compositions:
            row = np.zeros(len(self.elements))
            for symbol, amount in amounts.items():
                row[order[str(symbol)]] = amount
            rows.append(row / row.sum())
        return np.array(rows).reshape(-1, len(self.elements))

    @property
    def stable_formulas(self) -> list[str]:
        """Reduced formulas of the phases on the hull (sorted)."""
        return sorted(self.vertex_index)

    @property
    def phase_diagram(self) -> PhaseDiagram:
        """The equivalent pymatgen ``PhaseDiagram`` (built by pymatgen on first access)."""
        if self._phase_diagram is None:
            entries = getattr(self, "_entries", None)
            if entries is None:
                entries = []
                for formula, energy in zip(self.formulas, self.energies, strict=True):
                    composition = Composition(formula)
                    entries.append(
                        PDEntry(composition, energy * composition.num_atoms, name=formula)
                    )
            self._phase_diagram = PhaseDiagram(entries)
        return self._phase_diagram


class FormationEnergyIndex:
    """Formation energies (eV/atom) grouped by chemical system.

    Parameters
    ----------
    formation_energies
        Reduced formula -> formation energy per atom (eV/atom) relative to the elements.
        Elements need not be listed: they are added at zero.
    """

    def __init__(self, formation_energies: Mapping[str, float]) -> None:
        self._by_chemsys: dict[Chemsys, list[tuple[str, dict[str, float], float]]] = defaultdict(
            list
        )
        for formula, energy in formation_energies.items():
            if energy is None or energy != energy:  # None or NaN
                continue
            amounts = parse_formula(formula)
            if len(amounts) == 1:
                continue  # elements are the exact zero references
            self._by_chemsys[frozenset(amounts)].append((formula, amounts, float(energy)))

    def rows_in_chemsys(
        self, elements: Iterable[str]
    ) -> tuple[list[str], list[dict[str, float]], list[float]]:
        """Formulas, amounts and formation energies of the system (elements at zero)."""
        chemsys = sorted({str(e) for e in elements})
        formulas = list(chemsys)
        amounts: list[dict[str, float]] = [{symbol: 1.0} for symbol in chemsys]
        energies = [0.0] * len(chemsys)
        for size in range(2, len(chemsys) + 1):
            for subsystem in itertools.combinations(chemsys, size):
                for formula, amount, energy in self._by_chemsys.get(frozenset(subsystem), ()):
                    formulas.append(formula)
                    amounts.append(amount)
                    energies.append(energy)
        return formulas, amounts, energies

    def hull(self, elements: Iterable[str]) -> ChemsysHull:
        """The convex hull of the chemical system ``elements``."""
        chemsys = sorted({str(e) for e in elements})
        return ChemsysHull(chemsys, *self.rows_in_chemsys(chemsys))


class PhaseDiagramCache:
    """One :class:`ChemsysHull` per chemical system, built on first use.

    Parameters
    ----------
    hull_builder
        Callable turning a list of element symbols into the system's hull, e.g.
        :meth:`FormationEnergyIndex.hull`; see also :meth:`from_formation_energies` and
        :meth:`from_entries_provider`.
    """

    def __init__(self, hull_builder: Callable[[list[str]], ChemsysHull]) -> None:
        self.hull_builder = hull_builder
        self._hulls: dict[Chemsys, ChemsysHull] = {}
        self.hits = 0
        self.misses = 0

    @classmethod
    def from_formation_energies(cls, formation_energies: Mapping[str, float]) -> PhaseDiagramCache:
        """A cache over a formula -> formation energy (eV/atom) table (elements at zero)."""
        return cls(FormationEnergyIndex(formation_energies).hull)

    @classmethod
    def from_entries_provider(
        cls, entries_in_chemsys: Callable[[list[str]], list[PDEntry]]
    ) -> PhaseDiagramCache:
        """A cache over a source's ``entries_in_chemsys`` (e.g. live MP entries)."""
        return cls(lambda elements: ChemsysHull.from_entries(entries_in_chemsys(elements)))

    def __len__(self) -> int:
        return len(self._hulls)

    def __contains__(self, elements: Iterable[str]) -> bool:
        return frozenset(map(str, elements)) in self._hulls

    def get(self, elements: Iterable[str]) -> ChemsysHull:
        """The hull of the chemical system ``elements`` (built and stored when new)."""
        key = frozenset(map(str, elements))
        hull = self._hulls.get(key)
        if hull is not None:
            self.hits += 1
            return hull
        self.misses += 1
        hull = self.hull_builder(sorted(key))
        self._hulls[key] = hull
        return hull

    def phase_diagram(self, elements: Iterable[str]) -> PhaseDiagram:
        """The pymatgen phase diagram of the chemical system ``elements``."""
        return self.get(elements).phase_diagram
