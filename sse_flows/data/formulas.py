"""Formula repair rules, composition keys and a charge-balance check.

Every repair of a raw formula is one named, tested rule (:data:`FORMULA_REPAIRS`); a
formula that no rule repairs and pymatgen cannot parse is rejected by the caller, which
names the file and row.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from pymatgen.core import Composition, Element

#: Rounding (in atomic fraction) used to decide that two compositions are the same.
COMPOSITION_DECIMALS = 4


@dataclass(frozen=True)
class FormulaRepair:
    """One explicit repair of a raw formula string.

    Attributes
    ----------
    name
        Short identifier recorded in the ``repair`` column of the training table.
    description
        What the rule fixes and why it is safe.
    apply
        Function mapping a formula string to the repaired string (identity when the
        rule does not apply).
    """

    name: str
    description: str
    apply: Callable[[str], str]


def _strip_whitespace(formula: str) -> str:
    return re.sub(r"\s+", "", formula)


def _fix_uppercase_symbols(formula: str) -> str:
    # "AL" and "HF" are not element symbols nor valid pairs of symbols followed by a count
    # in these tables (there is no element "L"; "H" followed by "F" would make a hydrogen
    # fluoride unit inside a NASICON phosphate). Only these two are repaired.
    return re.sub(r"AL(?=[\d.(A-Z]|$)", "Al", re.sub(r"HF(?=[\d.(A-Z]|$)", "Hf", formula))


#: Formulas whose raw form misses a subscript; each replacement is charge balanced with
#: common oxidation states while the raw form is not (checked in the tests).
MISSING_SUBSCRIPTS: dict[str, str] = {
    # Na2 Mg0.5 Zr1.5 gives +9: three phosphate groups, not one (Xu 2020 TestData row 17,
    # copied into Kang 2023 Database.xlsx row 131).
    "Na2Mg0.5Zr1.5(PO4)": "Na2Mg0.5Zr1.5(PO4)3",
}


def _fix_missing_subscript(formula: str) -> str:
    return MISSING_SUBSCRIPTS.get(formula, formula)


FORMULA_REPAIRS: tuple[FormulaRepair, ...] = (
    FormulaRepair(
        "strip_whitespace",
        "remove spaces, tabs and line breaks (trailing or inside, e.g. 'HF1.8 (PO4)3')",
        _strip_whitespace,
    ),
    FormulaRepair(
        "element_case",
        "upper-case typos of element symbols: 'AL' -> 'Al', 'HF' -> 'Hf'",
        _fix_uppercase_symbols,
    ),
    FormulaRepair(
        "missing_subscript",
        "a listed formula with a missing subscript, e.g. 'Na2Mg0.5Zr1.5(PO4)' -> '(PO4)3'",
        _fix_missing_subscript,
    ),
)


def repair_formula(raw: str) -> tuple[str, list[str]]:
    """Apply every repair rule in order.

    Parameters
    ----------
    raw
        Formula as found in the raw table.

    Returns
    -------
    tuple
        The repaired formula and the names of the rules that changed it.
    """
    formula, applied = str(raw), []
    for rule in FORMULA_REPAIRS:
        new = rule.apply(formula)
        if new != formula:
            applied.append(rule.name)
            formula = new
    return formula, applied


def parse_formula(formula: str) -> Composition:
    """Parse with pymatgen, raising ``ValueError`` for anything that is not a formula.

    pymatgen silently accepts some malformed strings; this also rejects empty
    compositions, non-positive amounts and characters outside a chemical formula.
    """
    if not isinstance(formula, str) or not formula.strip():
        raise ValueError("empty formula")
    if re.search(r"[^A-Za-z0-9.()\[\]]", formula):
        raise ValueError(f"formula {formula!r} contains characters that are not a formula")
    try:
        composition = Composition(formula)
    except Exception as exc:  # pymatgen raises several types
        raise ValueError(f"formula {formula!r} cannot be parsed: {exc}") from exc
    if len(composition) == 0 or any(amount <= 0 for amount in composition.values()):
        raise ValueError(f"formula {formula!r} has no positive amounts")
    unknown = [str(sp) for sp in composition if not isinstance(sp, Element)]
    if unknown:
        raise ValueError(f"formula {formula!r} has unknown element(s) {', '.join(unknown)}")
    return composition


@cache
def reduced_formula(formula: str) -> str:
    """pymatgen's reduced formula (``Composition(formula).reduced_formula``), cached."""
    return Composition(formula).reduced_formula


def composition_key(composition: Composition | str) -> str:
    """Key under which two formulas count as the same composition.

    The atomic fractions rounded to :data:`COMPOSITION_DECIMALS`, so
    ``'Na2.0Mg0.5Zr1.5(PO4)3'`` and ``'Na4MgZr3P6O24'`` share a key.
    """
    if isinstance(composition, str):
        composition = Composition(composition)
    fractions = composition.fractional_composition
    return " ".join(
        f"{el.symbol}{round(amount, COMPOSITION_DECIMALS):g}"
        for el, amount in sorted(fractions.items(), key=lambda item: item[0].symbol)
    )


def is_charge_balanced(composition: Composition | str, tolerance: float = 0.02) -> bool:
    """True when one common oxidation state per element makes the formula neutral.

    pymatgen's ``oxi_state_guesses`` needs integer amounts; doped formulas have fractional
    ones. This checks every combination of pymatgen's ``common_oxidation_states`` (one
    state per element, no mixed valence) for a total charge within ``tolerance`` (in
    units of e per formula unit).
    """
    if isinstance(composition, str):
        composition = Composition(composition)
    elements = list(composition)
    choices = []
    for el in elements:
        states = Element(el.symbol).common_oxidation_states or (0,)
        choices.append(states)
    amounts = [composition[el] for el in elements]
    for states in itertools.product(*choices):
        if abs(sum(a * s for a, s in zip(amounts, states, strict=True))) <= tolerance:
            return True
    return False
