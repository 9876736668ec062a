"""The MD and analysis benchmark records agree with the JSON they are generated from, and
the MD and analysis reference pages link only to files that exist.

Each record ``docs/benchmarks/<name>.md`` is what its script's ``--record-only`` writes from
``benchmarks/results/``: rendered again here and compared, then its tables parsed and
checked against the JSON's numbers.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
RECORDS = ROOT / "docs" / "benchmarks"

#: the reference pages these records back
PAGES = [ROOT / "docs" / "md.md", ROOT / "docs" / "md_batched.md", ROOT / "docs" / "analysis.md"]


def _script(name: str):
    """The benchmark script ``benchmarks/<name>.py`` as a module (nothing runs)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"_record_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _records():
    return _script("benchrecord")


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _rendered(name: str) -> str:
    """The record as the script renders it now from its stored JSON."""
    module = _script(name)
    if name == "md_vs_experiment":
        results = {p: json.loads(p.read_text()) for p in module.result_paths()}
        softness = json.loads(module.SOFTNESS.read_text()) if module.SOFTNESS.is_file() else None
        return module.record(results, softness)
    if name == "mlip_vs_aimd":
        return module.record(_load(name))
    if name == "batched_vs_single_controls":
        path = RESULTS / "batched_vs_single_controls_chgnet.json"
        return module.record(json.loads(path.read_text()), path)
    if name in ("md_throughput", "ordering_survey", "md_chgnet_overhead"):
        return module.record(_load(name), RESULTS / f"{name}.json")
    if name == "verdict_stability":
        return module.record(_load("verdict_stability_chgnet"))
    return module.record(_load(name))


RECORD_NAMES = [
    "mlip_vs_aimd", "md_vs_experiment", "md_throughput", "batched_vs_single_controls",
    "md_chgnet_overhead", "framework_calibration", "ordering_survey", "msd_estimator",
    "verdict_stability",
]
RECORD_NAMES += [n for n in ("analysis_random_walk", "analysis_reference_table")
                 if (RESULTS / f"{n}.json").is_file()]


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_record_is_what_its_script_writes_from_the_json(name, tmp_path):
    written = _records().write_record(name, _rendered(name), tmp_path / f"{name}.md")
    assert (RECORDS / f"{name}.md").read_text() == written.read_text(), (
        f"docs/benchmarks/{name}.md is stale: run `python benchmarks/{name}.py --record-only`"
    )


def test_demo_record_is_what_its_script_writes_from_the_json(tmp_path):
    text = _script("demo_run").record(_load("demo_run"))
    written = _records().write_record("demo", text, tmp_path / "demo.md").read_text()
    assert (RECORDS / "demo.md").read_text() == written, (
        "docs/benchmarks/demo.md is stale: run `python benchmarks/demo_run.py --record-only`"
    )


def _tables(name: str):
    return _records().parse_tables((RECORDS / f"{name}.md").read_text())


def test_md_vs_experiment_scores_match_the_json():
    text = (RECORDS / "md_vs_experiment.md").read_text()
    sections = text.split("\n## ")[1:]
    module = _script("md_vs_experiment")
    paths = module.result_paths()
    assert len(paths) >= 1
    for path in paths:
        result = json.loads(path.read_text())
        (section,) = [s for s in sections if f"`{path.relative_to(ROOT)}`" in s]
        rows, scores = _records().parse_tables(section)[:2]
        assert len(rows) == len(result["rows"])
        by_name = {r["estimate"]: r for r in scores}
        strict = by_name["MD, undetermined counted wrong"]
        assert float(strict["balanced accuracy at 1e-4 S/cm"]) == pytest.approx(
            result["md_strict"]["balanced_accuracy"], abs=0.005)
        md = by_name["MD"]
        assert int(md["materials with a class"]) == result["all_rows"]["md"]["n"]
        verdicts = {r["material"]: r["MD verdict"] for r in rows}
        for row in result["rows"]:
            assert verdicts[f"{row['formula']} ({row['id']})"] == row["verdict"]


