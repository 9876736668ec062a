"""Grouped-CV study of the open recipe's regressors (training_v2 only; no test data).

Usage::

    python benchmarks/open_model_study.py [--n-jobs 2] [--seeds 0,1,2]
    python benchmarks/open_model_study.py --record-only   # the record from the JSON

Every variant is scored on the same stratified group 5-fold splits over composition clusters
(:func:`sse_flows.models.open_recipe.grouped_folds`), repeated for each fold seed (default
0, 1, 2): out-of-fold log10 sigma -> MAE (censored rows one-sided), Spearman, balanced
accuracy and ROC-AUC at log10 sigma = -4, each averaged over the seeds. Ensembles are means
of their members' out-of-fold predictions. Structure variants add, where a training row has
them, the OBELiX ``train.csv`` hints (space group number, crystal system, lattice a, b, c)
or the features of its OBELiX CIF (:mod:`sse_flows.features.cif_features`), NaN elsewhere;
they are also scored on the rows that have them. Feature variants add matminer
``ElementProperty`` presets, anion-chemistry features or Materials Project properties
learned from composition (``crabnet_mp2019``: formation energy, band gap, hull distance) to
the composition features.

``../shared/data/raw/obelix/test.csv`` is never read (nor any conductivity outside
training_v2). Writes
``benchmarks/results/open_model_study.json`` and ``docs/benchmarks/open_model_study.md``.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import benchrecord as br
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw"
NAME = "open_model_study"
RESULT = ROOT / "benchmarks/results/open_model_study.json"
SUBSET_COLUMNS = (
    "rows with a space group",
    "rows without a space group",
    "rows with a CIF",
    "rows without a CIF",
)


def record(result: dict) -> str:
    """The text of docs/benchmarks/open_model_study.md, from the JSON."""
    protocol = [
        f"{result['n_rows']} rows of `training_v2` (Li and Na), {result['protocol']}. "
        f"{result['rows_with_space_group']} rows have an OBELiX space group and lattice hint, "
        f"{result['rows_with_cif']} an OBELiX train CIF. Ensembles are means of their "
        "members' out-of-fold predictions. A variant named `@li` trains on the Li rows of "
        "each training fold only. The OBELiX test split is never read.",
    ]
    header = [
        "variant",
        "MAE (seed std)",
        "Spearman",
        "balanced acc",
        "ROC-AUC",
        *(f"MAE, {c}" for c in SUBSET_COLUMNS),
        "Li rows: MAE / AUC",
    ]
    rows = []
    for name, scores in result["variants"].items():
        a, li = scores["all rows"], scores.get("Li rows")
        rows.append(
            [
                name.replace("|", "/"),
                f"{br.fmt(a['mae'])} ({br.fmt(a['mae_seed_std'])})",
                br.fmt(a["spearman"]),
                br.fmt(a["balanced_acc"]),
                br.fmt(a["auc"]),
                *(br.fmt(scores[c]["mae"]) if c in scores else "-" for c in SUBSET_COLUMNS),
                f"{br.fmt(li['mae'])} / {br.fmt(li['auc'])}" if li else "-",
            ]
        )
    body = br.table(header, rows)
    return br.render(
        NAME, "Open recipe: grouped-CV study of the regressors", result, RESULT, protocol, body,
    )  # fmt: skip


#: The open recipe's members before this study (the base every variant modifies).
GB = {"n_estimators": 200, "max_depth": 4, "learning_rate": 0.05, "subsample": 0.8,
      "max_features": 0.5, "min_samples_leaf": 5}  # fmt: skip
LGBM = {"n_estimators": 600, "learning_rate": 0.02, "num_leaves": 7, "min_child_samples": 8,
        "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.5, "n_jobs": 1,
        "verbose": -1, "deterministic": True}  # fmt: skip
LGBM2 = {"n_estimators": 1500, "learning_rate": 0.01, "colsample_bytree": 0.3, "reg_lambda": 5.0}
GB2 = {"max_depth": 5, "n_estimators": 300, "learning_rate": 0.03, "max_features": 0.3}

#: name -> (algorithm, feature set, params). Feature sets: "all" (Magpie + fractions),
#: "magpie", "hints" (all + OBELiX hints), "cif_packaged" (all + the CIF features of
#: training_v2_structures.csv), "cif_masked" (cif_packaged, CIF columns NaN in the test
#: fold), a matminer ElementProperty preset ("deml", "megnet_el", "matscholar_el",
#: "matminer": all + the preset), "anion" (all + :func:`anion_chemistry_features`) and "mp"
#: (all + :func:`mp_property_features`). A suffix ``@li`` trains on the Li-containing rows
#: of each training fold only (every row is still predicted).
VARIANTS: dict[str, tuple[str, str, dict]] = {
    # 0. the current recipe's members
    "gb: depth 4, 200 trees, lr 0.05 (current)": ("gb", "all", {}),
    "lgbm: 600 trees, lr 0.02, 7 leaves (current)": ("lgbm", "all", {}),
    # 1. tuned boosting
    "lgbm: 1500 trees, lr 0.01": ("lgbm", "all", {"n_estimators": 1500, "learning_rate": 0.01}),
    "lgbm: 15 leaves, 5 rows/leaf": ("lgbm", "all", {"num_leaves": 15, "min_child_samples": 5}),
    "lgbm: 20 rows/leaf": ("lgbm", "all", {"min_child_samples": 20}),
    "lgbm: colsample 0.3, lambda 5": ("lgbm", "all", {"colsample_bytree": 0.3, "reg_lambda": 5.0}),
    "lgbm: huber loss": ("lgbm", "all", {"objective": "huber", "alpha": 1.0}),
    "lgbm: L1 loss": ("lgbm", "all", {"objective": "regression_l1"}),
    "gb: 400 trees, lr 0.025": ("gb", "all", {"n_estimators": 400, "learning_rate": 0.025}),
    "gb: depth 5, 300 trees, lr 0.03": ("gb", "all", {"max_depth": 5, "n_estimators": 300,
                                                       "learning_rate": 0.03}),
    "gb: depth 3, 400 trees": ("gb", "all", {"max_depth": 3, "n_estimators": 400}),
    "gb: 10 rows/leaf": ("gb", "all", {"min_samples_leaf": 10}),
    "gb: huber loss": ("gb", "all", {"loss": "huber"}),
    "gb: max_features 0.3": ("gb", "all", {"max_features": 0.3}),
    # 2. other regressors for an ensemble
    "et: 500 trees, max_features 0.5": ("et", "all", {}),
    "et: 500 trees, 3 rows/leaf": ("et", "all", {"min_samples_leaf": 3}),
    "rf: 500 trees, max_features 0.33": ("rf", "all", {}),
    "knn: k 5, distance, standardized Magpie": ("knn", "magpie", {"n_neighbors": 5}),
    "knn: k 10, distance, standardized Magpie": ("knn", "magpie", {"n_neighbors": 10}),
    # 3. structural hints / 4. CIF features (with the current members)
    "gb + hints (space group, crystal system, a, b, c)": ("gb", "hints", {}),
    "lgbm + hints (space group, crystal system, a, b, c)": ("lgbm", "hints", {}),
    "gb + CIF features": ("gb", "cif_packaged", {}),
    "lgbm + CIF features": ("lgbm", "cif_packaged", {}),
    # round 2: the best settings of round 1 combined
    "lgbm: 1500 trees, lr 0.01, colsample 0.3, lambda 5": ("lgbm", "all", LGBM2),
    "lgbm: 3000 trees, lr 0.005, colsample 0.3, lambda 5": ("lgbm", "all", {
        **LGBM2, "n_estimators": 3000, "learning_rate": 0.005}),
    "lgbm: 1500 trees, lr 0.01, colsample 0.3, lambda 5, 15 leaves": ("lgbm", "all", {
        **LGBM2, "num_leaves": 15, "min_child_samples": 5}),
    "gb: depth 5, 300 trees, lr 0.03, max_features 0.3": ("gb", "all", GB2),
    "gb: depth 5, 600 trees, lr 0.015, max_features 0.3": ("gb", "all", {
        **GB2, "n_estimators": 600, "learning_rate": 0.015}),
    "gb2 + CIF features": ("gb", "cif_packaged", GB2),
    "lgbm2 + CIF features": ("lgbm", "cif_packaged", LGBM2),
    "gb2 + hints": ("gb", "hints", GB2),
    "lgbm2 + hints": ("lgbm", "hints", LGBM2),
    # 5. the CIF models asked about a held-out row from its formula alone (CIF masked)
    "gb2 + CIF features, predicted without CIF": ("gb", "cif_masked", GB2),
    "lgbm2 + CIF features, predicted without CIF": ("lgbm", "cif_masked", LGBM2),
    # 6. more composition features (matminer ElementProperty presets; anion chemistry)
    "gb2 + deml": ("gb", "deml", GB2),
    "lgbm2 + deml": ("lgbm", "deml", LGBM2),
    "gb2 + megnet_el": ("gb", "megnet_el", GB2),
    "lgbm2 + megnet_el": ("lgbm", "megnet_el", LGBM2),
    "gb2 + matscholar_el": ("gb", "matscholar_el", GB2),
    "lgbm2 + matscholar_el": ("lgbm", "matscholar_el", LGBM2),
    "gb2 + matminer": ("gb", "matminer", GB2),
    "lgbm2 + matminer": ("lgbm", "matminer", LGBM2),
    "gb2 + anion chemistry": ("gb", "anion", GB2),
    "lgbm2 + anion chemistry": ("lgbm", "anion", LGBM2),
    # 7. transfer features: MP formation energy, band gap and hull distance, predicted
    "gb2 + MP properties": ("gb", "mp", GB2),
    "lgbm2 + MP properties": ("lgbm", "mp", LGBM2),
    # 8. trained on the Li rows only (the Na rows of Kang and Xu left out of every training
    #    fold; scored on the Li rows, the only ones the pool and OBELiX hold)
    "gb2, Li rows only": ("gb", "all@li", GB2),
    "lgbm2, Li rows only": ("lgbm", "all@li", LGBM2),
    "gb2 + CIF features, Li rows only": ("gb", "cif_packaged@li", GB2),
    "lgbm2 + CIF features, Li rows only": ("lgbm", "cif_packaged@li", LGBM2),
}  # fmt: skip

#: name -> members (means of out-of-fold predictions).
ENSEMBLES: dict[str, list[str]] = {
    "mean gb + lgbm (current recipe)": [
        "gb: depth 4, 200 trees, lr 0.05 (current)",
        "lgbm: 600 trees, lr 0.02, 7 leaves (current)",
    ],
    "mean gb + lgbm + et": [
        "gb: depth 4, 200 trees, lr 0.05 (current)",
        "lgbm: 600 trees, lr 0.02, 7 leaves (current)",
        "et: 500 trees, max_features 0.5",
    ],
    "mean gb + lgbm + knn10": [
        "gb: depth 4, 200 trees, lr 0.05 (current)",
        "lgbm: 600 trees, lr 0.02, 7 leaves (current)",
        "knn: k 10, distance, standardized Magpie",
    ],
    "mean gb + lgbm + et + knn10": [
        "gb: depth 4, 200 trees, lr 0.05 (current)",
        "lgbm: 600 trees, lr 0.02, 7 leaves (current)",
        "et: 500 trees, max_features 0.5",
        "knn: k 10, distance, standardized Magpie",
    ],
    "mean gb + lgbm + hints": [
        "gb + hints (space group, crystal system, a, b, c)",
        "lgbm + hints (space group, crystal system, a, b, c)",
    ],
    "mean gb + lgbm + CIF features": ["gb + CIF features", "lgbm + CIF features"],
    "mean gb2 + lgbm2 (tuned)": [
        "gb: depth 5, 300 trees, lr 0.03, max_features 0.3",
        "lgbm: 1500 trees, lr 0.01, colsample 0.3, lambda 5",
    ],
    "mean gb2 + lgbm2 + et": [
        "gb: depth 5, 300 trees, lr 0.03, max_features 0.3",
        "lgbm: 1500 trees, lr 0.01, colsample 0.3, lambda 5",
        "et: 500 trees, max_features 0.5",
    ],
    "mean gb2 + lgbm2 + CIF features": ["gb2 + CIF features", "lgbm2 + CIF features"],
    "mean gb2 + lgbm2 + hints": ["gb2 + hints", "lgbm2 + hints"],
    "mean gb2 + lgbm2 + deml": ["gb2 + deml", "lgbm2 + deml"],
    "mean gb2 + lgbm2 + megnet_el": ["gb2 + megnet_el", "lgbm2 + megnet_el"],
    "mean gb2 + lgbm2 + matscholar_el": ["gb2 + matscholar_el", "lgbm2 + matscholar_el"],
    "mean gb2 + lgbm2 + matminer": ["gb2 + matminer", "lgbm2 + matminer"],
    "mean gb2 + lgbm2 + anion chemistry": ["gb2 + anion chemistry", "lgbm2 + anion chemistry"],
    "mean gb2 + lgbm2 + MP properties": ["gb2 + MP properties", "lgbm2 + MP properties"],
    "mean gb2 + lgbm2, Li rows only": ["gb2, Li rows only", "lgbm2, Li rows only"],
    "mean gb2 + lgbm2 + CIF features, Li rows only": [
        "gb2 + CIF features, Li rows only",
        "lgbm2 + CIF features, Li rows only",
    ],
    "mean gb2 + lgbm2 + CIF features, predicted without CIF": [
        "gb2 + CIF features, predicted without CIF",
        "lgbm2 + CIF features, predicted without CIF",
    ],
}

HINT_COLUMNS = ["sg_number", "crystal_system", "lattice_a", "lattice_b", "lattice_c"]


def crystal_system_index(sg: float) -> float:
    """1 (triclinic) .. 7 (cubic) from a space-group number; NaN stays NaN."""
    if not np.isfinite(sg):
        return float("nan")
    bounds = [2, 15, 74, 142, 167, 194, 230]
    return float(next(i + 1 for i, b in enumerate(bounds) if sg <= b))


def obelix_train_rows(table: pd.DataFrame) -> list[int | None]:
    """Per training_v2 row: the 0-based OBELiX ``train.csv`` row of its first OBELiX origin."""
    out = []
    for origin in table["origin"]:
        match = re.search(r"OBELiX@[0-9a-f]+:data/downloads/train\.csv:line(\d+)", origin)
        out.append(int(match.group(1)) - 2 if match else None)
    return out


def structure_hints(table: pd.DataFrame, raw: Path) -> pd.DataFrame:
    """Space group number, crystal system and a, b, c where a training row has them."""
    obelix = pd.read_csv(raw / "obelix" / "train.csv", keep_default_na=False, dtype=str)
    num = lambda v: pd.to_numeric(v, errors="coerce")  # noqa: E731
    rows = []
    for i, line in enumerate(obelix_train_rows(table)):
        sg = num(table["spacegroup"].iloc[i]) if table["spacegroup"].iloc[i] else np.nan
        a = b = c = np.nan
        if line is not None:
            rec = obelix.iloc[line]
            sg = num(rec["Space group #"])
            a, b, c = (num(rec[k]) for k in ("a", "b", "c"))
        sg = float(sg) if pd.notna(sg) else np.nan
        rows.append([sg, crystal_system_index(sg), a, b, c])
    return pd.DataFrame(rows, columns=HINT_COLUMNS, dtype=float)


def cif_features_for(table: pd.DataFrame) -> pd.DataFrame:
    """The packaged CIF features of each training row (``training_v2_structures.csv``)."""
    from sse_flows.data.open_data import (
        load_training_v2_structures,
        structure_feature_names,
        structure_matrix,
    )

    matrix = structure_matrix(table["formula"].tolist(), load_training_v2_structures())
    return pd.DataFrame(matrix, columns=structure_feature_names())


#: Anions of the anion-chemistry features; "soft" ones are the polarizable anions of the
#: sulfide, selenide and iodide/bromide conductors, "hard" ones those of oxides and fluorides.
ANIONS = ("N", "O", "F", "S", "Cl", "Se", "Br", "Te", "I")
SOFT_ANIONS = ("S", "Se", "Te", "Br", "I")
HARD_ANIONS = ("O", "F")
#: the anion-chemistry features that are weighted over the anions (NaN without anions)
ANION_WEIGHTED = (
    "soft_anion_share",
    "hard_anion_share",
    "halide_share",
    "chalcogenide_share",
    "anion_electronegativity",
    "anion_radius",
)


def anion_chemistry_features(formulas) -> pd.DataFrame:
    """Per formula: number of elements and of anion species, Li per anion, the fractions of
    soft, hard, halide and chalcogenide anions among the anions, and the anions' mean Pauling
    electronegativity and ionic radius (most common oxidation state)."""
    from pymatgen.core import Composition, Element

    rows = []
    for formula in formulas:
        comp = Composition(formula).fractional_composition
        anions = {el.symbol: amt for el, amt in comp.items() if el.symbol in ANIONS}
        total = sum(anions.values()) or np.nan  # no anion: NaN shares and means
        weights = {a: x / total for a, x in anions.items()}
        rows.append({
            "n_elements": len(comp),
            "n_anion_species": len(anions),
            "li_per_anion": comp["Li"] / total,
            "soft_anion_share": sum(weights.get(a, 0.0) for a in SOFT_ANIONS),
            "hard_anion_share": sum(weights.get(a, 0.0) for a in HARD_ANIONS),
            "halide_share": sum(weights.get(a, 0.0) for a in ("F", "Cl", "Br", "I")),
            "chalcogenide_share": sum(weights.get(a, 0.0) for a in ("S", "Se", "Te")),
            "anion_electronegativity": sum(Element(a).X * w for a, w in weights.items()),
            "anion_radius": sum(
                float(Element(a).ionic_radii[min(Element(a).ionic_radii)]) * w
                for a, w in weights.items()
            ),
        })  # fmt: skip
        if not anions:  # shares and means of no anion are undefined, not 0
            rows[-1].update(dict.fromkeys(ANION_WEIGHTED, np.nan))
    return pd.DataFrame(rows, dtype=float)


#: MP properties learned from composition (``mp_property_features``): name -> CSV files of
#: ``../shared/data/raw/crabnet_mp2019`` (``formula,target``; several rows of one formula
#: are averaged).
MP_PROPERTY_TABLES = {
    "mp_formation_energy": ("mp_e_form.csv",),
    "mp_band_gap": ("mp_gap.csv",),
    "mp_e_above_hull": ("mp_e_hull/train.csv", "mp_e_hull/val.csv", "mp_e_hull/test.csv"),
}


def mp_property_features(formulas, raw: Path = RAW) -> np.ndarray:
    """Transfer features: per formula, the formation energy, PBE band gap and energy above
    hull that LightGBM regressors on Magpie features, trained on the Materials Project
    compositions of ``crabnet_mp2019`` (56,000-130,000 each; no conductivity data), predict.
    Soft, polarizable anion frameworks have small gaps; metastable compositions sit above
    the hull: properties the 676 conductivity rows alone cannot learn."""
    import lightgbm as lgb

    from sse_flows.features.magpie import featurize_formulas

    query, _ = featurize_formulas(list(formulas))
    columns = []
    for name, files in MP_PROPERTY_TABLES.items():
        table = pd.concat(
            [pd.read_csv(raw / "crabnet_mp2019" / f, keep_default_na=False) for f in files]
        )
        table = table.groupby("formula", as_index=False)["target"].mean()
        X, errors = featurize_formulas(table["formula"].tolist(), on_error="skip")
        y = table["target"].to_numpy(float)[X.index.to_numpy()]
        model = lgb.LGBMRegressor(
            n_estimators=1000,
            learning_rate=0.05,
            num_leaves=63,
            colsample_bytree=0.5,
            n_jobs=2,
            verbose=-1,
        )
        model.fit(X.to_numpy(float), y)
        columns.append(model.predict(query.to_numpy(float)))
        print(f"  {name}: trained on {len(y)} MP compositions ({len(errors)} not featurized)")
    return np.column_stack(columns)


def element_property_features(formulas, preset: str) -> np.ndarray:
    """matminer's ``ElementProperty.from_preset(preset)`` for each formula."""
    import warnings

    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    featurizer = ElementProperty.from_preset(preset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array([featurizer.featurize(Composition(f)) for f in formulas], float)


def make_model(alg: str, params: dict, seed: int):
    """A pipeline (median imputer [+ scaler] + model) for ``alg`` with study ``params``."""
    from lightgbm import LGBMRegressor
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingRegressor,
        RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [("impute", SimpleImputer(strategy="median"))]
    if alg == "gb":
        steps.append(("model", GradientBoostingRegressor(random_state=seed, **{**GB, **params})))
    elif alg == "lgbm":
        steps.append(("model", LGBMRegressor(random_state=seed, **{**LGBM, **params})))
    elif alg == "et":
        p = {"n_estimators": 500, "max_features": 0.5, "n_jobs": 1, **params}
        steps.append(("model", ExtraTreesRegressor(random_state=seed, **p)))
    elif alg == "rf":
        p = {"n_estimators": 500, "max_features": 0.33, "n_jobs": 1, **params}
        steps.append(("model", RandomForestRegressor(random_state=seed, **p)))
    elif alg == "knn":
        steps.append(("scale", StandardScaler()))
        steps.append(("model", KNeighborsRegressor(weights="distance", **params)))
    else:
        raise ValueError(alg)
    return Pipeline(steps)


def main() -> None:
    parser = br.open_study_parser(__doc__, NAME, RESULT)
    parser.add_argument("--only", default=None, help="comma-separated variant-name prefixes")
    parser.add_argument(
        "--cache",
        default=str(Path(tempfile.gettempdir()) / "open_model_study_oof.npz"),
        help="out-of-fold predictions cache (variants already there are not refitted)",
    )
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return

    from joblib import Parallel, delayed

    from sse_flows.data.open_data import load_training_v2
    from sse_flows.models.open_recipe import (
        grouped_folds,
        load_open_training_set,
        regression_scores,
    )

    ts = load_open_training_set(li_only=False)  # every row; "@li" variants train on Li rows
    table = load_training_v2().reset_index(drop=True)
    y, censored, labels = ts.extra["log10_sigma"], ts.extra["censored"], ts.labels
    hints = structure_hints(table, RAW)
    cif = cif_features_for(table)
    magpie = [c for c in ts.feature_names if not c.startswith("frac_")]
    matrices = {
        "all": ts.X,
        "magpie": ts.features[magpie].to_numpy(float),
        "hints": np.hstack([ts.X, hints.to_numpy(float)]),
        "cif_packaged": np.hstack([ts.X, cif.to_numpy(float)]),
    }
    subsets = {
        "all rows": np.ones(len(y), bool),
        "rows with a space group": hints["sg_number"].notna().to_numpy(),
        "rows with a CIF": cif["cif_density"].notna().to_numpy(),
        "rows without a space group": hints["sg_number"].isna().to_numpy(),
        "rows without a CIF": cif["cif_density"].isna().to_numpy(),
        "Li rows": table["contains_li"].to_numpy(bool),
    }
    seeds = [int(s) for s in args.seeds.split(",")]
    folds = {s: grouped_folds(ts, seed=s) for s in seeds}
    variants = VARIANTS
    if args.only:
        prefixes = args.only.split(",")
        variants = {k: v for k, v in VARIANTS.items() if any(k.startswith(p) for p in prefixes)}
    formulas = table["formula"].tolist()
    base_sets = {fset.partition("@")[0] for _, fset, _ in variants.values()}
    for fset in base_sets - set(matrices) - {"cif_masked"}:
        if fset == "anion":
            extra = anion_chemistry_features(formulas).to_numpy(float)
        elif fset == "mp":
            extra = mp_property_features(formulas)
        else:
            extra = element_property_features(formulas, fset)
        matrices[fset] = np.hstack([ts.X, extra])

    def run(name, seed, fold):
        alg, fset, params = variants[name]
        train, test = folds[seed][fold]
        fset, _, rows = fset.partition("@")
        if rows == "li":
            train = train[subsets["Li rows"][train]]
        if fset == "cif_masked":  # train with the CIF features, predict from the formula
            X = matrices["cif_packaged"]
            X_test = X[test].copy()
            X_test[:, -cif.shape[1] :] = np.nan
            return make_model(alg, params, seed).fit(X[train], y[train]).predict(X_test)
        X = matrices[fset]
        return make_model(alg, params, seed).fit(X[train], y[train]).predict(X[test])

    cache_file = Path(args.cache)
    cache = dict(np.load(cache_file)) if cache_file.is_file() else {}
    oof = {}
    for n in variants:
        keys = [f"{n}|{variants[n]}|{s}" for s in seeds]
        if all(k in cache for k in keys):
            oof[n] = {s: cache[k] for s, k in zip(seeds, keys, strict=True)}
    todo = [n for n in variants if n not in oof]
    tasks = [(n, s, f) for n in todo for s in seeds for f in range(len(folds[s]))]
    preds = Parallel(n_jobs=args.n_jobs)(delayed(run)(*t) for t in tasks)
    oof.update({n: {s: np.zeros(len(y)) for s in seeds} for n in todo})
    for (n, s, f), pred in zip(tasks, preds, strict=True):
        oof[n][s][folds[s][f][1]] = pred
    for n in todo:
        cache.update({f"{n}|{variants[n]}|{s}": oof[n][s] for s in seeds})
    np.savez(cache_file, **cache)
    for name, members in ENSEMBLES.items():
        if all(m in oof for m in members):
            oof[name] = {s: np.mean([oof[m][s] for m in members], axis=0) for s in seeds}

    def score(name):
        out = {}
        for subset, mask in subsets.items():
            per_seed = [
                regression_scores(y[mask], oof[name][s][mask], censored[mask], labels[mask])
                for s in seeds
            ]
            out[subset] = {k: float(np.mean([p[k] for p in per_seed])) for k in per_seed[0]} | {
                "mae_seed_std": float(np.std([p["mae"] for p in per_seed])),
                "n": int(mask.sum()),
            }
        return out

    report = {
        "protocol": f"stratified group 5-fold over composition clusters, fold seeds {seeds}; "
        "MAE censored one-sided; classes at log10 sigma >= -4; training_v2 only",
        "n_rows": len(y),
        "rows_with_space_group": int(subsets["rows with a space group"].sum()),
        "rows_with_cif": int(subsets["rows with a CIF"].sum()),
        "variants": {name: score(name) for name in oof},
        **br.run_info(),
    }
    old = json.loads(args.out.read_text()) if args.out.is_file() and args.only else {}
    if old:
        old["variants"].update(report["variants"])
        report = {**old, **{k: v for k, v in report.items() if k != "variants"},
                  "variants": old["variants"]}  # fmt: skip
    br.write_json(args.out, report)
    if args.out == RESULT:
        print(f"wrote {br.write_record(NAME, record(report), args.record)}")
    print(
        f"{'variant':60s} {'MAE':>6s} {'rho':>6s} {'bACC':>6s} {'AUC':>6s} | sg/no sg, cif/no cif"
        " | Li rows: MAE, AUC"
    )
    for name, s in report["variants"].items():
        a, li = s["all rows"], s.get("Li rows", {})
        print(
            f"{name[:60]:60s} {a['mae']:6.3f} {a['spearman']:6.3f} {a['balanced_acc']:6.3f} "
            f"{a['auc']:6.3f} | {s['rows with a space group']['mae']:6.3f} "
            f"{s['rows without a space group']['mae']:6.3f} {s['rows with a CIF']['mae']:6.3f} "
            f"{s['rows without a CIF']['mae']:6.3f} | {li.get('mae', np.nan):6.3f} "
            f"{li.get('auc', np.nan):6.3f}"
        )


if __name__ == "__main__":
    main()
