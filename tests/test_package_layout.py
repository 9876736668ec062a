"""One name for each kind of module: a stage's figures live in its ``plotting`` module."""

from __future__ import annotations

import importlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sse_flows"


def test_figure_modules_are_all_called_plotting():
    names = {p.stem for p in PACKAGE.rglob("*.py")}
    assert not names & {"figures", "plots", "plot", "figure"}
    stages = sorted(p.parent.name for p in PACKAGE.rglob("plotting.py"))
    assert stages == ["analysis", "models", "report", "screening"]


def test_each_plotting_module_draws_its_stage():
    expected = {
        "analysis": "plot_arrhenius",
        "models": "plot_accuracy_distributions",
        "report": "plot_vote_histograms",
        "screening": "plot_funnel",
    }
    for stage, function in expected.items():
        module = importlib.import_module(f"sse_flows.{stage}.plotting")
        assert callable(getattr(module, function))


ROOT = PACKAGE.parent


def _text_files():
    yield from PACKAGE.rglob("*.py")
    yield from (ROOT / "docs").glob("*.md")
    yield ROOT / "README.md"


def test_every_documented_sse_flows_variable_is_read():
    """A variable in the docs or messages that no setting reads would be silently ignored."""
    import re

    from sse_flows.settings import SseFlowsSettings

    read = {f"SSE_FLOWS_{name}" for name in SseFlowsSettings.model_fields}
    read.add("SSE_FLOWS_CONFIG_FILE")  # read by settings.py before the fields
    named = set()
    for path in _text_files():
        named |= set(re.findall(r"SSE_FLOWS_[A-Z][A-Z_]*[A-Z]", path.read_text("utf-8")))
    assert "SSE_FLOWS_HOME" in named and "SSE_FLOWS_MONGODB_URI" in named
    assert named - read == set()


def test_private_third_party_apis_are_used_only_by_their_adapter():
    import re

    private = re.compile(
        r"^\s*(import|from)\s+mongomock|mongomock_persistence|\._store\b|_run_ase_safe",
        re.MULTILINE,
    )
    users = sorted(
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if p.parent.name != "adapters" and private.search(p.read_text("utf-8"))
    )
    assert users == []