def test_mlip_vs_aimd_rows_match_the_json():
    runs = _load("mlip_vs_aimd")["runs"]
    rows = _tables("mlip_vs_aimd")[0]
    assert len(rows) == len(runs)
    for row in rows:
        material = re.search(r"\((mp-\d+)\)", row["material"]).group(1)
        run = runs[f"{row['engine']}|{material}|{row['T (K)']}"]
        assert float(row["D MLIP (cm2/s)"]) == pytest.approx(run["D_cm2_s"], rel=0.01)
        assert row["hops MLIP / AIMD"] == f"{run['li_hops']} / {run['aimd']['li_hops']}"


def test_framework_calibration_rows_match_the_json():
    result = _load("framework_calibration")
    rows = _tables("framework_calibration")[0]
    assert len(rows) == len(result["rows"]) == 36
    for row, stored in zip(rows, result["rows"], strict=True):
        assert row["state"] == stored["state"]
        assert (row["verdict"] == "stable") == stored["stable"]
        half, end = (float(x) for x in row["framework MSD half -> end (A^2)"].split("->"))
        assert half == pytest.approx(stored["framework_msd_half_A2"], abs=0.005)
        assert end == pytest.approx(stored["framework_msd_end_A2"], abs=0.005)


def test_throughput_and_controls_records_match_the_json():
    result = _load("md_throughput")
    rows = _tables("md_throughput")[0]
    assert [r["structures x atoms"] for r in rows] == [
        f"{r['structures']} x {r['atoms_each']}" for r in result["rows"]]
    for row, stored in zip(rows, result["rows"], strict=True):
        assert float(row["ratio (default)"]) == pytest.approx(stored["ratio"], abs=0.005)
    controls = json.loads((RESULTS / "batched_vs_single_controls_chgnet.json").read_text())
    rows = _tables("batched_vs_single_controls")[0]
    for row in rows:
        key = "batched" if row["engine"] == "batched" else "one_structure"
        assert row["verdict"] == controls["controls"][row["control"]][key]["verdict"]


def test_ordering_survey_record_matches_the_json():
    summary = _load("ordering_survey")["summary"]
    survey = {r[""]: r["CIFs"] for r in _tables("ordering_survey")[0]}
    assert int(survey["ordered"]) == summary["ordered"]
    assert int(survey["disordered CIFs (train + test)"]) == summary["disordered_cifs"]


def test_chgnet_overhead_rates_match_the_json():
    result = _load("md_chgnet_overhead")
    rates = [r["steps/s"] for r in _tables("md_chgnet_overhead")[0]]
    for rate, row in zip(rates, result["rows"], strict=True):
        stored = row["steps_per_s"]
        if isinstance(stored, list):
            assert rate == f"{stored[0]:g}-{stored[1]:g}"
        else:
            assert float(rate) == pytest.approx(stored, abs=0.05)


def test_parse_tables_reads_header_keyed_rows():
    text = "intro\n\n| a | b |\n|---|---|\n| 1 | x |\n| 2 | y |\n\nafter\n| c |\n|---|\n| 3 |"
    assert _records().parse_tables(text) == [[{"a": "1", "b": "x"}, {"a": "2", "b": "y"}],
                                             [{"c": "3"}]]


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text().splitlines()
            if line.startswith("#")}


LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES + [RECORDS / f"{n}.md" for n in RECORD_NAMES],
                         ids=lambda p: p.name)
