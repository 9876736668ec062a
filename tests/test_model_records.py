"""The benchmark records of the models, data, screening and features pages match their JSON.

Each record ``docs/benchmarks/<name>.md`` is written by ``benchmarks/<name>.py`` from
``benchmarks/results/<name>.json``. The tests render the record again from the JSON (no
computation) and compare the tables cell by cell with the committed record, check a few
cells against the JSON values directly, and check that the reference pages link only to
files that exist.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RECORDS = ROOT / "docs" / "benchmarks"
RESULTS = BENCHMARKS / "results"
NAMES = (
    "obelix_benchmark",
    "open_model_study",
    "open_li_rows",
    "open_class_threshold",
    "grouped_ablation_study",
    "models_runtime",
    "structure_stage",
    "screening_funnel",
    "features_throughput",
)
PAGES = (
    "models.md",
    "ranking.md",
    "structure_stage.md",
    "data.md",
    "screening.md",
    "features.md",
    "report.md",
    "reliability.md",
)


@pytest.fixture(scope="module")
def benchrecord():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("benchrecord")
    finally:
        sys.path.remove(str(BENCHMARKS))


def _script(name: str):
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


def _result(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _row(tables, first_cell: str) -> list[str]:
    for table in tables:
        for row in table:
            if row[0] == first_cell:
                return row
    raise AssertionError(f"no table row starts with {first_cell!r}")


@pytest.mark.parametrize("name", NAMES)
def test_the_record_is_what_its_script_writes_from_the_json(name, benchrecord, tmp_path):
    result = _result(name)
    written = benchrecord.write_record(name, _script(name).record(result), tmp_path / f"{name}.md")
    committed = (RECORDS / f"{name}.md").read_text()
    fresh = written.read_text()
    assert benchrecord.markdown_tables(fresh) == benchrecord.markdown_tables(committed)
    assert benchrecord.markdown_tables(committed), f"{name}.md has no table"
    assert f"* Date: {result['date']}" in committed.splitlines()
    assert f"`benchmarks/results/{name}.json`" in committed


def test_obelix_record_cells_are_the_json_scores(benchrecord):
    result = _result("obelix_benchmark")
    tables = benchrecord.markdown_tables((RECORDS / "obelix_benchmark.md").read_text())
    row = _row(tables, "open, all rows, formula only (as `predict`)")
    scores = result["open"]["test"]["all test rows, formula only (no test CIF)"]
    assert int(row[1]) == scores["n"]
    assert float(row[2]) == pytest.approx(scores["mae"], abs=0.005)
    assert float(row[4]) == pytest.approx(scores["balanced_acc"], abs=0.0005)
    assert float(row[6]) == pytest.approx(scores["auc"], abs=0.0005)
    assert float(row[7]) == pytest.approx(scores["coverage"], abs=0.005)
    paper = _row(tables, "paper (rows not in its table)")
    expected = result["paper"]["test (rows not in the paper table)"]["auc"]
    assert float(paper[6]) == pytest.approx(expected, abs=0.0005)
    open_pool = _row(tables, "open")
    assert int(open_pool[6]) == result["pool_vote"]["open"]["unanimous_and_in_domain (candidates)"]


def test_models_runtime_record_cells_are_the_json_metrics(benchrecord):
    result = _result("models_runtime")
    tables = benchrecord.markdown_tables((RECORDS / "models_runtime.md").read_text())
    for key, entry in result["evaluation"].items():
        row = _row(tables, key)
        assert float(row[1]) == pytest.approx(entry["metrics"]["acc_mean"], abs=0.0005)
        assert float(row[7]) == pytest.approx(entry["metrics"]["grouped_acc_mean"], abs=0.0005)
        assert float(row[-1]) == pytest.approx(entry["cpu_s"], abs=0.05)


def test_structure_stage_record_orients_auc_by_the_train_direction(benchrecord):
    result = _result("structure_stage")
    tables = benchrecord.markdown_tables((RECORDS / "structure_stage.md").read_text())
    for name, train in result["scores"]["train"].items():
        if name.startswith("open model"):
            continue
        row = _row(tables, f"`{name}`")
        low = train["auc"] < 0.5
        assert row[1] == ("low" if low else "high")
        test_auc = result["scores"]["test"][name]["auc"]
        shown = float(row[3].split("/")[1])
        assert shown == pytest.approx(1 - test_auc if low else test_auc, abs=0.005)
        assert shown >= 0 and float(row[2].split("/")[1]) >= 0.5


def test_small_records_show_the_json_means(benchrecord):
    li = _result("open_li_rows")
    tables = benchrecord.markdown_tables((RECORDS / "open_li_rows.md").read_text())
    for variant, entry in li["variants"].items():
        assert float(_row(tables, variant)[1]) == pytest.approx(entry["mean"]["mae"], abs=5e-4)
    threshold = _result("open_class_threshold")
    tables = benchrecord.markdown_tables((RECORDS / "open_class_threshold.md").read_text())
    row = _row(tables, "Platt p >= 0.5 (the recipe's rule)")
    assert float(row[1]) == pytest.approx(threshold["mean"]["platt_p_0.5"], abs=5e-4)
    study = _result("open_model_study")
    tables = benchrecord.markdown_tables((RECORDS / "open_model_study.md").read_text())
    assert len(tables[0]) == len(study["variants"]) + 1  # header + one row per variant
    ablation = _result("grouped_ablation_study")
    tables = benchrecord.markdown_tables((RECORDS / "grouped_ablation_study.md").read_text())
    for name, v in ablation["variants"].items():
        row = _row(tables, f"`{name}`: {v['description']}")
        assert float(row[4].strip("()")) == pytest.approx(v["cluster_acc_li"], abs=5e-4)


def test_screening_record_counts_are_the_json_stages(benchrecord):
    result = _result("screening_funnel")
    tables = benchrecord.markdown_tables((RECORDS / "screening_funnel.md").read_text())
    for stage in result["stages"]:
        assert int(_row(tables, stage["name"])[2]) == stage["count"]


def test_features_record_ratio_is_the_json_ratio(benchrecord):
    result = _result("features_throughput")
    tables = benchrecord.markdown_tables((RECORDS / "features_throughput.md").read_text())
    ratio = _row(tables, "**ratio**")[2]
    assert float(re.search(r"([\d.]+)x", ratio).group(1)) == pytest.approx(result["ratio"])


@pytest.mark.parametrize("page", PAGES)
def test_every_relative_link_of_the_page_resolves(page):
    path = ROOT / "docs" / page
    text = path.read_text()
    targets = [
        m.group(1)
        for m in re.finditer(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
        if not m.group(1).startswith(("http://", "https://", "mailto:"))
    ]
    missing = [t for t in targets if not (path.parent / t).exists()]
    assert not missing, f"{page} links to missing files: {missing}"
    assert len(text.splitlines()) <= 400


@pytest.mark.parametrize("page", PAGES)
def test_the_page_names_no_run_date_and_no_issue(page):
    text = (ROOT / "docs" / page).read_text()
    assert not re.search(r"\b20[2-3]\d-\d\d-\d\d\b", text), "a date-stamped run"
    assert not re.search(r"\bissue \d+|\(issue", text, re.IGNORECASE)
