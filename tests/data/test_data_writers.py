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


def test_gzip_is_deterministic_and_atomic(tmp_path):
    a, b = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    writers.write_gzip_deterministic(a, "x,y\n1,2\n")
    writers.write_gzip_deterministic(b, "x,y\n1,2\n")
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()) == b"x,y\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv.gz", "b.csv.gz"]
