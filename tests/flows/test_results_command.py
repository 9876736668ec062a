"""`sse-flows results`: what its table and its JSON hold of the stored candidate rows."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sse_flows.cli import cli


def _ranking() -> dict:
    from sse_flows.ranking.schemas import CandidateDoc

    rows = [
        # a formula-level snapshot row (no MP id) whose structure was matched to mp-22905
        CandidateDoc(formula="LiCl", role="candidate", md_status="ok", verdict="no diffusion",
                     structure_origin="mp_structures:mp-22905", band_gap=6.25,
                     arrhenius=[{"T": 1000.0, "D": None, "li_hops": 0}]),
        CandidateDoc(material_id="mp-570379", formula="Cs2LiLuCl6", role="candidate",
                     structure_origin="mp_structures:mp-570379"),
        CandidateDoc(formula="LiBr", role="candidate"),  # no id, no structure
        CandidateDoc(formula="Li10GeP2S12", role="positive_control",
                     structure_origin="package:Li10GeP2S12.json"),
    ]
    return {"candidates": [r.model_dump(mode="json") for r in rows], "controls": []}


def test_results_json_holds_every_field_of_the_stored_rows(sse_home, monkeypatch):
    from sse_flows.flows import results as results_module
    from sse_flows.ranking.schemas import CandidateDoc

    info = {"workflow_id": 3, "state": "COMPLETED", "failed_stages": []}
    ranking = _ranking()
    monkeypatch.setattr(results_module, "load_results", lambda workflow_id: (info, ranking))
    out = CliRunner().invoke(cli, ["results", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output.strip().splitlines()[-1])["candidates"]
    assert [set(row) for row in rows] == [set(CandidateDoc.model_fields) | {"md_verdict"}] * 4
    licl = rows[0]
    assert licl["structure_origin"] == "mp_structures:mp-22905" and licl["band_gap"] == 6.25
    assert licl["arrhenius"] == ranking["candidates"][0]["arrhenius"]
    assert [row["md_verdict"] for row in rows[:2]] == ["MD: no diffusion", "not MD-tested"]


def test_results_table_names_a_row_without_an_id_by_its_structures_id(sse_home, monkeypatch):
    from sse_flows.flows import results as results_module

    info = {"workflow_id": 3, "state": "COMPLETED", "failed_stages": []}
    monkeypatch.setattr(results_module, "load_results", lambda workflow_id: (info, _ranking()))
    out = CliRunner().invoke(cli, ["results"])
    assert out.exit_code == 0, out.output
    names = {line.split()[1]: line.split()[0] for line in out.output.splitlines()[2:6]}
    assert names == {"LiCl": "(mp-22905)", "Cs2LiLuCl6": "mp-570379", "LiBr": "-",
                     "Li10GeP2S12": "control+"}
