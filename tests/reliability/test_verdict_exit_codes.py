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
