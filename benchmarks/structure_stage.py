"""Structure stage: what the cheap Li-transport descriptors are worth, measured.

Usage::

    nice -n 15 .venv/bin/python benchmarks/structure_stage.py            # geometry only
    nice -n 15 .venv/bin/python benchmarks/structure_stage.py --bvse     # + bvlain, test CIFs
    .venv/bin/python benchmarks/structure_stage.py --record-only   # the record from the JSON

The geometry run takes about a minute (most of it training the open model); ``--bvse``
adds about 45 minutes of one core (bvlain's results are kept in ``--bvse-cache``, a file
in the temporary folder, so a rerun only computes what is missing).

Measures every descriptor of :mod:`sse_flows.structure_stage.descriptors` (and, with
``--bvse``, the bvlain BVSE percolation barriers on the 67 OBELiX test CIFs; bvlain must be
installed) three ways:

1. **Against experiment** on the OBELiX CIFs (``../shared/data/raw/obelix``, CC BY 4.0;
   train 254 + test 67 CIFs, the archives are unpacked into a temporary folder): per split,
   n, Spearman against measured log10 sigma (upper bounds such as ``<1E-10`` at their
   bound, the published convention) and ROC-AUC for sigma >= 1e-4 S/cm (AUC < 0.5: the
   *low* values mark the conductors). Disordered CIFs are used as they are: a site with
   Li among its species is a Li site and amounts are occupancy-weighted (the descriptors
   need no ordering); bvlain gets one species per site
   (:func:`sse_flows.structure_stage.bvse.one_species_per_site`). A CIF without any Li
   site (the authors' LLTO CIFs omit Li) counts as a failure. A descriptor that is
   ``None`` because the Li network does not percolate below 6 A ranks above every
   finite value.
2. **Next to the open model** on the same rows: test rows, the open recipe's composition
   members trained on ``training_v2`` (formula only, as a pool material is predicted);
   train rows (the model trained on them), its composition-grouped 5-fold out-of-fold
   prediction (the one its Platt calibration uses).
3. **Beyond the model**: on the OBELiX train CIF rows, logistic regression of the label on
   the model's calibrated log-odds plus one standardized descriptor, scored by
   composition-grouped 5-fold CV (AUC and log-loss, model alone beside it) and a
   bootstrap 90 % interval of the descriptor's coefficient; the Spearman of each
   descriptor with the model's residual (measured - predicted log10 sigma). A descriptor is
   kept only when, on train, it raises the grouped-CV AUC by >= 0.01 and its coefficient's
   interval excludes 0; a kept one is then scored once on the test rows. The packaged
   ``structure_score`` is scored on the test rows either way.

And on the authors' nine AIMD materials (``raw/kang2023/aimd``, packaged cells in
``sse_flows/data/structures``): Spearman of each descriptor against the Arrhenius Ea over
800-1700 K from the authors' stored analyses (pymatgen ``fit_arrhenius``, all nine) and
against this package's Ea where its analysis fits one (four materials).

Writes ``benchmarks/results/structure_stage.json`` and ``docs/benchmarks/structure_stage.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NAME = "structure_stage"
RESULT = ROOT / "benchmarks" / "results" / "structure_stage.json"
AIMD_IDS = (
    "mp-532413", "mp-1222492", "mp-676361", "mp-29410", "mp-1106183",
    "mp-1195055", "mp-557892", "mp-1222404", "mp-19896",
)  # fmt: skip
AIMD_TEMPERATURES = (800, 1100, 1400, 1700)
#: Added to the maximal cutoff for a Li network that does not percolate (ranks last).
NOT_PERCOLATING_RANK_A = 1.0
#: A descriptor is kept when it raises the train grouped-CV AUC by at least this much.
MIN_AUC_GAIN = 0.01
#: Per-structure wall-clock limit of bvlain (s).
BVSE_TIMEOUT_S = 600


# ----------------------------------------------------------------------------- descriptors
def _read_cif(path: Path):
    from pymatgen.core import Structure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Structure.from_file(str(path))


def obelix_descriptors(raw: Path, split: str) -> dict[str, dict]:
    """Descriptors (or the error) of every CIF of one OBELiX split, by ``ID``, timed."""
    from sse_flows.structure_stage.descriptors import li_transport_descriptors

    out = {}
    archive = raw / "obelix" / f"{split}_cifs.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        for path in sorted(Path(tmp).rglob("*.cif")):
            start = time.perf_counter()
            structure = _read_cif(path)
            parsed = time.perf_counter()
            row = {
                "n_sites": len(structure),
                "ordered": bool(structure.is_ordered),
                "cif_formula": structure.composition.reduced_formula,
            }
            try:
                row.update(li_transport_descriptors(structure))
                row["error"] = None
            except ValueError as exc:  # no Li site
                row["error"] = str(exc)
            row["read_s"] = parsed - start
            row["descriptor_s"] = time.perf_counter() - parsed
            out[path.stem] = row
    return out


def _bvse_worker(path: str, queue) -> None:
    try:
        from sse_flows.structure_stage.bvse import bvse_barriers

        start = time.perf_counter()
        result = bvse_barriers(_read_cif(Path(path)))
        queue.put({**result, "bvse_s": time.perf_counter() - start, "error": None})
    except Exception as exc:  # bvlain's failures (missing parameters, ...) are data here
        queue.put({"error": f"{type(exc).__name__}: {exc}"[:200]})


def obelix_bvse(raw: Path, split: str, cache: Path | None) -> dict[str, dict]:
    """bvlain barriers of every CIF of one split, one process per CIF with a time limit."""
    done = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(raw / "obelix" / f"{split}_cifs.tar.gz") as tar:
            tar.extractall(tmp, filter="data")
        for path in sorted(Path(tmp).rglob("*.cif")):
            if path.stem in done:
                continue
            queue = context.Queue()
            process = context.Process(target=_bvse_worker, args=(str(path), queue))
            start = time.perf_counter()
            process.start()
            process.join(BVSE_TIMEOUT_S)
            if process.is_alive():
                process.terminate()
                process.join()
                done[path.stem] = {"error": f"timeout after {BVSE_TIMEOUT_S} s"}
            else:
                done[path.stem] = queue.get() if not queue.empty() else {"error": "no result"}
            done[path.stem]["wall_s"] = time.perf_counter() - start
            print(path.stem, done[path.stem], flush=True)
            if cache:
                cache.write_text(json.dumps(done))
    return done


# ----------------------------------------------------------------------------- statistics
def ranked_values(rows: list[dict], name: str) -> np.ndarray:
    """One descriptor as floats; a non-percolating network ranks above every cutoff."""
    from sse_flows.structure_stage.descriptors import MAX_CUTOFF_A

    fill = MAX_CUTOFF_A + NOT_PERCOLATING_RANK_A if name.startswith("li_") else np.nan
    return np.array([fill if r.get(name) is None else float(r[name]) for r in rows], float)


def rank_scores(values: np.ndarray, y: np.ndarray, labels: np.ndarray) -> dict:
    """n, Spearman against log10 sigma, ROC-AUC for the label (rows with a value)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(values)
    out = {"n": int(ok.sum()), "n_superionic": int(labels[ok].sum())}
    if ok.sum() < 3 or np.unique(values[ok]).size < 2:
        return {**out, "spearman": None, "auc": None}
    out["spearman"] = float(spearmanr(values[ok], y[ok])[0])
    both = len(np.unique(labels[ok])) == 2
    out["auc"] = float(roc_auc_score(labels[ok], values[ok])) if both else None
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_shift(model_logit: np.ndarray, z: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood ``(b0, c)`` of ``logit p = model_logit + b0 + c z`` (model as offset)."""
    from scipy.optimize import minimize

    def negative_log_likelihood(params: np.ndarray) -> float:
        eta = model_logit + params[0] + params[1] * z
        return float(np.sum(np.logaddexp(0.0, eta) - labels * eta))

    result = minimize(negative_log_likelihood, np.zeros(2), method="BFGS")
    return float(result.x[0]), float(result.x[1])


def incremental_value(
    z: np.ndarray, model_logit: np.ndarray, labels: np.ndarray, groups: np.ndarray, seed: int = 0
) -> dict:
    """Does a standardized descriptor ``z`` add to the model's log-odds? (train rows).

    The model's log-odds enter as an offset, so the fitted ``c`` is exactly the shift a
    ``structure_score`` would add. Per composition-grouped fold, ``c`` is fitted on the
    other folds and the held-out rows are scored by ``model_logit + c z``; the model alone
    is ``model_logit`` (no fit). Log-loss includes the fitted intercept of each fold.
    """
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    shifted = np.zeros(len(z))
    p_both = np.zeros(len(z))
    p_model = np.zeros(len(z))
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in cv.split(z.reshape(-1, 1), labels, groups):
        b0, c = fit_shift(model_logit[train], z[train], labels[train])
        b_model, _ = fit_shift(model_logit[train], np.zeros(len(train)), labels[train])
        shifted[test] = model_logit[test] + c * z[test]
        p_both[test] = 1 / (1 + np.exp(-(shifted[test] + b0)))
        p_model[test] = 1 / (1 + np.exp(-(model_logit[test] + b_model)))
    _, c_full = fit_shift(model_logit, z, labels)
    rng = np.random.default_rng(seed)
    coefs = []
    for _ in range(300):
        idx = rng.integers(0, len(z), len(z))
        coefs.append(fit_shift(model_logit[idx], z[idx], labels[idx])[1])
    low, high = np.percentile(coefs, [5, 95])
    return {
        "auc_model": float(roc_auc_score(labels, model_logit)),
        "auc_model_plus_shift_grouped_cv": float(roc_auc_score(labels, shifted)),
        "log_loss_model_grouped_cv": float(log_loss(labels, p_model)),
        "log_loss_model_plus_shift_grouped_cv": float(log_loss(labels, p_both)),
        "coef_per_sd": c_full,
        "coef_90ci": [float(low), float(high)],
    }


def leave_one_out_shift(z: np.ndarray, model_logit: np.ndarray, labels: np.ndarray) -> dict:
    """Exploratory (fitted on the scored rows themselves): leave-one-out ``model + c z`` AUC.

    Used only on the OBELiX test rows, to ask whether a descriptor could help even when its
    coefficient is fitted on those rows; never to choose what the package ships.
    """
    from sklearn.metrics import roc_auc_score

    shifted = np.zeros(len(z))
    for i in range(len(z)):
        others = np.arange(len(z)) != i
        _, c = fit_shift(model_logit[others], z[others], labels[others])
        shifted[i] = model_logit[i] + c * z[i]
    return {
        "auc_model": float(roc_auc_score(labels, model_logit)),
        "auc_model_plus_shift_loo": float(roc_auc_score(labels, shifted)),
        "coef_per_sd_all_rows": fit_shift(model_logit, z, labels)[1],
    }


# ----------------------------------------------------------------------------- the model
def _match_rows(formulas: list[str], table_formulas: list[str]) -> np.ndarray:
    """Index of the table row with the same composition (max |fraction diff| < 1e-3), or -1."""
    from sse_flows.data.formulas import parse_formula
    from sse_flows.data.open_data import fraction_matrix

    elements = sorted({el for f in [*formulas, *table_formulas] for el in parse_formula(f)})
    a, _ = fraction_matrix(list(formulas), elements)
    b, _ = fraction_matrix(list(table_formulas), elements)
    distance = np.abs(a[:, None, :] - b[None, :, :]).max(axis=2)
    best = distance.argmin(axis=1)
    return np.where(distance[np.arange(len(a)), best] < 1e-3, best, -1)


def open_model_predictions(test_formulas: list[str], train_formulas: list[str], n_jobs: int):
    """Formula-only open-model log10 sigma and p: test rows (trained model), train rows (OOF).

    Returns the two prediction dicts, the train rows' composition-cluster ids, the
    calibration and the seconds spent.
    """
    from sse_flows.models.open_recipe import (
        add_fraction_features,
        grouped_oof_predictions,
        load_open_training_set,
        platt_probability,
        train_open_ensemble,
    )
    from sse_flows.models.training import featurize_or_raise

    start = time.perf_counter()
    training_set = load_open_training_set(structure=False)
    ensemble = train_open_ensemble(training_set, n_jobs=n_jobs, structure=False)
    X = add_fraction_features(
        featurize_or_raise(test_formulas), test_formulas, ensemble.spec.fraction_elements
    )[ensemble.spec.feature_names].to_numpy(float)
    test_pred = ensemble.predict(X)
    oof = grouped_oof_predictions(training_set, n_jobs=n_jobs)
    a, b = ensemble.spec.calibration["a"], ensemble.spec.calibration["b"]
    index = _match_rows(train_formulas, training_set.formulas)
    matched = index >= 0
    train_log10 = np.where(matched, oof[np.maximum(index, 0)], np.nan)
    train_pred = {
        "log10_sigma": train_log10,
        "p_superionic": platt_probability(train_log10, a, b),
    }
    clusters = np.where(matched, training_set.clusters[np.maximum(index, 0)], -1)
    return test_pred, train_pred, clusters, {"a": a, "b": b}, time.perf_counter() - start


# ----------------------------------------------------------------------------- AIMD nine
def aimd_reference(raw: Path) -> dict[str, dict]:
    """Per AIMD material: Ea from the authors' stored analyses and from this package."""
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer, fit_arrhenius

    from sse_flows.analysis import analyze_runs, load_runs

    out = {}
    for mid in AIMD_IDS:
        folder = raw / "kang2023" / "aimd" / mid
        diffusivities = []
        for temperature in AIMD_TEMPERATURES:
            text = (folder / f"{temperature}_nteps_100.json").read_text()
            data = json.loads(text)
            data = json.loads(data) if isinstance(data, str) else data
            diffusivities.append(DiffusionAnalyzer.from_dict(data).diffusivity)
        ea_library = fit_arrhenius(list(AIMD_TEMPERATURES), diffusivities)[0]
        doc = analyze_runs(load_runs([folder]))
        out[mid] = {
            "formula": doc.formula,
            "ea_authors_fit_eV": float(ea_library),
            "ea_package_eV": doc.ea_eV,
        }
    return out


def aimd_descriptors() -> dict[str, dict]:
    """Descriptors of the packaged AIMD cells (``sse_flows/data/structures/<mp-id>.json``)."""
    from pymatgen.core import Structure

    from sse_flows.structure_stage.descriptors import li_transport_descriptors

    folder = ROOT / "sse_flows" / "data" / "structures"
    out = {}
    for mid in AIMD_IDS:
        structure = Structure.from_file(str(folder / f"{mid}.json"))
        start = time.perf_counter()
        out[mid] = {**li_transport_descriptors(structure), "seconds": time.perf_counter() - start}
    return out


def _timing(seconds: list[float]) -> dict:
    s = np.asarray(seconds, float)
    return {
        "n": int(len(s)),
        "median_s": float(np.median(s)),
        "p95_s": float(np.percentile(s, 95)),
        "max_s": float(s.max()),
        "total_s": float(s.sum()),
    }


# ----------------------------------------------------------------------------- main
def _ms(timing: dict) -> str:
    return (
        f"median {timing['median_s'] * 1e3:.1f} ms, 95th percentile {timing['p95_s'] * 1e3:.1f} "
        f"ms, largest {timing['max_s'] * 1e3:.1f} ms, total {timing['total_s']:.2f} s "
        f"({timing['n']} structures)"
    )


def record(result: dict) -> str:
    """The text of docs/benchmarks/structure_stage.md, from the JSON."""
    sc, beyond = result["scores"], result["beyond_model_train"]
    model_row = "open model (formula only)"
    names = [n for n in sc["train"] if n != model_row]
    tr, te = result["train_cifs"], result["test_cifs"]
    protocol = [
        f"OBELiX CIFs (CC BY 4.0): {tr['n_cifs']} train ({tr['n_failed']} without a Li site), "
        f"{te['n_cifs']} test; {sc['disorder']['n_disordered']} of the described CIFs are "
        f"disordered and {sc['disorder']['n_ordered']} ordered. Label: "
        f"{result['settings']['label']}. Spearman {result['settings']['spearman']}. AUC is "
        "oriented by the train direction (`low`: low values mark conductors, AUC = 1 - raw), "
        "fixed on train and applied to test. Model: "
        f"{result['model']['what']}; on test rows {result['model']['test']}; on train rows "
        f"{result['model']['train']}. Beyond the model: logistic regression of the label with "
        "the model's calibrated log-odds as an offset plus one standardized descriptor, on "
        "composition-grouped 5-fold CV of the train rows, with a bootstrap 90 % interval of "
        f"the coefficient; rule: {beyond['rule']}. Test LOO: the same shift fitted on the "
        "test rows (leave-one-out, exploratory). AIMD: Spearman against the Arrhenius Ea of "
        "the authors' nine AIMD materials (their stored analyses) and of this package's "
        "analysis where it fits one.",
    ]

    def oriented(name: str, auc: float | None) -> float | None:
        if auc is None:
            return None
        return 1.0 - auc if sc["train"][name]["auc"] < 0.5 else auc

    model_auc = beyond["descriptors"][names[0]]["auc_model"]
    loo = result.get("test_exploratory_loo", {})
    test_auc_model = loo[names[0]]["auc_model"] if loo else None
    header = [
        "descriptor",
        "direction",
        "train: Spearman / AUC",
        "test: Spearman / AUC",
        "ordered CIFs: AUC",
        "Spearman with model residual, train",
        f"train grouped-CV AUC, model + descriptor (model {br.fmt(model_auc)})",
        "shift per sd, train [90 %]",
        f"test, shift fitted on test (LOO) AUC (model {br.fmt(test_auc_model)})",
        "AIMD Ea Spearman (authors' fit)",
        "AIMD Ea Spearman (package fit)",
    ]
    rows = []
    aimd = result.get("aimd", {}).get("scores", {})
    for n in names:
        a, b = sc["train"][n], sc["test"][n]
        d = beyond["descriptors"][n]
        lo, hi = d["coef_90ci"]
        am = aimd.get(n, {})
        rows.append(
            [
                f"`{n}`",
                "low" if a["auc"] < 0.5 else "high",
                f"{br.fmt(a['spearman'], 2)} / {br.fmt(oriented(n, a['auc']), 2)}",
                f"{br.fmt(b['spearman'], 2)} / {br.fmt(oriented(n, b['auc']), 2)}",
                br.fmt(oriented(n, sc["ordered CIFs, train+test"][n]["auc"]), 2),
                br.fmt(a["spearman_with_model_residual"], 2),
                br.fmt(d["auc_model_plus_shift_grouped_cv"]),
                f"{d['coef_per_sd']:+.2f} [{lo:+.2f}, {hi:+.2f}]",
                br.fmt(loo.get(n, {}).get("auc_model_plus_shift_loo")),
                f"{br.fmt(am.get('spearman_vs_ea_authors_fit'), 2)} ({am.get('n_authors_fit')})",
                f"{br.fmt(am.get('spearman_vs_ea_package'), 2)} ({am.get('n_package')})",
            ]
        )
    a, b = sc["train"][model_row], sc["test"][model_row]
    rows.append(
        ["open model, formula only", "high",
         f"{br.fmt(a['spearman'], 2)} / {br.fmt(a['auc'], 2)} (grouped OOF)",
         f"{br.fmt(b['spearman'], 2)} / {br.fmt(b['auc'], 2)}", *[""] * 7]
    )  # fmt: skip
    stored = result["model"].get("stored_structure_branch_test_rows_with_cif")
    if stored:
        rows.append(
            ["open model, structure branch with the test CIF (`obelix_benchmark.json`)", "", "",
             f"{br.fmt(stored['spearman'], 2)} / {br.fmt(stored['auc'], 2)}", *[""] * 7]
        )  # fmt: skip
    bv = result.get("bvse_test")
    if bv:
        for n, b in bv["scores"].items():
            auc = 1.0 - b["auc"] if b["auc"] < 0.5 else b["auc"]
            rows.append(
                [f"bvlain `{n}` (test only)", "low" if b["auc"] < 0.5 else "high", "",
                 f"{br.fmt(b['spearman'], 2)} / {br.fmt(auc, 2)}", "",
                 f"{br.fmt(b['spearman_with_model_residual'], 2)} (test)", "", "",
                 br.fmt(b.get("exploratory_loo", {}).get("auc_model_plus_shift_loo")), "", ""]
            )  # fmt: skip
    body = br.table(header, rows)
    once, dec, dis = result["test_once"], result["decision"], sc["disorder"]
    body += [
        "",
        f"* Kept on train by the rule: {', '.join(dec['kept_on_train']) or 'none'}; kept and "
        f"raising the test AUC: {', '.join(dec['kept_and_raising_test_auc']) or 'none'}. "
        f"Packaged `structure_score`: {dec['structure_score']}.",
        "* Test rows scored once: model AUC "
        f"{br.fmt(once['auc_model'])}, model + `structure_score` "
        f"{br.fmt(once['auc_model_plus_structure_score'])}"
        + "".join(
            f", model + `{k[len('auc_model_plus_') :]}` {br.fmt(v)}"
            for k, v in once.items()
            if k.startswith("auc_model_plus_") and k != "auc_model_plus_structure_score"
        )
        + ".",
        f"* Disorder: superionic fraction {br.fmt(dis['superionic_fraction_disordered'], 2)} of "
        f"{dis['n_disordered']} disordered CIFs, "
        f"{br.fmt(dis['superionic_fraction_ordered'], 2)} of {dis['n_ordered']} ordered; AUC "
        f"of the disordered flag {br.fmt(dis['auc_of_disordered_flag'], 2)}.",
        f"* Timing, descriptors: train {_ms(tr['timing_descriptors'])}; test "
        f"{_ms(te['timing_descriptors'])}; AIMD cells {_ms(result['aimd']['timing'])}. "
        f"Reading the CIFs: train {_ms(tr['timing_cif_read'])}.",
    ]
    if bv:
        e3, t = bv["e3d_below_0.5eV"], bv["timing"]
        body += [
            f"* bvlain ({bv['settings']}): median {t['median_s']:.1f} s, 95th percentile "
            f"{t['p95_s']:.0f} s, largest {t['max_s']:.0f} s, total {t['total_s'] / 60:.0f} min "
            f"for {t['n']} test CIFs, {len(bv['failed'])} failed. E_3D < 0.5 eV keeps {e3['n']} "
            f"with {e3['n_superionic']} superionic (base rate {br.fmt(e3['base_rate'], 2)}); "
            f"{e3['n_with_model_p_ge_0.5']} of them have model p >= 0.5.",
        ]
    return br.render(
        NAME, "Structure stage: descriptors against experiment and the model", result, RESULT,
        protocol, body,
    )  # fmt: skip


def main() -> None:  # noqa: C901 - a linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "data" / "raw")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--bvse", action="store_true", help="bvlain on the 67 test CIFs")
    parser.add_argument(
        "--bvse-cache", type=Path, default=Path(tempfile.gettempdir()) / "bvse_obelix_test.json"
    )
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, record):
        return

    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    from sse_flows.data.open_data import read_obelix
    from sse_flows.structure_stage.descriptors import (
        DESCRIPTOR_NAMES,
        LI_NETWORK_CUTOFF_A,
        MAX_CUTOFF_A,
    )
    from sse_flows.structure_stage.score import (
        SCORE_COEFFICIENT,
        SCORE_DESCRIPTOR,
        structure_score,
    )

    report: dict = {
        "load_average": os.getloadavg(),
        "settings": {
            "li_network_cutoff_A": LI_NETWORK_CUTOFF_A,
            "max_cutoff_A": MAX_CUTOFF_A,
            "label": "sigma >= 1e-4 S/cm (upper bounds: not superionic)",
            "spearman": "against log10 sigma; upper bounds at their bound",
            "auc": "descriptor value as the score; < 0.5: low values mark conductors",
        },
    }
    # --- descriptors of every CIF --------------------------------------------------------
    tables, rows_by_split = {}, {}
    for split in ("train", "test"):
        table = read_obelix(args.raw, split)
        table = table[table["id"] != ""].reset_index(drop=True)
        descriptors = obelix_descriptors(args.raw, split)
        table = table[table["id"].isin(descriptors)].reset_index(drop=True)
        rows = [descriptors[i] for i in table["id"]]
        tables[split], rows_by_split[split] = table, rows
        failed = {i: d["error"] for i, d in descriptors.items() if d["error"]}
        report[f"{split}_cifs"] = {
            "n_cifs": len(descriptors),
            "n_rows_with_cif": len(table),
            "n_disordered": int(sum(not d["ordered"] for d in descriptors.values())),
            "n_failed": len(failed),
            "failed": failed,
            "timing_descriptors": _timing([d["descriptor_s"] for d in descriptors.values()]),
            "timing_cif_read": _timing([d["read_s"] for d in descriptors.values()]),
        }
    # rows with a descriptor set (no error)
    for split in ("train", "test"):
        keep = np.array([r["error"] is None for r in rows_by_split[split]])
        tables[split] = tables[split][keep].reset_index(drop=True)
        rows_by_split[split] = [r for r, k in zip(rows_by_split[split], keep, strict=True) if k]

    # --- the open model on the same rows -------------------------------------------------
    test_pred, train_pred, train_groups, calibration, model_s = open_model_predictions(
        tables["test"]["formula"].tolist(), tables["train"]["formula"].tolist(), args.n_jobs
    )
    report["model"] = {
        "what": "open recipe, composition members (formula only, as a pool material)",
        "test": "trained on training_v2 (no OBELiX test composition)",
        "train": "composition-grouped 5-fold out-of-fold log10 sigma, Platt-calibrated",
        "calibration": calibration,
        "seconds": round(model_s, 1),
        "stored_structure_branch_test_rows_with_cif": json.loads(
            (ROOT / "benchmarks/results/obelix_benchmark.json").read_text()
        )["open"]["test"]["test rows with a CIF"],
    }
    preds = {"test": test_pred, "train": train_pred}

    # --- descriptor and model scores per split --------------------------------------------
    scores: dict = {}
    for split in ("train", "test"):
        table, rows, pred = tables[split], rows_by_split[split], preds[split]
        y = table["log10_sigma"].to_numpy(float)
        labels = table["label"].to_numpy(int)
        has_model = np.isfinite(pred["log10_sigma"])
        split_scores = {
            name: rank_scores(ranked_values(rows, name), y, labels) for name in DESCRIPTOR_NAMES
        }
        model = rank_scores(np.where(has_model, pred["p_superionic"], np.nan), y, labels)
        model["spearman"] = rank_scores(
            np.where(has_model, pred["log10_sigma"], np.nan), y, labels
        )["spearman"]
        split_scores["open model (formula only)"] = model
        residual = y - pred["log10_sigma"]
        for name in DESCRIPTOR_NAMES:
            values = ranked_values(rows, name)
            ok = np.isfinite(values) & has_model
            split_scores[name]["spearman_with_model_residual"] = float(
                spearmanr(values[ok], residual[ok])[0]
            )
        scores[split] = split_scores
    # all CIF rows (descriptors only: no training involved)
    all_rows = rows_by_split["train"] + rows_by_split["test"]
    y_all = np.concatenate([tables[s]["log10_sigma"].to_numpy(float) for s in ("train", "test")])
    l_all = np.concatenate([tables[s]["label"].to_numpy(int) for s in ("train", "test")])
    scores["train+test"] = {
        name: rank_scores(ranked_values(all_rows, name), y_all, l_all) for name in DESCRIPTOR_NAMES
    }
    ordered = np.array([r["ordered"] for r in all_rows])
    scores["ordered CIFs, train+test"] = {
        name: rank_scores(ranked_values([r for r, o in zip(all_rows, ordered, strict=True) if o],
                                        name), y_all[ordered], l_all[ordered])
        for name in DESCRIPTOR_NAMES
    }  # fmt: skip
    scores["disorder"] = {
        "n_disordered": int((~ordered).sum()),
        "superionic_fraction_disordered": float(l_all[~ordered].mean()),
        "n_ordered": int(ordered.sum()),
        "superionic_fraction_ordered": float(l_all[ordered].mean()),
        "auc_of_disordered_flag": float(roc_auc_score(l_all, ~ordered)),
    }
    report["scores"] = scores

    # --- beyond the model: train rows, grouped CV ------------------------------------------
    train_rows, train_table = rows_by_split["train"], tables["train"]
    ok_model = np.isfinite(train_pred["log10_sigma"])
    labels = train_table["label"].to_numpy(int)[ok_model]
    model_logit = _logit(train_pred["p_superionic"][ok_model])
    groups = train_groups[ok_model]
    beyond: dict = {"n": int(ok_model.sum()), "n_superionic": int(labels.sum()), "descriptors": {}}
    standardization = {}
    for name in DESCRIPTOR_NAMES:
        values = ranked_values(train_rows, name)[ok_model]
        finite = np.isfinite(values)
        if finite.sum() < len(values) or np.std(values) == 0:
            beyond["descriptors"][name] = {"skipped": "missing values or constant"}
            continue
        mean, sd = float(values.mean()), float(values.std())
        standardization[name] = (mean, sd)
        result = incremental_value((values - mean) / sd, model_logit, labels, groups)
        gain = result["auc_model_plus_shift_grouped_cv"] - result["auc_model"]
        ci = result["coef_90ci"]
        result["kept"] = bool(gain >= MIN_AUC_GAIN and (ci[0] > 0 or ci[1] < 0))
        result["train_mean"], result["train_sd"] = mean, sd
        beyond["descriptors"][name] = result
    beyond["rule"] = (
        f"kept when the grouped-CV AUC gain >= {MIN_AUC_GAIN} and the coefficient's 90 % "
        "bootstrap interval excludes 0"
    )
    report["beyond_model_train"] = beyond

    # --- the packaged structure_score and any kept descriptor, once on test ----------------
    test_rows, test_table = rows_by_split["test"], tables["test"]
    y_test = test_table["log10_sigma"].to_numpy(float)
    labels_test = test_table["label"].to_numpy(int)
    logit_test = _logit(test_pred["p_superionic"])
    shifted = logit_test + np.array([structure_score(r) for r in test_rows])
    test_eval = {
        "n": len(test_rows),
        "packaged_score": {"descriptor": SCORE_DESCRIPTOR, "coefficient": SCORE_COEFFICIENT},
        "auc_model": float(roc_auc_score(labels_test, logit_test)),
        "auc_model_plus_structure_score": float(roc_auc_score(labels_test, shifted)),
        "spearman_model": float(spearmanr(logit_test, y_test)[0]),
        "spearman_model_plus_structure_score": float(spearmanr(shifted, y_test)[0]),
    }
    for name, result in beyond["descriptors"].items():
        if result.get("kept"):
            mean, sd = standardization[name]
            z = (ranked_values(test_rows, name) - mean) / sd
            combined = logit_test + result["coef_per_sd"] * z
            test_eval[f"auc_model_plus_{name}"] = float(roc_auc_score(labels_test, combined))
    report["test_once"] = test_eval
    kept = [name for name, result in beyond["descriptors"].items() if result.get("kept")]
    helped = [n for n in kept if test_eval[f"auc_model_plus_{n}"] > test_eval["auc_model"]]
    report["decision"] = {
        "kept_on_train": kept,
        "kept_and_raising_test_auc": helped,
        "structure_score": (
            f"a shift on {helped}" if helped else "0 for every material (SCORE_DESCRIPTOR None)"
        ),
    }
    exploratory = {}
    for name in DESCRIPTOR_NAMES:
        values = ranked_values(test_rows, name)
        if np.isfinite(values).all() and values.std() > 0:
            z = (values - values.mean()) / values.std()
            exploratory[name] = leave_one_out_shift(z, logit_test, labels_test)
    report["test_exploratory_loo"] = exploratory

    # --- AIMD nine ------------------------------------------------------------------------
    reference = aimd_reference(args.raw)
    aimd = aimd_descriptors()
    ea_authors = np.array([reference[m]["ea_authors_fit_eV"] for m in AIMD_IDS])
    ea_package = np.array(
        [np.nan if reference[m]["ea_package_eV"] is None else reference[m]["ea_package_eV"]
         for m in AIMD_IDS]
    )  # fmt: skip
    aimd_rows = [aimd[m] for m in AIMD_IDS]
    aimd_scores = {}
    for name in DESCRIPTOR_NAMES:
        values = ranked_values(aimd_rows, name)
        fitted = np.isfinite(ea_package) & np.isfinite(values)
        aimd_scores[name] = {
            "spearman_vs_ea_authors_fit": float(spearmanr(values, ea_authors)[0])
            if np.unique(values).size > 1
            else None,
            "n_authors_fit": len(AIMD_IDS),
            "spearman_vs_ea_package": float(spearmanr(values[fitted], ea_package[fitted])[0])
            if fitted.sum() > 2 and np.unique(values[fitted]).size > 1
            else None,
            "n_package": int(fitted.sum()),
        }
    report["aimd"] = {
        "materials": {
            m: {**reference[m], **{k: aimd[m][k] for k in DESCRIPTOR_NAMES}} for m in AIMD_IDS
        },
        "scores": aimd_scores,
        "timing": _timing([aimd[m]["seconds"] for m in AIMD_IDS]),
    }

    # --- bvlain on the test CIFs (optional) ----------------------------------------------
    if args.bvse:
        bvse = obelix_bvse(args.raw, "test", args.bvse_cache)
        table = read_obelix(args.raw, "test")
        table = table[table["id"].isin(bvse)].reset_index(drop=True)
        rows = [bvse[i] for i in table["id"]]
        y = table["log10_sigma"].to_numpy(float)
        labels_b = table["label"].to_numpy(int)
        pred_by_id = dict(zip(test_table["id"], test_pred["log10_sigma"], strict=True))
        residual = y - np.array([pred_by_id.get(i, np.nan) for i in table["id"]])
        bv_scores = {}
        for dim in (1, 2, 3):
            name = f"bvse_barrier_{dim}d_eV"
            values = np.array(
                [np.nan if r.get("error") else (r.get(name) if r.get(name) is not None
                 else 10.0) for r in rows], float,
            )  # fmt: skip
            bv_scores[name] = rank_scores(values, y, labels_b)
            ok = np.isfinite(values) & np.isfinite(residual)
            bv_scores[name]["spearman_with_model_residual"] = float(
                spearmanr(values[ok], residual[ok])[0]
            )
            logit_by_id = dict(zip(test_table["id"], logit_test, strict=True))
            logit_b = np.array([logit_by_id.get(i, np.nan) for i in table["id"]])
            both = np.isfinite(values) & np.isfinite(logit_b)
            z = (values[both] - values[both].mean()) / values[both].std()
            bv_scores[name]["exploratory_loo"] = leave_one_out_shift(
                z, logit_b[both], labels_b[both]
            )
        e3 = np.array([r.get("bvse_barrier_3d_eV") or np.inf for r in rows if not r["error"]])
        l3 = np.array([lab for r, lab in zip(rows, labels_b, strict=True) if not r["error"]])
        p_by_id = dict(zip(test_table["id"], test_pred["p_superionic"], strict=True))
        p3 = np.array(
            [p_by_id.get(i, np.nan) for i, r in zip(table["id"], rows, strict=True)
             if not r["error"]]
        )  # fmt: skip
        report["bvse_test"] = {
            "settings": "bvlain 0.25.1, resolution 0.2 A, mobile ion Li1+, defaults; one "
            "species per site, element oxidation states of guess_oxidation_states",
            "n_cifs": len(bvse),
            "failed": {i: r["error"] for i, r in bvse.items() if r.get("error")},
            "scores": bv_scores,
            "e3d_below_0.5eV": {
                "n": int((e3 < 0.5).sum()),
                "n_superionic": int(l3[e3 < 0.5].sum()),
                "base_rate": float(l3.mean()),
                "n_with_model_p_ge_0.5": int((p3[e3 < 0.5] >= 0.5).sum()),
            },
            "model_p_ge_0.5": {
                "n": int((p3 >= 0.5).sum()),
                "n_superionic": int(l3[p3 >= 0.5].sum()),
            },
            "timing": _timing([r["bvse_s"] for r in bvse.values() if "bvse_s" in r]),
        }
    report.update(br.run_info())
    br.write_json(args.out, report)
    print(json.dumps({k: report[k] for k in ("scores", "beyond_model_train", "test_once")},
                     indent=1, default=float))  # fmt: skip
    if args.out == RESULT:
        print(f"wrote {br.write_record(NAME, record(report), args.record)}")


if __name__ == "__main__":
    main()
