"""Optional structural extras (lattice a, c, a/c, volume, space group) of a known structure."""

from __future__ import annotations

from typing import Any

#: Keys of :func:`structural_features`, in order.
STRUCTURAL_FEATURE_LABELS: tuple[str, ...] = ("a", "c", "a/c", "volume", "space_group_number")


def structural_features(structure: Any, symprec: float = 0.1) -> dict[str, float]:
    """Lattice a, c, a/c, cell volume and space-group number of a structure.

    Lengths and volume are those of the conventional standard cell (pymatgen
    ``SpacegroupAnalyzer.get_conventional_standard_structure``), so they do not depend on
    which (super/primitive) cell was given; this is the cell crystallographers quote a and
    c for (e.g. the hexagonal cell of NASICON).

    Parameters
    ----------
    structure
        pymatgen ``Structure`` or its ``as_dict()``.
    symprec
        Symmetry tolerance (angstrom) for spglib.

    Returns
    -------
    dict[str, float]
        ``a`` and ``c`` (angstrom), ``a/c``, ``volume`` (angstrom^3, conventional cell),
        ``space_group_number`` (1-230).
    """
    from pymatgen.core import Structure
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    if isinstance(structure, dict):
        structure = Structure.from_dict(structure)
    analyzer = SpacegroupAnalyzer(structure, symprec=symprec)
    conventional = analyzer.get_conventional_standard_structure()
    lattice = conventional.lattice
    return {
        "a": float(lattice.a),
        "c": float(lattice.c),
        "a/c": float(lattice.a / lattice.c),
        "volume": float(lattice.volume),
        "space_group_number": float(analyzer.get_space_group_number()),
    }
