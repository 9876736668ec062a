"""Training data v2: every open conductivity table, merged, with the OBELiX test split held out.

``training_v2.csv`` (+ ``training_v2_metadata.json``) is derived from three open tables:

* the Kang 2023 + Xu 2020 rows of ``training.csv`` (built by :mod:`sse_flows.data.training`,
  same repairs and merge rules);
* OBELiX ``train.csv`` (Therrien et al., CC BY 4.0), formula = its ``Reduced Composition``
  after the same repair rules (e.g. a stray space) and with a hydrate's ``*`` removed
  (``X*(H2O)18`` is ``X(H2O)18``).

Rules, in order (:func:`build_training_v2`):

1. **Censored values.** OBELiX writes 37 conductivities as ``<1E-10``-style strings: an upper
   bound. Such a row keeps ``sigma_S_cm`` = the bound, ``censored = 1`` and ``label = 0``
   (a bound below 1e-4 S/cm is certainly not superionic). The regressor sees the bound as
   its target (substitution: the bounds are 1e-10 and 1e-8 S/cm, already at the bottom of
   the table, so the model learns "very low"); interval and MAE code score a censored
   row's residual one-sided (a prediction below the bound is no error), see
   :func:`censored_residuals`.
2. **Test-split guard.** A row whose composition lies within ``LEAKAGE_TOL`` (1e-3) atomic
   fraction (largest absolute difference over the elements) of any OBELiX ``test.csv``
   composition is removed, whatever its source, and listed in the metadata.
3. **Duplicates merged.** Rows with the same composition
   (:func:`~sse_flows.data.formulas.composition_key`) become one row: ``log10_sigma`` is the
   median of the uncensored values (of the bounds when all are censored; censored rows are
   ignored when an uncensored value exists), every source DOI and origin is kept
   (``;``-joined), the family is the first non-empty one in source order.

The OBELiX ``test.csv`` itself is never written: :func:`read_obelix` reads it from the raw
folder for the benchmark and the leakage test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM
from sse_flows.data import DATA_DIR
from sse_flows.data.formulas import (
    composition_key,
    parse_formula,
    reduced_formula,
    repair_formula,
)
from sse_flows.data.training import build_training_table
from sse_flows.data.writers import csv_text, sha256, write_table_files, write_text_atomic

TRAINING_V2_FILE = "training_v2.csv"
TRAINING_V2_METADATA_FILE = "training_v2_metadata.json"

OBELIX_REPOSITORY = "github.com/NRC-Mila/OBELiX@4eaac889809d"
OBELIX_CITATION = (
    "F. Therrien et al., OBELiX: a curated dataset of crystal structures and experimentally "
    "measured ionic conductivities for lithium solid-state electrolytes, Digital Discovery "
    "(2026), arXiv 2502.14234; CC BY 4.0"
)
OBELIX_SIGMA_COLUMN = "Ionic conductivity (S cm-1)"

#: Largest |atomic-fraction difference| at which a training composition counts as an
#: OBELiX test composition (and is removed from the training table).
LEAKAGE_TOL = 1e-3

#: OBELiX family names mapped onto Kang's family names (others are kept as written).
FAMILY_ALIASES = {
    "garnet": "Garnet",
    "garnet-like": "Garnet",
    "argyrodites": "Argyrodite",
    "argyrodite": "Argyrodite",
    "perovskites": "Perovskite",
    "lanthanumlithiumoxide": "Perovskite",
    "thio-lisicon": "Thio-LISICON",
    "antiperovskite": "Anti-perovskite",
    "halides": "Li-halide",
    "halide": "Li-halide",
    "chlorides": "Li-halide",
    "nasicon": "NASICON",
    "lisicon": "LISICON",
    "lgps": "LGPS",
}

TRAINING_V2_COLUMNS = [
    "formula",
    "reduced_formula",
    "family",
    "sigma_S_cm",
    "log10_sigma",
    "censored",
    "label",
    "contains_li",
    "n_measurements",
    "datasets",
    "source",
    "spacegroup",
    "origin",
]


def parse_obelix_sigma(text: str) -> tuple[float, bool]:
    """OBELiX conductivity cell -> (S/cm, censored). ``'<1E-10'`` -> ``(1e-10, True)``."""
    text = str(text).strip()
    censored = text.startswith("<")
    value = float(text.lstrip("<").strip())
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"conductivity {text!r}")
    return value, censored


def canonical_family(name: str) -> str:
    """Kang's spelling of a family name where one exists; ``''`` stays ``''``."""
    name = str(name).strip()
    return FAMILY_ALIASES.get(name.lower(), name)


