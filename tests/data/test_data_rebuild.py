"""Rebuilding the derived tables from the raw data gives byte-identical files."""

from __future__ import annotations

import pytest

from sse_flows.data.build import (
    DATA_DIR,
    SNAPSHOT_FILE,
    SNAPSHOT_METADATA_FILE,
    TRAINING_FILE,
    TRAINING_METADATA_FILE,
    build_all,
)


@pytest.mark.slow
def test_rebuild_is_byte_identical_to_the_committed_files(raw_dir, tmp_path):
    hashes = build_all(raw_dir, tmp_path)
    names = (TRAINING_FILE, TRAINING_METADATA_FILE, SNAPSHOT_FILE, SNAPSHOT_METADATA_FILE)
    assert set(hashes) == set(names)
    for name in names:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name
    # the snapshot stays small enough to commit
    assert (DATA_DIR / SNAPSHOT_FILE).stat().st_size < 5_000_000
