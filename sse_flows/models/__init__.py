"""Models stage: nine classifiers, nested split evaluation and the GB + LightGBM vote.

Main entry points (imported from their modules, so ``import sse_flows.models`` stays light):

* :func:`sse_flows.models.training.load_training_set` - features, labels, groups.
* :func:`sse_flows.models.evaluation.evaluate_models` -> ``ModelEvaluationDoc``.
* :func:`sse_flows.models.ensemble.load_or_train_ensemble` / ``train_ensemble``.
* :func:`sse_flows.models.prediction.vote_materials` -> ``VoteDoc``.
* jobs: :func:`sse_flows.models.jobs.evaluate_models_job`, :func:`~sse_flows.models.jobs.vote_job`.
* figures: :mod:`sse_flows.models.plotting`.
"""
