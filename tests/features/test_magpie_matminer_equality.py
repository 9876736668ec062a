"""The vectorized Magpie features equal matminer's own, value by value and column by column."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sse_flows.features import (
    MagpieFeaturizer,
    featurize_formulas,
    featurize_with_matminer,
)
from sse_flows.features.formula_samples import sample_pool_formulas
from sse_flows.features.matminer_reference import matminer_magpie_featurizer

TOLERANCE = 1e-9


def _training_formulas(raw_dir) -> list[str]:
    """Formulas of the training data: the packaged table and the raw files, lightly cleaned."""
    kang = pd.read_excel(raw_dir / "kang2023" / "Database.xlsx")["Formula"]
    formulas = [str(f).strip() for f in kang]
    for name in ("TrainingData.csv", "TestData_NaLi.csv"):
        xu = pd.read_csv(raw_dir / "xu2020" / name, encoding="utf-8-sig")["Formula"]
        for raw in xu:
            cleaned = re.sub(r"\s+", "", str(raw)).replace("AL", "Al").replace("HF", "Hf")
            if "–" not in cleaned:  # "LiCrTa(PO4)3– 0.2Li3PO4": a composite, not a formula
                formulas.append(cleaned)
    try:
        from sse_flows.data.tables import load_training_table

        formulas += list(load_training_table()["formula"])
    except ImportError:  # the packaged table is built by the data stage
        pass
    return list(dict.fromkeys(formulas))


def _assert_equal_to_matminer(formulas: list[str]) -> None:
    ours, errors = featurize_formulas(formulas)
    reference = featurize_with_matminer(formulas)
    assert errors == []
    assert list(ours.columns) == list(reference.columns)
    assert list(ours.index) == list(range(len(formulas)))
    a, b = ours.to_numpy(), reference.to_numpy()
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    difference = np.abs(np.where(np.isnan(a), 0.0, a - b))
    worst = np.unravel_index(np.argmax(difference), difference.shape)
    assert difference.max() < TOLERANCE, (
        f"{formulas[worst[0]]} / {ours.columns[worst[1]]}: ours {a[worst]} matminer {b[worst]}"
    )


def test_labels_are_matminers_145_in_order():
    labels = MagpieFeaturizer().feature_labels()
    assert len(labels) == 145
    assert labels == matminer_magpie_featurizer().feature_labels()


@pytest.mark.slow
def test_equal_to_matminer_over_whole_training_table(raw_dir):
    formulas = _training_formulas(raw_dir)
    assert len(formulas) > 300
    _assert_equal_to_matminer(formulas)


@pytest.mark.slow
def test_equal_to_matminer_on_1000_pool_formulas(raw_dir):
    formulas = sample_pool_formulas(1000, raw_dir=raw_dir, seed=0)
    assert len(set(formulas)) == 1000 and all(re.search(r"Li(?![a-z])", f) for f in formulas)
    _assert_equal_to_matminer(formulas)


def test_equal_to_matminer_on_edge_cases():
    formulas = [
        "Li",  # one element: compound possible, ionic character 0
        "LiNe",  # Ne has no common oxidation state: no charge-balanced combination
        "Ar",
        "LiOgBr",  # Og: imputed Magpie values, no oxidation states
        "Li2CO3",  # C has nine common oxidation states
        "LiClO4",  # Cl: five states
        "Li1.000001O1",  # amounts np.isclose: a tie for the mode
        "Li1.001O1",  # not a tie
        "Li120P40S160",  # a large cell: isclose tolerances scale with the amounts
        "Li0.33La0.557TiO3",
        "Li0.1Na0.2Cl0.3",  # balanced, but the float charge sum is 5.6e-17, not 0
        "Li6.4Ga0.2La3Zr2O12",
        "LiNaKRbCsBeMgCaSrBaAlGaInTlF10",  # many elements
        "LiHSO4NCl",  # four multi-valent elements
        "LiFe2Mn3Co4Cr5V6O20",
        "U3O8Li",
        "LiCe0.5Pr0.5Eu2F9",
    ]
    _assert_equal_to_matminer(formulas)


def test_result_does_not_depend_on_chunking():
    formulas = ["Li3PS4", "LiCl", "Li", "Li2CO3", "Li7La3Zr2O12", "LiNe", "Li6PS5Cl"] * 3
    one_batch = MagpieFeaturizer().featurize_formulas(formulas)[0]
    small_batches = MagpieFeaturizer(chunk_size=4).featurize_formulas(formulas)[0]
    pd.testing.assert_frame_equal(one_batch, small_batches)
