"""The packaged training table: provenance, counts, label balance and the merge rules."""

from __future__ import annotations

import pandas as pd
import pytest
from pymatgen.core import Composition

from sse_flows.data.formulas import composition_key
from sse_flows.data.tables import load_training_table, training_metadata


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_training_table()


@pytest.fixture(scope="module")
def kang_raw(raw_dir) -> pd.DataFrame:
    return pd.read_excel(raw_dir / "kang2023" / "Database.xlsx")


def test_columns_are_the_public_schema(table):
    for column in (
        "formula",
        "reduced_formula",
        "family",
        "sigma_S_cm",
        "label",
        "contains_li",
        "source",
    ):
        assert column in table.columns
    assert table["source"].str.len().gt(0).all()
    assert table["origin"].str.contains("github.com/").all()


def test_every_kang_row_is_kept_with_its_conductivity(table, kang_raw):
    kang = table[table["dataset"] == "Kang2023"]
    assert len(kang) == len(kang_raw) == 328
    assert kang["sigma_S_cm"].tolist() == kang_raw["Ionic conductivity (S/cm)"].tolist()
    # the counts the data README states for the raw table
    assert int(kang["label"].sum()) == 191
    assert int(kang["contains_li"].sum()) == 194


def test_label_is_the_1e4_threshold_and_counts_match_metadata(table):
    assert (table["label"] == (table["sigma_S_cm"] >= 1e-4).astype(int)).all()
    counts = training_metadata()["counts"]
    assert counts["rows"] == len(table)
    assert counts["superionic"] == int(table["label"].sum())
    assert counts["not_superionic"] == int((table["label"] == 0).sum())
    assert counts["superionic"] + counts["not_superionic"] == len(table)


def test_threshold_is_a_parameter(table):
    strict = load_training_table(threshold_S_cm=1e-3)
    assert strict["label"].sum() == (table["sigma_S_cm"] >= 1e-3).sum()
    assert strict["label"].sum() < table["label"].sum()


def test_contains_li_follows_the_composition(table):
    has_li = [int("Li" in Composition(f)) for f in table["formula"]]
    assert table["contains_li"].tolist() == has_li


def test_kang_source_is_the_rows_reference_not_the_list_position(table):
    """The Source column of Database.xlsx is a reference list indexed by 'Reference'."""
    by_formula = table[table["dataset"] == "Kang2023"].set_index("formula")["source"]
    # Kamaya et al. 2011 (LGPS), Rangasamy et al. 2015 (Li7P2S8I), Zhao & Daemen 2012
    assert by_formula["Li10GeP2S12"] == "10.1038/nmat3066"
    assert by_formula["Li7P2S8I"] == "10.1021/ja508723m"
    assert by_formula["Li3OCl0.5Br0.5"] == "10.1021/ja305709z"
    # a row with the two references typed without a comma ("112113")
    assert by_formula["Li10Si0.5Ge0.5P2S12"].count(";") == 1


def test_every_xu_row_is_accounted_for(raw_dir, table):
    meta = training_metadata()
    raw_rows = sum(
        len(pd.read_csv(raw_dir / "xu2020" / name, encoding="utf-8-sig"))
        for name in ("TrainingData.csv", "TestData_NaLi.csv")
    )
    assert raw_rows == 127
    added = (table["dataset"] == "Xu2020").sum()
    assert added + len(meta["xu_rows_dropped"]) + len(meta["xu_rows_rejected"]) == raw_rows
    assert added == meta["xu_rows_added"]


def test_xu_rows_added_are_not_already_in_kang(table):
    kang_keys = {composition_key(f) for f in table.loc[table["dataset"] == "Kang2023", "formula"]}
    xu = table[table["dataset"] == "Xu2020"]
    assert len(xu) > 0
    assert not any(composition_key(f) in kang_keys for f in xu["formula"])
    assert xu["formula"].map(composition_key).is_unique
    assert (xu["source"] == "10.1088/2399-6528/ab92d8").all()


def test_retyped_xu_rows_are_dropped_as_the_same_measurement():
    dropped = {r["formula"]: r["reason"] for r in training_metadata()["xu_rows_dropped"]}
    assert "Li1.2Zr1.9Sr0.1(PO4)3" in dropped["LiZr1.9Sr0.1(PO4)3"]


def test_typo_rows_are_repaired_not_misread(table):
    repaired = table[table["raw_formula"] == "Li1.2Fe0.2HF1.8 (PO4)3"].iloc[0]
    assert repaired["formula"] == "Li1.2Fe0.2Hf1.8(PO4)3"
    assert set(Composition(repaired["formula"]).as_dict()) == {"Li", "Fe", "Hf", "P", "O"}
    assert "element_case" in repaired["repair"] and "strip_whitespace" in repaired["repair"]
    # the missing "3" of Na2Mg0.5Zr1.5(PO4) (Kang copied it from Xu)
    kang_row = table[table["raw_formula"].str.startswith("Na2Mg0.5Zr1.5(PO4)")]
    assert kang_row["formula"].tolist() == ["Na2Mg0.5Zr1.5(PO4)3"]


def test_unrepairable_xu_rows_are_rejected_naming_file_and_line():
    rejected = training_metadata()["xu_rows_rejected"]
    origins = {r["origin"].split(":", 1)[1]: r["reason"] for r in rejected}
    # the two composites "LiCrTa(PO4)3- 0.2Li3PO4" and "... 0.2Li3BO3"
    assert "unparseable" in origins["TestData_NaLi.csv:line33"]
    assert "unparseable" in origins["TestData_NaLi.csv:line34"]
    # Li1.7Ti1.3Cr1.7(PO4)3 has +12 against -9: a typo no rule can repair
    assert "charge balanced" in origins["TestData_NaLi.csv:line43"]


def test_same_composition_rows_are_distinct_measurements(table):
    """Kang's repeated compositions are polymorphs (another crystal system) or another
    paper's measurement (another reference); both are kept, none is an exact repeat."""
    keys = table["formula"].map(composition_key)
    repeated = table[keys.duplicated(keep=False)].assign(key=keys)
    assert set(repeated["dataset"]) == {"Kang2023"}
    assert len(repeated) >= 2
    for _, group in repeated.groupby("key"):
        distinct = group[["crystal_system", "reference", "sigma_S_cm"]].drop_duplicates()
        assert len(distinct) == len(group)
        assert group["crystal_system"].is_unique or group["reference"].is_unique
