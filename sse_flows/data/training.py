"""The Kang 2023 + Xu 2020 training table, ``training.csv`` (+ ``training_metadata.json``).

Experimental room-temperature ionic conductivities: all 328 rows of Kang et al. 2023
(``Database.xlsx``) plus the Xu et al. 2020 rows whose composition Kang does not already
hold. Each row carries its source (DOI) and its origin (repository, file, row). Built
deterministically (a rebuild gives byte-identical files) by :func:`build_training_files`,
one of the builders of ``sse-flows data build`` (:func:`sse_flows.data.build.build_all`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM
from sse_flows.data.errors import DataBuildError
from sse_flows.data.formulas import (
    composition_key,
    is_charge_balanced,
    parse_formula,
    reduced_formula,
    repair_formula,
)
from sse_flows.data.writers import write_table_files

TRAINING_FILE = "training.csv"
TRAINING_METADATA_FILE = "training_metadata.json"

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


def training_row(
    formula: str,
    amounts: dict[str, float],
    family: str,
    sigma: float,
    source: str,
    threshold: float = SUPERIONIC_THRESHOLD_S_CM,
) -> dict:
    """The columns every training table has, from ``formula`` to ``source``
    (:data:`TRAINING_COLUMNS`), of one measured row.

    Parameters
    ----------
    formula
        The formula as the table writes it.
    amounts
        Its parsed amounts (:func:`~sse_flows.data.formulas.parse_formula`).
    family
        Structure family.
    sigma
        Room-temperature conductivity (S/cm).
    source
        Where the row comes from (a DOI, a file).
    threshold
        Conductivity (S/cm) at and above which the row is labelled superionic.

    Returns
    -------
    dict
        formula, reduced_formula, family, sigma_S_cm, label, contains_li, source.
    """
    return {
        "formula": formula,
        "reduced_formula": reduced_formula(formula),
        "family": family,
        "sigma_S_cm": sigma,
        "label": int(sigma >= threshold),
        "contains_li": int("Li" in amounts),
        "source": source,
    }


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
        **training_row(formula, amounts, family, sigma, source),
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


def build_training_files(raw_dir: Path | str, out_dir: Path | str) -> dict[str, str]:
    """Write ``training.csv`` and its metadata into ``out_dir``; returns their SHA-256."""
    table, metadata = build_training_table(Path(raw_dir))
    return write_table_files(out_dir, table, TRAINING_FILE, metadata, TRAINING_METADATA_FILE)
