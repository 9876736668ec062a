"""ReportInputs.from_documents: documents as the JobStore returns them."""

from __future__ import annotations

import json

import pytest
from jobflow import Flow, JobStore, job, run_locally
from maggma.stores import MemoryStore

from sse_flows.report.inputs import ReportInputError, ReportInputs


def _stored(doc) -> dict:
    """A document as jobflow stores it: JSON round trip plus monty's class keys."""
    data = json.loads(doc.model_dump_json())
    data.update({"@module": type(doc).__module__, "@class": type(doc).__name__})
    return data


def test_dicts_from_the_jobstore_validate(screening_doc, vote_doc, ranking_doc, diffusion_doc):
    inputs = ReportInputs.from_documents(
        screening={"uuid": "abc", "output": _stored(screening_doc)},  # a whole job record
        votes=_stored(vote_doc),
        ranking=ranking_doc,  # already a document
        diffusion=[_stored(diffusion_doc)],
        workflow={"workflow_id": 3},
    )
    assert inputs.screening == screening_doc
    assert inputs.votes == vote_doc
    assert inputs.ranking is ranking_doc
    assert inputs.evaluation is None
    assert list(inputs.diffusion) == [diffusion_doc.material_id]
    assert inputs.diffusion[diffusion_doc.material_id] == diffusion_doc
    assert inputs.data_version == screening_doc.data_version
    assert inputs.workflow == {"workflow_id": 3}


def test_unresolved_data_store_reference_is_named(vote_doc):
    stored = _stored(vote_doc)
    stored["votes"] = {"@module": "jobflow.core.store", "@class": "Blob",
                       "blob_uuid": "1234", "store": "data"}  # fmt: skip
    with pytest.raises(ReportInputError, match=r"votes: field 'votes'.*load=True"):
        ReportInputs.from_documents(votes=stored)


def test_a_document_of_the_wrong_kind_is_refused(screening_doc):
    with pytest.raises(ReportInputError, match="evaluation: not a valid ModelEvaluationDoc"):
        ReportInputs.from_documents(evaluation=_stored(screening_doc))


@job(data=["votes"])
def emit_votes(doc):
    """A job returning a VoteDoc whose per-material votes go to the 'data' store."""
    return doc


@job
def emit_diffusion(doc):
    """A job returning a DiffusionDoc."""
    return doc


def test_outputs_read_back_from_a_jobstore_validate(vote_doc, diffusion_doc, tmp_path, monkeypatch):
    """Round trip through jobflow: the documents as JobStore.query returns them."""
    monkeypatch.chdir(tmp_path)
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    flow = Flow([emit_votes(vote_doc), emit_diffusion(diffusion_doc)])
    run_locally(flow, store=store, ensure_success=True, log=False)

    votes_raw = store.query_one({"name": "emit_votes"}, load=True)
    diffusion_raw = store.query_one({"name": "emit_diffusion"}, load=True)["output"]
    inputs = ReportInputs.from_documents(votes=votes_raw, diffusion={"LEB": diffusion_raw})
    assert inputs.votes == vote_doc
    assert inputs.diffusion["LEB"] == diffusion_doc

    unresolved = store.query_one({"name": "emit_votes"}, load=False)["output"]
    with pytest.raises(ReportInputError, match="load=True"):
        ReportInputs.from_documents(votes=unresolved)
