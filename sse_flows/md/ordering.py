"""Ordered MD cells from disordered crystal structures (partial occupancies).

MD needs one atom per site, but most published structures of fast Li conductors are
disordered (LGPS, garnets, argyrodites, NASICONs: Li spread over partially occupied sites,
mixed anion or cation sites). :func:`order_structure` turns such a structure into an ordered
supercell:

1. **Groups.** Sites with the same species-occupancy dict (an orbit of the space group, in
   practice) form a group. A fully occupied single-species site is kept as it is.
2. **Supercell.** A diagonal supercell (at most ``max_atoms`` sites before ordering,
   lengths scaled 1-4 times each) in which the rounded counts (step 3) keep every element
   and give the input's composition within :data:`FRACTION_TOLERANCE` (largest change of an
   atomic fraction): the smallest such cell, else the one closest in composition
   (:func:`ordering_scaling`).
3. **Counts.** Each group's counts are the expected counts rounded by largest remainders, so
   that a group never holds more atoms than sites. The resulting composition is reported
   (:class:`~sse_flows.md.schemas.OrderingDoc`: ``max_fraction_error``); it is not forced to
   be charge neutral.
4. **Placement.** One placement over all disordered sites at once: ``n_candidates`` random
   placements (each group's atoms shuffled over its sites, seeded), each improved by
   proposed swaps of two sites of one group with different labels (an element or empty),
   kept when they lower the *penalty*: a clash term for every two atoms closer than
   :data:`CLASH_DISTANCE` (alternative, "split" positions of one atom, which would blow up
   the MD if both were filled), whichever groups they come from, plus ``1 / r`` for every
   two like atoms closer than ``cutoff`` (A), which spreads the Li over its sublattice and
   the dopants over theirs. A clash the rounded counts force (split pairs refined at an
   occupancy above 0.5) is resolved by emptying one of the two sites; the composition moves
   by that atom (``atoms_removed``, ``max_fraction_error``). An Ewald energy would need
   oxidation states, which many OBELiX compositions do not admit cleanly; the penalty needs
   none.

The force-field relaxation that precedes every MD run then removes the residual strain. An
ordered cell whose shortest interatomic distance is below ``min_distance`` (A) is refused
(:class:`~sse_flows.md.protocol.MDStructureError`).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
from pymatgen.core import Element, Lattice, Structure

from sse_flows.md.protocol import MDStructureError
from sse_flows.md.schemas import OrderingDoc

#: Largest diagonal scaling tried per lattice vector.
MAX_SCALING = 4

#: A supercell whose rounded composition is within this of the input's (largest change of
#: an atomic fraction) is good enough; the smallest such cell is taken.
FRACTION_TOLERANCE = 0.005

#: Pairs of atoms on disordered sites closer than this (A) repel in the placement score.
REPULSION_CUTOFF = 5.0

#: Two atoms on disordered sites closer than this (A) clash: alternative (split) positions of
#: one atom, almost always (bonds this short, e.g. O-H, B-H, are between ordered sites).
CLASH_DISTANCE = 1.5

#: Penalty of one clash: larger than any sum of 1/r terms a swap can change.
CLASH_PENALTY = 1.0e3

#: An ordered cell with two atoms closer than this (A) is refused.
MIN_DISTANCE = 0.8

#: Occupancies are compared after rounding to this many decimals (CIFs print 3-5).
_OCCUPANCY_DECIMALS = 3


def _occupancy_key(site) -> tuple[tuple[str, float], ...]:
    """The species-occupancy dict of a site as a hashable key (elements, no charges)."""
    amounts: dict[str, float] = defaultdict(float)
    for species, amount in site.species.items():
        symbol = getattr(species, "element", species)
        amounts[str(getattr(symbol, "symbol", symbol))] += float(amount)
    return tuple(sorted((el, round(a, _OCCUPANCY_DECIMALS)) for el, a in amounts.items()))


def _is_disordered_key(key: tuple[tuple[str, float], ...]) -> bool:
    return len(key) > 1 or key[0][1] < 1.0


def _rounded_composition(groups: dict, scale: int) -> dict[str, int]:
    """Atoms per element of the ordered supercell (``scale`` cells) before clash removal."""
    counts: dict[str, int] = defaultdict(int)
    for key, sites in groups.items():
        for el, n in _group_counts(key, len(sites) * scale).items():
            counts[el] += n
    return dict(counts)


def _fractions(structure: Structure) -> dict[str, float]:
    """Atomic fraction per element (occupancies counted)."""
    return {el.symbol: float(x)
            for el, x in structure.composition.fractional_composition.items()}


def _fraction_error(target: dict[str, float], counts: dict[str, int]) -> float:
    """Largest change of an element's atomic fraction from ``target`` to ``counts``."""
    total = sum(counts.values()) or 1
    return max(abs(target[el] - counts.get(el, 0) / total) for el in target)


