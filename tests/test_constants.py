"""The shared numbers live in sse_flows/constants.py only; every stage imports them."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
import scipy.constants

from sse_flows import constants
from sse_flows.constants import (
    CLOSE_THRESHOLD_S_CM,
    K_B_EV,
    PAPER_N_VOTED,
    ROOM_TEMPERATURE_K,
    SUPERIONIC_THRESHOLD_S_CM,
    sci,
)

PACKAGE = Path(__file__).resolve().parents[1] / "sse_flows"

#: literal -> the constant that holds it (a 300 written as an int is left alone: step counts)
SHARED = {
    SUPERIONIC_THRESHOLD_S_CM: "SUPERIONIC_THRESHOLD_S_CM",
    CLOSE_THRESHOLD_S_CM: "CLOSE_THRESHOLD_S_CM",
    K_B_EV: "K_B_EV",
    float(PAPER_N_VOTED): "PAPER_N_VOTED",
    ROOM_TEMPERATURE_K: "ROOM_TEMPERATURE_K",
}


def _is_tolerance(parent: ast.AST) -> bool:
    """``atol=1e-4`` or ``_RTOL = 1e-5``: a numerical tolerance that happens to be equal."""
    if isinstance(parent, ast.keyword):
        return "tol" in (parent.arg or "").lower()
    if isinstance(parent, ast.Assign | ast.AnnAssign):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        return all("tol" in ast.unparse(t).lower() for t in targets)
    return False


def repeated_literals(package: Path) -> list[str]:
    """Numeric literals equal to a shared constant, outside constants.py and tolerances."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "constants.py" and path.parent == package:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            value = getattr(node, "value", None) if isinstance(node, ast.Constant) else None
            if isinstance(value, bool) or not isinstance(value, int | float) or not value:
                continue
            for shared, name in SHARED.items():
                if isinstance(value, int) and name == "ROOM_TEMPERATURE_K":
                    continue
                if math.isclose(value, shared, rel_tol=1e-6) and not _is_tolerance(parents[node]):
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno}: {name}")
    return found


def test_no_module_repeats_a_shared_constant():
    assert repeated_literals(PACKAGE) == []


def test_the_scan_finds_a_repeated_threshold(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text(
        "THRESHOLD = 1e-4\n"
        "kb = 8.617333262e-5\n"
        "def f(x, room=300.0, steps=300):\n    return x == 468\n"
        "ok = close(1, 2, atol=1e-4)\n_RTOL = 1e-5\n"
    )
    assert repeated_literals(package) == [
        "pkg/a.py:1: SUPERIONIC_THRESHOLD_S_CM",
        "pkg/a.py:2: K_B_EV",
        "pkg/a.py:3: ROOM_TEMPERATURE_K",
        "pkg/a.py:4: PAPER_N_VOTED",
    ]


def test_values():
    assert K_B_EV == scipy.constants.k / scipy.constants.e  # pymatgen's value
    assert SUPERIONIC_THRESHOLD_S_CM == 1e-4 and CLOSE_THRESHOLD_S_CM == 1e-5
    assert PAPER_N_VOTED == constants.PAPER_FUNNEL["oxidation_voltage"] == 468
    assert sum(constants.PAPER_ANION_CLASSES.values()) == PAPER_N_VOTED


@pytest.mark.parametrize(
    ("value", "text"), [(1e-4, "1e-4"), (1e-5, "1e-5"), (2.5e-5, "2.5e-5"), (300.0, "3e2")]
)
def test_sci(value, text):
    assert sci(value) == text


def test_the_stages_use_the_shared_numbers():
    from sse_flows.analysis import arrhenius, core
    from sse_flows.data import training
    from sse_flows.report import paper
    from sse_flows.screening import plotting

    assert arrhenius.K_B_EV is K_B_EV  # re-exported for existing callers
    defaults = core.analyze_runs.__kwdefaults__ or {}
    assert defaults["superionic_threshold"] == SUPERIONIC_THRESHOLD_S_CM
    assert defaults["room_temperature"] == ROOM_TEMPERATURE_K
    assert training.SUPERIONIC_THRESHOLD_S_CM is SUPERIONIC_THRESHOLD_S_CM
    assert plotting.PAPER_FUNNEL is constants.PAPER_FUNNEL
    assert paper.PAPER_VOTES is constants.PAPER_VOTES
