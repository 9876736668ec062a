"""Anion class of a compound (oxide, halide, nitride, sulfide, ..., mixed-anion).

The anions of a composition are the elements that carry a negative oxidation state in a
charge-balanced assignment of one common oxidation state per element (pymatgen's
``Element.common_oxidation_states``) in which every anion is more electronegative
(Pauling) than every cation.  Among such assignments the one with the fewest anion
elements, then the smallest total |charge|, wins.  So S is the anion of Li3PS4 (P is +5),
O the only anion of LiClO4 and Li2SO4, H the anion of LiBH4 but not of LiNH2, and Li2PNO2
(LiPON) is an oxide-nitride.  When no assignment balances (e.g. Li2C2, Li2B12H12) the most
electronegative element is taken as the anion.

The class is the family of the anions (:data:`ANION_FAMILIES`), or ``"mixed-anion"``
when they belong to more than one family (e.g. Li3OCl: oxide + halide).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache

from pymatgen.core import Composition, Element

#: Element -> anion family name.
ANION_FAMILIES: dict[str, str] = {
    "F": "halide",
    "Cl": "halide",
    "Br": "halide",
    "I": "halide",
    "O": "oxide",
    "S": "sulfide",
    "Se": "selenide",
    "Te": "telluride",
    "N": "nitride",
    "P": "phosphide",
    "As": "arsenide",
    "Sb": "antimonide",
    "Bi": "bismuthide",
    "C": "carbide",
    "Si": "silicide",
    "Ge": "germanide",
    "B": "boride",
    "H": "hydride",
}

MIXED_ANION = "mixed-anion"
UNCLASSIFIED = "other"


def _electronegativity(symbol: str) -> float:
    value = Element(symbol).X
    return float(value) if value == value else 0.0  # NaN (noble gases) -> 0


def _candidate_states(symbol: str) -> tuple[int, ...]:
    states = tuple(Element(symbol).common_oxidation_states)
    if symbol not in ANION_FAMILIES:
        states = tuple(s for s in states if s > 0)  # metals and others are never anions here
    return states or (0,)


@lru_cache(maxsize=4096)
def _anions_of(items: tuple[tuple[str, float], ...]) -> tuple[str, ...]:
    symbols = [symbol for symbol, _ in items]
    amounts = [amount for _, amount in items]
    best: tuple[int, float, tuple[str, ...]] | None = None
    for states in itertools.product(*(_candidate_states(s) for s in symbols)):
        if abs(sum(q * n for q, n in zip(states, amounts, strict=True))) > 1e-6:
            continue
        anions = [s for s, q in zip(symbols, states, strict=True) if q < 0]
        cations = [s for s, q in zip(symbols, states, strict=True) if q > 0]
        if not anions:
            continue
        if cations and min(map(_electronegativity, anions)) <= max(
            map(_electronegativity, cations)
        ):
            continue
        score = (len(anions), sum(abs(q) * n for q, n in zip(states, amounts, strict=True)))
        if best is None or score < best[:2]:
            best = (*score, tuple(sorted(anions)))
    if best is not None:
        return best[2]
    return (max(symbols, key=_electronegativity),)


def anion_elements(composition: Composition | str | Mapping[str, float]) -> tuple[str, ...]:
    """Elements acting as anions in ``composition`` (sorted symbols)."""
    comp = Composition(composition).reduced_composition
    items = tuple(sorted((str(el), float(amount)) for el, amount in comp.items()))
    if len(items) == 1:
        return ()
    return _anions_of(items)


def anion_families(composition: Composition | str | Mapping[str, float]) -> tuple[str, ...]:
    """Sorted anion family names of ``composition`` (e.g. ``("halide", "oxide")``)."""
    return tuple(
        sorted({ANION_FAMILIES.get(symbol, UNCLASSIFIED) for symbol in anion_elements(composition)})
    )


def anion_class(composition: Composition | str | Mapping[str, float]) -> str:
    """One anion class: the family of the anions, ``"mixed-anion"`` when several."""
    families = anion_families(composition)
    if not families:
        return UNCLASSIFIED
    return families[0] if len(families) == 1 else MIXED_ANION


def class_breakdown(classes: Iterable[str]) -> dict[str, int]:
    """Count per class, largest first (ties by name)."""
    counts = Counter(classes)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