def ordering_scaling(structure: Structure, max_atoms: int) -> list[int]:
    """The diagonal supercell in which the occupancies, rounded to whole atoms, give the
    input's composition.

    Preferred, in order: a cell that keeps every element (a 10 % dopant on a small cell
    rounds to nothing); then the fewest atoms among the cells whose composition is within
    :data:`FRACTION_TOLERANCE` of the input's (largest change of an atomic fraction), or, if
    none is, the smallest change; then the most even lattice lengths.

    Parameters
    ----------
    structure
        The disordered structure.
    max_atoms
        Most sites (before ordering) the supercell may have.

    Returns
    -------
    list of int
        Scaling factors of the three lattice vectors.
    """
    groups = _groups(structure)
    target = _fractions(structure)
    n_sites = len(structure)
    lengths = np.array(structure.lattice.abc)
    best: tuple | None = None
    for scaling in itertools.product(range(1, MAX_SCALING + 1), repeat=3):
        scale = int(np.prod(scaling))
        if n_sites * scale > max_atoms and scale > 1:
            continue
        counts = _rounded_composition(groups, scale)
        error = _fraction_error(target, counts)
        lost = sum(counts.get(el, 0) == 0 for el in target)
        within = error <= FRACTION_TOLERANCE
        scaled = lengths * scaling
        key = (lost, not within, scale if within else round(error, 9),
               scale, float(scaled.max() / scaled.min()))
        if best is None or key < best[0]:
            best = (key, list(scaling))
    assert best is not None  # (1, 1, 1) always qualifies
    return best[1]


def _groups(structure: Structure) -> dict[tuple, list[int]]:
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, site in enumerate(structure):
        groups[_occupancy_key(site)].append(index)
    return dict(groups)


def _group_counts(key: tuple[tuple[str, float], ...], n_sites: int) -> dict[str, int]:
    """Atoms per element on a group of ``n_sites`` sites: expected counts rounded by largest
    remainders, never more atoms than sites."""
    expected = {el: n_sites * occupancy for el, occupancy in key}
    total = min(n_sites, round(sum(expected.values())))
    counts = {el: math.floor(value) for el, value in expected.items()}
    remainders = sorted(expected, key=lambda el: (-(expected[el] - counts[el]), el))
    for el in remainders[: max(0, total - sum(counts.values()))]:
        counts[el] += 1
    while sum(counts.values()) > n_sites:  # can only happen through rounding up
        largest = max(counts, key=lambda el: (counts[el], el))
        counts[largest] -= 1
    return counts


class _Placement:
    """Elements on the disordered sites of a supercell, and the penalty of a placement.

    ``penalty = sum over pairs of atoms on disordered sites of``
    ``1/r`` (same element, ``r < cutoff``) ``+ CLASH_PENALTY`` (any elements,
    ``r < CLASH_DISTANCE``). Labels are element indices, -1 for an empty site.
    """

    def __init__(self, lattice: Lattice, frac_coords: np.ndarray, cutoff: float) -> None:
        distances = lattice.get_all_distances(frac_coords, frac_coords)
        np.fill_diagonal(distances, np.inf)
        with np.errstate(divide="ignore"):
            self.inverse = np.where(distances < cutoff, 1.0 / distances, 0.0)
        self.clash = np.where(distances < CLASH_DISTANCE, CLASH_PENALTY, 0.0)

    def penalty(self, labels: np.ndarray) -> float:
        placed = labels >= 0
        total = float(self.clash[np.ix_(placed, placed)].sum())
        for label in np.unique(labels[placed]):
            same = labels == label
            total += float(self.inverse[np.ix_(same, same)].sum())
        return total / 2.0

    def _site_terms(self, labels: np.ndarray, site: int, label: int, exclude: tuple) -> float:
        if label < 0:
            return 0.0
        placed = labels >= 0
        same = labels == label
        placed[list(exclude)] = False
        same[list(exclude)] = False
        return float(self.clash[site, placed].sum() + self.inverse[site, same].sum())

    def swap_change(self, labels: np.ndarray, i: int, j: int) -> float:
        """Change of :meth:`penalty` when sites i and j exchange their labels (the i-j pair
        itself keeps its two labels and distance, so it does not change)."""
        a, b = int(labels[i]), int(labels[j])
        pair = (i, j)
        return (self._site_terms(labels, j, a, pair) + self._site_terms(labels, i, b, pair)
                - self._site_terms(labels, i, a, pair) - self._site_terms(labels, j, b, pair))


