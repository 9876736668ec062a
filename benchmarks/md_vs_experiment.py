"""MD against experiment: the pool-wide MD engine on OBELiX materials with measured sigma_RT.

Runs :func:`sse_flows.md.pool.run_pool_md` (relaxation, batched force-field MD, the same
``MDRunDoc`` as every other engine) on OBELiX materials that have an *ordered* CIF, and
compares, at 1e-4 S/cm and in rank, three estimates of sigma_RT with the measured one:

* **MD**: the Arrhenius sigma_RT of the MD (its point value); a material whose MD saw no
  usable Li diffusion ("no diffusion", "not superionic") counts as below 1e-4 and ranks
  below every estimate; one with Li hops but no confident Arrhenius fit ("undetermined")
  has no MD class (scored apart, and strictly as wrong);
* **ML**: the open recipe from the formula alone, held out: test-split materials are
  predicted by the ensemble trained on the training table (which holds no test
  composition); train-split materials get their composition-grouped out-of-fold
  prediction (:func:`sse_flows.models.open_recipe.grouped_oof_predictions`);
* **ML + MD**: the discovery ranking's rule, through its own functions
  (``merge_md_result``, ``combine_evidence``): MD verdict first
  (:data:`sse_flows.ranking.selection.VERDICT_ORDER`), then
  :func:`sse_flows.ranking.evidence.combine_log10_sigma`; its class is the combined
  estimate's, except that an MD that saw no usable diffusion says below 1e-4, and an
  undetermined MD leaves the model's class.

Subset (on CPU): every ordered test-split CIF whose MD supercell (lattice lengths >=
``--min-lattice-length``) has at most ``--max-atoms`` atoms, then the ordered train-split
CIFs measured at >= 1e-5 S/cm under the same size limit (the test split has only two
ordered fast conductors), one per composition. ``--all`` takes every ordered CIF (a GPU run).
Measured upper bounds (``<1E-10``) count as below the threshold and rank at their bound.

The MD runs in groups of ``--group`` materials; each material's ``MDRunDoc`` is saved as
it finishes a group, and a rerun skips the materials already done, so the study can be
run in pieces. ``--report-only`` scores what is there.

Usage::

    .venv/bin/python benchmarks/md_vs_experiment.py --engine chgnet        # CPU subset
    .venv/bin/python benchmarks/md_vs_experiment.py --engine sevennet --device cuda --all \\
        --protocol paper-reduced                                           # GPU, all
    .venv/bin/python benchmarks/md_vs_experiment.py --engine chgnet --max-production-steps 5000 \\
        --extend-undetermined         # the undetermined of the CPU subset, on to 10 ps

On a GPU machine without the model's packages, ``--md-only`` (with ``--deadline-s``) runs
the MD alone; ``--report-only`` then scores the documents where the model is installed
(``benchmarks/gpu/device_checks.sh``).

``--max-production-steps`` above the default continues each run from its checkpoints (the
pool engine's extend) and keeps the documents apart (``<id>_max<N>.json``, results
``..._max<N>.json``); ``--extend-undetermined`` runs on only the materials whose 2-ps MD is
undetermined. An extended run continues in the same run folders, so its checkpoints replace
the 2-ps ones there; the 2-ps documents stay in ``<id>.json``.

Writes ``benchmarks/results/md_vs_experiment_<engine>.json``,
``docs/img/md_vs_experiment.png`` and the record ``docs/benchmarks/md_vs_experiment.md``
(one section per stored result ``benchmarks/results/md_vs_experiment_*.json``, and the
engine comparison at 1000 K of ``engine_softness_1000K.json``); ``--record-only`` rewrites
the record from those JSONs without running anything.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import tarfile
import time
import warnings
from pathlib import Path

import benchrecord as br
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NAME = "md_vs_experiment"
RESULTS = ROOT / "benchmarks" / "results"
#: the engine comparison at 1000 K (``--protocol hot --md-only`` of both engines)
SOFTNESS = RESULTS / "engine_softness_1000K.json"
THRESHOLD = -4.0

#: A disordered CIF whose ordered cell changes an atomic fraction by more than this is left
#: out: the cell is no longer the measured material (e.g. a garnet that loses Li to clashes).
MAX_ORDERING_ERROR = 0.02


#: Materials known to melt or decompose below the lowest MD temperature (600 K): MD at
#: 600-1200 K samples a superheated solid or a liquid there, and no Arrhenius line through
#: it reaches the room-temperature solid. Scored apart (``solid_at_md_temperatures``),
#: whichever way their MD went. Reduced formula -> (temperature K, what and where).
MELTS_BELOW_MD = {
    "LiAlCl4": (416.0, "melts at 143-146 C (Wikipedia, 'Lithium tetrachloroaluminate')"),
    "LiAlH4": (423.0, "decomposes at 150 C (Wikipedia, 'Lithium aluminium hydride')"),
}

#: Production limit (steps) of the ``cpu`` protocol: 2 ps.
CPU_MAX_PRODUCTION_STEPS = 1000


def study_protocol(name: str, min_lattice_length: float,
                   max_production_steps: int = CPU_MAX_PRODUCTION_STEPS):
    """``cpu``: the demo's 600/1000 K protocol with production capped at
    ``max_production_steps`` (1,000 steps, 2 ps, unless extended); ``paper-reduced``: the
    paper's four temperatures, 1,000 + 5,000 steps; ``hot``: 1000 K alone, 150 + 1,000
    steps (hop counts and host stability of two engines side by side, no Arrhenius fit);
    ``smoke``: 1000 K, 10 + 20 steps, a rehearsal that everything runs
    (``benchmarks/gpu/device_checks.sh``), no science."""
    from sse_flows.md.protocol import DEMO_PROTOCOL, MDProtocol

    if name == "cpu":
        return dataclasses.replace(
            DEMO_PROTOCOL, max_production_steps=max_production_steps, chunk_steps=500,
            min_lattice_length=min_lattice_length,
        )
    if name == "hot":
        return MDProtocol(
            temperatures=(1000.0,), fallback_temperatures=(), equilibration_steps=150,
            production_steps=1000, max_production_steps=1000, chunk_steps=500,
            trajectory_interval=5, relax_max_steps=150, min_lattice_length=min_lattice_length,
        )
    if name == "smoke":
        return MDProtocol(
            temperatures=(1000.0,), fallback_temperatures=(), equilibration_steps=10,
            production_steps=20, max_production_steps=20, chunk_steps=20,
            trajectory_interval=5, relax_max_steps=5, min_lattice_length=min_lattice_length,
        )
    return MDProtocol(
        equilibration_steps=1000, production_steps=5000, max_production_steps=5000,
        chunk_steps=5000, min_lattice_length=min_lattice_length,
    )


def select_materials(raw: Path, max_atoms: int, min_lattice_length: float, take_all: bool,
                     disordered: bool = False):
    """The OBELiX CIFs of the study (module docstring), with their measurements: the ordered
    ones, or with ``disordered`` the disordered ones, ordered by
    :func:`sse_flows.md.ordering.order_structure` (those it refuses are left out)."""
    from pymatgen.core import Structure

    from sse_flows.data.open_data import read_obelix
    from sse_flows.md.ordering import order_structure
    from sse_flows.md.protocol import MDStructureError, supercell_atoms

    chosen, seen = [], set()
    for split in ("test", "train"):
        table = read_obelix(raw, split).set_index("id")
        with tarfile.open(raw / "obelix" / f"{split}_cifs.tar.gz") as archive:
            members = sorted(
                (m for m in archive.getmembers() if m.name.endswith(".cif")),
                key=lambda m: m.name,
            )
            for member in members:
                obelix_id = Path(member.name).stem
                if obelix_id not in table.index:
                    continue
                row = table.loc[obelix_id]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    structure = Structure.from_str(
                        archive.extractfile(member).read().decode(), fmt="cif"
                    )
                if structure.is_ordered == disordered or "Li" not in structure.composition:
                    continue
                measured_wanted = split == "test" or row["log10_sigma"] >= -5.0
                if not (take_all or measured_wanted):
                    continue  # decided before the (costlier) ordering
                ordering = None
                if disordered:
                    if not take_all and len(structure) > max_atoms:
                        continue  # the ordered cell would be larger still
                    try:
                        structure, ordering = order_structure(structure, max_atoms=max_atoms)
                    except MDStructureError as exc:
                        print(f"  {obelix_id}: not ordered: {exc}")
                        continue
                    if ordering.max_fraction_error > MAX_ORDERING_ERROR:
                        print(f"  {obelix_id}: left out: its ordered cell "
                              f"{ordering.formula_ordered} is not {row['formula']} "
                              f"(atomic fractions off by {ordering.max_fraction_error:.3f})")
                        continue
                    ordering = ordering.model_dump()
                formula = structure.composition.reduced_formula
                n_atoms = supercell_atoms(structure, min_lattice_length)
                if not take_all and n_atoms > max_atoms:
                    continue
                chosen.append({
                    "ordering": ordering,
                    "id": obelix_id, "split": split, "formula": row["formula"],
                    "cif_formula": formula, "log10_sigma": float(row["log10_sigma"]),
                    "censored": bool(row["censored"]), "label": int(row["label"]),
                    "family": row["family"], "n_atoms": int(n_atoms), "structure": structure,
                })
    # one per composition: the test row if any, else the smallest supercell
    chosen.sort(key=lambda m: (m["split"] != "test", m["n_atoms"], m["id"]))
    unique = []
    for m in chosen:
        if m["cif_formula"] not in seen:
            seen.add(m["cif_formula"])
            unique.append(m)
    return unique


def stratified(materials: list[dict], n: int) -> list[dict]:
    """At most ``n`` materials, half of them measured at >= 1e-4 S/cm (both classes, so a
    balanced accuracy means something), each half spread over its measured range:
    round-robin over decades of measured sigma_RT; within a decade, a family not yet taken
    first, then the smallest MD supercell."""
    families: set[str] = set()

    def spread(candidates: list[dict], k: int) -> list[dict]:
        bins: dict[int, list[dict]] = {}
        for m in sorted(candidates, key=lambda m: (m["n_atoms"], m["id"])):
            bins.setdefault(math.floor(m["log10_sigma"]), []).append(m)
        taken: list[dict] = []
        while len(taken) < k and any(bins.values()):
            for decade in sorted(bins):
                if not bins[decade] or len(taken) >= k:
                    continue
                pick = next((m for m in bins[decade] if m["family"] not in families),
                            bins[decade][0])
                bins[decade].remove(pick)
                taken.append(pick)
                families.add(pick["family"])
        return taken

    fast = [m for m in materials if m["log10_sigma"] >= THRESHOLD]
    slow = [m for m in materials if m["log10_sigma"] < THRESHOLD]
    taken = spread(fast, (n + 1) // 2)
    taken += spread(slow, n - len(taken))
    return sorted(taken, key=lambda m: (m["split"] != "test", m["n_atoms"], m["id"]))


#: Stop reasons of a stored run that are replayed by :func:`rerun_reason`.
REPLAYED_STOPS = ("too few hops", "host unstable", "maximum length reached",
                  "target error reached")


def rerun_reason(doc: dict, protocol) -> str | None:
    """Why a stored MD document must be run again under the current protocol, or None.

    * A run that the current continue-until rule, replayed on its own trajectory, would not
      have stopped: a rule that stops later ("too few hops" before 2026-11-30; "host
      unstable" read on frames the document leaves out before 2026-12-01) or a raised
      length limit.
    * The protocol temperatures leave no Arrhenius fit
      (:func:`sse_flows.md.continuation.fallback_needed`, replayed on the stored runs: the
      hottest host unstable, by its stop reason or by the analysis of the whole run, since a
      host that broke in the last chunk was once reported as the length limit; or the
      hottest run alone diffusive) and a fallback temperature has no run.
    """
    from sse_flows.md.continuation import fallback_needed, production_decision
    from sse_flows.md.schemas import ProductionRecord

    runs = doc.get("runs", [])
    for run in runs:
        if run.get("stop_reason") not in REPLAYED_STOPS or not run.get("trajectory_files"):
            continue
        if run["production_steps"] >= protocol.production_limit:
            continue  # at the limit every rule stops: no trajectory to read
        record = ProductionRecord(temperature=run["temperature"],
                                  production_steps=run["production_steps"], chunks=1,
                                  files=run["trajectory_files"])
        replayed = production_decision(record, protocol,
                                       time_step_fs=run["time_step_fs"] * run["step_skip"])
        if replayed.stop_reason is None:
            return (f"{run['temperature']:g} K stopped ({run['stop_reason']}) where the "
                    "current rule goes on")
    broken = {t["T"] for t in (doc.get("diffusion") or {}).get("temperatures", [])
              if not t["framework_stable"]}
    stored = {
        run["temperature"]: ProductionRecord(
            temperature=run["temperature"], li_hops=run.get("li_hops"),
            diffusive=run.get("diffusive"),
            stop_reason="host unstable" if run["temperature"] in broken
            else run.get("stop_reason"),
        )
        for run in runs if run["temperature"] in protocol.temperatures
    }
    ran = {run["temperature"] for run in runs if run.get("status") != "skipped"}
    missing = [t for t in protocol.fallback_temperatures if t not in ran]
    if missing and fallback_needed(stored, protocol):
        return f"no Arrhenius fit from {sorted(stored)} K and no fallback run at {missing} K"
    return None


def undetermined(doc: dict) -> bool:
    """True when a stored MD document's verdict, as the discovery ranking reads it, is
    "undetermined" (Li hops but no confident Arrhenius fit)."""
    from sse_flows.md.schemas import MDRunDoc

    parsed = MDRunDoc.model_validate(doc)
    return parsed.status == "ok" and ranked_row(parsed, {}).verdict == "undetermined"


def doc_path(out_dir: Path, material_id: str, suffix: str = "") -> Path:
    """Where a material's MD document is kept (``suffix`` names an extended run)."""
    return out_dir / f"{material_id}{suffix}.json"


def run_md(materials, protocol, engine: str, device: str, group: int, out_dir: Path,
           suffix: str = "", deadline_s: float | None = None) -> None:
    """MD of every material not yet done (or whose stored document :func:`rerun_reason`
    says must run again), ``group`` at a time; one JSON per material. A run with a raised
    production limit continues each pair from its checkpoint (``run_pool_md``). With
    ``deadline_s``, no new group starts once that many seconds have passed (a group in
    flight finishes; a rerun picks up the rest)."""
    import shutil

    from sse_flows.md.pool import run_pool_md

    out_dir.mkdir(parents=True, exist_ok=True)
    for m in materials:
        path = doc_path(out_dir, m["id"], suffix)
        reason = rerun_reason(json.loads(path.read_text())["doc"], protocol) if (
            path.is_file()) else None
        if reason is None:
            continue
        print(f"  {m['id']} {m['cif_formula']}: {reason}: run again")
        path.unlink()
        folder = out_dir / "runs" / m["id"]
        if not list(folder.glob("checkpoint_*")):
            shutil.rmtree(folder, ignore_errors=True)  # a run from before checkpoints
        # else the pool keeps the relaxed cell and decides each finished pair again
    todo = [m for m in materials if not doc_path(out_dir, m["id"], suffix).is_file()]
    print(f"MD: {len(materials) - len(todo)} done, {len(todo)} to run ({engine}, {device})")
    began = time.perf_counter()
    for start in range(0, len(todo), group):
        if deadline_s is not None and time.perf_counter() - began > deadline_s:
            print(f"deadline of {deadline_s:.0f} s passed: {len(todo) - start} materials left "
                  "for a rerun", flush=True)
            return
        batch = todo[start:start + group]
        t0 = time.perf_counter()
        docs = run_pool_md(
            [m["structure"] for m in batch], protocol, out_dir / "runs",
            labels=[m["id"] for m in batch], material_ids=[f"obelix:{m['id']}" for m in batch],
            engine=engine, device=device, progress=True,
        )
        wall = time.perf_counter() - t0
        for m, doc in zip(batch, docs, strict=True):
            record = {"wall_s_group": wall, "doc": json.loads(doc.model_dump_json())}
            path = doc_path(out_dir, m["id"], suffix)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(record))
            tmp.replace(path)
            d = doc.diffusion
            print(f"  {m['id']} {m['cif_formula']:>12s} measured {m['log10_sigma']:6.2f}  MD "
                  f"{doc.status}: sigma_RT {d.sigma_rt_S_cm if d else None} "
                  f"(bound {d.sigma_rt_high if d and d.sigma_rt_is_upper_bound else None})",
                  flush=True)
        print(f"  group of {len(batch)}: {wall:.0f} s", flush=True)


