"""jobflow jobs of the models stage: the nine-algorithm evaluation and the ensemble vote."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobflow import Job, job

from sse_flows.jobs_common import StageMaker
from sse_flows.models.schemas import ModelEvaluationDoc, VoteDoc


@job(data=["per_split"], output_schema=ModelEvaluationDoc)
def evaluate_models_job(
    training_path: str | None = None,
    algorithms: str | list[str] = "all",
    n_splits: int = 100,
    grouped: bool = True,
    n_cluster_repeats: int = 2,
    n_jobs: int = 2,
    recipe: str = "paper",
) -> ModelEvaluationDoc:
    """Nested evaluation of the classifiers (:func:`~sse_flows.models.evaluation.evaluate_models`).

    ``recipe="open"`` evaluates them on the open table (the Li rows of training_v2, or the
    user CSV, with the open features); ``"paper"`` on the paper's table. The per-split
    scores and chosen hyperparameters (``per_split``) go to the "data" store.
    """
    from sse_flows.models.evaluation import evaluate_models
    from sse_flows.models.open_recipe import load_open_training_set
    from sse_flows.models.training import load_training_set

    loader = load_open_training_set if recipe == "open" else load_training_set
    training_set = loader(training_path)
    return evaluate_models(
        training_set,
        algorithms=algorithms,
        n_splits=n_splits,
        grouped=grouped,
        n_cluster_repeats=n_cluster_repeats,
        n_jobs=n_jobs,
    )


@job(data=["votes"], output_schema=VoteDoc)
def vote_job(
    materials: list[str] | list[dict[str, Any]],
    training_path: str | None = None,
    min_votes: int | dict[str, int] | None = None,
    n_splits: int | None = 100,
    n_jobs: int = 2,
    cache: bool = True,
    recipe: str = "paper",
) -> VoteDoc:
    """GB + LightGBM votes for a pool of materials and the candidates of the vote rule.

    Parameters
    ----------
    materials
        Formulas, or dicts with ``formula`` and ``material_id`` (e.g. screening survivors).
    training_path
        User training CSV; ``None`` for the packaged table.
    min_votes
        Candidate rule (votes needed from each algorithm); ``None`` = unanimous.
    n_splits
        Models per algorithm (one per stratified 80/20 split, seeds 0..n_splits-1); None:
        the recipe's own number.
    n_jobs
        joblib workers for the training.
    cache
        Reuse/store the fitted ensemble under ``$SSE_FLOWS_HOME/models``.
    recipe
        "paper": the paper's GB + LightGBM classifiers on Kang + Xu; "open": the open
        recipe's log10 sigma regressors (``n_splits`` members each) with intervals.
        Either way a material outside the applicability domain is never a candidate.

    Returns
    -------
    VoteDoc
        Per-material votes (``votes``, in the "data" store) and the candidates.
    """
    from sse_flows.models.prediction import vote_pool

    return vote_pool(
        materials,
        recipe=recipe,
        training=training_path,
        n_splits=n_splits,
        min_votes=min_votes,
        n_jobs=n_jobs,
        cache=cache,
    )


@dataclass
class ModelEvaluationMaker(StageMaker):
    """Maker of :func:`evaluate_models_job` with the protocol as fields.

    Parameters
    ----------
    training_path : str or None
        Training CSV (``None``: the recipe's packaged table).
    algorithms : str or list of str
        Algorithm keys, or ``"all"``.
    n_splits : int
        Random splits of the evaluation.
    grouped : bool
        Also evaluate on grouped splits (composition clusters, leave-one-family-out).
    n_cluster_repeats : int
        Repeats of the cluster-grouped splits.
    n_jobs : int
        joblib workers.
    recipe : str
        ``"paper"`` (Kang + Xu table) or ``"open"`` (the open table and features).
    """

    name: str = "evaluate models"
    training_path: str | None = None
    algorithms: str | list[str] = "all"
    n_splits: int = 100
    grouped: bool = True
    n_cluster_repeats: int = 2
    n_jobs: int = 2
    recipe: str = "paper"

    def make(self, training_path: str | None = None) -> Job:
        """The evaluation job.

        Parameters
        ----------
        training_path : str or None
            Overrides the maker's ``training_path`` when given.

        Returns
        -------
        Job
            Its output is a :class:`~sse_flows.models.schemas.ModelEvaluationDoc`.
        """
        if training_path is None:
            return self.named_job(evaluate_models_job)
        return self.named_job(evaluate_models_job, training_path=training_path)


@dataclass
class VoteMaker(StageMaker):
    """Maker of :func:`vote_job`: the ensemble settings and the candidate rule.

    Parameters
    ----------
    training_path : str or None
        User training CSV; ``None`` for the recipe's packaged table.
    min_votes : int, dict or None
        Candidate rule (votes needed from each algorithm); ``None`` = unanimous.
    n_splits : int or None
        Models per algorithm; None: the recipe's own number (100 ``paper``, 10 ``open``).
    n_jobs : int
        joblib workers for the training.
    cache : bool
        Reuse/store the fitted ensemble under ``$SSE_FLOWS_HOME/models``.
    recipe : str
        ``"paper"`` (GB + LightGBM classifiers) or ``"open"`` (log10 sigma regressors).
    """

    name: str = "vote"
    training_path: str | None = None
    min_votes: int | dict[str, int] | None = None
    n_splits: int | None = 100
    n_jobs: int = 2
    cache: bool = True
    recipe: str = "paper"

    def make(self, materials: list[str] | list[dict[str, Any]]) -> Job:
        """The vote job for ``materials`` (may be an upstream job's output reference).

        Parameters
        ----------
        materials : list or OutputReference
            Formulas, or dicts with ``formula`` and ``material_id`` (e.g. the screening
            survivors).

        Returns
        -------
        Job
            Its output is a :class:`~sse_flows.models.schemas.VoteDoc`.
        """
        return self.named_job(vote_job, materials)
