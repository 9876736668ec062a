"""Cheap Li-transport descriptors of one crystal structure (geometry only, no energies).

Every descriptor is computed from the Li-containing sites of a pymatgen ``Structure``
(ordered or disordered: a partially occupied site counts as a Li site when Li is among its
species, and amounts are occupancy-weighted):

* ``li_li_min_A``: shortest distance between two Li sites, periodic images included.
  Distances below :data:`SPLIT_SITE_DISTANCE_A` are split positions of one site, not
  neighbours, and are skipped.
* ``li_percolation_{1,2,3}d_A``: the smallest Li-Li cutoff at which the graph of Li sites
  (an edge between two Li sites closer than the cutoff) holds a component that is infinite
  in at least 1, 2 or 3 dimensions; ``None`` when it needs more than
  :data:`MAX_CUTOFF_A`. Found by one sweep over the Li-Li distances in increasing order
  (union-find with the periodic image offset of every site; a cycle through the cell
  boundary adds a translation vector, and a component's dimension is the rank of its
  vectors: the criterion of Larsen et al., Phys. Rev. Mater. 3, 034003 (2019), which
  pymatgen's ``get_dimensionality_larsen`` implements on a bonded graph).
* ``li_network_dimension`` and ``li_network_fraction``: at the fixed cutoff
  :data:`LI_NETWORK_CUTOFF_A`, the highest dimension of a Li network (0-3) and the
  fraction of the Li sites in the largest connected component.
* ``free_volume_fraction``: ``1 - sum(occupancy * 4/3 pi r^3) / V`` over all sites, with
  ``r`` the Shannon ionic radius of each species in its oxidation state (the structure's
  own states, else :func:`guess_oxidation_states`); may be negative when spheres overlap.
* ``li_per_nm3``: Li atoms per nm^3 (occupancy-weighted).
* ``volume_per_anion_A3``: cell volume per anion atom (the anions of
  :func:`guess_oxidation_states`).

A structure of a few hundred sites takes well under a second on one CPU core
(``benchmarks/structure_stage.py`` measures it on the OBELiX CIFs).
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Any

import numpy as np

#: Li-Li distances below this are split (partially occupied) positions of one site (A).
SPLIT_SITE_DISTANCE_A = 0.5
#: Largest Li-Li cutoff searched for a percolating Li network (A).
MAX_CUTOFF_A = 6.0
#: The fixed cutoff of ``li_network_dimension`` / ``li_network_fraction`` (A): a Li-Li hop
#: longer than about 4 A does not happen in known conductors.
LI_NETWORK_CUTOFF_A = 4.0
#: Anion charges by element (the anion-forming elements of solid electrolytes).
ANION_CHARGES: dict[str, int] = {
    "F": -1, "Cl": -1, "Br": -1, "I": -1,
    "O": -2, "S": -2, "Se": -2, "Te": -2,
    "N": -3, "P": -3, "As": -3,
    "H": -1,
}  # fmt: skip

DESCRIPTOR_NAMES: tuple[str, ...] = (
    "li_li_min_A",
    "li_percolation_1d_A",
    "li_percolation_2d_A",
    "li_percolation_3d_A",
    "li_network_dimension",
    "li_network_fraction",
    "free_volume_fraction",
    "li_per_nm3",
    "volume_per_anion_A3",
)


def _symbols(site) -> set[str]:
    return {getattr(sp, "symbol", str(sp)) for sp in site.species}


def _as_structure(structure: Any):
    from pymatgen.core import Structure

    if isinstance(structure, dict):
        return Structure.from_dict(structure)
    return structure


# ----------------------------------------------------------------------------- oxidation states
def _electronegativity(symbol: str) -> float:
    from pymatgen.core import Element

    value = Element(symbol).X
    return float(value) if value == value else 0.0  # NaN (noble gases) -> 0


def _cation_states(symbol: str) -> tuple[int, ...]:
    from pymatgen.core import Element

    states = tuple(s for s in Element(symbol).common_oxidation_states if s > 0)
    return states or tuple(s for s in Element(symbol).oxidation_states if s > 0)[:1] or (0,)


@lru_cache(maxsize=4096)
def _guess(items: tuple[tuple[str, float], ...]) -> tuple[tuple[str, int], ...]:
    symbols = [s for s, _ in items]
    amounts = np.array([a for _, a in items])
    best: tuple[tuple[float, int, float], tuple[int, ...]] | None = None
    for anions in _anion_sets(symbols):
        options = [(ANION_CHARGES[s],) if s in anions else _cation_states(s) for s in symbols]
        for states in itertools.product(*options):
            charges = np.array(states, dtype=float)
            positive = float((charges.clip(min=0) * amounts).sum())
            imbalance = abs(float((charges * amounts).sum())) / max(positive, 1e-9)
            score = (round(imbalance, 3), len(anions), float((np.abs(charges) * amounts).sum()))
            if best is None or score < best[0]:
                best = (score, states)
    assert best is not None
    return tuple(zip(symbols, best[1], strict=True))


def _anion_sets(symbols: list[str]) -> list[frozenset[str]]:
    """Candidate anion sets: anion-forming elements more electronegative than every cation."""
    candidates = sorted((s for s in symbols if s in ANION_CHARGES), key=_electronegativity)
    if not candidates:
        return [frozenset({max(symbols, key=_electronegativity)})] if len(symbols) > 1 else []
    out = []
    for k in range(len(candidates)):
        anions = frozenset(candidates[k:])  # the k least electronegative become cations
        cations = [s for s in symbols if s not in anions]
        if not cations or min(map(_electronegativity, anions)) > max(
            map(_electronegativity, cations)
        ):
            out.append(anions)
    return out or [frozenset(candidates[-1:])]


def guess_oxidation_states(composition: Any) -> dict[str, int]:
    """One oxidation state per element that balances the charge as well as possible.

    Anion-forming elements (:data:`ANION_CHARGES`) take their anion charge, the others one
    of their positive common oxidation states (pymatgen ``common_oxidation_states``); every
    anion must be more electronegative (Pauling) than every cation. Among those assignments
    the smallest relative charge imbalance wins, then the fewest anion elements, then the
    smallest total |charge|. Unlike pymatgen's ``oxi_state_guesses`` it accepts
    non-integer (partially occupied) compositions, which rarely balance exactly.

    Parameters
    ----------
    composition : pymatgen Composition, str or mapping
        The composition (e.g. ``structure.composition`` of a disordered CIF).

    Returns
    -------
    dict of str to int
        Element symbol -> oxidation state (e.g. ``{"Li": 1, "P": 5, "S": -2}`` for
        Li3PS4, ``{"Li": 1, "S": 6, "O": -2}`` for Li2SO4).
    """
    from pymatgen.core import Composition

    comp = Composition(composition)
    total = float(comp.num_atoms)
    items = tuple(sorted((str(el), round(float(n) / total, 4)) for el, n in comp.items()))
    if len(items) == 1:
        return {items[0][0]: 0}
    return dict(_guess(items))


def _ionic_radius(symbol: str, state: int) -> float:
    """Shannon radius (A) of ``symbol`` in ``state``; the element's mean ionic radius else."""
    import warnings

    from pymatgen.core import Element, Species

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No ionic radius for O-!": handled below
            radius = Species(symbol, state).ionic_radius
    except (ValueError, KeyError):
        radius = None
    if radius is None:
        element = Element(symbol)
        radius = element.average_ionic_radius or element.atomic_radius or 1.0
    return float(radius)


