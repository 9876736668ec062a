"""Public loaders of the derived tables (training conductivities, MP 2019 snapshot).

>>> from sse_flows.data.tables import load_training_table, load_snapshot_table
>>> training = load_training_table()          # the packaged table (Kang 2023 + Xu 2020)
>>> mine = load_training_table("my_data.csv")  # a user table, validated row by row
"""

from __future__ import annotations

import csv
import json
import math
from functools import lru_cache
from pathlib import Path

import pandas as pd

from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM
from sse_flows.data import DATA_DIR
from sse_flows.data.formulas import composition_key, parse_formula
from sse_flows.data.snapshot import SNAPSHOT_FILE, SNAPSHOT_METADATA_FILE
from sse_flows.data.training import (
    TRAINING_COLUMNS,
    TRAINING_FILE,
    TRAINING_METADATA_FILE,
    training_row,
)

#: Columns a user training CSV must have; ``family`` and ``source`` are optional.
REQUIRED_COLUMNS = ("formula", "sigma_S_cm")
OPTIONAL_COLUMNS = ("family", "source")


class TrainingDataError(ValueError):
    """A user training table is invalid; the message names file, line and problem."""


def load_training_table(
    path: str | Path | None = None, threshold_S_cm: float = SUPERIONIC_THRESHOLD_S_CM
) -> pd.DataFrame:
    """The training conductivities with labels.

    Parameters
    ----------
    path
        ``None``: the packaged table (Kang 2023 + Xu 2020, ``sse_flows/data/training.csv``).
        Otherwise a user CSV with columns ``formula`` and ``sigma_S_cm`` (S/cm), and
        optionally ``family`` and ``source``; it is validated row by row and every
        problem raises :class:`TrainingDataError` (nothing is dropped silently).
    threshold_S_cm
        Label threshold: ``label = 1`` when ``sigma_S_cm >= threshold_S_cm``.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula, reduced_formula, family, sigma_S_cm, label, contains_li,
        source`` (the packaged table has more: dataset, reference, crystal_system,
        spacegroup, raw_formula, repair, origin).
    """
    if path is None:
        table = _packaged_training().copy()
        table["label"] = (table["sigma_S_cm"] >= threshold_S_cm).astype(int)
        return table
    return _load_user_training(Path(path), threshold_S_cm)


@lru_cache(maxsize=1)
def _packaged_training() -> pd.DataFrame:
    table = pd.read_csv(
        DATA_DIR / TRAINING_FILE,
        keep_default_na=False,
        dtype={"spacegroup": str, "reference": str},
    )
    return table[TRAINING_COLUMNS]


def _load_user_training(path: Path, threshold: float) -> pd.DataFrame:
    if not path.is_file():
        raise TrainingDataError(f"{path}: file not found")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise TrainingDataError(f"{path}: line 1: empty file, expected a header") from None
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise TrainingDataError(
                f"{path}: line 1: missing column(s) {', '.join(missing)} "
                f"(required: {', '.join(REQUIRED_COLUMNS)}; found: {', '.join(header)})"
            )
        index = {name: header.index(name) for name in header}
        rows, seen = [], {}
        for line, fields in enumerate(reader, start=2):
            if not any(f.strip() for f in fields):
                continue  # a blank line is not a row
            if len(fields) != len(header):
                raise TrainingDataError(
                    f"{path}: line {line}: {len(fields)} fields, the header has {len(header)}"
                )
            rows.append(_user_row(path, line, fields, index, seen, threshold))
    if not rows:
        raise TrainingDataError(f"{path}: no data rows")
    table = pd.DataFrame(rows)
    return table[
        ["formula", "reduced_formula", "family", "sigma_S_cm", "label", "contains_li", "source"]
    ]


def _user_row(
    path: Path, line: int, fields: list[str], index: dict, seen: dict, threshold: float
) -> dict:
    def field(name: str) -> str:
        return fields[index[name]].strip() if name in index else ""

    formula = field("formula")
    try:
        amounts = parse_formula(formula)
    except ValueError as exc:
        raise TrainingDataError(f"{path}: line {line}: unparseable formula: {exc}") from None
    text = field("sigma_S_cm")
    try:
        sigma = float(text)
    except ValueError:
        raise TrainingDataError(
            f"{path}: line {line}: non-numeric conductivity sigma_S_cm={text!r}"
        ) from None
    if math.isnan(sigma) or math.isinf(sigma):
        raise TrainingDataError(f"{path}: line {line}: conductivity sigma_S_cm={text!r}")
    if sigma < 0:
        raise TrainingDataError(f"{path}: line {line}: negative conductivity {sigma!r} S/cm")
    family = field("family")
    key = (composition_key(amounts), sigma, family)
    if key in seen:
        raise TrainingDataError(
            f"{path}: line {line}: duplicate row (same composition, conductivity and family "
            f"as line {seen[key]})"
        )
    seen[key] = line
    return training_row(formula, amounts, family, sigma, field("source") or str(path), threshold)


def training_metadata() -> dict:
    """Counts, rules, dropped and rejected rows of the packaged training table."""
    return json.loads((DATA_DIR / TRAINING_METADATA_FILE).read_text())


@lru_cache(maxsize=1)
def _snapshot() -> pd.DataFrame:
    table = pd.read_csv(
        DATA_DIR / SNAPSHOT_FILE,
        keep_default_na=False,
        na_values={
            c: [""]
            for c in ("formation_energy_per_atom", "band_gap", "material_id_band_gap", "e_hull_mp")
        },
        dtype={"material_id": str, "band_gaps": str, "formula": str, "elements": str},
    )
    return table


def load_snapshot_table() -> pd.DataFrame:
    """The offline MP 2019 snapshot: one row per reduced composition (all elements).

    Columns: ``formula`` (reduced), ``elements`` (list of symbols), ``nelements``,
    ``formation_energy_per_atom`` (eV/atom, minimum over the composition's entries),
    ``n_entries``, ``band_gap`` (eV or NaN), ``band_gap_rule``, ``band_gaps`` (list, eV),
    ``material_id`` (str or None), ``material_id_band_gap``, ``e_hull_mp`` (MP's own,
    NaN where unknown), ``contains_li`` (bool). A copy; callers may modify it.
    """
    table = _snapshot().copy()
    table["elements"] = table["elements"].str.split("-")
    table["band_gaps"] = [
        [float(g) for g in text.split(";")] if text else [] for text in table["band_gaps"]
    ]
    table["material_id"] = table["material_id"].where(table["material_id"] != "", None)
    table["contains_li"] = table["contains_li"].astype(bool)
    return table


def snapshot_metadata() -> dict:
    """Vintage, inputs, rules, limits and counts of the MP snapshot."""
    return json.loads((DATA_DIR / SNAPSHOT_METADATA_FILE).read_text())
