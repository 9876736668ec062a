"""The batched MD engine imports without the workflow stack.

A GPU machine gets only the wheels of ``benchmarks/gpu/prepare_device_kit.py`` (pymatgen,
ASE, SevenNet, pydantic, ...): no jobflow, FireWorks, maggma, MongoDB drivers or the model
libraries. These tests import the engine, the pool runner and the MD-vs-experiment benchmark
in a fresh interpreter and check that none of those packages was loaded, and that the
package's public MD names still resolve (lazily).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Packages a GPU machine does not get (the kit's WHEELS carry none of them).
WORKFLOW_PACKAGES = ("jobflow", "fireworks", "maggma", "pymongo", "montydb", "mongomock",
                     "boto3", "paramiko", "lightgbm", "matminer", "xgboost", "click")


def _loaded_after(code: str) -> set[str]:
    """Top-level modules loaded by ``code`` in a fresh interpreter."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in " \
        "sys.modules})))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("code", [
    "import sse_flows.md.batched",
    "import sse_flows.md.pool, sse_flows.md.documents",
    "import sys; sys.path.insert(0, 'benchmarks'); import md_vs_experiment as m; "
    "m.study_protocol('cpu', 8.0); m.study_protocol('paper-reduced', 10.0)",
])
def test_the_batched_engine_needs_no_workflow_packages(code):
    loaded = _loaded_after(code)
    assert not loaded & set(WORKFLOW_PACKAGES), sorted(loaded & set(WORKFLOW_PACKAGES))


def test_the_public_md_names_resolve_lazily():
    """``from sse_flows.md import X`` still gives every public name, and only the makers
    pull in jobflow."""
    import sse_flows.md as md

    for name in md.__all__:
        assert getattr(md, name) is not None
        assert name in dir(md)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        md.nothing  # noqa: B018
    assert "jobflow" not in _loaded_after("from sse_flows.md import MDProtocol, run_batched_md")
    assert "jobflow" in _loaded_after("from sse_flows.md import ForceFieldMdProtocolMaker")
