"""Derive the committed, normalized tables of ``sse_flows/data/`` from the raw reference data.

Two tables are built, deterministically (a rebuild gives byte-identical files):

``training.csv`` (+ ``training_metadata.json``)
    Experimental room-temperature ionic conductivities: all 328 rows of Kang et al. 2023
    (``Database.xlsx``) plus the Xu et al. 2020 rows whose composition Kang does not already
    hold. Each row carries its source (DOI) and its origin (repository, file, row).
``mp2019_snapshot.csv.gz`` (+ ``mp2019_snapshot.json``)
    One record per reduced composition of the Materials Project as of 2019-04-02
    (matbench v0.1): minimum formation energy, band gaps, MP id where known, MP's own
    energy above hull where known.

Run with ``sse-flows data build`` (or :func:`build_all`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM
from sse_flows.data.formulas import (
    composition_key,
    is_charge_balanced,
    parse_formula,
    reduced_formula,
    repair_formula,
)

DATA_DIR = Path(__file__).resolve().parent

TRAINING_FILE = "training.csv"
TRAINING_METADATA_FILE = "training_metadata.json"
SNAPSHOT_FILE = "mp2019_snapshot.csv.gz"
SNAPSHOT_METADATA_FILE = "mp2019_snapshot.json"

KANG_DOI = "10.1021/acs.jpcc.3c02908"
KANG_CITATION = "S. Kang, M. Kim, K. Min, J. Phys. Chem. C 127, 19335-19343 (2023), doi:" + KANG_DOI
KANG_REPOSITORY = "github.com/kminmin/LiSSE-MP@a223cc80ea98"
KANG_PATH = "MODEL/Database.xlsx"
XU_DOI = "10.1088/2399-6528/ab92d8"
XU_CITATION = "B. Xu, Y. Zong, K. Hippalgaonkar, J. Phys. Commun. 4, 055015 (2020), doi:" + XU_DOI
XU_REPOSITORY = "github.com/EXJUSTICE/LISICON_NASICON_IonicConductivity_Classification@0191a36c5583"
XU_FILES = ("TrainingData.csv", "TestData_NaLi.csv")
XU_FAMILY = "NASICON"

#: Kang's "Reference" column: tokens that are two reference numbers without their comma.
KANG_REFERENCE_REPAIRS = {"112113": "112,113"}

#: Xu rows re-typed by Kang with a corrected formula: same element set and a conductivity
#: equal within this relative tolerance count as already present.
RETYPED_SIGMA_RTOL = 0.005

MP_VINTAGE = "MP 2019-04-02 via matbench v0.1"
SNAPSHOT_SOURCE = "mp-2019-snapshot"
CRABNET_REPOSITORY = "github.com/anthony-wang/CrabNet@457b4d483573"
ROOST_REPOSITORY = "github.com/CompRhys/roost@3b62b6f02c8d"
#: Two gaps closer than this (eV) are the same number (the raw tables round differently).
GAP_MATCH_TOL_EV = 1e-3
#: Decimals kept for energies (eV/atom) and gaps (eV) in the snapshot file.
SNAPSHOT_DECIMALS = 6

TRAINING_COLUMNS = [
    "formula",
    "reduced_formula",
    "family",
    "sigma_S_cm",
    "label",
    "contains_li",
    "source",
    "dataset",
    "reference",
    "crystal_system",
    "spacegroup",
    "raw_formula",
    "repair",
    "origin",
]


class DataBuildError(RuntimeError):
    """A raw table cannot be turned into a derived table; the message names file and row."""


# ---------------------------------------------------------------------------------------
# Training table
# ---------------------------------------------------------------------------------------
def _kang_reference_dois(table: pd.DataFrame) -> dict[int, str]:
    """Kang's reference list: ``Reference index`` -> DOI (the ``Source`` column).

    The ``Source`` column of Database.xlsx is the bibliography of the table (index 1..123),
    not a per-row source: row 281 (Li10GeP2S12, reference 103) is Kamaya et al.,
    doi 10.1038/nmat3066, which is entry 103 of that list.
    """
    refs = table[["Reference index", "Source"]].dropna()
    pairs = zip(refs["Reference index"], refs["Source"], strict=True)
    return {int(i): str(doi).strip() for i, doi in pairs}


def _reference_numbers(raw: object, where: str) -> list[int]:
    text = str(raw).strip()
    if text.endswith(".0"):
        text = text[:-2]
    text = KANG_REFERENCE_REPAIRS.get(text, text)
    try:
        return [int(token) for token in text.split(",") if token.strip()]
    except ValueError as exc:
        raise DataBuildError(f"{where}: reference {raw!r} is not a list of numbers") from exc


def _float_or_none(value: object) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _row(
    *,
    formula: str,
    raw_formula: str,
    repairs: list[str],
    family: str,
    sigma: float,
    source: str,
    dataset: str,
    reference: str,
    crystal_system: str,
    spacegroup: float | None,
    origin: str,
) -> dict:
    amounts = parse_formula(formula)
    return {
        "formula": formula,
        "reduced_formula": reduced_formula(formula),
        "family": family,
        "sigma_S_cm": sigma,
        "label": int(sigma >= SUPERIONIC_THRESHOLD_S_CM),
        "contains_li": int("Li" in amounts),
        "source": source,
        "dataset": dataset,
        "reference": reference,
        "crystal_system": crystal_system,
        "spacegroup": "" if spacegroup is None else str(int(spacegroup)),
        "raw_formula": raw_formula if repairs else "",
        "repair": ";".join(repairs),
        "origin": origin,
        "_key": composition_key(amounts),
    }


def read_kang(raw_dir: Path) -> list[dict]:
    """All 328 rows of Kang 2023 ``Database.xlsx`` as training-table rows."""
    path = Path(raw_dir) / "kang2023" / "Database.xlsx"
    table = pd.read_excel(path, sheet_name=0)
    dois = _kang_reference_dois(table)
    rows = []
    for i, rec in enumerate(table.to_dict("records")):
        excel_row = i + 2  # header is spreadsheet row 1
        where = f"{path} row {excel_row}"
        raw_formula = str(rec["Formula"])
        formula, repairs = repair_formula(raw_formula)
        try:
            parse_formula(formula)
        except ValueError as exc:
            raise DataBuildError(f"{where}: {exc}") from exc
        sigma = _float_or_none(rec["Ionic conductivity (S/cm)"])
        if sigma is None or sigma <= 0:
            raise DataBuildError(f"{where}: conductivity {rec['Ionic conductivity (S/cm)']!r}")
        numbers = _reference_numbers(rec["Reference"], where)
        missing = [n for n in numbers if n not in dois]
        if missing:
            raise DataBuildError(f"{where}: reference number(s) {missing} not in the list")
        rows.append(
            _row(
                formula=formula,
                raw_formula=raw_formula,
                repairs=repairs,
                family=str(rec["Type"]).strip(),
                sigma=sigma,
                source=";".join(dict.fromkeys(dois[n] for n in numbers)) or KANG_DOI,
                dataset="Kang2023",
                reference=",".join(str(n) for n in numbers),
                crystal_system=str(rec["Crystal system"]).strip(),
                spacegroup=_float_or_none(rec["Spacegroup"]),
                origin=f"{KANG_REPOSITORY}:{KANG_PATH}:row{excel_row}",
            )
        )
    return rows


def read_xu(raw_dir: Path) -> tuple[list[dict], list[dict]]:
    """Rows of Xu 2020 (both files) as training-table rows, and the rejected rows.

    A row is rejected (with file, line and reason) when its repaired formula cannot be
    parsed, e.g. the composites ``'LiCrTa(PO4)3- 0.2Li3PO4'``.
    """
    rows, rejected = [], []
    for name in XU_FILES:
        path = Path(raw_dir) / "xu2020" / name
        table = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
        for i, rec in enumerate(table.to_dict("records")):
            line = i + 2
            raw_formula = str(rec["Formula"])
            formula, repairs = repair_formula(raw_formula)
            origin = f"{XU_REPOSITORY}:{name}:line{line}"
            try:
                parse_formula(formula)
            except ValueError as exc:
                rejected.append(
                    {"origin": origin, "formula": raw_formula, "reason": f"unparseable: {exc}"}
                )
                continue
            sigma = _float_or_none(rec["S"])
            if sigma is None or sigma <= 0:
                rejected.append(
                    {"origin": origin, "formula": raw_formula, "reason": f"S = {rec['S']!r}"}
                )
                continue
            rows.append(
                _row(
                    formula=formula,
                    raw_formula=raw_formula,
                    repairs=repairs,
                    family=XU_FAMILY,
                    sigma=sigma,
                    source=XU_DOI,
                    dataset="Xu2020",
                    reference=str(rec.get("Paper", "")).strip(),
                    crystal_system="",
                    spacegroup=None,
                    origin=origin,
                )
            )
    return rows, rejected


def merge_training_rows(
    kang: list[dict], xu: list[dict]
) -> tuple[list[dict], list[dict], list[dict]]:
    """Merge Kang and Xu rows by the documented rules.

    1. Every Kang row is kept (same-composition Kang rows are polymorphs with different
       crystal systems, i.e. different materials).
    2. A Xu row is already present, and dropped, when Kang holds its composition
       (:func:`~sse_flows.data.formulas.composition_key`), or when Kang holds a row with
       the same element set and the same conductivity within 0.5 % (Kang re-typed the
       formula, e.g. Xu 'LiZr1.9Sr0.1(PO4)3' = Kang 'Li1.2Zr1.9Sr0.1(PO4)3').
    3. Among the remaining Xu rows the first of each composition is kept (file order).
    4. A remaining Xu row that is not charge balanced with common oxidation states is
       rejected (its formula has a typo that no rule can repair unambiguously).

    Returns
    -------
    tuple
        Kept rows, dropped rows (with the reason), rejected rows (with the reason).
    """
    kang_keys = {row["_key"] for row in kang}
    kang_by_elements: dict[frozenset, list[dict]] = {}
    for row in kang:
        kang_by_elements.setdefault(_elements(row["formula"]), []).append(row)
    kept, dropped, rejected, seen = list(kang), [], [], {}
    for row in xu:
        if row["_key"] in kang_keys:
            dropped.append(_note(row, "composition already in Kang 2023"))
            continue
        retyped = [
            k
            for k in kang_by_elements.get(_elements(row["formula"]), [])
            if abs(k["sigma_S_cm"] / row["sigma_S_cm"] - 1) <= RETYPED_SIGMA_RTOL
        ]
        if retyped:
            dropped.append(_note(row, f"same measurement as Kang 2023 '{retyped[0]['formula']}'"))
            continue
        if row["_key"] in seen:
            dropped.append(_note(row, f"duplicate composition of {seen[row['_key']]}"))
            continue
        if not is_charge_balanced(row["formula"]):
            rejected.append(_note(row, "not charge balanced with common oxidation states"))
            continue
        seen[row["_key"]] = row["origin"]
        kept.append(row)
    return kept, dropped, rejected


def _elements(formula: str) -> frozenset:
    return frozenset(parse_formula(formula))


def _note(row: dict, reason: str) -> dict:
    return {
        "origin": row["origin"],
        "formula": row["raw_formula"] or row["formula"],
        "sigma_S_cm": row["sigma_S_cm"],
        "reason": reason,
    }


def build_training_table(raw_dir: Path) -> tuple[pd.DataFrame, dict]:
    """The training table and its metadata (counts, rules, dropped and rejected rows)."""
    raw_dir = Path(raw_dir)
    kang = read_kang(raw_dir)
    xu, xu_unparseable = read_xu(raw_dir)
    kept, dropped, rejected = merge_training_rows(kang, xu)
    table = pd.DataFrame(kept)[TRAINING_COLUMNS]
    table["sigma_S_cm"] = table["sigma_S_cm"].astype(float)
    metadata = {
        "description": "Experimental room-temperature ionic conductivities (S/cm) with labels.",
        "label_threshold_S_cm": SUPERIONIC_THRESHOLD_S_CM,
        "sources": {
            "Kang2023": {
                "citation": KANG_CITATION,
                "repository": KANG_REPOSITORY,
                "file": KANG_PATH,
                "note": "The 'Source' column of Database.xlsx is the table's reference list "
                "(Reference index -> DOI); each row's source is the DOIs of its "
                "'Reference' numbers.",
            },
            "Xu2020": {
                "citation": XU_CITATION,
                "repository": XU_REPOSITORY,
                "files": list(XU_FILES),
            },
        },
        "counts": _training_counts(table),
        "kang_rows": len(kang),
        "xu_rows_read": len(xu) + len(xu_unparseable),
        "xu_rows_added": int((table["dataset"] == "Xu2020").sum()),
        "xu_rows_dropped": dropped,
        "xu_rows_rejected": xu_unparseable + rejected,
        "rules": {
            "repairs": "strip_whitespace; element_case ('AL'->'Al', 'HF'->'Hf'); "
            "missing_subscript ('Na2Mg0.5Zr1.5(PO4)' -> 'Na2Mg0.5Zr1.5(PO4)3')",
            "kang_reference_repairs": KANG_REFERENCE_REPAIRS,
            "merge": merge_training_rows.__doc__.split("Returns")[0].strip(),
        },
    }
    return table, metadata


def _training_counts(table: pd.DataFrame) -> dict:
    li = table["contains_li"] == 1
    return {
        "rows": len(table),
        "superionic": int(table["label"].sum()),
        "not_superionic": int((table["label"] == 0).sum()),
        "li_rows": int(li.sum()),
        "li_superionic": int(table.loc[li, "label"].sum()),
        "by_dataset": {k: int(v) for k, v in table["dataset"].value_counts().sort_index().items()},
        "by_family": {k: int(v) for k, v in table["family"].value_counts().sort_index().items()},
    }


# ---------------------------------------------------------------------------------------
# MP 2019 snapshot
# ---------------------------------------------------------------------------------------
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


def build_snapshot_table(raw_dir: Path) -> tuple[pd.DataFrame, dict]:
    """One record per reduced composition of ``mp_e_form.csv`` (MP 2019-04-02)."""
    crab = Path(raw_dir) / "crabnet_mp2019"
    roost = Path(raw_dir) / "roost_mp2020"
    e_form = _with_reduced(_read_raw_csv(crab / "mp_e_form.csv"), "formula")
    gaps = _with_reduced(_read_raw_csv(crab / "mp_gap.csv"), "formula")
    hull = _with_reduced(
        pd.concat(
            [_read_raw_csv(crab / "mp_e_hull" / f"{s}.csv") for s in ("train", "val", "test")],
            ignore_index=True,
        ),
        "formula",
    )
    roost_form = _with_reduced(_read_raw_csv(roost / "mp-formation.csv"), "composition")
    roost_gap = _with_reduced(_read_raw_csv(roost / "mp-bandgaps.csv"), "composition")

    grouped = e_form.groupby("formula_reduced")["target"]
    table = pd.DataFrame({"formation_energy_per_atom": grouped.min(), "n_entries": grouped.size()})
    gap_lists = gaps.groupby("formula_reduced")["target"].apply(lambda s: sorted(s.tolist()))
    hull_values = hull.groupby("formula_reduced")["target"].min()
    roost_ids = roost_form.drop_duplicates("formula_reduced").set_index("formula_reduced")
    roost_gaps = roost_gap.drop_duplicates("formula_reduced").set_index("formula_reduced")
    if not roost_gaps["task_id"].reindex(roost_ids.index).fillna("").eq(roost_ids["task_id"]).all():
        raise DataBuildError(f"{roost}: mp-formation.csv and mp-bandgaps.csv ids disagree")

    formulas = table.index.to_list()
    table["material_id"] = roost_ids["task_id"].reindex(formulas).fillna("")
    id_gap = roost_gaps["band_gap"].reindex(formulas)
    band_gap, rule, band_gaps = [], [], []
    for formula, gid in zip(formulas, id_gap.to_list(), strict=True):
        g_list = gap_lists.get(formula, [])
        gid = None if gid is None or (isinstance(gid, float) and math.isnan(gid)) else gid
        value, used = select_band_gap(g_list, gid)
        band_gap.append(value)
        rule.append(used)
        band_gaps.append(";".join(_fmt(g) for g in g_list))
    table["band_gap"] = pd.array(band_gap, dtype="Float64")
    table["band_gap_rule"] = rule
    table["band_gaps"] = band_gaps
    table["material_id_band_gap"] = id_gap.astype("Float64")
    table["e_hull_mp"] = hull_values.reindex(formulas).astype("Float64")
    elements = [_sorted_elements(f) for f in formulas]
    table["elements"] = ["-".join(e) for e in elements]
    table["nelements"] = [len(e) for e in elements]
    table["contains_li"] = [int("Li" in e) for e in elements]
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

    present = set(formulas)
    metadata = {
        "description": "Offline Materials Project snapshot: one record per reduced composition.",
        "data_version": MP_VINTAGE,
        "source": SNAPSHOT_SOURCE,
        "limits": [
            "MP as retrieved 2019-04-02 (matbench v0.1), before the MP2020 energy corrections",
            "no polymorphs: one record per reduced composition; formation energy is the "
            "minimum over that composition's entries",
            "no crystal structures (the MD stage needs a structure from elsewhere)",
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
            "raw_e_form_entries": len(e_form),
            "raw_gap_entries": len(gaps),
            "raw_e_hull_entries": len(hull),
            "raw_roost_entries": len(roost_form),
            "compositions": len(table),
            "li_compositions": int(table["contains_li"].sum()),
            "with_band_gap": int(table["band_gap"].notna().sum()),
            "with_material_id": int((table["material_id"] != "").sum()),
            "with_e_hull_mp": int(table["e_hull_mp"].notna().sum()),
            "band_gap_rule": {
                k: int(v) for k, v in table["band_gap_rule"].value_counts().sort_index().items()
            },
            "e_hull_compositions_without_e_form": len(set(hull["formula_reduced"]) - present),
            "roost_compositions_without_e_form": len(set(roost_form["formula_reduced"]) - present),
        },
    }
    return table, metadata


def _fmt(value: float) -> str:
    return repr(round(float(value), SNAPSHOT_DECIMALS))


def _sorted_elements(formula: str) -> list[str]:
    from pymatgen.core import Composition

    return sorted(el.symbol for el in Composition(formula))


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------
def _csv_text(table: pd.DataFrame) -> str:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n", float_format=None)
    return buffer.getvalue()


def _json_text(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True, default=_json_default) + "\n"


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def write_gzip_deterministic(path: Path, text: str) -> None:
    """Gzip ``text`` with no file name and mtime 0, so equal text gives equal bytes."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as handle,
    ):
        handle.write(text.encode())


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_all(raw_dir: Path | str | None = None, out_dir: Path | str | None = None) -> dict:
    """Build both tables and their metadata into ``out_dir`` (default: the package).

    Returns
    -------
    dict
        ``{file name: SHA-256}`` of the written files.
    """
    from sse_flows.settings import get_settings

    raw_dir = Path(raw_dir) if raw_dir is not None else get_settings().RAW_DATA_DIR
    out_dir = Path(out_dir) if out_dir is not None else DATA_DIR
    if not raw_dir.is_dir():
        raise DataBuildError(
            f"raw data folder {raw_dir} not found; pass --raw or set SSE_FLOWS_RAW_DATA_DIR"
        )
    out_dir.mkdir(parents=True, exist_ok=True)

    training, training_meta = build_training_table(raw_dir)
    (out_dir / TRAINING_FILE).write_text(_csv_text(training))
    training_meta["sha256"] = sha256(out_dir / TRAINING_FILE)
    (out_dir / TRAINING_METADATA_FILE).write_text(_json_text(training_meta))

    snapshot, snapshot_meta = build_snapshot_table(raw_dir)
    write_gzip_deterministic(out_dir / SNAPSHOT_FILE, _csv_text(snapshot))
    snapshot_meta["sha256"] = sha256(out_dir / SNAPSHOT_FILE)
    (out_dir / SNAPSHOT_METADATA_FILE).write_text(_json_text(snapshot_meta))
    names = (TRAINING_FILE, TRAINING_METADATA_FILE, SNAPSHOT_FILE, SNAPSHOT_METADATA_FILE)
    return {name: sha256(out_dir / name) for name in names}
