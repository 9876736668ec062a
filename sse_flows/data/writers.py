"""Deterministic, all-or-nothing writers of the derived data files, and their SHA-256.

Every writer renders its text the same way each time (``\\n`` line ends, sorted JSON keys,
gzip without file name and with mtime 0), writes it to a temporary file in the target
folder and then :func:`os.replace`-s it onto the target, so an interrupted build never
leaves a half-written file behind.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def csv_text(table: pd.DataFrame) -> str:
    """``table`` as CSV text: no index, ``\\n`` line ends, pandas' shortest float repr."""
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n", float_format=None)
    return buffer.getvalue()


def json_text(data: dict) -> str:
    """``data`` as indented JSON with sorted keys (numpy scalars as Python numbers)."""
    return json.dumps(data, indent=1, sort_keys=True, default=_json_default) + "\n"


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def write_bytes_atomic(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a replace.

    The target either keeps its old content or gets all of ``data``; the temporary file is
    removed when the write fails.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8, line ends as given) to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_gzip_deterministic(path: Path | str, text: str) -> Path:
    """Gzip ``text`` with no file name and mtime 0 (equal text gives equal bytes), atomically."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())
    return write_bytes_atomic(path, buffer.getvalue())


def sha256(path: Path | str) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_table_files(
    out_dir: Path | str,
    table: pd.DataFrame,
    table_name: str,
    metadata: dict,
    metadata_name: str,
) -> dict[str, str]:
    """Write a derived table (gzipped when its name ends in ``.gz``) and its metadata, which
    records the table's SHA-256, into ``out_dir``.

    Returns
    -------
    dict
        ``{file name: SHA-256}`` of the two files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if table_name.endswith(".gz"):
        write_gzip_deterministic(out_dir / table_name, csv_text(table))
    else:
        write_text_atomic(out_dir / table_name, csv_text(table))
    metadata["sha256"] = sha256(out_dir / table_name)
    write_text_atomic(out_dir / metadata_name, json_text(metadata))
    return {name: sha256(out_dir / name) for name in (table_name, metadata_name)}
