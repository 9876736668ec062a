"""The data writers replace a file whole or not at all."""

from __future__ import annotations

import gzip
import os

import pytest

from sse_flows.data import writers


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "table.csv"
    writers.write_text_atomic(target, "old\n")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        writers.write_text_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_gzip_header_carries_no_time_or_name_and_the_write_is_atomic(tmp_path):
    """What keeps a rebuilt .gz independent of when and where it was written: the gzip
    header's mtime is 0 and it stores no file name (RFC 1952: bytes 4-7 and the FNAME flag).
    The compressed bytes themselves depend on the zlib build, so only content is compared."""
    target = tmp_path / "a.csv.gz"
    writers.write_gzip_deterministic(target, "x,y\n1,2\n")
    header = target.read_bytes()[:10]
    assert header[:2] == b"\x1f\x8b"
    assert int.from_bytes(header[4:8], "little") == 0  # mtime
    assert not header[3] & 0x08  # FNAME flag not set
    assert gzip.decompress(target.read_bytes()).decode() == "x,y\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv.gz"]  # no temporary left
