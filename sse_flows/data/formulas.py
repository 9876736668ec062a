"""Formula repair rules, composition keys and a charge-balance check.

Every repair of a raw formula is one named, tested rule (:data:`FORMULA_REPAIRS`); a
formula that no rule repairs and pymatgen cannot parse is rejected by the caller, which
names the file and row.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

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


class FormulaError(ValueError):
    """A string or composition that is not a formula of plain elements.

    Parameters
    ----------
    formula
        The rejected input, as given.
    reason
        What is wrong with it (``"empty formula"``, ``"unknown element 'Xx'"``, ...).

    Attributes
    ----------
    formula
        The rejected input.
    reason
        What is wrong with it; callers that wrap the error (featurization, the training
        table loader) reuse it.
    """

    def __init__(self, formula: Any, reason: str) -> None:
        self.formula = formula
        self.reason = reason
        super().__init__(f"formula {formula!r}: {reason}")


#: one element token of a formula without parentheses (``Li``, ``P1``, ``O0.5``)
_TOKEN = re.compile(r"([A-Z][a-z]*)(\d*\.?\d*)")
_SIMPLE_FORMULA = re.compile(r"^(?:[A-Z][a-z]*\d*\.?\d*)+$")
#: characters pymatgen's formula grammar can use (letters, amounts, groups, blanks, sign)
_NOT_FORMULA = re.compile(r"[^A-Za-z0-9.()\[\]\s-]")
_ELEMENTS = frozenset(el.symbol for el in Element)


def _simple_amounts(text: str) -> dict[str, float] | None:
    """Amounts of a formula without groups, or ``None`` when pymatgen must decide."""
    if not _SIMPLE_FORMULA.match(text):
        return None
    amounts: dict[str, float] = {}
    for symbol, amount in _TOKEN.findall(text):
        if symbol not in _ELEMENTS:
            return None  # pymatgen names the unknown element
        try:
            value = float(amount) if amount else 1.0
        except ValueError:  # a lone "."
            return None
        amounts[symbol] = amounts.get(symbol, 0.0) + value
    return {el: amt for el, amt in amounts.items() if amt >= Composition.amount_tolerance}


def _composition_amounts(formula: Any, composition: Composition) -> dict[str, float]:
    amounts: dict[str, float] = {}
    for species, amount in composition.items():
        if not isinstance(species, Element):
            raise FormulaError(
                formula,
                f"unknown element {str(species).rstrip('0+-')!r}"
                if type(species).__name__ == "DummySpecies"
                else f"species with an oxidation state ({species}); give plain elements",
            )
        amount = float(amount)
        if not math.isfinite(amount):
            raise FormulaError(formula, f"non-finite amount of {species.symbol}")
        if amount < 0:
            raise FormulaError(formula, f"negative amount of {species.symbol}")
        amounts[species.symbol] = amount
    return amounts


#: separators of hydrates and adducts (``LiCl·H2O``, ``LiCl*H2O``); a ``.`` counts when an
#: element or a group follows it (``LiCl.H2O``), not a digit (``Li.5O`` is an amount)
_ADDUCT_SEPARATOR = re.compile(r"\s*(?:[·•∙⋅*]|\.(?=\s*[A-Z(\[]))\s*")
_ADDUCT_COUNT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)?(.+)$")
#: most case readings of a formula tried for a "did you mean" suggestion
_MAX_READINGS = 64


def _as_one_formula(amounts: Mapping[str, float]) -> str:
    """``{"Li": 1, "H": 2, "Cl": 1, "O": 1}`` -> ``"LiH2ClO"`` (pymatgen's element order)."""
    composition = Composition(amounts)
    if all(float(amount).is_integer() for amount in composition.values()):
        composition = composition.reduced_composition
    return "".join(
        f"{el.symbol}{'' if amount == 1 else f'{amount:g}'}"
        for el, amount in sorted(composition.items(), key=lambda item: item[0].X)
    )


def _adduct_problem(formula: str) -> str | None:
    """Why a hydrate or adduct (``LiCl·H2O``) is refused, with the one formula to write."""
    parts = _ADDUCT_SEPARATOR.split(formula.strip())
    if len(parts) < 2 or not all(parts):
        return None
    refusal = "hydrates and adducts (A·nB, A.B, A*B) are not supported"
    total: dict[str, float] = {}
    for part in parts:
        count, text = _ADDUCT_COUNT.match(part).groups()
        try:
            amounts = parse_formula(text)
        except FormulaError as exc:
            if "." in formula and not re.search(r"[·•∙⋅*]", formula):
                return None  # "A.B" that is not two formulas: the caller names the problem
            return f"{refusal}, and {text!r} is not a formula either ({exc.reason})"
        for symbol, amount in amounts.items():
            total[symbol] = total.get(symbol, 0.0) + amount * float(count or 1)
    main, *added = (_ADDUCT_COUNT.match(part).group(2) for part in parts)
    drop = "the water" if set(added) == {"H2O"} else " and ".join(added)
    return (
        f"{refusal}: write the whole composition as one formula ({_as_one_formula(total)}) "
        f"or drop {drop} ({main})"
    )


def _case_readings(letters: str) -> list[str]:
    """Ways to read a run of letters as element symbols, ignoring their case."""
    readings: list[str] = []

    def walk(rest: str, done: str) -> None:
        if len(readings) >= _MAX_READINGS:
            return
        if not rest:
            readings.append(done)
            return
        for size in (2, 1):
            symbol = rest[:size].capitalize()
            if len(rest) >= size and symbol in _ELEMENTS:
                walk(rest[size:], done + symbol)

    walk(letters, "")
    return readings


def suggest_formulas(formula: str, limit: int = 3) -> list[str]:
    """Formulas that ``formula`` may mean once the case of its element symbols is fixed.

    ``"LI3PS4"`` -> ``["Li3PS4"]``, ``"LICOO2"`` -> ``["LiCoO2", "LiCOO2"]``: readings
    with fewer rare elements (Z > 83, Tc, Pm), then fewer symbols, first. Only readings
    that parse are returned, never ``formula`` itself.
    """
    if not isinstance(formula, str) or _NOT_FORMULA.search(formula):
        return []
    pieces = re.split(r"([A-Za-z]+)", re.sub(r"\s+", "", formula))
    options: list[list[str]] = []
    for index, piece in enumerate(pieces):
        if index % 2:  # a run of letters
            readings = _case_readings(piece)
            if not readings:
                return []
            options.append(readings)
        else:
            options.append([piece])
    suggestions = []
    for combination in itertools.islice(itertools.product(*options), _MAX_READINGS):
        candidate = "".join(combination)
        if candidate == formula or candidate in suggestions:
            continue
        try:
            parse_formula(candidate)
        except FormulaError:
            continue
        suggestions.append(candidate)
    suggestions.sort(key=_reading_rank)
    return suggestions[:limit]


def _reading_rank(formula: str) -> tuple[int, int]:
    """Likelier readings first: fewer rare elements (Z > 83, Tc, Pm), then fewer symbols."""
    symbols = re.findall(r"[A-Z][a-z]?", formula)
    rare = sum(1 for s in symbols if Element(s).Z > 83 or s in ("Tc", "Pm"))
    return rare, len(symbols)


def _did_you_mean(formula: str) -> str:
    suggestions = suggest_formulas(formula)
    return f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""


def parse_formula(formula: str | Composition) -> dict[str, float]:
    """Element amounts of a formula: the one formula parser of sse-flows.

    A formula means what it means to pymatgen (``Composition``), and so to matminer:
    ``(PO4)3``, ``[SO4]``, decimal amounts and blanks (``"Li1 P1 O3"``, as the Materials
    Project writes them) are understood. Formulas without groups are read by one regular
    expression (screening parses ~10^5 snapshot formulas), with the same result as
    pymatgen. Screening, featurization and the data builds all call this function.

    Parameters
    ----------
    formula : str or pymatgen.core.Composition
        A chemical formula (``"Li1.3Al0.3Ti1.7(PO4)3"``) or a ``Composition`` of plain
        elements.

    Returns
    -------
    dict of str to float
        Element symbol -> amount, as written (not normalised), in pymatgen's element order
        (first appearance); elements with a zero amount are dropped, as pymatgen does.

    Raises
    ------
    FormulaError
        (a ``ValueError``) for a non-string, an empty formula, characters that are not a
        formula, a formula pymatgen cannot parse, an unknown element symbol, a negative or
        non-finite amount, species with oxidation states, or no element with an amount > 0.
    """
    if isinstance(formula, Composition):
        amounts = _composition_amounts(formula, formula)
    else:
        if not isinstance(formula, str):
            raise FormulaError(formula, f"not a formula string ({type(formula).__name__})")
        if not formula.strip():
            raise FormulaError(formula, "empty formula")
        adduct = _adduct_problem(formula)
        if adduct:
            raise FormulaError(formula, adduct)
        if _NOT_FORMULA.search(formula):
            raise FormulaError(formula, "characters that are not a formula")
        amounts = _simple_amounts(re.sub(r"\s+", "", formula))
        if amounts is None:
            try:
                composition = Composition(formula)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                message = str(exc)
                if "negative" in message:
                    raise FormulaError(formula, "negative amount") from exc
                if "Element" in message or "Species" in message:
                    reason = f"unknown element ({message})"
                else:
                    reason = f"unparseable ({message})"
                raise FormulaError(formula, reason + _did_you_mean(formula)) from exc
            try:
                amounts = _composition_amounts(formula, composition)
            except FormulaError as exc:
                if not exc.reason.startswith("unknown element"):
                    raise
                raise FormulaError(formula, exc.reason + _did_you_mean(formula)) from None
    if not amounts:
        raise FormulaError(formula, "empty composition (no element with amount > 0)")
    return amounts


@cache
def reduced_formula(formula: str) -> str:
    """pymatgen's reduced formula (``Composition(formula).reduced_formula``), cached."""
    return Composition(formula).reduced_formula


def composition_key(composition: Composition | Mapping[str, float] | str) -> str:
    """Key under which two formulas count as the same composition.

    The atomic fractions rounded to :data:`COMPOSITION_DECIMALS`, so
    ``'Na2.0Mg0.5Zr1.5(PO4)3'`` and ``'Na4MgZr3P6O24'`` share a key. Accepts a formula,
    a ``Composition`` or the amounts returned by :func:`parse_formula`.
    """
    if not isinstance(composition, Composition):
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
