"""Vectorized Magpie composition features (145 columns), equal to matminer's.

matminer 0.10.1 computes the features of Ward et al. (npj Comput. Mater. 2, 16028, 2016)
one composition at a time with ``MultipleFeaturizer([Stoichiometry(),
ElementProperty.from_preset("magpie"), ValenceOrbital(props=["frac"]),
IonProperty(fast=True)])``, a few milliseconds per formula. Here the same numbers come from
numpy over a padded (formulas x elements) matrix of amounts and an element-property table
read once from matminer's own data sources (:mod:`sse_flows.features.element_table`).

The statistics follow matminer's ``PropertyStats`` exactly:

- ``minimum``/``maximum``/``range`` over the elements present (NaN if any value is NaN);
- ``mean`` and ``avg_dev`` weighted by the amounts as written (``np.average``);
- ``mode``: the smallest value among the elements whose amount is ``np.isclose`` to the
  largest amount (rtol 1e-5, atol 1e-8 on the amounts as written, as matminer does);
- ``compound possible`` (``IonProperty(fast=True)``): some choice of one common oxidation
  state per element (pymatgen ``Element.common_oxidation_states``) gives a charge sum
  ``np.isclose`` to 0 with the amounts as written; an element without common oxidation
  states makes it impossible; a single-element composition is "possible" with ionic
  character 0. matminer returns a bool; this column is 1.0/0.0 here so that the whole
  frame is float64.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from sse_flows.features.element_table import (
    MAGPIE_PROPERTIES,
    MAGPIE_STATS,
    ElementTable,
    get_element_table,
)
from sse_flows.features.formula_parsing import FeaturizationError, featurization_amounts

#: p values of matminer's ``Stoichiometry`` norms.
STOICHIOMETRY_NORMS: tuple[int, ...] = (0, 2, 3, 5, 7, 10)
#: Orbitals of ``ValenceOrbital``.
ORBITALS: tuple[str, ...] = ("s", "p", "d", "f")

#: matminer's ``MultipleFeaturizer.feature_labels()`` for the four featurizers, in order.
MAGPIE_FEATURE_LABELS: tuple[str, ...] = (
    *(f"{p}-norm" for p in STOICHIOMETRY_NORMS),
    *(f"MagpieData {stat} {prop}" for prop in MAGPIE_PROPERTIES for stat in MAGPIE_STATS),
    *(f"frac {orbital} valence electrons" for orbital in ORBITALS),
    "compound possible",
    "max ionic char",
    "avg ionic char",
)

#: ``np.isclose`` defaults, used by matminer for the mode ties and the charge balance.
_RTOL = 1e-5
_ATOL = 1e-8
#: Upper bound on charge-sum array entries held at once in the oxidation-state enumeration.
_MAX_CHARGE_SUMS = 2_000_000

logger = logging.getLogger(__name__)


class MagpieFeaturizer:
    """The 145 Magpie composition features of matminer, computed with numpy.

    Parameters
    ----------
    chunk_size
        Formulas featurized per numpy batch (bounds memory; results do not depend on it).

    Examples
    --------
    >>> frame, errors = MagpieFeaturizer().featurize_formulas(["Li3PS4", "Li7La3Zr2O12"])
    >>> frame.shape
    (2, 145)
    """

    def __init__(self, chunk_size: int = 20_000) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        self.chunk_size = chunk_size

    @property
    def element_table(self) -> ElementTable:
        """The element-property table (built on first use, shared by the process)."""
        return get_element_table()

    def feature_labels(self) -> list[str]:
        """The 145 column names, matminer's labels in matminer's order."""
        return list(MAGPIE_FEATURE_LABELS)

    # ------------------------------------------------------------------ public entry points
    def featurize(self, formula: Any) -> np.ndarray:
        """Features of one formula (raises :class:`FeaturizationError` when invalid)."""
        symbols, amounts = featurization_amounts(formula)
        return self.featurize_parsed([symbols], [amounts])[0]

    def featurize_formulas(
        self,
        formulas: Sequence[Any],
        on_error: Literal["raise", "skip"] = "raise",
        log_skipped: bool = True,
    ) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
        """Feature frame of many formulas.

        Parameters
        ----------
        formulas
            Formula strings (or pymatgen ``Composition`` objects of plain elements).
        on_error
            ``"raise"``: the first invalid formula raises :class:`FeaturizationError`
            naming it. ``"skip"``: invalid formulas are left out of the frame and listed
            in the returned errors.
        log_skipped
            With ``"skip"``: log one warning naming the first skipped formulas. A caller
            that reports the returned errors itself (per row) turns it off, so each
            reason is told once.

        Returns
        -------
        tuple[pandas.DataFrame, list[tuple[int, str, str]]]
            The float64 frame (145 columns in matminer's order; one row per valid formula,
            in input order, indexed by its input position) and
            ``(position, formula, message)`` for every invalid formula (empty with
            ``on_error="raise"``).
        """
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        positions: list[int] = []
        parsed_symbols: list[list[str]] = []
        parsed_amounts: list[list[float]] = []
        errors: list[tuple[int, str, str]] = []
        cache: dict[Any, tuple[list[str], list[float]] | FeaturizationError] = {}
        for position, formula in enumerate(formulas):
            try:
                parsed = cache[formula]
            except KeyError:
                try:
                    parsed = featurization_amounts(formula)
                except FeaturizationError as exc:
                    parsed = exc
                cache[formula] = parsed
            except TypeError:  # unhashable input
                try:
                    parsed = featurization_amounts(formula)
                except FeaturizationError as exc:
                    parsed = exc
            if isinstance(parsed, FeaturizationError):
                if on_error == "raise":
                    raise FeaturizationError(formula, parsed.reason)
                errors.append((position, str(formula), str(parsed)))
                continue
            positions.append(position)
            parsed_symbols.append(parsed[0])
            parsed_amounts.append(parsed[1])
        if errors and log_skipped:
            shown = "; ".join(message for _, _, message in errors[:3])
            logger.warning(
                "skipped %d of %d formulas that cannot be featurized (%s%s)",
                len(errors),
                len(positions) + len(errors),
                shown,
                "; ..." if len(errors) > 3 else "",
            )
        values = self.featurize_parsed(parsed_symbols, parsed_amounts)
        frame = pd.DataFrame(
            values, index=pd.Index(positions, dtype=int), columns=self.feature_labels()
        )
        return frame, errors

    # ------------------------------------------------------------------ numerical core
    def featurize_parsed(
        self, symbols: Sequence[Sequence[str]], amounts: Sequence[Sequence[float]]
    ) -> np.ndarray:
        """Feature matrix ``(n, 145)`` of already-parsed compositions.

        Parameters
        ----------
        symbols
            Element symbols per composition (known elements, no repeats).
        amounts
            Positive amounts per composition, aligned with ``symbols``.
        """
        if len(symbols) != len(amounts):
            raise ValueError("symbols and amounts must have the same length")
        table = self.element_table
        out = np.empty((len(symbols), len(MAGPIE_FEATURE_LABELS)), dtype=float)
        for start in range(0, len(symbols), self.chunk_size):
            stop = min(start + self.chunk_size, len(symbols))
            element_index, amount, mask = _padded(symbols[start:stop], amounts[start:stop], table)
            out[start:stop] = _features(element_index, amount, mask, table)
        return out


_DEFAULT_FEATURIZER = MagpieFeaturizer()


def featurize_formulas(
    formulas: Sequence[Any],
    on_error: Literal["raise", "skip"] = "raise",
    log_skipped: bool = True,
) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """The 145 Magpie features of ``formulas`` (see :meth:`MagpieFeaturizer.featurize_formulas`).

    Examples
    --------
    >>> frame, errors = featurize_formulas(["Li3PS4", "Xx2O", ""], on_error="skip")
    >>> list(frame.index), [e[0] for e in errors]
    ([0], [1, 2])
    """
    return _DEFAULT_FEATURIZER.featurize_formulas(
        formulas, on_error=on_error, log_skipped=log_skipped
    )


def _padded(
    symbols: Sequence[Sequence[str]], amounts: Sequence[Sequence[float]], table: ElementTable
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded ``(n, k_max)`` element rows, amounts (0 in padding) and the validity mask."""
    n = len(symbols)
    lengths = np.fromiter((len(s) for s in symbols), dtype=int, count=n)
    k_max = int(lengths.max()) if n else 1
    index = table.index
    flat_index = np.fromiter(
        (index[s] for row in symbols for s in row), dtype=int, count=int(lengths.sum())
    )
    flat_amount = np.fromiter(
        (a for row in amounts for a in row), dtype=float, count=int(lengths.sum())
    )
    rows = np.repeat(np.arange(n), lengths)
    starts = np.cumsum(lengths) - lengths
    columns = np.arange(len(flat_index)) - np.repeat(starts, lengths)
    element_index = np.zeros((n, k_max), dtype=int)
    amount = np.zeros((n, k_max), dtype=float)
    element_index[rows, columns] = flat_index
    amount[rows, columns] = flat_amount
    mask = np.arange(k_max)[None, :] < lengths[:, None]
    return element_index, amount, mask


