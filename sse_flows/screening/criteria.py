"""The screening criteria of the funnel (all thresholds and the element rule are parameters).

The four steps follow Kang, Kim & Min (J. Phys. Chem. C 127, 19335, 2023):

1. no transition metal (d-block, groups 3-12: Sc-Zn, Y-Cd, Hf-Hg, Rf-Cn; La and the other
   lanthanides are *not* excluded),
2. band gap >= ``min_band_gap`` (eV),
3. on the convex hull: ``e_above_hull <= max_e_above_hull + hull_tolerance`` (eV/atom),
4. oxidation limit ``v_ox > min_oxidation_voltage`` (V vs Li/Li+).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field
from pymatgen.core import Element

#: Atomic-number ranges of the d-block transition metals (groups 3-12).
TRANSITION_METAL_Z_RANGES: tuple[tuple[int, int], ...] = ((21, 30), (39, 48), (72, 80), (104, 112))

#: Symbols of the transition metals excluded by step 1 (Sc-Zn, Y-Cd, Hf-Hg, Rf-Cn).
TRANSITION_METALS: frozenset[str] = frozenset(
    Element.from_Z(z).symbol for lo, hi in TRANSITION_METAL_Z_RANGES for z in range(lo, hi + 1)
)


class ScreeningCriteria(BaseModel):
    """Thresholds and element rule of the four-step screening funnel."""

    working_ion: str = Field(
        "Li", description="Element every pooled material must contain (the mobile ion)."
    )
    excluded_elements: list[str] = Field(
        default_factory=lambda: sorted(TRANSITION_METALS),
        description="Step 1: a material containing any of these elements is removed (default: "
        "the d-block transition metals Sc-Zn, Y-Cd, Hf-Hg, Rf-Cn; lanthanides are kept).",
    )
    min_band_gap: float = Field(
        1.0, description="Step 2: smallest PBE band gap (eV) kept; unknown gaps are removed."
    )
    max_e_above_hull: float = Field(
        0.0, description="Step 3: largest energy above the convex hull (eV/atom) kept."
    )
    hull_tolerance: float = Field(
        1e-6,
        description="Step 3: numerical slack (eV/atom) added to max_e_above_hull, so that "
        "round-off in a computed hull does not remove a vertex of the hull.",
    )
    min_oxidation_voltage: float = Field(
        3.7,
        description="Step 4: a material is kept when its oxidation limit V_ox (V vs Li/Li+) is "
        "strictly above this value.",
    )

    def contains_excluded_element(self, elements: Iterable[str]) -> bool:
        """True when any of ``elements`` is excluded by the element rule (step 1)."""
        excluded = set(self.excluded_elements)
        return any(str(element) in excluded for element in elements)

    def passes_band_gap(self, band_gap: float | None) -> bool:
        """Step 2: the gap is known and at least ``min_band_gap``."""
        return band_gap is not None and band_gap >= self.min_band_gap

    def is_on_hull(self, e_above_hull: float | None) -> bool:
        """Step 3: the energy above hull is known and within the threshold plus tolerance."""
        return e_above_hull is not None and e_above_hull <= (
            self.max_e_above_hull + self.hull_tolerance
        )

    def passes_oxidation_voltage(self, v_ox: float | None) -> bool:
        """Step 4: the oxidation limit is known and above ``min_oxidation_voltage``."""
        return v_ox is not None and v_ox > self.min_oxidation_voltage
