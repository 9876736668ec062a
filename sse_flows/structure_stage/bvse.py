"""Optional: the bond-valence site-energy (BVSE) percolation barriers of Li, with bvlain.

``bvlain`` (MIT; not a dependency of sse-flows: ``pip install bvlain==0.25.1``) computes
the BVSE landscape of a mobile ion on a grid and the lowest energy at which the accessible
region percolates in 1, 2 and 3 dimensions (Chen et al., the softBV method). It needs an
ordered structure with oxidation states, so :func:`bvse_barriers` first takes one species
per site (:func:`one_species_per_site`) and decorates it with the element-level states of
:func:`~sse_flows.structure_stage.descriptors.guess_oxidation_states` of the *original*
composition. It takes seconds to minutes per structure (OBELiX test CIFs: median 19 s,
garnet cells up to 177 s on a loaded core), thousands of times the geometry descriptors.
On the 67 OBELiX test CIFs its 3D barrier ranks measured conductivity (Spearman -0.33,
ROC-AUC 0.71 with low barriers as conductors) below the composition model (0.71, 0.88) and
adds nothing to it (``benchmarks/structure_stage.py``, docs/models.md), so the stage
leaves it off by default.
"""

from __future__ import annotations

from typing import Any

#: Mobile ion of the BVSE landscape.
MOBILE_ION = "Li1+"


def one_species_per_site(structure):
    """An ordered copy: every site keeps its most occupied species (Li wins a tie).

    Parameters
    ----------
    structure : pymatgen Structure
        Ordered or disordered.

    Returns
    -------
    pymatgen Structure
        Same lattice and sites, each fully occupied by one element (vacancies are filled:
        a half-occupied Li site becomes a Li site).
    """
    from pymatgen.core import Structure

    species = []
    for site in structure:
        ranked = sorted(
            site.species.items(),
            key=lambda item: (float(item[1]), item[0].symbol == "Li"),
            reverse=True,
        )
        species.append(ranked[0][0].symbol)
    return Structure(structure.lattice, species, structure.frac_coords)


def bvse_barriers(structure: Any, resolution: float = 0.2) -> dict[str, float | None]:
    """Li percolation barriers (eV) of the BVSE landscape in 1, 2 and 3 dimensions.

    Parameters
    ----------
    structure : pymatgen Structure or dict
        Ordered or disordered (see the module docstring for what is done to it).
    resolution : float
        Grid spacing (A), bvlain's default.

    Returns
    -------
    dict
        ``bvse_barrier_1d_eV``, ``bvse_barrier_2d_eV``, ``bvse_barrier_3d_eV`` (``None``
        where the landscape does not percolate below bvlain's 10 eV cutoff).

    Raises
    ------
    ImportError
        When bvlain is not installed.
    """
    import io
    import math
    import warnings
    from contextlib import redirect_stdout

    from bvlain import Lain

    from sse_flows.structure_stage.descriptors import _as_structure, guess_oxidation_states

    structure = _as_structure(structure)
    states = guess_oxidation_states(structure.composition.element_composition)
    ordered = one_species_per_site(structure)
    ordered.add_oxidation_state_by_element(states)
    lain = Lain(verbose=False)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        lain.read_structure(ordered, oxi_check=False)
        lain.bvse_distribution(mobile_ion=MOBILE_ION, resolution=resolution)
        energies = lain.percolation_barriers()
    out: dict[str, float | None] = {}
    for dim in (1, 2, 3):
        value = energies.get(f"E_{dim}D")
        finite = value is not None and math.isfinite(float(value))
        out[f"bvse_barrier_{dim}d_eV"] = float(value) if finite else None
    return out
