"""Cross-check of steps 1-3 against a 2025 MP pool cut the same way (matsci176).

``raw/matsci176_mp2025/feature_matrix_sample.csv`` lists 560 Li materials queried from MP in
2025 that have a band gap >= 1 eV, E_hull = 0 and no d-block metal.  Its element rule
differs from ours in two ways: its d-block list is tested as a *substring* of the formula
text, so "Y" also drops every Yb compound (Yb is a lanthanide, which we keep), and it is
applied to the cell formula of MP's 2025 records.  :func:`cross_check` applies our steps
1-3 to the same compositions in our pool and sorts every difference into a reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, Field
from pymatgen.core import Composition

from sse_flows.data.formulas import parse_formula
from sse_flows.screening.criteria import TRANSITION_METALS, ScreeningCriteria
from sse_flows.screening.schemas import ScreeningDoc

MATSCI176_FILE = Path("matsci176_mp2025") / "feature_matrix_sample.csv"

#: The d-block symbols of the matsci176 rule (the same set as ours: Y, Zn, Cd included).
MATSCI176_D_BLOCK: tuple[str, ...] = tuple(sorted(TRANSITION_METALS))


def matsci176_element_rule(cell_formula: str) -> bool:
    """True when the matsci176 substring test keeps the formula text (our reading of it).

    Any d-block symbol occurring as a substring of the formula removes it, so "Yb2O3"
    is removed by "Y".
    """
    text = cell_formula.replace(" ", "")
    return not any(symbol in text for symbol in MATSCI176_D_BLOCK)


def load_matsci176(raw_dir: Path) -> pd.DataFrame:
    """The 560-row matsci176 table with a ``reduced_formula`` and ``elements`` column."""
    table = pd.read_csv(Path(raw_dir) / MATSCI176_FILE, keep_default_na=False)
    table["reduced_formula"] = [Composition(f).reduced_formula for f in table["formula"]]
    table["elements"] = [sorted(parse_formula(f)) for f in table["formula"]]
    return table


class CrossCheckReport(BaseModel):
    """Our steps 1-3 against the matsci176 2025 pool, by reason."""

    n_matsci176_records: int = Field(..., description="Rows of the matsci176 table.")
    n_matsci176_compositions: int = Field(..., description="Distinct reduced compositions.")
    n_kept_by_our_element_rule: int = Field(
        ..., description="matsci176 compositions our step 1 keeps (their rule is stricter)."
    )
    their_reasons: dict[str, int] = Field(
        ...,
        description="For each matsci176 composition, why our 2019 pool does or does not pass "
        "steps 1-3: 'passes', 'absent_from_2019', 'gap_below_threshold_2019', "
        "'gap_unknown_2019', 'above_hull_2019'.",
    )
    our_reasons: dict[str, int] = Field(
        ...,
        description="For each of our step-3 compositions, 'in_matsci176', "
        "'removed_by_substring_rule' (e.g. Yb) or 'absent_from_matsci176' (2025 data).",
    )
    examples: dict[str, list[str]] = Field(
        default_factory=dict, description="Up to 8 formulas per reason."
    )


def cross_check(
    doc: ScreeningDoc,
    records: Sequence,
    raw_dir: Path,
    criteria: ScreeningCriteria | None = None,
) -> CrossCheckReport:
    """Compare ``doc`` (our funnel over ``records``) with the matsci176 2025 pool.

    Parameters
    ----------
    doc
        Our funnel document (its ``on_hull`` table is our steps 1-3 result).
    records
        The records the funnel ran on (to tell absent compositions from removed ones).
    raw_dir
        The raw reference data folder (``settings.RAW_DATA_DIR``).
    criteria
        The criteria of ``doc`` (default: ``doc.criteria``).
    """
    criteria = criteria or doc.criteria
    table = load_matsci176(raw_dir)
    by_formula = {r.formula: r for r in records}
    on_hull = {m.formula for m in doc.on_hull}
    theirs = sorted(set(table["reduced_formula"]))
    kept = [
        f for f in theirs if not criteria.contains_excluded_element(parse_formula(f))
    ]
    reasons: dict[str, str] = {}
    for formula in theirs:
        record = by_formula.get(formula)
        if record is None:
            reasons[formula] = "absent_from_2019"
        elif record.band_gap is None:
            reasons[formula] = "gap_unknown_2019"
        elif not criteria.passes_band_gap(record.band_gap):
            reasons[formula] = "gap_below_threshold_2019"
        elif formula not in on_hull:
            reasons[formula] = "above_hull_2019"
        else:
            reasons[formula] = "passes"
    ours: dict[str, str] = {}
    their_set = set(theirs)
    for formula in sorted(on_hull):
        if formula in their_set:
            ours[formula] = "in_matsci176"
        elif not matsci176_element_rule(formula):
            ours[formula] = "removed_by_substring_rule"
        else:
            ours[formula] = "absent_from_matsci176"
    examples: dict[str, list[str]] = {}
    for mapping in (reasons, ours):
        for formula, reason in mapping.items():
            bucket = examples.setdefault(reason, [])
            if len(bucket) < 8:
                bucket.append(formula)
    return CrossCheckReport(
        n_matsci176_records=len(table),
        n_matsci176_compositions=len(theirs),
        n_kept_by_our_element_rule=len(kept),
        their_reasons=dict(Counter(reasons.values()).most_common()),
        our_reasons=dict(Counter(ours.values()).most_common()),
        examples=examples,
    )
