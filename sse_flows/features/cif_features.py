"""Structure features of a (possibly disordered) crystal structure, e.g. an OBELiX CIF.

Five numbers that describe the room Li has in a structure, computed with pymatgen:

* ``density``: mass density (g/cm^3), ``Structure.density`` (partial occupancies counted);
* ``volume_per_atom``: cell volume / number of atoms (occupancy-weighted), angstrom^3;
* ``li_li_min``: shortest distance between two Li-containing sites (periodic images
  included), angstrom;
* ``li_anion_mean``: mean over the Li-containing sites of the distance to the nearest
  anion site (a site containing one of :data:`ANIONS`), angstrom;
* ``li_fraction``: occupancy-weighted atomic fraction of Li.

Distances are searched within :data:`CUTOFF` angstrom; a structure without Li (or without
anions) gets NaN for the distances. Sites closer than :data:`MIN_DISTANCE` angstrom to a
Li site count as the same (partially occupied, split) position and are skipped.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

#: Keys of :func:`cif_structure_features`, in order.
CIF_FEATURE_LABELS: tuple[str, ...] = (
    "density",
    "volume_per_atom",
    "li_li_min",
    "li_anion_mean",
    "li_fraction",
)
#: Elements counted as anions for the Li-anion distance.
ANIONS: frozenset[str] = frozenset({"N", "P", "As", "O", "S", "Se", "Te", "F", "Cl", "Br", "I"})
#: Neighbour search radius (angstrom).
CUTOFF = 6.0
#: Shorter distances are split positions of one site, not neighbours (angstrom).
MIN_DISTANCE = 0.5


def _site_symbols(site) -> set[str]:
    return {getattr(sp, "symbol", str(sp)) for sp in site.species}


def cif_structure_features(structure: Any) -> dict[str, float]:
    """Density, volume per atom, Li-Li and Li-anion distances and Li fraction of a structure.

    Parameters
    ----------
    structure
        pymatgen ``Structure`` (ordered or disordered) or its ``as_dict()``.

    Returns
    -------
    dict[str, float]
        The :data:`CIF_FEATURE_LABELS` values (NaN where undefined).
    """
    from pymatgen.core import Structure

    if isinstance(structure, dict):
        structure = Structure.from_dict(structure)
    n_atoms = float(structure.composition.num_atoms)
    li_amount = float(structure.composition["Li"])
    li_sites = [i for i, site in enumerate(structure) if "Li" in _site_symbols(site)]
    li_li, li_anion = math.inf, []
    if li_sites:
        neighbours = structure.get_all_neighbors(CUTOFF)
        for i in li_sites:
            nearest_anion = math.inf
            for nb in neighbours[i]:
                if nb.nn_distance < MIN_DISTANCE:
                    continue
                symbols = _site_symbols(nb)
                if "Li" in symbols:
                    li_li = min(li_li, nb.nn_distance)
                if symbols & ANIONS:
                    nearest_anion = min(nearest_anion, nb.nn_distance)
            if math.isfinite(nearest_anion):
                li_anion.append(nearest_anion)
    return {
        "density": float(structure.density),
        "volume_per_atom": float(structure.volume / n_atoms),
        "li_li_min": float(li_li) if math.isfinite(li_li) else float("nan"),
        "li_anion_mean": float(np.mean(li_anion)) if li_anion else float("nan"),
        "li_fraction": li_amount / n_atoms,
    }


def read_cif_features(cif_paths: dict[str, Path | str]) -> dict[str, dict[str, float]]:
    """:func:`cif_structure_features` of CIF files, by key; unreadable files are skipped.

    Parameters
    ----------
    cif_paths
        Key (e.g. the OBELiX ``ID``) -> CIF path.

    Returns
    -------
    dict
        Key -> features, for every CIF pymatgen could read.
    """
    import warnings

    from pymatgen.core import Structure

    out = {}
    for key, path in cif_paths.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                structure = Structure.from_file(str(path))
        except Exception:  # a CIF pymatgen cannot read gives no features
            continue
        out[key] = cif_structure_features(structure)
    return out
