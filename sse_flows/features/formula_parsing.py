"""Turn chemical formulas into (element, amount) lists, rejecting invalid ones loudly.

Parsing is pymatgen's (``pymatgen.core.Composition``), so a formula means here what it
means to matminer; on top of it the checks below reject what matminer would fail on or
silently mis-featurize (unknown element symbols become pymatgen ``DummySpecies``).
"""

from __future__ import annotations

import math
from typing import Any


class FeaturizationError(ValueError):
    """A formula that cannot be featurized; the message names the formula and the reason."""

    def __init__(self, formula: Any, reason: str) -> None:
        self.formula = formula
        self.reason = reason
        super().__init__(f"cannot featurize formula {formula!r}: {reason}")


def parse_formula(formula: Any) -> tuple[list[str], list[float]]:
    """Element symbols and amounts of a formula, in pymatgen's element order.

    Parameters
    ----------
    formula
        A chemical formula string (``"Li1.3Al0.3Ti1.7(PO4)3"``) or a pymatgen
        ``Composition`` of plain elements.

    Returns
    -------
    tuple[list[str], list[float]]
        Symbols and amounts (as written, not normalised) of
        ``Composition(formula).element_composition``, the order matminer iterates.

    Raises
    ------
    FeaturizationError
        Empty formula, a non-string, a formula pymatgen cannot parse, an unknown element
        symbol, a negative or non-finite amount, or species with oxidation states.
    """
    from pymatgen.core import Composition, Element

    if isinstance(formula, Composition):
        composition = formula
    else:
        if not isinstance(formula, str):
            raise FeaturizationError(formula, f"not a formula string ({type(formula).__name__})")
        if not formula.strip():
            raise FeaturizationError(formula, "empty formula")
        try:
            composition = Composition(formula)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            message = str(exc)
            if "negative" in message:
                raise FeaturizationError(formula, "negative amount") from exc
            if "Element" in message or "Species" in message:
                raise FeaturizationError(formula, f"unknown element ({message})") from exc
            raise FeaturizationError(formula, f"unparseable ({message})") from exc

    symbols: list[str] = []
    amounts: list[float] = []
    for species, amount in composition.items():
        if not isinstance(species, Element):
            raise FeaturizationError(
                formula,
                f"unknown element {str(species).rstrip('0+-')!r}"
                if type(species).__name__ == "DummySpecies"
                else f"species with an oxidation state ({species}); give plain elements",
            )
        amount = float(amount)
        if not math.isfinite(amount):
            raise FeaturizationError(formula, f"non-finite amount of {species.symbol}")
        if amount < 0:
            raise FeaturizationError(formula, f"negative amount of {species.symbol}")
        symbols.append(species.symbol)
        amounts.append(amount)
    if not symbols:
        raise FeaturizationError(formula, "empty composition (no element with amount > 0)")
    return symbols, amounts