def _features(
    element_index: np.ndarray, amount: np.ndarray, mask: np.ndarray, table: ElementTable
) -> np.ndarray:
    """All 145 features of one padded batch."""
    n = element_index.shape[0]
    if n == 0:
        return np.empty((0, len(MAGPIE_FEATURE_LABELS)))
    n_elements = mask.sum(axis=1)
    total = amount.sum(axis=1)
    fraction = amount / total[:, None]

    # Stoichiometry: p-norms of the atomic fractions (0-norm = number of elements).
    stoichiometry = [n_elements.astype(float)]
    stoichiometry += [(fraction**p).sum(axis=1) ** (1.0 / p) for p in STOICHIOMETRY_NORMS[1:]]

    # ElementProperty (magpie): six statistics of 22 properties.
    values = table.magpie[element_index]  # (n, k, 22)
    valid = mask[:, :, None]
    weights = amount[:, :, None]
    minimum = np.where(valid, values, np.inf).min(axis=1)
    maximum = np.where(valid, values, -np.inf).max(axis=1)
    mean = _weighted_mean(values, weights, total)
    avg_dev = _weighted_mean(np.abs(values - mean[:, None, :]), weights, total)
    largest = amount.max(axis=1, keepdims=True)
    ties = mask & (np.abs(amount - largest) <= _ATOL + _RTOL * np.abs(largest))
    mode = np.where(ties[:, :, None], values, np.inf).min(axis=1)
    stats = np.stack([minimum, maximum, maximum - minimum, mean, avg_dev, mode], axis=2)

    # ValenceOrbital(props=["frac"]): mean s/p/d/f electrons over mean valence electrons.
    valence_mean = _weighted_mean(table.valence[element_index], weights, total)
    with np.errstate(divide="ignore", invalid="ignore"):
        valence_fraction = valence_mean[:, :4] / valence_mean[:, 4:5]

    # IonProperty(fast=True).
    electronegativity = table.electronegativity[element_index]
    ionic_char = 1.0 - np.exp(
        -0.25 * (electronegativity[:, :, None] - electronegativity[:, None, :]) ** 2
    )
    k_max = mask.shape[1]
    pairs = mask[:, :, None] & mask[:, None, :] & np.triu(np.ones((k_max, k_max), bool), 1)
    several = n_elements >= 2
    max_ionic = np.where(several, np.where(pairs, ionic_char, -np.inf).max(axis=(1, 2)), 0.0)
    avg_ionic = np.where(pairs, fraction[:, :, None] * fraction[:, None, :] * ionic_char, 0.0).sum(
        axis=(1, 2)
    )
    compound_possible = _compound_possible(element_index, amount, mask, table)

    return np.column_stack(
        [
            *stoichiometry,
            stats.reshape(n, -1),
            valence_fraction,
            compound_possible.astype(float),
            max_ionic,
            avg_ionic,
        ]
    )