def _resolve_clashes(placement: _Placement, labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Empty the site with the most clashes until none is left; returns the labels and the
    number of atoms removed (clashes the rounded counts force, e.g. split pairs refined at
    occupancy > 0.5)."""
    labels = labels.copy()
    removed = 0
    while True:
        placed = labels >= 0
        clashes = ((placement.clash > 0) & placed[:, None] & placed[None, :]).sum(axis=1)
        if not clashes.any():
            return labels, removed
        labels[int(np.argmax(clashes))] = -1
        removed += 1


def _place(
    placement: _Placement, start: np.ndarray, groups: np.ndarray, rng: np.random.Generator,
    n_candidates: int, swaps_per_site: int,
) -> np.ndarray:
    """The lowest-penalty labels found: ``n_candidates`` random placements (each group's
    labels shuffled among its sites), each improved by proposed swaps of two sites of one
    group with different labels, kept when they lower the penalty."""
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    movable = [m for m in members if len(m) > 1 and len(np.unique(start[m])) > 1]
    best, best_score = start, math.inf
    for _ in range(n_candidates):
        labels = start.copy()
        for m in members:
            labels[m] = rng.permutation(labels[m])
        score = placement.penalty(labels)
        sizes = np.array([len(m) for m in movable], dtype=float)
        for _swap in range(swaps_per_site * int(sizes.sum()) if movable else 0):
            m = movable[int(rng.choice(len(movable), p=sizes / sizes.sum()))]
            i, j = (int(x) for x in rng.choice(m, size=2, replace=False))
            if labels[i] == labels[j]:
                continue
            change = placement.swap_change(labels, i, j)
            if change < -1e-12:
                labels[i], labels[j] = labels[j], labels[i]
                score += change
        if score < best_score - 1e-9:
            best, best_score = labels, score
    return best


def order_structure(
    structure: Structure,
    max_atoms: int = 400,
    n_candidates: int = 8,
    swaps_per_site: int = 20,
    seed: int = 0,
    cutoff: float = REPULSION_CUTOFF,
    min_distance: float = MIN_DISTANCE,
) -> tuple[Structure, OrderingDoc]:
    """An ordered supercell of a disordered structure (module docstring).

    Parameters
    ----------
    structure
        Any structure; an ordered one comes back unchanged (charges and labels removed).
    max_atoms
        Most sites (before ordering) of the ordering supercell.
    n_candidates, swaps_per_site
        Random placements, and proposed swaps per disordered site for each.
    seed
        Seed of the placements: the same seed gives the same cell.
    cutoff
        Pairs of like atoms on disordered sites closer than this (A) count in the penalty.
    min_distance
        Refuse a cell with two atoms closer than this (A).

    Returns
    -------
    tuple of (Structure, OrderingDoc)
        The ordered cell (elements, no oxidation states) and what the ordering did.

    Raises
    ------
    MDStructureError
        The ordered cell has atoms closer than ``min_distance`` or holds no atoms.
    """
    source = structure.copy()
    source.remove_oxidation_states()
    removed = 0
    if source.is_ordered:
        scaling = [1, 1, 1]
        ordered = Structure(source.lattice, source.species, source.frac_coords)
        doc_groups = 0
    else:
        scaling = ordering_scaling(source, max_atoms)
        supercell = source * scaling
        groups = _groups(supercell)
        species, coords = [], []
        disordered = sorted(key for key in groups if _is_disordered_key(key))
        for key in sorted(set(groups) - set(disordered)):
            species += [key[0][0]] * len(groups[key])
            coords += list(supercell.frac_coords[groups[key]])
        elements = sorted({el for key in disordered for el, _ in key})
        sites, start, group_of = [], [], []
        for g, key in enumerate(disordered):
            counts = _group_counts(key, len(groups[key]))
            labels = [elements.index(el) for el in sorted(counts) for _ in range(counts[el])]
            start += labels + [-1] * (len(groups[key]) - len(labels))
            sites += groups[key]
            group_of += [g] * len(groups[key])
        doc_groups = len(disordered)
        placement = _Placement(supercell.lattice, supercell.frac_coords[sites], cutoff)
        labels = _place(placement, np.array(start, dtype=int), np.array(group_of),
                        np.random.default_rng(seed), n_candidates, swaps_per_site)
        labels, removed = _resolve_clashes(placement, labels)
        for label, site in zip(labels, sites, strict=True):
            if label >= 0:
                species.append(elements[label])
                coords.append(supercell.frac_coords[site])
        if not species:
            raise MDStructureError(f"{structure.composition.reduced_formula}: no atoms left "
                                   "after ordering")
        ordered = Structure(supercell.lattice, [Element(s) for s in species], coords)
    # ordering never adds an element, so the input's elements are all there is to compare
    error = _fraction_error(_fractions(source),
                            {el.symbol: n for el, n in ordered.composition.items()})
    shortest = _shortest_distance(ordered)
    doc = OrderingDoc(
        formula_disordered=structure.composition.reduced_formula,
        formula_ordered=ordered.composition.formula,
        scaling=scaling,
        disordered_groups=doc_groups,
        atoms_removed=removed,
        n_atoms=len(ordered),
        max_fraction_error=float(error),
        shortest_distance_A=shortest,
        seed=seed,
    )
    if shortest < min_distance:
        raise MDStructureError(
            f"{doc.formula_disordered}: the ordered cell has atoms {shortest:.2f} A apart "
            f"(< {min_distance} A); order it by hand (e.g. pymatgen's "
            "OrderDisorderedStructureTransformation)"
        )
    return ordered, doc


def _shortest_distance(structure: Structure) -> float:
    """Shortest distance between two sites (periodic images included)."""
    if len(structure) < 2:
        return math.inf
    distances = structure.distance_matrix
    np.fill_diagonal(distances, np.inf)
    return float(distances.min())
