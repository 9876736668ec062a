"""The flow diagram at the top of docs/index.md is the one scripts/flow_diagram.py builds
from DiscoveryFlowMaker: same nodes, edges and subgraphs (parsed, not byte-for-byte)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "flow_diagram.py"
INDEX = ROOT / "docs" / "index.md"


def _load():
    spec = importlib.util.spec_from_file_location("flow_diagram", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["flow_diagram"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return _load()


@pytest.fixture(scope="module")
def built(tool, tmp_path_factory):
    """The diagram and the flow it is drawn from, built on an isolated SSE_FLOWS_HOME."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSE_FLOWS_HOME", str(tmp_path_factory.mktemp("home")))
        patch.delenv("SSE_FLOWS_MONGODB_URI", raising=False)
        patch.delenv("SSE_FLOWS_CONFIG_FILE", raising=False)
        from sse_flows.flows.discovery import DiscoveryFlowMaker
        from sse_flows.settings import reset_settings

        reset_settings()
        try:
            diagram = tool.build_diagram()
            flow = DiscoveryFlowMaker().make()
        finally:
            reset_settings()
    return diagram, flow


@pytest.fixture(scope="module")
def documented(tool):
    return tool.parse_mermaid(tool.read_block(INDEX.read_text(encoding="utf-8")))


def test_index_holds_the_diagram_the_code_builds(tool, built, documented):
    diagram, _ = built
    assert tool.parse_mermaid(diagram.to_mermaid()).signature() == diagram.signature()
    ours, theirs = diagram.signature(), documented.signature()
    assert theirs[0] == ours[0], "nodes differ: run python scripts/flow_diagram.py"
    assert theirs[1] == ours[1], "edges differ: run python scripts/flow_diagram.py"
    assert theirs[2] == ours[2], "subgraphs differ: run python scripts/flow_diagram.py"


def test_each_stage_job_appears_with_its_output_document(built, documented):
    _, flow = built
    assert len(flow.jobs) == 6
    labels = [label.split("<br/>") for _, label in documented.nodes.values()]
    for job in flow.jobs:
        assert any(
            lines[0] == job.name and f"output: {job.output_schema.__name__}" in lines
            for lines in labels
        ), f"{job.name} ({job.output_schema.__name__}) is not in the diagram"
    stage_nodes = documented.subgraphs["discovery"][1]
    assert [documented.nodes[n][1].split("<br/>")[0] for n in stage_nodes] == [
        job.name for job in flow.jobs
    ]


def test_the_diagram_names_where_each_document_is_stored(built, documented):
    _, flow = built
    edges = set(documented.edges)
    names = {job.name: node for node, (_, label) in documented.nodes.items()
             for job in flow.jobs if label.split("<br/>")[0] == job.name}
    # every job's document goes to the docs store: an edge from the subgraph holding it
    assert ("discovery", "-.->", "each job's output document", "outputs") in edges
    assert ("md_flow", "-.->", "each job's output document", "outputs") in edges
    assert set(documented.subgraphs["discovery"][1]) == set(names.values())
    assert "collection outputs<br/>" in documented.nodes["outputs"][1]
    # the large fields go to the additional 'data' store (@job(data=[...]))
    assert (names["screen"], "-.->", "survivors, on_hull, stage_members", "outputs_data") in edges
    assert (names["vote"], "-.->", "votes", "outputs_data") in edges
    assert not any(src == names["rank candidates"] and dst == "outputs_data"
                   for src, _, _, dst in edges)
    # the vote reads the screening's survivors; the ranking reads the MD stage
    assert (names["screen"], "-->", "ScreeningDoc.survivors", names["vote"]) in edges
    assert (names["md validation"], "-->", "MDValidationDoc", names["rank candidates"]) in edges
    assert "GridFSStore" in documented.nodes["outputs_data"][1]


def test_the_run_time_md_flow_ends_in_the_material_document(documented):
    md_nodes = documented.subgraphs["md_flow"][1]
    outputs = [documented.nodes[n][1].split("<br/>")[-1] for n in md_nodes]
    assert outputs[0] == "output: MDCellDoc" and outputs[-1] == "output: MDRunDoc"
    assert ("md_validation", "-.->", "replace: one flow per target", md_nodes[0]) in set(
        documented.edges)


def test_the_parser_refuses_what_it_does_not_understand(tool):
    good = 'flowchart TD\n    a["x"]\n    b[("y")]\n    a -.->|"doc"| b\n'
    parsed = tool.parse_mermaid(good)
    assert parsed.nodes == {"a": ("job", "x"), "b": ("store", "y")}
    assert parsed.edges == [("a", "-.->", "doc", "b")]
    with pytest.raises(ValueError, match="not understood"):
        tool.parse_mermaid(good + "    a ==> b\n")
    with pytest.raises(ValueError, match="not declared"):
        tool.parse_mermaid(good + "    a --> c\n")


def test_write_index_replaces_only_the_marked_block(tool, tmp_path):
    diagram = tool.parse_mermaid('flowchart TD\n    a["x"]\n    a --> a\n')
    page = tmp_path / "index.md"
    page.write_text(f"# title\n\n{tool.BEGIN}\nold\n{tool.END}\n\nbody text\n")
    assert tool.write_index(diagram, page) is True
    text = page.read_text()
    assert text.startswith("# title\n\n") and text.endswith("\n\nbody text\n")
    assert "old" not in text
    assert tool.parse_mermaid(tool.read_block(text)).signature() == diagram.signature()
    assert tool.write_index(diagram, page) is False
