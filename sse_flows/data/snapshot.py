"""The offline Materials Project snapshot, ``mp2019_snapshot.csv.gz`` (+ ``mp2019_snapshot.json``).

One record per reduced composition of the Materials Project as of 2019-04-02 (matbench
v0.1): minimum formation energy, band gaps, MP id where known, MP's own energy above hull
where known. Built deterministically (a rebuild gives byte-identical files) by
:func:`build_snapshot_files`, one of the builders of ``sse-flows data build``
(:func:`sse_flows.data.build.build_all`).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from sse_flows.data.errors import DataBuildError
from sse_flows.data.formulas import reduced_formula
from sse_flows.data.writers import write_table_files

SNAPSHOT_FILE = "mp2019_snapshot.csv.gz"
SNAPSHOT_METADATA_FILE = "mp2019_snapshot.json"

MP_VINTAGE = "MP 2019-04-02 via matbench v0.1"
SNAPSHOT_SOURCE = "mp-2019-snapshot"
CRABNET_REPOSITORY = "github.com/anthony-wang/CrabNet@457b4d483573"
ROOST_REPOSITORY = "github.com/CompRhys/roost@3b62b6f02c8d"
#: Two gaps closer than this (eV) are the same number (the raw tables round differently).
GAP_MATCH_TOL_EV = 1e-3
#: Decimals kept for energies (eV/atom) and gaps (eV) in the snapshot file.
SNAPSHOT_DECIMALS = 6


def _read_raw_csv(path: Path) -> pd.DataFrame:
    # keep_default_na=False: "NaN" (sodium nitride) is a formula, not a missing value.
    return pd.read_csv(path, keep_default_na=False)


def _with_reduced(table: pd.DataFrame, column: str) -> pd.DataFrame:
    table = table.copy()
    with warnings.catch_warnings():
        # pymatgen warns that He has no Pauling electronegativity (formula ordering only)
        warnings.simplefilter("ignore", UserWarning)
        table["formula_reduced"] = table[column].map(reduced_formula)
    return table


def select_band_gap(
    gaps: list[float], id_gap: float | None, tol: float = GAP_MATCH_TOL_EV
) -> tuple[float | None, str]:
    """The band gap of a composition with several polymorph gaps, and the rule used.

    Rules, in order:

    ``id_matched``
        The MP id of the composition (roost table) has a gap equal (within ``tol``) to one
        of the 2019 gaps: that polymorph's gap.
    ``single``
        All 2019 gaps of the composition are equal: that gap.
    ``max_of_polymorphs``
        Several different 2019 gaps and no id match: the largest. The ground-state
        polymorph, which the snapshot's formation energy describes, usually has the
        largest gap of its composition (LiF: 8.72 eV rock salt vs 7.48 eV; LiCl: 6.25 vs
        5.93 eV); against the 2025 MP cross-check table (matsci176) the largest 2019 gap
        is the closer one (see docs/data.md).
    ``id_only``
        No 2019 gap, but the id-specific gap is known: that gap.
    ``none``
        No gap known.
    """
    gaps = [float(g) for g in gaps]
    if id_gap is not None and any(abs(id_gap - g) <= tol for g in gaps):
        return float(id_gap), "id_matched"
    if gaps:
        if max(gaps) - min(gaps) <= tol:
            return gaps[0], "single"
        return max(gaps), "max_of_polymorphs"
    if id_gap is not None:
        return float(id_gap), "id_only"
    return None, "none"


class _RawTables(NamedTuple):
    """The raw CrabNet (MP 2019) and roost tables, each with its ``formula_reduced`` column."""

    e_form: pd.DataFrame
    gaps: pd.DataFrame
    hull: pd.DataFrame
    roost_form: pd.DataFrame
    roost_gap: pd.DataFrame


def _read_raw_tables(crab: Path, roost: Path) -> _RawTables:
    """Read the five raw tables and reduce their formulas."""
    return _RawTables(
        e_form=_with_reduced(_read_raw_csv(crab / "mp_e_form.csv"), "formula"),
        gaps=_with_reduced(_read_raw_csv(crab / "mp_gap.csv"), "formula"),
        hull=_with_reduced(
            pd.concat(
                [_read_raw_csv(crab / "mp_e_hull" / f"{s}.csv") for s in ("train", "val", "test")],
                ignore_index=True,
            ),
            "formula",
        ),
        roost_form=_with_reduced(_read_raw_csv(roost / "mp-formation.csv"), "composition"),
        roost_gap=_with_reduced(_read_raw_csv(roost / "mp-bandgaps.csv"), "composition"),
    )


def _roost_by_formula(raw: _RawTables, roost: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roost ids and id-specific gaps indexed by reduced formula (first row of each)."""
    roost_ids = raw.roost_form.drop_duplicates("formula_reduced").set_index("formula_reduced")
    roost_gaps = raw.roost_gap.drop_duplicates("formula_reduced").set_index("formula_reduced")
    if not roost_gaps["task_id"].reindex(roost_ids.index).fillna("").eq(roost_ids["task_id"]).all():
        raise DataBuildError(f"{roost}: mp-formation.csv and mp-bandgaps.csv ids disagree")
    return roost_ids, roost_gaps