def ml_predictions(materials, raw: Path, n_jobs: int) -> dict[str, dict]:
    """Held-out open-recipe predictions (formula only) per material id."""
    from pymatgen.core import Composition

    from sse_flows.models.open_recipe import (
        conformal_halfwidth,
        fit_platt,
        grouped_oof_predictions,
        load_open_training_set,
        load_or_train_open_ensemble,
        platt_probability,
    )
    from sse_flows.models.prediction import vote_materials

    out: dict[str, dict] = {}
    training = load_open_training_set(structure=False)
    test = [m for m in materials if m["split"] == "test"]
    if test:
        ensemble = load_or_train_open_ensemble(training, n_jobs=n_jobs)
        doc = vote_materials([m["formula"] for m in test], ensemble)
        for m, vote in zip(test, doc.votes, strict=True):
            out[m["id"]] = {"log10": vote.log10_sigma, "low": vote.log10_sigma_low,
                            "high": vote.log10_sigma_high, "p": vote.p_superionic,
                            "how": "ensemble (test composition, never trained on)"}
    train = [m for m in materials if m["split"] == "train"]
    if train:
        y = training.extra["log10_sigma"]
        oof = grouped_oof_predictions(training, n_jobs=n_jobs)
        half = conformal_halfwidth(np.abs(oof - y))
        a, b = fit_platt(oof, training.labels)
        reduced = [Composition(f).reduced_composition for f in training.formulas]
        for m in train:
            target = Composition(m["formula"]).reduced_composition
            rows = [i for i, c in enumerate(reduced) if c.almost_equals(target, rtol=1e-3)]
            if not rows:
                continue
            value = float(np.mean(oof[rows]))
            out[m["id"]] = {"log10": value, "low": value - half, "high": value + half,
                            "p": float(platt_probability(np.array([value]), a, b)[0]),
                            "how": "composition-grouped out-of-fold"}
    return out