def read_obelix(raw_dir: Path | str, split: str = "train") -> pd.DataFrame:
    """OBELiX ``train.csv`` or ``test.csv`` as normalized rows.

    Returns
    -------
    pandas.DataFrame
        ``formula`` (OBELiX ``Reduced Composition``), ``sigma_S_cm``, ``log10_sigma``,
        ``censored``, ``label``, ``family``, ``spacegroup``, ``source`` (DOI), ``id`` and
        ``origin`` (repository@commit:file:line).
    """
    path = Path(raw_dir) / "obelix" / f"{split}.csv"
    table = pd.read_csv(path, keep_default_na=False, dtype=str)
    rows = []
    for i, rec in enumerate(table.to_dict("records")):
        line = i + 2
        formula, _repairs = repair_formula(str(rec["Reduced Composition"]).replace("*", ""))
        parse_formula(formula)  # raises ValueError naming the formula
        sigma, censored = parse_obelix_sigma(rec[OBELIX_SIGMA_COLUMN])
        rows.append(
            {
                "formula": formula,
                "sigma_S_cm": sigma,
                "log10_sigma": math.log10(sigma),
                "censored": int(censored),
                "label": int(sigma >= SUPERIONIC_THRESHOLD_S_CM and not censored),
                "family": canonical_family(rec["Family"]),
                "spacegroup": str(rec["Space group #"]).strip(),
                "source": str(rec["DOI"]).strip(),
                "id": str(rec["ID"]).strip(),
                "origin": f"{OBELIX_REPOSITORY}:data/downloads/{split}.csv:line{line}",
            }
        )
    return pd.DataFrame(rows)


def fraction_matrix(formulas: list[str], elements: list[str] | None = None):
    """Atomic-fraction vectors of ``formulas`` over ``elements`` (default: all present)."""
    compositions = [parse_formula(f) for f in formulas]
    if elements is None:
        elements = sorted({el for amounts in compositions for el in amounts})
    index = {el: i for i, el in enumerate(elements)}
    matrix = np.zeros((len(compositions), len(elements)))
    for row, amounts in enumerate(compositions):
        total = sum(amounts.values())
        for el, amount in amounts.items():
            if el not in index:
                raise KeyError(el)
            matrix[row, index[el]] = amount / total
    return matrix, elements


def nearest_test_distance(formulas: list[str], test_formulas: list[str]) -> np.ndarray:
    """Per formula: smallest max-abs atomic-fraction difference to any test formula."""
    elements = sorted({el for f in list(formulas) + list(test_formulas) for el in parse_formula(f)})
    a, _ = fraction_matrix(list(formulas), elements)
    b, _ = fraction_matrix(list(test_formulas), elements)
    if len(a) == 0 or len(b) == 0:
        return np.full(len(a), np.inf)
    return np.abs(a[:, None, :] - b[None, :, :]).max(axis=2).min(axis=1)