def _oxidation_states(structure) -> dict[str, int]:
    """The structure's own states per element when every species has a nonzero one, else
    :func:`guess_oxidation_states` (pymatgen files may carry placeholder 0 states)."""
    states: dict[str, int] = {}
    for site in structure:
        for species in site.species:
            state = getattr(species, "oxi_state", None)
            if not state:
                return guess_oxidation_states(structure.composition.element_composition)
            states.setdefault(species.symbol, int(round(state)))
    return states


# ----------------------------------------------------------------------------- Li network
def _find(parent: list[int], offset: np.ndarray, i: int) -> int:
    """Root of ``i``; ``offset[i]`` becomes the image of ``i`` relative to its root."""
    path = []
    while parent[i] != i:
        path.append(i)
        i = parent[i]
    root = i
    # compress from the node nearest the root outwards, accumulating offsets
    for node in reversed(path):
        if parent[node] != root:
            offset[node] += offset[parent[node]]
            parent[node] = root
    return root


def _rank_basis(vectors: list[np.ndarray]) -> list[np.ndarray]:
    """At most three linearly independent vectors spanning ``vectors``."""
    basis: list[np.ndarray] = []
    for v in vectors:
        if not v.any():
            continue
        trial = [*basis, v]
        if np.linalg.matrix_rank(np.array(trial, dtype=float)) == len(trial):
            basis = trial
        if len(basis) == 3:
            break
    return basis


