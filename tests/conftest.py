"""Shared fixtures: the raw reference data and an isolated SSE_FLOWS_HOME per test."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = (ROOT.parent / "shared" / "data" / "raw").resolve()


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """``../shared/data/raw`` (tests read the reference data from there, never a copy)."""
    if not RAW.is_dir():
        pytest.skip(f"reference data missing: {RAW} (clone with ../shared beside the project)")
    return RAW


@pytest.fixture()
def sse_home(tmp_path, monkeypatch) -> Path:
    """A fresh SSE_FLOWS_HOME (embedded stores, logs, reports) for one test."""
    home = tmp_path / "sse_home"
    monkeypatch.setenv("SSE_FLOWS_HOME", str(home))
    for var in ("SSE_FLOWS_MONGODB_URI", "SSE_FLOWS_CONFIG_FILE", "SSE_FLOWS_MP_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    from sse_flows.settings import reset_settings

    reset_settings()
    yield home
    reset_settings()
