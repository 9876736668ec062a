"""Fixtures of the models tests: the packaged training table, featurized once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def training_set():
    """The packaged training table with Magpie features and composition clusters."""
    from sse_flows.models.training import load_training_set

    return load_training_set()