def li_network(
    li_structure, max_cutoff: float = MAX_CUTOFF_A, fixed_cutoff: float = LI_NETWORK_CUTOFF_A
) -> dict[str, Any]:
    """Percolation cutoffs and the network at ``fixed_cutoff`` of a periodic set of sites.

    Parameters
    ----------
    li_structure : pymatgen Structure
        The Li sites only (any species: every site is a node).
    max_cutoff : float
        Largest site-site distance considered (A).
    fixed_cutoff : float
        The cutoff of ``dimension`` and ``largest_fraction`` (A).

    Returns
    -------
    dict
        ``percolation_A`` ({1: d1, 2: d2, 3: d3}, ``None`` where not reached),
        ``dimension`` and ``largest_fraction`` at ``fixed_cutoff``, ``min_distance``
        (shortest distance above :data:`SPLIT_SITE_DISTANCE_A`, ``None`` if none).
    """
    n = len(li_structure)
    centers, neighbors, images, distances = li_structure.get_neighbor_list(max_cutoff)
    # each bond appears twice (i->j, j->i with -image): keep one direction
    keep = (centers < neighbors) | ((centers == neighbors) & _positive(images))
    centers, neighbors, images, distances = (
        centers[keep], neighbors[keep], images[keep].astype(int), distances[keep]
    )  # fmt: skip
    order = np.argsort(distances, kind="stable")
    parent = list(range(n))
    offset = np.zeros((n, 3), dtype=int)
    size = [1] * n
    basis: dict[int, list[np.ndarray]] = {i: [] for i in range(n)}
    percolation: dict[int, float | None] = {1: None, 2: None, 3: None}
    dimension = 0
    largest = 1 if n else 0
    snapshot_taken = False
    above = distances[distances > SPLIT_SITE_DISTANCE_A]
    for k in order:
        d = float(distances[k])
        if not snapshot_taken and d > fixed_cutoff:
            snapshot_taken = True
            dimension = max((len(basis[r]) for r in set(parent) if parent[r] == r), default=0)
            largest = max(size[r] for r in range(n) if parent[r] == r)
        i, j, image = int(centers[k]), int(neighbors[k]), images[k]
        ri, rj = _find(parent, offset, i), _find(parent, offset, j)
        oi = offset[i] if i != ri else np.zeros(3, dtype=int)
        oj = offset[j] if j != rj else np.zeros(3, dtype=int)
        if ri == rj:
            cycle = oi + image - oj
            if cycle.any() and len(basis[ri]) < 3:
                basis[ri] = _rank_basis([*basis[ri], cycle])
            root = ri
        else:
            if size[ri] < size[rj]:  # attach the smaller tree: swap the roles of i and j
                ri, rj, oi, oj, image = rj, ri, oj, oi, -image
            parent[rj] = ri
            offset[rj] = oi + image - oj
            size[ri] += size[rj]
            basis[ri] = _rank_basis([*basis[ri], *basis[rj]])
            root = ri
        dim = len(basis[root])
        for target in (1, 2, 3):
            if dim >= target and percolation[target] is None:
                percolation[target] = d
        if percolation[3] is not None and snapshot_taken:
            break
    if not snapshot_taken:
        roots = [r for r in range(n) if _find(parent, offset, r) == r]
        dimension = max((len(basis[r]) for r in roots), default=0)
        largest = max((size[r] for r in roots), default=0)
    return {
        "percolation_A": percolation,
        "dimension": dimension,
        "largest_fraction": largest / n if n else 0.0,
        "min_distance": float(above.min()) if len(above) else None,
    }


