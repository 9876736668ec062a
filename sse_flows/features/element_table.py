"""Per-element property table for the Magpie features, read once from matminer's own data.

The values are taken through matminer's data sources themselves (``MagpieData`` with its
NaN imputation, and ``PymatgenData`` for the electronegativity and the common oxidation
states that ``IonProperty`` uses), so the vectorized featurizer sees exactly the numbers
matminer's featurizers see, element by element.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: The 22 Magpie elemental properties of ``ElementProperty.from_preset("magpie")``, in order.
MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Number",
    "MendeleevNumber",
    "AtomicWeight",
    "MeltingT",
    "Column",
    "Row",
    "CovalentRadius",
    "Electronegativity",
    "NsValence",
    "NpValence",
    "NdValence",
    "NfValence",
    "NValence",
    "NsUnfilled",
    "NpUnfilled",
    "NdUnfilled",
    "NfUnfilled",
    "NUnfilled",
    "GSvolume_pa",
    "GSbandgap",
    "GSmagmom",
    "SpaceGroupNumber",
)

#: The six statistics of the magpie preset, in matminer's order.
MAGPIE_STATS: tuple[str, ...] = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")

#: Valence-orbital properties used by ``ValenceOrbital`` (s, p, d, f and the total).
VALENCE_PROPERTIES: tuple[str, ...] = (
    "NsValence",
    "NpValence",
    "NdValence",
    "NfValence",
    "NValence",
)


@dataclass(frozen=True)
class ElementTable:
    """Element-indexed arrays of every per-element number the Magpie features use.

    Attributes
    ----------
    symbols
        Element symbols; row ``i`` of every array belongs to ``symbols[i]``.
    index
        Symbol -> row.
    magpie
        ``(n_elements, 22)`` Magpie properties in :data:`MAGPIE_PROPERTIES` order
        (matminer's ``MagpieData(impute_nan=True)`` values).
    valence
        ``(n_elements, 5)`` Ns/Np/Nd/Nf/N valence electrons (``MagpieData``).
    electronegativity
        ``(n_elements,)`` Pauling electronegativity as ``PymatgenData(impute_nan=True)``
        returns it for ``IonProperty`` (missing values imputed by matminer's rule).
    oxidation_states
        ``(n_elements, max_states)`` common oxidation states (pymatgen
        ``Element.common_oxidation_states``, as ``PymatgenData`` gives them), padded on the
        right by repeating the first state (repeats do not change the set of charge sums).
    n_oxidation_states
        ``(n_elements,)`` number of common oxidation states (0: the element has none, so no
        charge-balanced combination can include it).
    """

    symbols: tuple[str, ...]
    index: dict[str, int]
    magpie: np.ndarray
    valence: np.ndarray
    electronegativity: np.ndarray
    oxidation_states: np.ndarray
    n_oxidation_states: np.ndarray


@lru_cache(maxsize=1)
def get_element_table() -> ElementTable:
    """Build (once per process) the element table from matminer's data sources.

    Returns
    -------
    ElementTable
        Arrays over every member of pymatgen's ``Element`` enumeration.
    """
    from matminer.utils.data import MagpieData, PymatgenData
    from pymatgen.core import Element

    magpie_data = MagpieData(impute_nan=True)
    pymatgen_data = PymatgenData(impute_nan=True)
    elements = list(Element)
    symbols = tuple(el.symbol for el in elements)

    magpie = np.array(
        [
            [magpie_data.get_elemental_property(el, prop) for prop in MAGPIE_PROPERTIES]
            for el in elements
        ],
        dtype=float,
    )
    valence = np.array(
        [
            [magpie_data.get_elemental_property(el, prop) for prop in VALENCE_PROPERTIES]
            for el in elements
        ],
        dtype=float,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        electronegativity = np.array(
            [pymatgen_data.get_elemental_property(el, "X") for el in elements], dtype=float
        )
    states = [tuple(pymatgen_data.get_oxidation_states(el)) for el in elements]
    max_states = max(len(s) for s in states)
    oxidation_states = np.zeros((len(elements), max_states), dtype=float)
    for row, element_states in enumerate(states):
        if element_states:
            padded = list(element_states) + [element_states[0]] * (max_states - len(element_states))
            oxidation_states[row] = padded
    n_oxidation_states = np.array([len(s) for s in states], dtype=int)

    for array in (magpie, valence, electronegativity, oxidation_states):
        array.setflags(write=False)
    return ElementTable(
        symbols=symbols,
        index={symbol: row for row, symbol in enumerate(symbols)},
        magpie=magpie,
        valence=valence,
        electronegativity=electronegativity,
        oxidation_states=oxidation_states,
        n_oxidation_states=n_oxidation_states,
    )
