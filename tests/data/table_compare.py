"""Compare regenerated data files by parsed content (floats with a tolerance), not bytes.

The last digit of a float may differ between CPUs, and gzip bytes between zlib builds;
the tables are the same when their rows and values are.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd


def _same_json(a, b, where: str) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        # a file's sha256 hashes its bytes: not a content fact across machines
        keys = set(a) - {"sha256"}
        assert keys == set(b) - {"sha256"}, where
        for key in keys:
            _same_json(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_json(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), where
    else:
        assert a == b, where


def assert_same_file(new: Path, old: Path) -> None:
    """CSV (optionally gzipped) or JSON files hold the same content."""
    if ".csv" in new.name:
        read = {"keep_default_na": False, "dtype": str}
        left, right = pd.read_csv(new, **read), pd.read_csv(old, **read)
        assert list(left.columns) == list(right.columns), new.name
        assert len(left) == len(right), new.name
        for column in left.columns:
            a, b = left[column], right[column]
            numeric_a = pd.to_numeric(a, errors="coerce")
            numeric_b = pd.to_numeric(b, errors="coerce")
            both = numeric_a.notna() & numeric_b.notna()
            assert (a[~both] == b[~both]).all(), f"{new.name}: {column}"
            pd.testing.assert_series_equal(
                numeric_a[both], numeric_b[both], check_exact=False, rtol=1e-9, atol=1e-12,
                check_names=False,
            )
    else:
        _same_json(json.loads(new.read_text()), json.loads(old.read_text()), new.name)
