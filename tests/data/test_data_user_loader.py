"""The validating loader of user-supplied training CSVs: every bad input names file+line."""

from __future__ import annotations

import pytest

from sse_flows.data import DATA_DIR
from sse_flows.data.tables import TrainingDataError, load_training_table
from sse_flows.data.training import TRAINING_FILE


def write(tmp_path, text: str, name: str = "mine.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_file_loads_with_labels_and_optional_columns(tmp_path):
    path = write(
        tmp_path,
        "formula,sigma_S_cm,family\nLi10GeP2S12,1.2e-2,LGPS\nLi3PO4,4e-8,\n\nLiF,1e-9,halide\n",
    )
    table = load_training_table(path)
    assert table["formula"].tolist() == ["Li10GeP2S12", "Li3PO4", "LiF"]
    assert table["label"].tolist() == [1, 0, 0]
    assert table["contains_li"].tolist() == [1, 1, 1]
    assert (table["source"] == str(path)).all()  # no source column: the file is the source
    assert load_training_table(path, threshold_S_cm=1e-10)["label"].tolist() == [1, 1, 1]


def test_packaged_table_passes_the_user_validation():
    packaged = load_training_table()
    validated = load_training_table(DATA_DIR / TRAINING_FILE)
    assert validated["formula"].tolist() == packaged["formula"].tolist()
    assert validated["label"].tolist() == packaged["label"].tolist()


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("formula,conductivity\nLiF,1e-9\n", 1, "missing column(s) sigma_S_cm"),
        ("sigma_S_cm\n1e-3\n", 1, "missing column(s) formula"),
        ("formula,sigma_S_cm\nLiF,1e-9\nLi3PS4 + LiI,1e-3\n", 3, "unparseable formula"),
        ("formula,sigma_S_cm\nLiF,1e-9\nQq2O,1e-3\n", 3, "unparseable formula"),
        ("formula,sigma_S_cm\nLiF,1e-9\n,1e-3\n", 3, "unparseable formula"),
        ("formula,sigma_S_cm\nLiF,-1e-9\n", 2, "negative conductivity"),
        ("formula,sigma_S_cm\nLiF,1e-9\nLiCl,high\n", 3, "non-numeric conductivity"),
        ("formula,sigma_S_cm\nLiF,1e-9\nLiCl,\n", 3, "non-numeric conductivity"),
        ("formula,sigma_S_cm\nLiF,nan\n", 2, "conductivity"),
        ("formula,sigma_S_cm\nLi3PS4,1e-4\nLiF,1e-9\nLi6P2S8,1e-4\n", 4, "duplicate row"),
        ("formula,sigma_S_cm\nLiF,1e-9,extra\n", 2, "fields"),
        ("", 1, "empty file"),
    ],
)
def test_each_bad_input_names_file_line_and_problem(tmp_path, text, line, problem):
    path = write(tmp_path, text)
    with pytest.raises(TrainingDataError) as info:
        load_training_table(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}:" in message
    assert problem in message


def test_duplicate_message_points_at_the_first_occurrence(tmp_path):
    path = write(tmp_path, "formula,sigma_S_cm\nLi3PS4,1e-4\nLiF,1e-9\nLi6P2S8,1e-4\n")
    with pytest.raises(TrainingDataError, match="as line 2"):
        load_training_table(path)


def test_same_composition_with_another_conductivity_is_not_a_duplicate(tmp_path):
    path = write(tmp_path, "formula,sigma_S_cm\nLi7La3Zr2O12,4e-4\nLi7La3Zr2O12,1e-6\n")
    assert len(load_training_table(path)) == 2


def test_error_is_a_value_error_and_missing_file_is_reported(tmp_path):
    assert issubclass(TrainingDataError, ValueError)
    with pytest.raises(TrainingDataError, match="file not found"):
        load_training_table(tmp_path / "nope.csv")
