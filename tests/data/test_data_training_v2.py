"""Training data v2: provenance, censoring, merging, and the OBELiX test-split guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from table_compare import assert_same_file

from sse_flows.data import DATA_DIR
from sse_flows.data.open_data import (
    LEAKAGE_TOL,
    TRAINING_V2_FILE,
    TRAINING_V2_METADATA_FILE,
    build_training_v2_files,
    fraction_matrix,
    load_training_v2,
    parse_obelix_sigma,
    read_obelix,
)


@pytest.fixture(scope="module")
def table():
    return load_training_v2()


@pytest.fixture(scope="module")
def obelix_test(raw_dir):
    return read_obelix(raw_dir, "test")


def test_no_training_composition_is_near_an_obelix_test_composition(table, obelix_test):
    """The guard: no v2 row within 1e-3 atomic fraction (max over elements) of a test row."""
    formulas = table["formula"].tolist()
    test = obelix_test["formula"].tolist()
    elements = sorted({el for f in formulas + test for el in fraction_matrix([f])[1]})
    a, _ = fraction_matrix(formulas, elements)
    b, _ = fraction_matrix(test, elements)
    nearest = np.abs(a[:, None, :] - b[None, :, :]).max(axis=2).min(axis=1)
    assert nearest.min() > LEAKAGE_TOL
    # the guard is not vacuous: the raw sources do hold test compositions (e.g. Li7P3S11)
    assert "Li7P3S11" in test
    from sse_flows.data.tables import load_training_table

    kang = load_training_table()["formula"].tolist()
    assert "Li7P3S11" in kang and "Li7P3S11" not in formulas


def test_removed_rows_are_listed_with_their_origin(raw_dir, table):
    import json

    meta = json.loads((DATA_DIR / TRAINING_V2_METADATA_FILE).read_text())
    removed = meta["removed_near_test"]
    assert len(removed) == meta["counts"]["rows_removed_near_test"] > 0
    assert all("OBELiX test" in r["reason"] and ":" in r["origin"] for r in removed)
    # every raw row is accounted for: merged into a row, or removed
    read = sum(meta["counts"]["rows_read"].values())
    assert table["n_measurements"].sum() + len(removed) == read
    assert meta["counts"]["rows_read"]["OBELiX-train"] == len(read_obelix(raw_dir, "train"))


def test_only_open_sources(table):
    datasets = {d for cell in table["datasets"] for d in cell.split(";")}
    assert datasets == {"Kang2023", "Xu2020", "OBELiX-train"}
    text = (DATA_DIR / TRAINING_V2_FILE).read_text().lower()
    assert "liverpool" not in text and "laskowski" not in text
    assert "test.csv" not in text  # no row comes from the benchmark file


def test_every_row_has_provenance_and_one_origin_per_measurement(table):
    origins = table["origin"].str.split(";")
    assert (origins.str.len() == table["n_measurements"]).all()
    assert (table["source"].str.len() > 0).all()
    assert table["formula"].map(lambda f: f.strip() == f and " " not in f).all()


def test_censored_values_are_upper_bounds_labelled_not_superionic(raw_dir, table):
    assert parse_obelix_sigma("<1E-10") == (1e-10, True)
    assert parse_obelix_sigma("3.2e-4") == (3.2e-4, False)
    raw = pd.read_csv(raw_dir / "obelix" / "train.csv", keep_default_na=False, dtype=str)
    n_raw = raw["Ionic conductivity (S cm-1)"].str.startswith("<").sum()
    censored = table[table["censored"] == 1]
    assert 0 < len(censored) <= n_raw
    assert (censored["label"] == 0).all()
    assert (censored["sigma_S_cm"] <= 1e-8).all()


def test_duplicates_are_merged_to_the_median(table):
    from sse_flows.data.formulas import composition_key

    keys = table["formula"].map(composition_key)
    assert keys.is_unique
    # Na2Mg0.5Zr1.5(PO4)3: two Kang measurements, 9.6e-6 and 3.98e-4 S/cm
    row = table[keys == composition_key("Na2Mg0.5Zr1.5(PO4)3")].iloc[0]
    assert row["n_measurements"] >= 2
    expected = np.median(np.log10([9.6e-6, 3.98e-4]))
    if row["n_measurements"] == 2:
        assert row["log10_sigma"] == pytest.approx(expected, abs=1e-6)
    assert (np.isclose(table["log10_sigma"], np.log10(table["sigma_S_cm"]), atol=1e-5)).all()
    assert ((table["sigma_S_cm"] >= 1e-4) == (table["label"] == 1)).all()


def test_rebuild_gives_the_committed_table(raw_dir, tmp_path):
    build_training_v2_files(raw_dir, tmp_path)
    for name in (TRAINING_V2_FILE, TRAINING_V2_METADATA_FILE):
        assert_same_file(tmp_path / name, DATA_DIR / name)
