"""Anion classes from charge balance and electronegativity."""

from __future__ import annotations

import pytest

from sse_flows.screening.anions import anion_class, anion_elements, class_breakdown


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("Li3PS4", "sulfide"),  # P is +5, S the anion
        ("Li3PO4", "oxide"),
        ("LiClO4", "oxide"),  # perchlorate: Cl is +7
        ("Li2SO4", "oxide"),
        ("LiAlCl4", "halide"),
        ("LiPF6", "halide"),
        ("Li3N", "nitride"),
        ("LiNH2", "nitride"),  # H is +1
        ("LiBH4", "hydride"),  # H is -1, B +3
        ("Li2Se", "selenide"),
        ("Li3P", "phosphide"),
        ("Li2C2", "carbide"),  # no balanced common states: most electronegative element
        ("Li3OCl", "mixed-anion"),
        ("Li2PNO2", "mixed-anion"),  # LiPON-type oxynitride
        ("Li6PS5Cl", "mixed-anion"),
    ],
)
def test_anion_class_examples(formula, expected):
    assert anion_class(formula) == expected


def test_anion_elements_of_mixed_anion():
    assert anion_elements("Li3OCl") == ("Cl", "O")
    assert anion_elements("Li") == ()


def test_class_breakdown_sorted_by_count():
    assert list(class_breakdown(["oxide", "halide", "oxide", "nitride", "halide", "oxide"])) == [
        "oxide",
        "halide",
        "nitride",
    ]
