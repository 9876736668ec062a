"""`sse-flows report`: reads the run through load_report_inputs and prints index.html."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sse_flows.cli import cli
from sse_flows.report.inputs import ReportInputs


def test_report_command_writes_to_the_default_folder(sse_home, screening_doc, monkeypatch):
    import sse_flows.flows.results as results

    calls = []

    def fake_load(workflow_id=None, settings=None):
        calls.append(workflow_id)
        return ReportInputs(screening=screening_doc, workflow={"workflow_id": 12})

    monkeypatch.setattr(results, "load_report_inputs", fake_load)
    result = CliRunner().invoke(cli, ["report", "--workflow-id", "12"])
    assert result.exit_code == 0, result.output
    index = Path(result.output.strip().splitlines()[-1])
    assert calls == [12]
    assert index == sse_home / "reports" / "workflow-12" / "index.html"
    assert index.is_file() and "Screening funnel" in index.read_text()


def test_report_command_without_a_run_fails_with_a_message(sse_home, tmp_path):
    result = CliRunner().invoke(cli, ["report", "-o", str(tmp_path / "r")])
    assert result.exit_code != 0
    assert "sse-flows submit" in result.output or "demo" in result.output
    assert not (tmp_path / "r").exists()
