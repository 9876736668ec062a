"""Fixtures of the screening tests: the offline snapshot, its hulls and one funnel run."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def snapshot_source():
    """The packaged MP 2019 snapshot source."""
    from sse_flows.sources import SnapshotSource

    return SnapshotSource()


@pytest.fixture(scope="session")
def snapshot_hulls(snapshot_source):
    """Phase-diagram cache over the snapshot's formation energies (all ~95k compositions)."""
    from sse_flows.screening.phase_diagrams import PhaseDiagramCache

    return PhaseDiagramCache.from_formation_energies(snapshot_source.formation_energies())


@pytest.fixture(scope="session")
def snapshot_doc(snapshot_source, snapshot_hulls):
    """The funnel over every Li record of the snapshot, with the paper's criteria."""
    from sse_flows.screening.funnel import run_funnel

    records = snapshot_source.li_records()
    reference = {r.formula: r.energy_above_hull for r in records if r.energy_above_hull is not None}
    return run_funnel(
        records,
        snapshot_hulls,
        source="snapshot",
        e_hull_from="computed",
        reference_e_hull=reference,
        progress=False,
    )