def censored_residuals(y_true: np.ndarray, y_pred: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Absolute residuals; for an upper bound only a prediction above it is an error."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    censored = np.asarray(censored, bool)
    residual = np.abs(y_pred - y_true)
    return np.where(censored, np.maximum(y_pred - y_true, 0.0), residual)


def _kang_xu_rows(raw_dir: Path) -> pd.DataFrame:
    table, _ = build_training_table(raw_dir)
    return pd.DataFrame(
        {
            "formula": table["formula"],
            "sigma_S_cm": table["sigma_S_cm"].astype(float),
            "log10_sigma": np.log10(table["sigma_S_cm"].astype(float)),
            "censored": 0,
            "label": table["label"].astype(int),
            "family": table["family"].astype(str),
            "spacegroup": table["spacegroup"].astype(str),
            "source": table["source"].astype(str),
            "dataset": table["dataset"].astype(str),
            "origin": table["origin"].astype(str),
        }
    )


def _merge(group: pd.DataFrame) -> dict:
    uncensored = group[group["censored"] == 0]
    use = uncensored if len(uncensored) else group
    log10_sigma = float(np.median(use["log10_sigma"]))
    censored = int(len(uncensored) == 0)
    first = group.iloc[0]
    families = [f for f in group["family"] if f]
    spacegroups = [s for s in group["spacegroup"] if s]
    sigma = float(10.0**log10_sigma)
    return {
        "formula": first["formula"],
        "reduced_formula": reduced_formula(first["formula"]),
        "family": families[0] if families else "",
        "sigma_S_cm": float(f"{sigma:.6g}"),
        "log10_sigma": round(log10_sigma, 6),
        "censored": censored,
        "label": int(sigma >= SUPERIONIC_THRESHOLD_S_CM and not censored),
        "contains_li": int("Li" in parse_formula(first["formula"])),
        "n_measurements": len(group),
        "datasets": ";".join(dict.fromkeys(group["dataset"])),
        "source": ";".join(dict.fromkeys(s for s in ";".join(group["source"]).split(";") if s)),
        "spacegroup": spacegroups[0] if spacegroups else "",
        "origin": ";".join(group["origin"]),
    }


def build_training_v2(raw_dir: Path | str) -> tuple[pd.DataFrame, dict]:
    """The v2 training table (Kang + Xu + OBELiX train) and its metadata.

    Parameters
    ----------
    raw_dir
        The raw reference data folder (``../shared/data/raw``).

    Returns
    -------
    tuple
        The table (columns :data:`TRAINING_V2_COLUMNS`, one row per composition, sorted by
        composition key) and the metadata (sources, rules, counts, removed rows).
    """
    raw_dir = Path(raw_dir)
    kang_xu = _kang_xu_rows(raw_dir)
    obelix = read_obelix(raw_dir, "train").assign(dataset="OBELiX-train")
    test = read_obelix(raw_dir, "test")
    rows = pd.concat([kang_xu, obelix[kang_xu.columns]], ignore_index=True)
    counts_in = rows["dataset"].value_counts().sort_index()
    distance = nearest_test_distance(rows["formula"].tolist(), test["formula"].tolist())
    leak = distance <= LEAKAGE_TOL
    removed = [
        {
            "origin": rec["origin"],
            "formula": rec["formula"],
            "sigma_S_cm": rec["sigma_S_cm"],
            "reason": f"within {LEAKAGE_TOL:g} atomic fraction of an OBELiX test composition "
            f"(distance {d:.2g})",
        }
        for rec, d in zip(rows[leak].to_dict("records"), distance[leak], strict=True)
    ]
    rows = rows[~leak].reset_index(drop=True)
    rows["_key"] = [composition_key(f) for f in rows["formula"]]
    merged = [_merge(group) for _key, group in rows.groupby("_key", sort=True)]
    table = pd.DataFrame(merged)[TRAINING_V2_COLUMNS]
    li = table["contains_li"] == 1
    metadata = {
        "description": "Experimental room-temperature ionic conductivities from every open "
        "table (Kang 2023 + Xu 2020 + OBELiX train), one row per composition, without any "
        "composition of the OBELiX test split.",
        "label_threshold_S_cm": SUPERIONIC_THRESHOLD_S_CM,
        "sources": {
            "Kang2023+Xu2020": "rows of training.csv (see training_metadata.json)",
            "OBELiX-train": {
                "citation": OBELIX_CITATION,
                "repository": OBELIX_REPOSITORY,
                "file": "data/downloads/train.csv",
                "formula": "Reduced Composition",
            },
        },
        "benchmark": {
            "file": f"{OBELIX_REPOSITORY}:data/downloads/test.csv",
            "rows": len(test),
            "leakage_tolerance_atomic_fraction": LEAKAGE_TOL,
        },
        "rules": {"module": __doc__.split("Rules, in order")[1].split("The OBELiX")[0].strip()},
        "counts": {
            "rows_read": {k: int(v) for k, v in counts_in.items()},
            "rows_removed_near_test": len(removed),
            "rows": len(table),
            "superionic": int(table["label"].sum()),
            "censored": int(table["censored"].sum()),
            "merged_rows": int((table["n_measurements"] > 1).sum()),
            "li_rows": int(li.sum()),
            "li_superionic": int(table.loc[li, "label"].sum()),
        },
        "removed_near_test": removed,
    }
    return table, metadata


def build_training_v2_files(
    raw_dir: Path | str | None = None, out_dir: Path | str | None = None
) -> dict:
    """Write ``training_v2.csv`` and its metadata (deterministic); returns their SHA-256."""
    from sse_flows.settings import get_settings

    raw_dir = Path(raw_dir) if raw_dir is not None else get_settings().RAW_DATA_DIR
    out_dir = Path(out_dir) if out_dir is not None else DATA_DIR
    table, metadata = build_training_v2(raw_dir)
    return write_table_files(
        out_dir, table, TRAINING_V2_FILE, metadata, TRAINING_V2_METADATA_FILE
    )


def load_training_v2(path: Path | str | None = None) -> pd.DataFrame:
    """The packaged v2 table (or one written by :func:`build_training_v2_files`)."""
    path = Path(path) if path is not None else DATA_DIR / TRAINING_V2_FILE
    return pd.read_csv(
        path, keep_default_na=False, dtype={"spacegroup": str, "datasets": str, "source": str}
    )


# ---------------------------------------------------------------------------------------
# Structure features of the OBELiX train CIFs, per training_v2 row
# ---------------------------------------------------------------------------------------
TRAINING_V2_STRUCTURES_FILE = "training_v2_structures.csv"
#: Prefix of the structure feature columns (``cif_density``, ...).
STRUCTURE_PREFIX = "cif_"


def structure_feature_names() -> list[str]:
    """Columns of the structure features: ``cif_`` + :data:`CIF_FEATURE_LABELS`."""
    from sse_flows.features.cif_features import CIF_FEATURE_LABELS

    return [STRUCTURE_PREFIX + k for k in CIF_FEATURE_LABELS]


def obelix_cif_features(raw_dir: Path | str, split: str = "train") -> dict[str, dict[str, float]]:
    """Structure features of every CIF in OBELiX ``<split>_cifs.tar.gz``, by OBELiX ``ID``.

    The archive is unpacked into a temporary folder (nothing is copied into the project);
    see :func:`sse_flows.features.cif_features.cif_structure_features`.
    """
    import tarfile
    import tempfile

    from sse_flows.features.cif_features import read_cif_features

    archive = Path(raw_dir) / "obelix" / f"{split}_cifs.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        return read_cif_features({p.stem: p for p in sorted(Path(tmp).rglob("*.cif"))})


def _obelix_train_lines(origin: str) -> list[int]:
    import re

    pattern = re.escape(OBELIX_REPOSITORY) + r":data/downloads/train\.csv:line(\d+)"
    return [int(m) for m in re.findall(pattern, origin)]


def build_training_v2_structures(
    raw_dir: Path | str, table: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Structure features of the training_v2 rows that have an OBELiX train CIF.

    A row gets the features of the CIF of its first OBELiX ``train.csv`` measurement that
    has one (merged rows keep every origin; the CIF of the first is used). Rows without a
    CIF are absent (the models see NaN, imputed with the training median).

    Parameters
    ----------
    raw_dir
        The raw reference data folder.
    table
        The training_v2 table (default: the packaged one).

    Returns
    -------
    pandas.DataFrame
        ``formula`` (as in training_v2), ``obelix_id``, ``source`` (DOI of that OBELiX row),
        ``origin`` (the CIF inside the OBELiX archive) and the ``cif_*`` features (6
        significant digits).
    """
    raw_dir = Path(raw_dir)
    table = load_training_v2() if table is None else table
    obelix = pd.read_csv(raw_dir / "obelix" / "train.csv", keep_default_na=False, dtype=str)
    features = obelix_cif_features(raw_dir, "train")
    names = structure_feature_names()
    rows = []
    for formula, origin in zip(table["formula"], table["origin"], strict=True):
        for line in _obelix_train_lines(str(origin)):
            rec = obelix.iloc[line - 2]
            cif_id = str(rec["ID"]).strip()
            if cif_id not in features:
                continue
            values = features[cif_id]
            rows.append(
                {
                    "formula": formula,
                    "obelix_id": cif_id,
                    "source": str(rec["DOI"]).strip(),
                    "origin": f"{OBELIX_REPOSITORY}:data/downloads/train_cifs.tar.gz:"
                    f"train_randomized_cifs/{cif_id}.cif",
                    **{
                        name: float(f"{values[name[len(STRUCTURE_PREFIX) :]]:.6g}")
                        for name in names
                    },
                }
            )
            break
    return pd.DataFrame(rows, columns=["formula", "obelix_id", "source", "origin", *names])


def build_training_v2_structures_file(
    raw_dir: Path | str | None = None, out_dir: Path | str | None = None
) -> dict:
    """Write ``training_v2_structures.csv`` (deterministic); returns its SHA-256."""
    from sse_flows.settings import get_settings

    raw_dir = Path(raw_dir) if raw_dir is not None else get_settings().RAW_DATA_DIR
    out_dir = Path(out_dir) if out_dir is not None else DATA_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    v2 = out_dir / TRAINING_V2_FILE
    table = load_training_v2(v2 if v2.is_file() else None)
    structures = build_training_v2_structures(raw_dir, table)
    write_text_atomic(out_dir / TRAINING_V2_STRUCTURES_FILE, csv_text(structures))
    return {TRAINING_V2_STRUCTURES_FILE: sha256(out_dir / TRAINING_V2_STRUCTURES_FILE)}


def load_training_v2_structures(path: Path | str | None = None) -> pd.DataFrame:
    """The packaged structure features of the training_v2 rows (see
    :func:`build_training_v2_structures`)."""
    path = Path(path) if path is not None else DATA_DIR / TRAINING_V2_STRUCTURES_FILE
    return pd.read_csv(path, keep_default_na=False, dtype={"obelix_id": str, "source": str},
                       na_values={n: ["", "nan"] for n in structure_feature_names()})  # fmt: skip


def structure_matrix(formulas: list[str], structures: pd.DataFrame) -> np.ndarray:
    """``(n, 5)`` structure features of ``formulas`` from ``structures`` (NaN where absent)."""
    names = structure_feature_names()
    lookup = {f: row for f, row in zip(structures["formula"], structures[names].to_numpy(float),
                                       strict=True)}  # fmt: skip
    nan = np.full(len(names), np.nan)
    return np.vstack([lookup.get(f, nan) for f in formulas]) if formulas else np.zeros((0, 5))
