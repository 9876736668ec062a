"""Fixtures of the analysis tests: the Kang et al. 2023 AIMD runs, read once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

#: the nine materials of raw/kang2023/aimd
KANG_IDS = (
    "mp-532413",  # Li5B7S13
    "mp-676361",  # Li3ErCl6
    "mp-29410",  # Li2B2S5
    "mp-1106183",  # LiAlS2
    "mp-1222492",  # Li3ErBr6
    "mp-19896",  # Li2PbGeS4 (8-atom cell at 1700 K)
    "mp-1222404",  # LiBiS2
    "mp-1195055",  # RbLi6B2O6F
    "mp-557892",  # BaLi(BS2)3
)


@pytest.fixture(scope="session")
def kang_dir(raw_dir) -> Path:
    """Folder of the authors' AIMD DiffusionAnalyzer files."""
    return raw_dir / "kang2023" / "aimd"


@pytest.fixture(scope="session")
def kang_runs(kang_dir):
    """{mp-id: [TemperatureRun at 800, 1100, 1400, 1700 K]} (36 files, read once)."""
    from sse_flows.analysis import load_runs

    return {mid: load_runs([kang_dir / mid]) for mid in KANG_IDS}


@pytest.fixture(scope="session")
def kang_docs(kang_runs):
    """{mp-id: DiffusionDoc} with the default settings."""
    from sse_flows.analysis import analyze_runs

    return {mid: analyze_runs(runs) for mid, runs in kang_runs.items()}
