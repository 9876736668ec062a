"""`sse-flows screen` and the jobflow job give the same funnel as the library call."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from sse_flows.cli import cli


def test_cli_json_and_csv(tmp_path, sse_home, snapshot_doc):
    out = tmp_path / "survivors.csv"
    arguments = ["screen", "--source", "snapshot", "--json", "--out", str(out)]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert [s["name"] for s in summary["stages"]] == [s.name for s in snapshot_doc.stages]
    assert summary == snapshot_doc.summary()
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["stages"][-1]["count"]
    assert set(rows[0]) == {
        "material_id", "formula", "band_gap", "e_above_hull", "v_ox", "v_red", "anion_class",
        "structure_origin",
    }
    assert all(float(row["v_ox"]) > 3.7 for row in rows)
    coverage = summary["structure_coverage"]
    assert sum(bool(row["structure_origin"]) for row in rows) == coverage["n_with_structure"]
    assert coverage["n_survivors"] == len(rows)


def test_job_output_and_data_store(sse_home, snapshot_doc):
    from jobflow import run_locally

    from sse_flows.screening.jobs import ScreeningMaker
    from sse_flows.stores import get_job_store

    store = get_job_store()
    job = ScreeningMaker().make()
    responses = run_locally(job, store=store, ensure_success=True, log=False)
    output = responses[job.uuid][1].output
    assert output.stage_counts() == snapshot_doc.stage_counts()
    stored = store.query_one({"uuid": job.uuid}, load=False)
    # the survivors and on-hull tables live in the "data" store, referenced by blob uuid
    for field in ("survivors", "on_hull", "stage_members"):
        assert stored["output"][field]["store"] == "data"
        assert "blob_uuid" in stored["output"][field]
    assert stored["output"]["stages"][0]["count"] == snapshot_doc.stages[0].count