def _weighted_mean(values: np.ndarray, weights: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``np.average(values, weights)`` over the element axis (padding has weight 0)."""
    return (values * weights).sum(axis=1) / total[:, None]


def _compound_possible(
    element_index: np.ndarray, amount: np.ndarray, mask: np.ndarray, table: ElementTable
) -> np.ndarray:
    """matminer's ``IonProperty(fast=True)`` charge-balance test, for a batch.

    For every row with at least two elements, every combination of one common oxidation
    state per element is tried (matminer: ``itertools.product``); the row is possible when
    one charge sum ``q . amounts`` satisfies ``|sum| <= 1e-8`` (``np.isclose(sum, 0)``).
    Elements with a single state add a constant; rows are grouped by the sorted counts of
    states of their other elements so each group is one exact broadcast enumeration.
    """
    n = element_index.shape[0]
    result = np.ones(n, dtype=bool)  # single-element compositions: True
    n_states = np.where(mask, table.n_oxidation_states[element_index], -1)
    several = mask.sum(axis=1) >= 2
    no_states = (n_states == 0).any(axis=1)
    result[several & no_states] = False
    candidates = np.flatnonzero(several & ~no_states)
    if candidates.size == 0:
        return result

    first_state = table.oxidation_states[element_index, 0]
    constant = np.where(n_states == 1, first_state * amount, 0.0).sum(axis=1)
    multi_counts = np.where(n_states > 1, n_states, 0)[candidates]
    order = np.argsort(-multi_counts, axis=1, kind="stable")
    sorted_counts = np.take_along_axis(multi_counts, order, axis=1)
    groups, group_of = np.unique(sorted_counts, axis=0, return_inverse=True)
    group_of = np.asarray(group_of).reshape(-1)
    for group, counts in enumerate(groups):
        counts = counts[counts > 0]
        members = np.flatnonzero(group_of == group)
        rows = candidates[members]
        n_multi = len(counts)
        if n_multi == 0:
            result[rows] = np.abs(constant[rows]) <= _ATOL
            continue
        positions = order[members, :n_multi]
        multi_elements = element_index[rows[:, None], positions]  # (r, m)
        multi_amounts = amount[rows[:, None], positions]  # (r, m)
        combos = int(np.prod(counts))
        step = max(1, _MAX_CHARGE_SUMS // combos)
        for start in range(0, len(rows), step):
            part = slice(start, start + step)
            sums = constant[rows[part]][:, None]
            for j, count in enumerate(counts):
                states = table.oxidation_states[multi_elements[part, j], :count]
                charges = states * multi_amounts[part, j, None]
                sums = (sums[:, :, None] + charges[:, None, :]).reshape(len(sums), -1)
            result[rows[part]] = (np.abs(sums) <= _ATOL).any(axis=1)
    return result
