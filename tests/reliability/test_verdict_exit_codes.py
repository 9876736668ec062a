"""Exit code 3, "it ran, and its verdict is a failure", for `md` and `demo`.

The catalogue (test_reliability.py) covers `status` and `results`; `md` and `demo` need a
real MD or a whole discovery flow to fail, so here the expensive part is replaced by its
failing outcome and everything after it (the CLI's verdict handling, the worker, the
stores) runs for real.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner

from sse_flows.cli import cli

HERE = Path(__file__).resolve().parent


def test_md_exits_3_when_its_verdict_is_failed(sse_home, monkeypatch):
    import sse_flows.md.commands as md_commands

    def failed_md(structure, engine, protocol, device, material_id, workdir):
        return {"engine": engine, "formula": structure.composition.reduced_formula,
                "status": "failed", "reason": "host unstable at every temperature"}

    monkeypatch.setattr(md_commands, "_run_forcefield", failed_md)
    lgps = Path(md_commands.__file__).parents[1] / "data" / "structures" / "Li10GeP2S12.json"
    result = CliRunner().invoke(
        cli, ["md", str(lgps), "--device", "cpu", "--steps", "10", "--json"]
    )
    assert result.exit_code == 3, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["status"] == "failed"
    assert "Traceback" not in result.output


def test_demo_exits_3_when_a_stage_fizzles(sse_home, monkeypatch, tmp_path):
    sys.path.insert(0, str(HERE))
    from quick_jobs import failing_flow

    from sse_flows.flows.discovery import DiscoveryFlowMaker

    monkeypatch.setattr(DiscoveryFlowMaker, "make", lambda self: failing_flow(str(tmp_path)))
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 3, result.output
    last = result.output.strip().splitlines()[-1]
    # the job's own traceback is the worker's log of the failed stage; the command ends
    # with one line naming the workflow's state and the failed stage
    assert last.startswith("Error: workflow") and "FIZZLED" in last and "boom" in last
    # the report of what did run is still written, and it says the workflow FIZZLED
    index = next(
        line.split("report:", 1)[1].strip()
        for line in result.output.splitlines()
        if line.startswith("report:")
    )
    assert "FIZZLED" in Path(index).read_text(encoding="utf-8")


def _ranking_with_controls(lgps_verdict: str) -> dict:
    from sse_flows.ranking.schemas import CandidateDoc
    from sse_flows.ranking.selection import check_controls

    rows = [
        CandidateDoc(formula="Li10GeP2S12", role="positive_control", md_status="ok",
                     verdict=lgps_verdict),
        CandidateDoc(formula="Li3PO4", role="negative_control", md_status="ok",
                     verdict="no diffusion"),
    ]
    lines, passed = check_controls(rows)
    return {"candidates": [r.model_dump(mode="json") for r in rows], "controls": lines,
            "controls_passed": passed}


def test_results_check_controls_exits_4_on_a_failed_control(sse_home, monkeypatch):
    from sse_flows.flows import results as results_module
    from sse_flows.validation import EXIT_CONTROL_FAILED

    info = {"workflow_id": 7, "state": "COMPLETED", "failed_stages": []}
    ranking = _ranking_with_controls("undetermined")
    monkeypatch.setattr(results_module, "load_results", lambda workflow_id: (info, ranking))
    plain = CliRunner().invoke(cli, ["results"])
    assert plain.exit_code == 0, plain.output  # the table alone is not a check
    checked = CliRunner().invoke(cli, ["results", "--check-controls"])
    assert checked.exit_code == EXIT_CONTROL_FAILED == 4
    last = checked.output.strip().splitlines()[-1]
    assert last.startswith("Error: control check failed: positive_control Li10GeP2S12")
    assert "found undetermined" in last and "Traceback" not in checked.output
    as_json = CliRunner().invoke(cli, ["results", "--json", "--check-controls"])
    assert as_json.exit_code == 4
    assert json.loads(as_json.output.splitlines()[0])["controls_passed"] is False
    passed = _ranking_with_controls("superionic")
    monkeypatch.setattr(results_module, "load_results", lambda workflow_id: (info, passed))
    assert CliRunner().invoke(cli, ["results", "--check-controls"]).exit_code == 0


def test_demo_exits_4_when_a_control_fails(sse_home, monkeypatch, tmp_path):
    sys.path.insert(0, str(HERE))
    from jobflow import Flow
    from quick_jobs import sleepy

    from sse_flows.flows import results as results_module
    from sse_flows.flows.discovery import DiscoveryFlowMaker

    def quick(self):
        job = sleepy("ok", 0.0, str(tmp_path))
        job.name = "ok"
        return Flow([job], name="control-check")

    monkeypatch.setattr(DiscoveryFlowMaker, "make", quick)
    real = results_module.load_results

    def with_failed_control(workflow_id=None, settings=None):
        info, _ = real(workflow_id, settings) if settings else real(workflow_id)
        return info, _ranking_with_controls("close")

    monkeypatch.setattr(results_module, "load_results", with_failed_control)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 4, result.output
    last = result.output.strip().splitlines()[-1]
    assert last == ("Error: control check failed: positive_control Li10GeP2S12: expected "
                    "superionic, found close (the MD verdicts of this run are not trustworthy)")
