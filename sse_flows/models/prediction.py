"""Votes of the ensemble for a pool of materials (shared by ``vote_job`` and ``predict``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sse_flows.models.ensemble import VoteEnsemble, select_candidates
from sse_flows.models.schemas import MaterialVote, VoteDoc
from sse_flows.models.training import featurize_rows
from sse_flows.provenance import Provenance


def _as_materials(materials: Sequence[str | dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in materials:
        if hasattr(item, "model_dump"):  # a pydantic record, as jobflow hands it back
            item = item.model_dump()
        if isinstance(item, dict):
            if "formula" not in item:
                raise ValueError(f"material without a 'formula' key: {item!r}")
            rows.append({"formula": item["formula"], "material_id": item.get("material_id")})
        else:
            rows.append({"formula": item, "material_id": None})
    return rows


def resolve_min_votes(
    ensemble: VoteEnsemble, min_votes: int | dict[str, int] | None
) -> dict[str, int]:
    """The vote rule per algorithm; ``None`` means unanimous (all models)."""
    n_models = ensemble.n_models
    if min_votes is None:
        return dict(n_models)
    if isinstance(min_votes, dict):
        return {alg: int(min_votes.get(alg, n_models[alg])) for alg in n_models}
    return dict.fromkeys(n_models, int(min_votes))


def vote_materials(
    materials: Sequence[str | dict[str, Any]],
    ensemble: VoteEnsemble,
    min_votes: int | dict[str, int] | None = None,
    seconds_so_far: float = 0.0,
) -> VoteDoc:
    """Votes, mean probability and candidate flag for every material, in input order.

    Parameters
    ----------
    materials
        Formulas, or dicts with ``formula`` (and optionally ``material_id``), e.g. the
        screening survivors.
    ensemble
        A trained :class:`~sse_flows.models.ensemble.VoteEnsemble`.
    min_votes
        Rule: candidate when every algorithm gives at least this many votes (an int for
        all algorithms or a dict per algorithm); ``None`` = unanimous (the paper).
    seconds_so_far
        Time already spent (training) to include in the document's ``seconds``.

    Notes
    -----
    A material outside the ensemble's applicability domain
    (:mod:`sse_flows.models.domain`) gets ``in_domain=False`` and the rule in ``reason``
    and is never a candidate, whatever ``min_votes``. The open recipe's ensemble also
    gives ``log10_sigma`` with its interval.
    """
    start = time.perf_counter()
    rows = _as_materials(materials)
    formulas = [str(r["formula"]) if r["formula"] is not None else "" for r in rows]
    features, positions, errors = featurize_rows(formulas)
    rule = resolve_min_votes(ensemble, min_votes)
    regression: dict[str, np.ndarray] = {}
    in_domain, reasons = np.ones(len(positions), dtype=bool), [""] * len(positions)
    if len(features):
        if ensemble.spec.fraction_elements:
            from sse_flows.models.open_recipe import add_fraction_features

            valid = [formulas[p] for p in positions]
            features = add_fraction_features(features, valid, ensemble.spec.fraction_elements)
        missing = set(ensemble.spec.feature_names) - set(features.columns)
        if missing:
            raise ValueError(f"features missing for the ensemble: {sorted(missing)[:5]}")
        X = features[ensemble.spec.feature_names].to_numpy(dtype=float)
        if hasattr(ensemble, "predict"):  # the open recipe's regressors
            out = ensemble.predict(X)
            votes, probability = out["votes"], out["p_superionic"]
            regression = {k: out[k] for k in ("log10_sigma", "log10_sigma_low", "log10_sigma_high")}
        else:
            votes, probability = ensemble.vote(X)
        domain = getattr(ensemble, "domain", None)
        if domain is not None:
            in_domain, reasons = domain.check([formulas[p] for p in positions], X)
        passing = select_candidates(votes, rule)
        passing_alone = {
            alg: int((votes[alg] >= rule[alg]).sum()) for alg in ensemble.spec.algorithms
        }
        passing = passing & in_domain
    else:
        votes, probability, passing = {}, np.zeros(0), np.zeros(0, dtype=bool)
        passing_alone = dict.fromkeys(ensemble.spec.algorithms, 0)
    results: list[MaterialVote] = []
    row_of_position = {pos: i for i, pos in enumerate(positions)}
    for position, row in enumerate(rows):
        if position in errors:
            results.append(
                MaterialVote(
                    formula=formulas[position],
                    material_id=row["material_id"],
                    error=errors[position],
                    in_domain=False,
                    reason="formula cannot be featurized",
                )
            )
            continue
        i = row_of_position[position]
        results.append(
            MaterialVote(
                formula=formulas[position],
                material_id=row["material_id"],
                votes={alg: int(votes[alg][i]) for alg in ensemble.spec.algorithms},
                p_superionic=float(probability[i]),
                candidate=bool(passing[i]),
                in_domain=bool(in_domain[i]) if getattr(ensemble, "domain", None) else None,
                reason=reasons[i],
                **{k: float(v[i]) for k, v in regression.items()},
            )
        )
    candidates = [v for v in results if v.candidate]
    parameters = {"min_votes": rule, "algorithms": ensemble.spec.algorithms,
                  "n_splits": len(ensemble.spec.seeds)}  # fmt: skip
    return VoteDoc(
        n_materials=len(rows),
        n_errors=len(errors),
        n_candidates=len(candidates),
        min_votes=rule,
        n_votes_by_rule=passing_alone,
        candidates=candidates,
        votes=results,
        ensemble=ensemble.spec,
        seconds=seconds_so_far + time.perf_counter() - start,
        provenance=Provenance.make(
            parameters=parameters,
            data_version=f"training table {ensemble.spec.training_hash}",
            inputs={"n_materials": len(rows), "training": ensemble.spec.training_source},
        ),
    )


#: Columns ``predict`` writes after the historical six (empty where a recipe has none).
NEW_COLUMNS = ("log10_sigma", "log10_sigma_low", "log10_sigma_high", "in_domain", "reason")


def default_members(recipe: str) -> int:
    """Models per algorithm when the user does not say: 100 (the paper), or the open
    recipe's ensemble size."""
    from sse_flows.models.open_recipe import N_MEMBERS

    return N_MEMBERS if recipe == "open" else 100


