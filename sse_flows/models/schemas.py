"""Output documents of the models stage (stored in the JobStore by the jobs)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from sse_flows.provenance import Provenance
from sse_flows.types import DocumentProvenance, InDomain, MaterialId, SuperionicProbability


class AlgorithmMetrics(BaseModel):
    """Summary of one algorithm over the random and the grouped splits."""

    key: str = Field(..., description="Short key of the algorithm (e.g. 'gb').")
    name: str = Field(..., description="Human-readable name of the algorithm.")
    n_splits: int = Field(..., description="Number of random stratified 80/20 splits.")
    acc_mean: float = Field(..., description="Mean test accuracy over the random splits.")
    acc_std: float = Field(..., description="Standard deviation (ddof=0) of that accuracy.")
    acc_max: float = Field(..., description="Highest test accuracy of a random split.")
    acc_min: float = Field(..., description="Lowest test accuracy of a random split.")
    f1_mean: float = Field(..., description="Mean F1 score (superionic = positive class).")
    auc_mean: float = Field(..., description="Mean ROC-AUC over the random splits.")
    grouped_acc_mean: float | None = Field(
        None,
        description="Mean test accuracy over the composition-cluster grouped splits "
        "(stratified group 5-fold, repeated); None when grouped splits were not run.",
    )
    grouped_acc_std: float | None = Field(
        None, description="Standard deviation of the composition-cluster accuracy."
    )
    grouped_f1_mean: float | None = Field(
        None, description="Mean F1 over the composition-cluster grouped splits."
    )
    grouped_auc_mean: float | None = Field(
        None, description="Mean ROC-AUC over the composition-cluster grouped splits."
    )
    lofo_acc: float | None = Field(
        None,
        description="Leave-one-family-out accuracy pooled over all rows (each row predicted "
        "once by the model that never saw its structure family).",
    )
    lofo_family_acc: dict[str, float] = Field(
        default_factory=dict, description="Leave-one-family-out accuracy per held-out family."
    )
    chosen_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Hyperparameters the nested search chose most often over the random splits.",
    )
    chosen_params_frequency: float = Field(
        0.0, description="Fraction of the random splits whose search chose chosen_params."
    )
    fixed_params: dict[str, Any] = Field(
        default_factory=dict, description="Hyperparameters fixed outside the search."
    )
    search_space: dict[str, list[Any]] = Field(
        default_factory=dict, description="Grid searched inside every outer split."
    )
    importance_kind: str | None = Field(
        None, description="Kind of feature importance averaged (impurity, split_count, ...)."
    )
    seconds: float = Field(..., description="Total fit + search time over all splits (s).")


class SplitMetrics(BaseModel):
    """Scores of one algorithm on one outer split."""

    algorithm: str = Field(..., description="Short key of the algorithm.")
    scheme: str = Field(..., description="'random', 'cluster' or 'family'.")
    split: str = Field(..., description="Name of the split (seed, fold or held-out family).")
    seed: int = Field(..., description="Random state of the split and its models.")
    n_train: int = Field(..., description="Rows used for the search and the final fit.")
    n_test: int = Field(..., description="Rows scored.")
    accuracy: float = Field(..., description="Test accuracy.")
    f1: float = Field(..., description="Test F1 score of the superionic class.")
    auc: float | None = Field(None, description="Test ROC-AUC; None if one class only.")
    confusion: list[list[int]] = Field(
        ..., description="Confusion matrix [[TN, FP], [FN, TP]] on the test rows."
    )
    best_params: dict[str, Any] = Field(..., description="Hyperparameters the search chose.")


class ModelEvaluationDoc(BaseModel):
    """Nine-algorithm evaluation: metrics table, importances, confusion matrices."""

    algorithms: list[str] = Field(..., description="Keys of the evaluated algorithms, in order.")
    metrics: dict[str, AlgorithmMetrics] = Field(..., description="Summary per algorithm key.")
    n_samples: int = Field(..., description="Rows of the training table.")
    n_superionic: int = Field(..., description="Rows with sigma >= 1e-4 S/cm.")
    majority_rate: float = Field(..., description="Accuracy of always predicting the majority.")
    feature_names: list[str] = Field(..., description="Feature columns, in model input order.")
    importances: dict[str, list[float]] = Field(
        default_factory=dict,
        description="Per algorithm: feature importance averaged over the random-split models.",
    )
    importances_std: dict[str, list[float]] = Field(
        default_factory=dict, description="Standard deviation of those importances."
    )
    confusion_matrices: dict[str, dict[str, list[list[int]]]] = Field(
        default_factory=dict,
        description="Per algorithm and scheme: confusion matrix summed over the splits, "
        "[[TN, FP], [FN, TP]].",
    )
    accuracies: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict,
        description="Per algorithm and scheme: the test accuracy of every split (distributions).",
    )
    protocol: dict[str, Any] = Field(
        default_factory=dict,
        description="Split protocol: n_splits, test_size, grouped settings, inner folds.",
    )
    per_split: list[SplitMetrics] = Field(
        default_factory=list, description="Scores and chosen hyperparameters of every split."
    )
    seconds: float = Field(..., description="Wall-clock time of the whole evaluation (s).")
    provenance: DocumentProvenance

    def metrics_table(self) -> pd.DataFrame:
        """One row per algorithm with the main numbers (random and grouped)."""
        columns = [
            "name", "acc_mean", "acc_std", "acc_max", "acc_min", "f1_mean", "auc_mean",
            "grouped_acc_mean", "grouped_acc_std", "lofo_acc", "seconds",
        ]  # fmt: skip
        rows = {key: m.model_dump() for key, m in self.metrics.items()}
        return pd.DataFrame.from_dict(rows, orient="index")[columns]

    def cli_summary(self) -> dict[str, Any]:
        """The ``sse-flows train --json`` object."""
        keys = [
            "acc_mean", "acc_std", "acc_max", "acc_min", "f1_mean", "auc_mean",
            "grouped_acc_mean", "lofo_acc",
        ]  # fmt: skip
        return {
            "algorithms": {key: {k: getattr(m, k) for k in keys} for key, m in self.metrics.items()}
        }


class EnsembleSpec(BaseModel):
    """Everything needed to retrain the voting ensemble bit for bit."""

    algorithms: list[str] = Field(..., description="Keys of the voting algorithms.")
    params: dict[str, dict[str, Any]] = Field(
        ..., description="Hyperparameters (search choice + fixed) per algorithm."
    )
    seeds: list[int] = Field(..., description="Split seeds; model i is trained on split i.")
    test_size: float = Field(..., description="Fraction held out of every split.")
    training_hash: str = Field(..., description="Hash of the training formulas and labels.")
    training_source: str = Field(..., description="Training table used.")
    n_training: int = Field(..., description="Rows of the training table.")
    feature_names: list[str] = Field(..., description="Feature columns the models expect.")
    model_path: str | None = Field(
        None, description="joblib file holding the fitted models, when persisted."
    )
    cache_problem: str | None = Field(
        None,
        description="Why the fitted models could not be written to the model cache "
        "($SSE_FLOWS_HOME/models), naming the folder; they were used uncached. None when "
        "cached, loaded from the cache or run with caching off.",
    )
    param_selection: str = Field(
        ..., description="How params were chosen (e.g. grouped-CV search on the full table)."
    )
    recipe: str = Field(
        "paper",
        description="'paper' (Kang + Xu rows, GB + LightGBM classifiers, the reproduction) or "
        "'open' (all open data, log10 sigma regressors with interval).",
    )
    target: str = Field(
        "label sigma >= 1e-4 S/cm (classifiers)", description="What the members predict."
    )
    interval_level: float | None = Field(
        None, description="Coverage of the log10 sigma interval (open recipe), e.g. 0.9."
    )
    interval_halfwidth: float | None = Field(
        None,
        description="Half-width (log10 units) of the conformal interval, from composition-"
        "grouped CV residuals (open recipe).",
    )
    calibration: dict[str, Any] = Field(
        default_factory=dict,
        description="Probability calibration (Platt a, b) and grouped-CV scores (open recipe).",
    )
    fraction_elements: list[str] = Field(
        default_factory=list,
        description="Elements with an atomic-fraction feature frac_<El> (open recipe).",
    )
    domain_threshold: float | None = Field(
        None,
        description="Nearest-neighbour distance cut-off of the applicability domain "
        "(99th percentile of the training rows' own).",
    )


class MaterialVote(BaseModel):
    """Votes of the ensemble for one material."""

    formula: str = Field(..., description="Formula as given.")
    material_id: MaterialId = None
    votes: dict[str, int] = Field(
        default_factory=dict, description="Per algorithm: models voting superionic (0-n)."
    )
    p_superionic: SuperionicProbability = None
    candidate: bool = Field(
        False, description="Passes the vote rule (unanimous by default) and is in domain."
    )
    error: str | None = Field(None, description="Why the formula could not be featurized.")
    log10_sigma: float | None = Field(
        None, description="Predicted log10 sigma_RT (S/cm); open recipe only."
    )
    log10_sigma_low: float | None = Field(
        None, description="Lower end of the predictive interval of log10 sigma_RT."
    )
    log10_sigma_high: float | None = Field(
        None, description="Upper end of the predictive interval of log10 sigma_RT."
    )
    in_domain: InDomain = None
    reason: str = Field("", description="Why the material is out of domain ('' when in).")


class VoteDoc(BaseModel):
    """Ensemble votes for a pool of materials and the resulting candidates."""

    n_materials: int = Field(..., description="Materials given to the vote.")
    n_errors: int = Field(..., description="Materials that could not be featurized.")
    n_candidates: int = Field(..., description="Materials passing the vote rule.")
    min_votes: dict[str, int] = Field(
        ..., description="Rule: a candidate has at least this many votes from each algorithm."
    )
    n_votes_by_rule: dict[str, int] = Field(
        default_factory=dict,
        description="Materials passing the rule of each single algorithm (paper: GB 72, LGBM 118).",
    )
    candidates: list[MaterialVote] = Field(
        default_factory=list, description="The candidate materials (small list)."
    )
    votes: list[MaterialVote] = Field(
        default_factory=list, description="Votes for every material, in input order (data store)."
    )
    ensemble: EnsembleSpec = Field(..., description="How the ensemble was built.")
    seconds: float = Field(..., description="Wall-clock time of training + voting (s).")
    provenance: Provenance = Field(..., description="Parameters, inputs and versions.")

    def votes_frame(self) -> pd.DataFrame:
        """The votes as a table (formula, material_id, votes_<alg>, p_superionic, ...)."""
        rows = []
        for vote in self.votes:
            row = {"formula": vote.formula, "material_id": vote.material_id}
            row.update({f"votes_{alg}": n for alg, n in vote.votes.items()})
            row.update(p_superionic=vote.p_superionic, candidate=vote.candidate, error=vote.error)
            row.update(
                log10_sigma=vote.log10_sigma,
                log10_sigma_low=vote.log10_sigma_low,
                log10_sigma_high=vote.log10_sigma_high,
                in_domain=vote.in_domain,
                reason=vote.reason,
            )
            rows.append(row)
        return pd.DataFrame(rows)
