"""The package has no import cycle, counting imports inside functions
(scripts/import_cycles.py walks every module's imports)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "import_cycles.py"


def _load():
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_detector_finds_a_cycle_through_a_function_level_import(tmp_path, monkeypatch):
    tool = _load()
    package = tmp_path / "sse_flows"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "low" / "a.py").write_text("def f():\n    from sse_flows.high import g\n")
    (package / "high.py").write_text("from sse_flows.low.a import f\n")
    (package / "leaf.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sse_flows.high import g\n")
    monkeypatch.setattr(tool, "ROOT", package)
    graph = tool.import_graph()
    assert graph["sse_flows.high"] == {"sse_flows.low.a"}
    assert graph["sse_flows.leaf"] == set()  # type-checking imports do not run
    assert tool.cycles(graph) == [["sse_flows.high", "sse_flows.low.a"]]


def test_the_package_has_no_import_cycle():
    tool = _load()
    graph = tool.import_graph()
    assert len(graph) > 100  # every module was read
    assert "sse_flows.md.documents" in graph["sse_flows.md.forcefield"]  # edges are read
    assert tool.cycles(graph) == []