def vote_pool(
    materials: Sequence[str | dict[str, Any]],
    recipe: str = "open",
    training: Any = None,
    n_splits: int | None = None,
    min_votes: int | dict[str, int] | None = None,
    n_jobs: int = 2,
    cache: bool = True,
    progress: bool = False,
) -> VoteDoc:
    """Train (or load) the recipe's ensemble and vote on ``materials``: the action behind
    ``sse-flows predict`` and the discovery flow's vote job.

    Parameters
    ----------
    materials
        Formulas, or dicts with ``formula`` and ``material_id``.
    recipe
        ``"paper"`` (GB + LightGBM classifiers on Kang + Xu) or ``"open"`` (the open
        recipe's log10 sigma regressors with intervals).
    training
        User training CSV path, a loaded ``TrainingSet``, or ``None`` for the packaged
        table of the recipe.
    n_splits
        Models per algorithm (default: :func:`default_members`).
    min_votes
        Candidate rule (votes needed from each algorithm); ``None`` = unanimous.
    n_jobs, cache, progress
        joblib workers, reuse of the stored ensemble, a progress bar while training.

    Raises
    ------
    ValueError
        A class of the training table is too small, or ``min_votes`` exceeds the models
        per algorithm (checked before any training).
    """
    from sse_flows.models.ensemble import load_or_train_ensemble
    from sse_flows.models.evaluation import check_class_counts
    from sse_flows.models.open_recipe import load_open_training_set, load_or_train_open_ensemble
    from sse_flows.models.training import TrainingSet, load_training_set

    start = time.perf_counter()
    n_splits = default_members(recipe) if n_splits is None else int(n_splits)
    votes_needed = min_votes.values() if isinstance(min_votes, dict) else [min_votes]
    if any(v is not None and v > n_splits for v in votes_needed):
        raise ValueError(
            f"min_votes {min_votes} exceeds the {n_splits} models per algorithm; lower it"
        )
    if isinstance(training, TrainingSet):
        training_set = training
    else:
        loader = load_open_training_set if recipe == "open" else load_training_set
        training_set = loader(training)
    check_class_counts(training_set.labels)
    if recipe == "open":
        ensemble = load_or_train_open_ensemble(
            training_set, n_members=n_splits, n_jobs=n_jobs, cache=cache
        )
    else:
        ensemble = load_or_train_ensemble(
            training_set, n_splits=n_splits, n_jobs=n_jobs, cache=cache, progress=progress
        )
    return vote_materials(
        materials, ensemble, min_votes=min_votes, seconds_so_far=time.perf_counter() - start
    )