def _band_gap_columns(
    formulas: list[str], gap_lists: pd.Series, id_gap: pd.Series
) -> tuple[list[float | None], list[str], list[str]]:
    """(band gap, rule used, all 2019 gaps joined by ';') of every composition."""
    band_gap, rule, band_gaps = [], [], []
    for formula, gid in zip(formulas, id_gap.to_list(), strict=True):
        g_list = gap_lists.get(formula, [])
        gid = None if gid is None or (isinstance(gid, float) and math.isnan(gid)) else gid
        value, used = select_band_gap(g_list, gid)
        band_gap.append(value)
        rule.append(used)
        band_gaps.append(";".join(_fmt(g) for g in g_list))
    return band_gap, rule, band_gaps


def _add_element_columns(table: pd.DataFrame, formulas: list[str]) -> None:
    """Sorted element symbols, their number and the Li flag of every composition (in place)."""
    elements = [_sorted_elements(f) for f in formulas]
    table["elements"] = ["-".join(e) for e in elements]
    table["nelements"] = [len(e) for e in elements]
    table["contains_li"] = [int("Li" in e) for e in elements]


def _ordered_and_rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by formula, the snapshot's column order, energies and gaps rounded."""
    table.index.name = "formula"
    table = table.reset_index().sort_values("formula", kind="mergesort")
    columns = [
        "formula",
        "elements",
        "nelements",
        "formation_energy_per_atom",
        "n_entries",
        "band_gap",
        "band_gap_rule",
        "band_gaps",
        "material_id",
        "material_id_band_gap",
        "e_hull_mp",
        "contains_li",
    ]
    table = table[columns].reset_index(drop=True)
    for column in ("formation_energy_per_atom", "band_gap", "material_id_band_gap", "e_hull_mp"):
        table[column] = table[column].round(SNAPSHOT_DECIMALS)
    return table


