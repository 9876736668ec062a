"""`--md-top` on the command line, and the `results` table's selection columns."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sse_flows.flows import commands


@pytest.fixture()
def captured(sse_home, monkeypatch):
    """`submit` builds its maker but puts nothing on the LaunchPad; the maker is kept."""
    from sse_flows.launcher import Submission

    makers = []

    def fake_submit(maker, allow_duplicate=False):
        makers.append(maker)
        return Submission(workflow_id=1, fw_ids=[1], duplicate=False,
                            parameter_hash=maker.parameter_hash())  # fmt: skip

    monkeypatch.setattr(commands, "submit_maker", fake_submit)
    return makers


def test_submit_passes_md_top_to_the_flow_maker(captured):
    runner = CliRunner()
    result = runner.invoke(commands.submit, ["--md-top", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert captured[-1].md_top == 2 and captured[-1].selection_maker.md_top == 2
    result = runner.invoke(commands.submit, ["--json"])
    assert result.exit_code == 0, result.output
    assert captured[-1].md_top is None  # the recipe's default, hash as before
    assert "md_top" not in captured[-1].parameters()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--md-top", "-1"], "must be >= 0"),
        (["--md-top", "2", "--md-scope", "top-5"], "adds to --md-scope candidates only"),
    ],
)
def test_bad_md_top_is_a_usage_error_naming_the_option(captured, args, message):
    result = CliRunner().invoke(commands.submit, args)
    assert result.exit_code == 2
    assert "'--md-top'" in result.output and message in result.output
    assert captured == []  # refused before the flow was built


def _ranking() -> dict:
    from sse_flows.ranking.schemas import CandidateDoc, RankingDoc, SelectionStage

    rows = [
        CandidateDoc(material_id="mp-13", formula="LiGoodA", passed_vote=False,
                     p_superionic=0.2, acquisition_score=0.7, acquisition_rank=3,
                     selection_reason="acquisition rank 3 of 7 (score 0.70)", md_status="ok",
                     sigma_rt_S_cm=2e-3, sigma_rt_low=1e-3, sigma_rt_high=4e-3,
                     verdict="superionic"),
        CandidateDoc(material_id="mp-10", formula="LiVote", passed_vote=True,
                     p_superionic=0.6, selection_reason="vote candidate",
                     md_status="no_structure"),
        CandidateDoc(formula="Li3PO4", role="negative_control", md_status="ok",
                     selection_reason="negative control", verdict="no diffusion"),
    ]  # fmt: skip
    funnel = [SelectionStage(name=n, description=n, count=c) for n, c in
              [("screened", 8), ("with_structure", 6), ("md_targets", 2)]]  # fmt: skip
    return RankingDoc(candidates=rows, selection_funnel=funnel).model_dump(mode="json")


def test_results_show_the_md_verdict_and_why_each_material_was_selected(sse_home, monkeypatch):
    from sse_flows.flows import results as results_module

    info = {"workflow_id": 4, "state": "COMPLETED", "failed_stages": []}
    monkeypatch.setattr(results_module, "load_results", lambda workflow_id: (info, _ranking()))
    text = CliRunner().invoke(commands.results, [])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    good = next(line for line in lines if line.startswith("mp-13"))
    assert "MD: superionic" in good and "acquisition rank 3 of 7 (score 0.70)" in good
    assert " 0.70 " in good  # the acquisition column
    vote = next(line for line in lines if line.startswith("mp-10"))
    assert "not MD-tested (no structure)" in vote and vote.endswith("vote candidate")
    control = next(line for line in lines if line.startswith("control-"))
    assert "MD: no diffusion" in control and control.endswith("negative control")
    assert "selection funnel: screened 8 -> with structure 6 -> md targets 2" in text.output

    out = CliRunner().invoke(commands.results, ["--json"])
    data = json.loads(out.output.splitlines()[-1])
    assert [s["count"] for s in data["selection_funnel"]] == [8, 6, 2]
    first = data["candidates"][0]
    assert first["selection_reason"].startswith("acquisition rank 3")
    assert first["md_verdict"] == "MD: superionic" and first["acquisition_rank"] == 3