def test_relative_links_resolve(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        file_part, _, anchor = target.partition("#")
        path = (page.parent / file_part).resolve() if file_part else page
        if not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(target)
    assert not broken, f"{page.name}: links that do not resolve: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_reference_page_is_short_and_has_no_history(page):
    text = page.read_text()
    assert len(text.splitlines()) <= 400
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "a date belongs in a record"
    assert not re.search(r"\bissue \d+", text, flags=re.I)
    for name in re.findall(r"\(benchmarks/([\w-]+)\.md", text):
        assert (RECORDS / f"{name}.md").is_file()


def test_fmt_leaves_missing_values_visible():
    records = _records()
    assert records.fmt(None) == "-"
    assert records.fmt(math.nan) == "-"
    assert records.fmt(math.nan, ".2f") == "-"
    assert records.fmt(None, ".1e", missing="n/a") == "n/a"
    assert records.fmt(math.inf) == "-"
    assert records.fmt(0.12345, ".1e") == "1.2e-01"
    assert records.fmt(0.12345) == "0.123"
    assert records.fmt(0.12345, 1) == "0.1"
    assert records.fmt(7) == "7"
    assert records.fmt(True) == "True"


def test_machine_text_shows_old_strings_as_they_are():
    records = _records()
    assert records.machine_text("x86_64, 2 cores") == "x86_64, 2 cores"
    assert records.machine_text(None) == "not recorded"
    text = records.machine_text({"cpus": 2, "platform": "Linux", "load_average": [1.234]})
    assert text == "2 CPUs; Linux; load average 1.2"
    header = records.header("x", "X", [], {"machine": {"cpus": 4, "platform": "P"}})
    assert "- machine: 4 CPUs; P" in header.splitlines()


def test_no_record_is_transcribed():
    for path in RECORDS.glob("*.md"):
        assert "transcribed from" not in path.read_text().lower(), path.name
    for path in RESULTS.glob("*.json"):
        assert "transcribed_from" not in json.loads(path.read_text()), path.name


def test_demo_design_record_decides_on_the_interval_low_end():
    module = _script("demo_protocol_design")
    rows = [{"ps_600K": 2, "ps_1000K": 2, "diffusive_600K": True, "ea_eV": 0.2,
             "ea_err_eV": 0.05, "sigma_rt_S_cm": 1e-2, "sigma_rt_low": low}
            for low in (2e-4, 5e-5, None)]
    text = module.record({"date": "d", "machine": "m", "protocol": "p", "rows": rows})
    verdicts = [r["verdict"] for r in _records().parse_tables(text)[0]]
    assert verdicts == ["superionic", "not decided", "not decided"]


def test_verdict_stability_keeps_seeds_across_a_fallback_change_only_when_unused(tmp_path):
    """`--keep` across a change of the fallback temperatures alone keeps the seeds that ran
    none of the old fallbacks (the same runs under either protocol) and drops those that
    ran one; any other protocol change refuses to keep anything."""
    import argparse
    import dataclasses

    from sse_flows.md.protocol import DEMO_PROTOCOL

    module = _script("verdict_stability")
    out = tmp_path / "results.json"
    args = argparse.Namespace(
        engine="chgnet", out=out, temperatures=None, production_steps=None,
        max_production_steps=None, target_d_relative_error=None, equilibration_steps=None,
        chunk_steps=None,
    )
    old = dataclasses.replace(DEMO_PROTOCOL, fallback_temperatures=(800.0,))
    fields = {k: v for k, v in old.as_dict().items() if k != "seed"}
    rows = {"0": {"temperatures": {"600": {}, "1000": {}}},
            "3": {"temperatures": {"600": {}, "800": {}, "1000": {}}},
            "4": {"temperatures": {"600": {}, "1000": {}}}}
    out.write_text(json.dumps({"protocol_fields": fields, "load_average": "1.0",
                               "runs": {"Li10GeP2S12": rows, "Li3PO4": {"0": rows["0"]}}}))
    kept, note = module._kept_runs(args, ["Li10GeP2S12"], {("Li10GeP2S12", "4")})
    assert set(kept["Li10GeP2S12"]) == {"0"} and set(kept["Li3PO4"]) == {"0"}
    assert note["kept_seeds"] == "Li10GeP2S12 0; Li3PO4 0"
    assert "800 K" in note["kept_protocol_note"]

    args.max_production_steps = 4000
    with pytest.raises(SystemExit, match="another protocol"):
        module._kept_runs(args, ["Li10GeP2S12"], set())

    args.max_production_steps = None  # a results file that records no protocol
    out.write_text(json.dumps({"runs": {"Li10GeP2S12": {"0": rows["0"]}}}))
    with pytest.raises(SystemExit, match="another protocol"):
        module._kept_runs(args, ["Li10GeP2S12"], set())