#: rank value given to "no diffusion" / "not superionic" without a point estimate: below
#: every estimate (they tie with each other)
NO_DIFFUSION_RANK = -30.0


def ranked_row(doc, pred: dict):
    """The material as the discovery ranking sees it: the model's columns, then the
    ranking's own ``merge_md_result`` (verdict, sigma_RT) and ``combine_evidence``."""
    from sse_flows.ranking.schemas import CandidateDoc
    from sse_flows.ranking.selection import combine_evidence, merge_md_result

    row = CandidateDoc(
        formula=doc.formula, log10_sigma_model=pred.get("log10"),
        log10_sigma_model_low=pred.get("low"), log10_sigma_model_high=pred.get("high"),
    )
    merge_md_result(row, doc, doc.engine, doc.protocol_summary)
    combine_evidence(row)
    return row


def md_outcome(doc, row) -> dict:
    """The MD's answer for one material, read from its ranked row (``ranked_row``).

    ``md_class`` is 1 when the point sigma_RT is >= 1e-4 S/cm, 0 when it is below or the
    verdict is "not superionic" / "no diffusion" (the MD saw no usable Li diffusion), None
    when undetermined (Li hops without a confident Arrhenius fit) or failed; ``md_log10`` is
    the point estimate; ``md_rank`` the value used for rank correlation (the point,
    NO_DIFFUSION_RANK for a negative verdict without one, None otherwise).
    """
    if doc.status != "ok" or doc.diffusion is None:
        return {"verdict": "failed", "md_class": None, "md_log10": None, "md_rank": None}
    if row.sigma_rt_S_cm:
        log10 = math.log10(row.sigma_rt_S_cm)
        return {"verdict": row.verdict, "md_class": int(log10 >= THRESHOLD),
                "md_log10": log10, "md_rank": log10}
    if row.verdict in ("no diffusion", "not superionic"):
        return {"verdict": row.verdict, "md_class": 0, "md_log10": None,
                "md_rank": NO_DIFFUSION_RANK}
    return {"verdict": row.verdict, "md_class": None, "md_log10": None, "md_rank": None}