def _positive(images: np.ndarray) -> np.ndarray:
    """True for image vectors whose first nonzero component is positive."""
    out = np.zeros(len(images), dtype=bool)
    decided = np.zeros(len(images), dtype=bool)
    for axis in range(3):
        col = images[:, axis]
        out |= ~decided & (col > 0)
        decided |= col != 0
    return out


def li_sublattice(structure):
    """The Li-containing sites of ``structure`` as a structure of Li atoms (same lattice)."""
    from pymatgen.core import Structure

    coords = [site.frac_coords for site in structure if "Li" in _symbols(site)]
    return Structure(structure.lattice, ["Li"] * len(coords), coords)


# ----------------------------------------------------------------------------- all descriptors
def li_transport_descriptors(
    structure: Any,
    li_network_cutoff: float = LI_NETWORK_CUTOFF_A,
    max_cutoff: float = MAX_CUTOFF_A,
) -> dict[str, Any]:
    """The :data:`DESCRIPTOR_NAMES` values of one structure (see the module docstring).

    Parameters
    ----------
    structure : pymatgen Structure or dict
        Ordered or disordered; ``as_dict()`` accepted.
    li_network_cutoff : float
        Cutoff (A) of ``li_network_dimension`` and ``li_network_fraction``.
    max_cutoff : float
        Largest Li-Li cutoff (A) searched for percolation.

    Returns
    -------
    dict
        The descriptors, plus ``oxidation_states`` (element -> state used for the radii).

    Raises
    ------
    ValueError
        When the structure holds no Li site.
    """
    structure = _as_structure(structure)
    li = li_sublattice(structure)
    if len(li) == 0:
        raise ValueError(f"{structure.composition.reduced_formula}: no Li site")
    network = li_network(li, max_cutoff=max_cutoff, fixed_cutoff=li_network_cutoff)
    states = _oxidation_states(structure)
    volume = float(structure.volume)
    sphere_volume = 0.0
    for site in structure:
        for species, occupancy in site.species.items():
            radius = _ionic_radius(species.symbol, states.get(species.symbol, 0))
            sphere_volume += float(occupancy) * 4.0 / 3.0 * math.pi * radius**3
    element_amounts = structure.composition.element_composition
    n_anions = sum(float(element_amounts[el]) for el, q in states.items() if q < 0)
    return {
        "li_li_min_A": network["min_distance"],
        "li_percolation_1d_A": network["percolation_A"][1],
        "li_percolation_2d_A": network["percolation_A"][2],
        "li_percolation_3d_A": network["percolation_A"][3],
        "li_network_dimension": int(network["dimension"]),
        "li_network_fraction": float(network["largest_fraction"]),
        "free_volume_fraction": 1.0 - sphere_volume / volume,
        "li_per_nm3": float(element_amounts["Li"]) / volume * 1000.0,
        "volume_per_anion_A3": volume / n_anions if n_anions > 0 else None,
        "oxidation_states": states,
    }
