"""The jobflow jobs store their documents, with the per-material votes in the data store."""

from __future__ import annotations

from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore

from sse_flows.models.jobs import VoteMaker, vote_job
from sse_flows.models.schemas import VoteDoc


def _store() -> JobStore:
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def test_vote_job_keeps_material_ids_and_puts_votes_in_the_data_store(sse_home):
    survivors = [
        {"formula": "Li10GeP2S12", "material_id": "mp-696128"},
        {"formula": "Qq3PO4", "material_id": "mp-bad"},
        {"formula": "Li3PO4", "material_id": "mp-13725"},
    ]
    store = _store()
    job = vote_job(survivors, n_splits=2, n_jobs=1, cache=False, min_votes=1)
    responses = run_locally(job, store=store, ensure_success=True)
    doc = responses[job.uuid][1].output
    assert isinstance(doc, VoteDoc)
    assert [v.material_id for v in doc.votes] == ["mp-696128", "mp-bad", "mp-13725"]
    assert doc.n_errors == 1 and doc.votes[1].error and not doc.votes[1].votes
    assert doc.min_votes == {"gb": 1, "lgbm": 1}
    assert doc.ensemble.seeds == [0, 1]
    # candidates are exactly the materials passing the (relaxed) rule
    passing = [v.material_id for v in doc.votes if v.votes and min(v.votes.values()) >= 1]
    assert [c.material_id for c in doc.candidates] == passing
    # the per-material votes live in the additional "data" store, not in the main document
    with store:
        main = store.docs_store.query_one({"uuid": job.uuid})
        assert "blob_uuid" in main["output"]["votes"]
        assert store.additional_stores["data"].count() == 1


def test_vote_maker_passes_its_rule():
    job = VoteMaker(min_votes=95, n_splits=100).make(["Li3PS4"])
    assert job.name == "vote"
    assert job.function_kwargs["min_votes"] == 95


def test_evaluate_models_job_puts_per_split_scores_in_the_data_store(sse_home):
    from sse_flows.models.jobs import evaluate_models_job
    from sse_flows.models.schemas import ModelEvaluationDoc

    store = _store()
    job = evaluate_models_job(algorithms="gnb", n_splits=2, grouped=False, n_jobs=1)
    responses = run_locally(job, store=store, ensure_success=True)
    doc = responses[job.uuid][1].output
    assert isinstance(doc, ModelEvaluationDoc)
    assert doc.algorithms == ["gnb"] and len(doc.per_split) == 2
    assert doc.metrics["gnb"].chosen_params  # the search's choice is stored
    with store:
        main = store.docs_store.query_one({"uuid": job.uuid})
        assert "blob_uuid" in main["output"]["per_split"]
        assert main["output"]["metrics"]["gnb"]["n_splits"] == 2


def test_the_vote_job_refuses_what_predict_refuses_before_training(sse_home, tmp_path):
    """One action behind `predict` and the vote job: an impossible rule and a one-class
    training table fail both, at once, with the same message (no ensemble is trained)."""
    import pytest
    from click.testing import CliRunner

    from sse_flows.cli import cli

    job = vote_job(["Li3PS4"], n_splits=2, min_votes=5, cache=False, recipe="paper")
    with pytest.raises(ValueError, match="min_votes 5 exceeds the 2 models"):
        job.function(*job.function_args, **job.function_kwargs)

    one_class = tmp_path / "one_class.csv"
    rows = ["formula,sigma_S_cm"] + [f"Li{n}PS4,1e-9" for n in range(2, 30)]
    one_class.write_text("\n".join(rows) + "\n")
    job = vote_job(["Li3PS4"], training_path=str(one_class), n_splits=2, cache=False,
                   recipe="paper")
    with pytest.raises(ValueError, match="0 superionic") as raised:
        job.function(*job.function_args, **job.function_kwargs)
    formulas = tmp_path / "formulas.csv"
    formulas.write_text("formula\nLi3PS4\n")
    result = CliRunner().invoke(
        cli,
        ["predict", str(formulas), "--training", str(one_class), "--recipe", "paper",
         "--splits", "2", "--no-cache", "-o", str(tmp_path / "out.csv")],
    )
    assert result.exit_code != 0 and str(raised.value) in result.output