def _log10_d_hottest(diffusion) -> float | None:
    """log10 D (cm2/s) at the hottest temperature whose host stayed intact: a rank proxy
    that needs no Arrhenius fit (None when no such temperature)."""
    stable = [t for t in (diffusion.temperatures if diffusion else [])
              if t.framework_stable and (t.D_cm2_s or 0) > 0]
    if not stable:
        return None
    return math.log10(max(stable, key=lambda t: t.T).D_cm2_s)


def score(materials, docs: dict[str, dict], ml: dict[str, dict]) -> dict:
    """Balanced accuracy at 1e-4 S/cm and Spearman rank correlation of MD, ML and ML + MD.

    The MD is scored on the materials it gives a class (``md_outcome``) and, strictly, on
    all of them with an undetermined or failed MD counted as wrong. The verdict and the
    combined estimate are the discovery ranking's own (``ranked_row``).
    """
    from sse_flows.md.schemas import MDRunDoc
    from sse_flows.ranking.selection import VERDICT_ORDER

    rows = []
    for m in materials:
        if m["id"] not in docs:
            continue
        doc = MDRunDoc.model_validate(docs[m["id"]])
        pred = ml.get(m["id"], {})
        row = ranked_row(doc, pred)
        outcome = md_outcome(doc, row)
        diffusion = doc.diffusion if doc.status == "ok" else None
        ml_class = None if pred.get("log10") is None else int(pred["log10"] >= THRESHOLD)
        if outcome["md_log10"] is not None or outcome["md_class"] is None:
            combined_class = (None if row.log10_sigma_combined is None
                              else int(row.log10_sigma_combined >= THRESHOLD))
        else:  # the MD saw no usable diffusion: negative, as the ranking's verdict order
            combined_class = 0
        rows.append({
            "id": m["id"], "split": m["split"], "formula": m["formula"],
            "family": m["family"], "n_atoms": m["n_atoms"], "ordering": m.get("ordering"),
            "measured_log10": m["log10_sigma"], "measured_censored": m["censored"],
            "measured_label": m["label"], "md_status": doc.status,
            "md_reason": doc.reason, **outcome,
            "md_bound_log10": math.log10(diffusion.sigma_rt_high)
            if diffusion and diffusion.sigma_rt_is_upper_bound and diffusion.sigma_rt_high
            else None,
            "md_flags": list(diffusion.flags) if diffusion else [],
            "md_log10_d_hottest": _log10_d_hottest(diffusion),
            "li_hops": {str(t.T): t.li_hops for t in (diffusion.temperatures if diffusion
                                                       else [])},
            "production_ps": {str(run.temperature): run.production_steps * run.time_step_fs
                              / 1000 for run in doc.runs if run.production_steps},
            "ml_log10": pred.get("log10"), "ml_p": pred.get("p"), "ml_how": pred.get("how"),
            "ml_class": ml_class,
            "combined_log10": row.log10_sigma_combined, "combined_source": row.combined_from,
            "combined_p": row.p_combined,
            "combined_class": combined_class,
        })
    # the discovery ranking's order: MD verdict first, then the combined estimate
    order = sorted(
        (r for r in rows if r["combined_log10"] is not None),
        key=lambda r: (VERDICT_ORDER.get(r["verdict"], VERDICT_ORDER["undetermined"]),
                       -r["combined_log10"]),
    )
    for position, r in enumerate(order):
        r["combined_rank"] = float(len(order) - position)  # larger = ranked higher
    for r in rows:
        r.setdefault("combined_rank", None)

    return {"rows": rows, **summarize(rows)}


