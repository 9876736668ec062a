"""Rebuilding the derived tables from the raw data gives the committed tables (compared by
parsed content with a tolerance, not bytes)."""

from __future__ import annotations

import pytest
from table_compare import assert_same_file

from sse_flows.data import DATA_DIR
from sse_flows.data.build import build_all
from sse_flows.data.snapshot import SNAPSHOT_FILE, SNAPSHOT_METADATA_FILE
from sse_flows.data.training import TRAINING_FILE, TRAINING_METADATA_FILE


@pytest.mark.slow
def test_rebuild_gives_the_committed_tables(raw_dir, tmp_path):
    hashes = build_all(raw_dir, tmp_path, only=("training", "snapshot"))
    names = (TRAINING_FILE, TRAINING_METADATA_FILE, SNAPSHOT_FILE, SNAPSHOT_METADATA_FILE)
    assert set(hashes) == set(names)
    for name in names:
        assert_same_file(tmp_path / name, DATA_DIR / name)
    # the snapshot stays small enough to commit
    assert (DATA_DIR / SNAPSHOT_FILE).stat().st_size < 5_000_000