def duplicate_rows(formulas: Sequence[Any]) -> dict[int, int]:
    """Rows whose formula is the composition of an earlier row: ``{row: first row}``.

    Two formulas are the same composition when their atomic fractions agree
    (:func:`sse_flows.data.formulas.composition_key`: ``Li3PS4``, ``Li6P2S8`` and
    ``Li3 P S4`` are one); a formula that cannot be parsed is compared as written. Rows
    count from 0, in input order.
    """
    from sse_flows.data.formulas import FormulaError, composition_key, parse_formula

    first: dict[str, int] = {}
    duplicates: dict[int, int] = {}
    for row, formula in enumerate(formulas):
        try:
            key = composition_key(parse_formula(formula))
        except (FormulaError, TypeError, ValueError):
            key = f"unparsed:{str(formula).strip()}"
        if key in first:
            duplicates[row] = first[key]
        else:
            first[key] = row
    return duplicates


def duplicates_notice(formulas: Sequence[Any], duplicates: dict[int, int], shown: int = 3) -> str:
    """One line saying how many rows repeat an earlier composition, and which (1-based)."""
    groups: dict[int, list[int]] = {}
    for row, first in duplicates.items():
        groups.setdefault(first, []).append(row)
    examples = [
        f"{formulas[first]!r} (row {first + 1}) again in row(s) "
        + ", ".join(str(row + 1) for row in rows)
        for first, rows in list(groups.items())[:shown]
    ]
    more = f"; {len(groups) - shown} more" if len(groups) > shown else ""
    return (
        f"{len(duplicates)} row(s) repeat the composition of an earlier row: "
        f"{'; '.join(examples)}{more}. They are kept (one output row per input row, with "
        "the same prediction); remove them from the input to predict each composition once."
    )


def predictions_frame(doc: VoteDoc) -> pd.DataFrame:
    """The ``sse-flows predict`` table.

    Columns: ``formula, p_superionic, votes_<alg>..., candidate, error`` (the historical
    contract), then ``log10_sigma, log10_sigma_low, log10_sigma_high`` (open recipe; empty
    for the paper's classifiers), ``in_domain`` and ``reason``.
    """
    algs = doc.ensemble.algorithms
    data: dict[str, list[Any]] = {"formula": [], "p_superionic": []}
    for alg in algs:
        data[f"votes_{alg}"] = []
    data["candidate"] = []
    data["error"] = []
    for column in NEW_COLUMNS:
        data[column] = []
    for vote in doc.votes:
        data["formula"].append(vote.formula)
        data["p_superionic"].append(vote.p_superionic)
        for alg in algs:
            data[f"votes_{alg}"].append(vote.votes.get(alg))
        data["candidate"].append(vote.candidate)
        data["error"].append(vote.error or "")
        for column in NEW_COLUMNS:
            value = getattr(vote, column)
            data[column].append("" if value is None and column == "reason" else value)
    frame = pd.DataFrame(data)
    frame["in_domain"] = frame["in_domain"].astype("boolean")
    for alg in algs:
        frame[f"votes_{alg}"] = frame[f"votes_{alg}"].astype("Int64")
    return frame