def melts_below_md(formula: str) -> bool:
    """True for a material of :data:`MELTS_BELOW_MD`."""
    from pymatgen.core import Composition

    return Composition(formula).reduced_formula in MELTS_BELOW_MD


def metrics(subset: list[dict], cls: str, rank: str, strict: bool = False) -> dict:
    """Balanced accuracy (with the confusion counts) of ``cls`` against the measured label
    and Spearman of ``rank`` against the measured log10 sigma; ``strict``: a row without a
    class counts as the wrong class."""
    from scipy.stats import spearmanr
    from sklearn.metrics import balanced_accuracy_score

    if strict:
        usable = subset
        pred = np.array([r[cls] if r[cls] is not None else 1 - r["measured_label"]
                         for r in usable])
    else:
        usable = [r for r in subset if r[cls] is not None]
        pred = np.array([r[cls] for r in usable])
    y = np.array([r["measured_label"] for r in usable])
    out: dict = {"n": len(usable)}
    if len(usable) >= 2 and len(set(y)) == 2:
        out["balanced_accuracy"] = float(balanced_accuracy_score(y, pred))
        out.update({
            "true_positive": int(((pred == 1) & (y == 1)).sum()),
            "false_positive": int(((pred == 1) & (y == 0)).sum()),
            "false_negative": int(((pred == 0) & (y == 1)).sum()),
            "true_negative": int(((pred == 0) & (y == 0)).sum()),
        })
    ranked = [r for r in subset if r[rank] is not None]
    if len(ranked) >= 3:
        out["spearman"] = float(spearmanr([r[rank] for r in ranked],
                                          [r["measured_log10"] for r in ranked])[0])
        out["n_ranked"] = len(ranked)
    return out


def summarize(rows: list[dict]) -> dict:
    """The scores of :func:`score` from its rows (also of a stored result: ``--rescore``).
    ``solid_at_md_temperatures`` leaves out the materials of :data:`MELTS_BELOW_MD`."""
    estimates = {"md": ("md_class", "md_rank"),
                 "md_d_hottest": ("md_class", "md_log10_d_hottest"),
                 "ml": ("ml_class", "ml_log10"),
                 "combined": ("combined_class", "combined_rank")}
    for r in rows:
        r["melts_below_md"] = melts_below_md(r["formula"])
    with_md_class = [r for r in rows if r["md_class"] is not None]
    solid = [r for r in rows if not r["melts_below_md"]]
    return {
        "all_rows": {k: metrics(rows, c, r) for k, (c, r) in estimates.items()},
        "md_strict": metrics(rows, "md_class", "md_rank", strict=True),
        "rows_with_md_class": {k: metrics(with_md_class, c, r)
                               for k, (c, r) in estimates.items()},
        "solid_at_md_temperatures": {
            "left_out": [f"{r['formula']} ({r['id']})" for r in rows if r["melts_below_md"]],
            "md_strict": metrics(solid, "md_class", "md_rank", strict=True),
            **{k: metrics(solid, c, r) for k, (c, r) in estimates.items()},
        },
        "n_md_undetermined": sum(r["verdict"] == "undetermined" for r in rows),
        "n_md_failed": sum(r["verdict"] == "failed" for r in rows),
    }


