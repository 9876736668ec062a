"""Turn chemical formulas into (element, amount) lists, rejecting invalid ones loudly.

Parsing is sse-flows' one formula parser, :func:`sse_flows.data.formulas.parse_formula`
(pymatgen's grammar, so a formula means here what it means to matminer); its checks reject
what matminer would fail on or silently mis-featurize (unknown element symbols become
pymatgen ``DummySpecies``).
"""

from __future__ import annotations

from typing import Any


class FeaturizationError(ValueError):
    """A formula that cannot be featurized; the message names the formula and the reason."""

    def __init__(self, formula: Any, reason: str) -> None:
        self.formula = formula
        self.reason = reason
        super().__init__(f"cannot featurize formula {formula!r}: {reason}")


def featurization_amounts(formula: Any) -> tuple[list[str], list[float]]:
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
    from sse_flows.data.formulas import FormulaError
    from sse_flows.data.formulas import parse_formula as element_amounts

    try:
        amounts = element_amounts(formula)
    except FormulaError as exc:
        raise FeaturizationError(formula, exc.reason) from exc
    return list(amounts), list(amounts.values())