def _snapshot_metadata(table: pd.DataFrame, raw: _RawTables, present: set[str]) -> dict:
    """Description, limits, inputs, rules and counts of the snapshot (its JSON file)."""
    return {
        "description": "Offline Materials Project snapshot: one record per reduced composition.",
        "data_version": MP_VINTAGE,
        "source": SNAPSHOT_SOURCE,
        "limits": [
            "MP as retrieved 2019-04-02 (matbench v0.1), before the MP2020 energy corrections",
            "no polymorphs: one record per reduced composition; formation energy is the "
            "minimum over that composition's entries",
            "no crystal structures (mp_structures.json.gz holds them, one per Li composition "
            "without transition metals)",
            "no compounds added to MP after 2019 (e.g. Li3YCl6 is absent)",
            "material ids only where the roost table lists the composition",
        ],
        "inputs": {
            "mp_e_form": f"{CRABNET_REPOSITORY}:data/matbench/mp_e_form.csv",
            "mp_gap": f"{CRABNET_REPOSITORY}:data/matbench/mp_gap.csv",
            "mp_e_hull": f"{CRABNET_REPOSITORY}:data/benchmark_data/mp_e_hull/*.csv",
            "roost": f"{ROOST_REPOSITORY}:data/datasets/mp-formation.csv, mp-bandgaps.csv",
            "license": "values are Materials Project data (CC BY 4.0)",
        },
        "rules": {
            "formula": "pymatgen Composition(formula).reduced_formula of the raw formula",
            "formation_energy_per_atom": "minimum over mp_e_form.csv entries (eV/atom)",
            "band_gap": " ".join(select_band_gap.__doc__.split()),
            "e_hull_mp": "MP's energy above hull from mp_e_hull (not always the ground state)",
            "material_id": "roost task_id (MP 2019-2020) of the composition, '' when absent",
            "rounding": f"energies and gaps rounded to {SNAPSHOT_DECIMALS} decimals",
        },
        "counts": {
            "raw_e_form_entries": len(raw.e_form),
            "raw_gap_entries": len(raw.gaps),
            "raw_e_hull_entries": len(raw.hull),
            "raw_roost_entries": len(raw.roost_form),
            "compositions": len(table),
            "li_compositions": int(table["contains_li"].sum()),
            "with_band_gap": int(table["band_gap"].notna().sum()),
            "with_material_id": int((table["material_id"] != "").sum()),
            "with_e_hull_mp": int(table["e_hull_mp"].notna().sum()),
            "band_gap_rule": {
                k: int(v) for k, v in table["band_gap_rule"].value_counts().sort_index().items()
            },
            "e_hull_compositions_without_e_form": len(set(raw.hull["formula_reduced"]) - present),
            "roost_compositions_without_e_form": len(
                set(raw.roost_form["formula_reduced"]) - present
            ),
        },
    }


def build_snapshot_table(raw_dir: Path) -> tuple[pd.DataFrame, dict]:
    """One record per reduced composition of ``mp_e_form.csv`` (MP 2019-04-02)."""
    crab = Path(raw_dir) / "crabnet_mp2019"
    roost = Path(raw_dir) / "roost_mp2020"
    raw = _read_raw_tables(crab, roost)

    grouped = raw.e_form.groupby("formula_reduced")["target"]
    table = pd.DataFrame({"formation_energy_per_atom": grouped.min(), "n_entries": grouped.size()})
    gap_lists = raw.gaps.groupby("formula_reduced")["target"].apply(lambda s: sorted(s.tolist()))
    hull_values = raw.hull.groupby("formula_reduced")["target"].min()
    roost_ids, roost_gaps = _roost_by_formula(raw, roost)

    formulas = table.index.to_list()
    table["material_id"] = roost_ids["task_id"].reindex(formulas).fillna("")
    id_gap = roost_gaps["band_gap"].reindex(formulas)
    band_gap, rule, band_gaps = _band_gap_columns(formulas, gap_lists, id_gap)
    table["band_gap"] = pd.array(band_gap, dtype="Float64")
    table["band_gap_rule"] = rule
    table["band_gaps"] = band_gaps
    table["material_id_band_gap"] = id_gap.astype("Float64")
    table["e_hull_mp"] = hull_values.reindex(formulas).astype("Float64")
    _add_element_columns(table, formulas)
    table = _ordered_and_rounded(table)
    return table, _snapshot_metadata(table, raw, set(formulas))


def _fmt(value: float) -> str:
    return repr(round(float(value), SNAPSHOT_DECIMALS))


def _sorted_elements(formula: str) -> list[str]:
    from pymatgen.core import Composition

    return sorted(el.symbol for el in Composition(formula))


def build_snapshot_files(raw_dir: Path | str, out_dir: Path | str) -> dict[str, str]:
    """Write the gzipped snapshot and its metadata into ``out_dir``; returns their SHA-256."""
    table, metadata = build_snapshot_table(Path(raw_dir))
    return write_table_files(out_dir, table, SNAPSHOT_FILE, metadata, SNAPSHOT_METADATA_FILE)