def markdown(result: dict) -> str:
    """The docs/md.md tables of a result: one row per material, then the scores."""
    def f(value, digits=1):
        return "–" if value is None else f"{value:.{digits}f}"

    lines = ["| material | split | measured log10 sigma | MD verdict | MD log10 sigma | Li hops "
             "(T: hops) | ML log10 sigma | ML + MD log10 sigma |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(result["rows"], key=lambda r: -r["measured_log10"]):
        lengths = r.get("production_ps", {}) if result.get("extended") else {}
        hops = ", ".join(f"{float(t):g} K: {n}" + (
            f" ({lengths[t]:g} ps)" if t in lengths else "") for t, n in r["li_hops"].items())
        measured = ("<" if r["measured_censored"] else "") + f(r["measured_log10"])
        lines.append(f"| {r['formula']} ({r['id']}) | {r['split']} | {measured} | "
                     f"{r['verdict']} | {f(r['md_log10'])} | {hops} | {f(r['ml_log10'])} | "
                     f"{f(r['combined_log10'])} |")
    lines += ["", "| estimate | materials with a class | balanced accuracy at 1e-4 S/cm | "
              "TP / FP / FN / TN | Spearman (materials ranked) |", "|---|---|---|---|---|"]
    names = {"md": "MD", "md_d_hottest": "MD, ranked by D at the hottest intact T",
             "ml": "ML (open recipe, held out)", "combined": "ML + MD (ranking)"}
    for key, name in names.items():
        m = result["all_rows"][key]
        counts = "/".join(str(m.get(k, "–")) for k in
                          ("true_positive", "false_positive", "false_negative", "true_negative"))
        lines.append(f"| {name} | {m['n']} | {f(m.get('balanced_accuracy'), 2)} | {counts} | "
                     f"{f(m.get('spearman'), 2)} ({m.get('n_ranked', 0)}) |")
    strict = result["md_strict"]
    lines.append(f"| MD, undetermined counted wrong | {strict['n']} | "
                 f"{f(strict.get('balanced_accuracy'), 2)} | – | – |")
    solid = result.get("solid_at_md_temperatures")
    if solid and solid["left_out"]:
        for key, name in (("md_strict", "MD, undetermined counted wrong"), ("ml", "ML"),
                          ("combined", "ML + MD")):
            m = solid[key]
            lines.append(f"| {name}, without {', '.join(solid['left_out'])} (melts below "
                         f"600 K) | {m['n']} | {f(m.get('balanced_accuracy'), 2)} | – | – |")
    return "\n".join(lines)


def result_paths() -> list[Path]:
    """The stored results of this benchmark, the shorter runs before their extensions."""
    return sorted(RESULTS.glob(f"{NAME}_*.json"), key=lambda p: (len(p.stem), p.stem))


def _section_title(result: dict) -> str:
    kind = ("disordered CIFs, ordered" if "disordered" in result["selection"]
            else "ordered CIFs")
    title = f"{result['engine']}, {kind}"
    if result.get("extended"):
        steps = result["extended"]["max_production_steps"]
        title += (f", undetermined runs extended to {steps} steps "
                  f"({steps * 2 / 1000:g} ps)")
    return title


def _figure(path: Path, result: dict) -> str | None:
    name = result.get("figure") or f"{path.stem.replace('_' + result['engine'], '')}.png"
    return name if (ROOT / "docs" / "img" / name).is_file() else None


def softness_section(softness: dict, measured: dict[str, float]) -> str:
    """The engines side by side at 1000 K (``engine_softness_1000K.json``)."""
    fmt = br.fmt
    by_id: dict[str, dict[str, dict]] = {}
    for row in softness["rows"]:
        by_id.setdefault(row["id"], {})[row["engine"]] = row
    engines = sorted({row["engine"] for row in softness["rows"]})
    rows = []
    for mid, pair in sorted(by_id.items(), key=lambda kv: -measured.get(kv[0], -99)):
        first = next(iter(pair.values()))
        cells = [f"{first['formula']} ({mid})", fmt(measured.get(mid), ".1f")]
        for key, spec in (("li_hops", "d"), ("D_cm2_s", ".1e"), ("steps_per_s", ".1f")):
            cells.append(" / ".join(fmt(pair.get(e, {}).get(key), spec) for e in engines))
        cells.append(" / ".join(", ".join(f"{el} {v:.2f}" for el, v in sorted(
            pair.get(e, {}).get("host_msd_end_A2", {}).items())) or "-" for e in engines))
        rows.append(cells)
    names = " / ".join(engines)
    return "\n".join([
        f"## {names} at 1000 K", "",
        f"- date: {softness['date']}; machine: {softness['device']}",
        f"- protocol: {softness['benchmark']}",
        "- commands: " + "; ".join(f"`{c}`" for c in softness["commands"]), "",
        "One temperature gives no Arrhenius fit: this compares the engines, it does not "
        "classify.", "",
        *br.table(["material (OBELiX id)", "measured log10 sigma",
                   f"Li hops {names}", f"D (cm2/s) {names}", f"steps/s {names}",
                   f"host MSD at the end (A2) {names}"], rows),
    ])


def record(results: dict[Path, dict], softness: dict | None = None) -> str:
    """The Markdown record: one section per stored result, then the engine comparison."""
    sources = [*results, *([SOFTNESS] if softness else [])]
    dates = sorted({r["date"] for r in results.values()})
    parts = [
        br.header(NAME, "MD against experiment (OBELiX)", sources, {"dates": ", ".join(dates)}),
        "Scoring: the MD's class is its point sigma_RT against 1e-4 S/cm; \"no diffusion\" "
        "and \"not superionic\" count as below; \"undetermined\" has no MD class (the "
        "strict row counts it, and a failed MD, as wrong). ML: the open recipe, held out "
        "(test split: trained without it; train split: grouped out-of-fold). ML + MD: the "
        "discovery ranking's rule. Measured upper bounds count as below 1e-4 S/cm.",
    ]
    measured: dict[str, float] = {}
    for path, result in results.items():
        for row in result["rows"]:
            measured.setdefault(row["id"], row["measured_log10"])
        figure = _figure(path, result)
        parts += [
            "", f"## {_section_title(result)}", "",
            f"- source: `{path.relative_to(ROOT)}`",
            f"- date: {result['date']}; machine: "
            f"{br.machine_text(result.get('machine', result['device']))}",
            f"- protocol: {result['protocol']}",
            f"- selection: {result['selection']} ({result['n_md_done']} of "
            f"{result['n_selected']} with an MD document)",
        ]
        if result.get("ml_recipe"):
            parts.append(f"- ML columns: {result['ml_recipe']}")
        if result.get("extended"):
            parts.append("- extended from the checkpoints of the 2-ps runs: "
                         + ", ".join(result["extended"]["materials"])
                         + " (the others keep their 2-ps documents)")
        parts += ["", markdown(result)]
        if figure:
            parts += ["", f"![{_section_title(result)}](../img/{figure})"]
    if softness:
        parts += ["", softness_section(softness, measured)]
    return "\n".join(parts)


def write_record(path: Path | None = None) -> Path:
    """Rewrite the record from every stored result."""
    results = {p: json.loads(p.read_text()) for p in result_paths()}
    softness = json.loads(SOFTNESS.read_text()) if SOFTNESS.is_file() else None
    return br.write_record(NAME, record(results, softness), path)


def plot(rows, path: Path, title: str = "OBELiX ordered CIFs") -> None:
    """Measured vs MD and ML log10 sigma_RT (MD bounds as down-triangles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    for r in rows:
        x = r["measured_log10"]
        if r["md_log10"] is not None:
            ax.plot(x, r["md_log10"], "o", color="C3", ms=6, label="MD")
        elif r["md_class"] == 0:
            ax.plot(x, -18, "v", color="C3", ms=6, label="MD: no diffusion")
        elif r["verdict"] == "undetermined":
            ax.plot(x, -18, "^", color="C1", ms=6, label="MD: hops, no Arrhenius fit")
        if r["ml_log10"] is not None:
            ax.plot(x, r["ml_log10"], "s", color="C0", ms=5, mfc="none", label="ML (open)")
        if r["combined_log10"] is not None:
            ax.plot(x, r["combined_log10"], "x", color="k", ms=5, label="ML + MD")
        y_text = r["md_log10"] if r["md_log10"] is not None else r["ml_log10"]
        ax.annotate(r["formula"], (x, y_text if y_text is not None else -18), fontsize=6,
                    alpha=0.7)
    lo, hi = -19, 0
    ax.plot([lo, hi], [lo, hi], color="0.7", lw=0.8)
    ax.set_ylim(lo, 2)
    ax.axhline(THRESHOLD, color="0.6", ls="--", lw=0.8)
    ax.axvline(THRESHOLD, color="0.6", ls="--", lw=0.8)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left")
    ax.set_xlabel("measured log10 sigma_RT (S/cm)")
    ax.set_ylabel("predicted log10 sigma_RT (S/cm)")
    ax.set_title(f"{title}: MD and ML vs experiment", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "data" / "raw")
    parser.add_argument("--engine", default="chgnet", choices=["chgnet", "sevennet"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--protocol", default="cpu",
                        choices=["cpu", "paper-reduced", "hot", "smoke"])
    parser.add_argument("--min-lattice-length", type=float, default=8.0)
    parser.add_argument("--max-atoms", type=int, default=144)
    parser.add_argument("--all", action="store_true", help="every ordered OBELiX CIF")
    parser.add_argument("--disordered", action="store_true",
                        help="the disordered CIFs instead, ordered by sse_flows.md.ordering")
    parser.add_argument("--max-materials", type=int, default=None,
                        help="take at most this many, stratified over the measured range")
    parser.add_argument("--ids", default=None,
                        help="comma-separated OBELiX ids: only these (of the selection)")
    parser.add_argument("--group", type=int, default=4, help="materials per batched run")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--max-production-steps", type=int,
                        default=CPU_MAX_PRODUCTION_STEPS,
                        help="production limit per temperature of the cpu protocol "
                        f"[{CPU_MAX_PRODUCTION_STEPS}]; above it, runs continue from "
                        "their checkpoints and the documents are kept apart (_max<N>)")
    parser.add_argument("--extend-undetermined", action="store_true",
                        help="with a raised --max-production-steps: run on only the "
                        "materials whose MD at the default limit is undetermined; the "
                        "others keep their documents and verdicts")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--rescore", type=Path, default=None,
                        help="recompute the scores of a stored result JSON from its rows "
                             "(no MD documents, no model) and write it back")
    parser.add_argument("--md-only", action="store_true",
                        help="run the MD and stop (no model, no scoring: a GPU machine "
                             "without the model's packages); --report-only scores later")
    parser.add_argument("--deadline-s", type=float, default=None,
                        help="start no new group of materials after this many seconds")
    parser.add_argument("--markdown", action="store_true", help="print the docs tables")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks/work/md_vs_experiment")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None,
                        help="[docs/img/md_vs_experiment(_disordered).png]")
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if args.record_only:
        print(f"wrote {write_record(args.record)}")
        return

    warnings.simplefilter("ignore")
    if args.rescore:
        from sse_flows.data.writers import write_text_atomic

        result = json.loads(args.rescore.read_text())
        result.update(summarize(result["rows"]))
        write_text_atomic(args.rescore, json.dumps(result, indent=2))
        if args.markdown:
            print(markdown(result))
        print(f"rescored {args.rescore}")
        return
    cap = args.max_production_steps
    if cap != CPU_MAX_PRODUCTION_STEPS and args.protocol != "cpu":
        parser.error("--max-production-steps applies to the cpu protocol")
    if args.extend_undetermined and cap <= CPU_MAX_PRODUCTION_STEPS:
        parser.error("--extend-undetermined needs --max-production-steps above "
                     f"{CPU_MAX_PRODUCTION_STEPS}")
    protocol = study_protocol(args.protocol, args.min_lattice_length, cap)
    suffix = "" if cap == CPU_MAX_PRODUCTION_STEPS else f"_max{cap}"
    materials = select_materials(args.raw, args.max_atoms, args.min_lattice_length, args.all,
                                 args.disordered)
    if args.ids:
        wanted = args.ids.split(",")
        materials = [m for m in materials if m["id"] in wanted]
        if missing := set(wanted) - {m["id"] for m in materials}:
            parser.error(f"not among the selected CIFs: {sorted(missing)}")
    if args.max_materials is not None:
        materials = stratified(materials, args.max_materials)
    print(f"{len(materials)} materials: " + ", ".join(
        f"{m['cif_formula']} ({m['log10_sigma']:.1f}, {m['n_atoms']} atoms)" for m in materials))
    kind = "_disordered" if args.disordered else ""
    out_dir = args.work / f"{args.engine}_{args.protocol}{kind}"
    base = {}  # the documents at the default limit, which --extend-undetermined keeps
    to_run = materials
    if args.extend_undetermined:
        base = {m["id"]: json.loads(doc_path(out_dir, m["id"]).read_text())["doc"]
                for m in materials if doc_path(out_dir, m["id"]).is_file()}
        to_run = sorted((m for m in materials if m["id"] in base and undetermined(base[m["id"]])),
                        key=lambda m: -m["log10_sigma"])  # fast conductors first
        print(f"extending {len(to_run)} undetermined at {CPU_MAX_PRODUCTION_STEPS} steps to "
              f"{cap}: " + ", ".join(f"{m['id']} {m['cif_formula']}" for m in to_run))
    if not args.report_only:
        run_md(to_run, protocol, args.engine, args.device, args.group, out_dir, suffix,
               args.deadline_s)
    if args.md_only:
        print(f"MD only: documents in {out_dir}")
        return
    docs = {}
    for m in materials:
        path = doc_path(out_dir, m["id"], suffix)
        if path.is_file():
            docs[m["id"]] = json.loads(path.read_text())["doc"]
        elif m["id"] in base:
            docs[m["id"]] = base[m["id"]]  # decided at the default limit: kept
    ml = ml_predictions(materials, args.raw, args.n_jobs)
    result = score(materials, docs, ml)
    result.update({
        "benchmark": "md_vs_experiment", "engine": args.engine, "device": args.device,
        "protocol": protocol.describe(args.engine), "protocol_name": args.protocol,
        "selection": ("all" if args.all else
                      f"test CIFs + train CIFs >= 1e-5 S/cm, <= {args.max_atoms} atoms")
        + (", disordered CIFs ordered by sse_flows.md.ordering" if args.disordered
           else ", ordered CIFs")
        + (f", {args.max_materials} stratified over the measured range"
           if args.max_materials is not None else ""),
        "n_selected": len(materials), "n_md_done": len(docs),
        "extended": {"max_production_steps": cap,
                     "materials": [m["id"] for m in to_run]} if suffix else None,
        "date": time.strftime("%Y-%m-%d"), "machine": br.machine(),
    })
    out = args.out or ROOT / (
        f"benchmarks/results/md_vs_experiment_{args.engine}{kind}{suffix}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    plot_path = args.plot or ROOT / f"docs/img/md_vs_experiment{kind}{suffix}.png"
    result["figure"] = plot_path.name
    out.write_text(json.dumps(result, indent=2))
    plot(result["rows"], plot_path,
         "OBELiX disordered CIFs, ordered" if args.disordered else "OBELiX ordered CIFs")
    for key, label in (("md", "MD"), ("ml", "ML"), ("combined", "ML + MD")):
        m = result["all_rows"][key]
        print(f"{label:8s} n={m['n']:3d}  balanced acc {m.get('balanced_accuracy')}  "
              f"Spearman {m.get('spearman')} (n={m.get('n_ranked')})")
    strict = result["md_strict"]
    print(f"MD strict (undetermined/failed = wrong): n={strict['n']} balanced acc "
          f"{strict.get('balanced_accuracy')}; undetermined {result['n_md_undetermined']}, "
          f"failed {result['n_md_failed']}")
    if args.markdown:
        print(markdown(result))
    print(f"wrote {out} and {plot_path}")
    if out.parent.resolve() == RESULTS.resolve():
        print(f"wrote {write_record(args.record)}")


if __name__ == "__main__":
    main()
