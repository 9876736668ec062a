"""A continue-until job can declare its output: the record travels in a ProductionOutcome.

jobflow stores the output of a Flow that replaces a job unresolved and validates it against
the replaced job's ``output_schema``; a bare reference never passes, a dict holding one
does (``ProductionOutcome.record: Any``), and jobflow resolves the reference when read.
These jobs mimic ``vasp_production_decision`` without VASP: one chunk per replacement.
"""

from __future__ import annotations

import pytest
from jobflow import Flow, JobStore, Response, job, run_locally
from maggma.stores import MemoryStore

from sse_flows.md.schemas import ProductionOutcome, ProductionRecord, production_record

LIMIT = 3


@job(output_schema=ProductionRecord)
def _chunk(record):
    record = production_record(record)
    return record.model_copy(update={"chunks": record.chunks + 1})


@job(output_schema=ProductionOutcome)
def _decide(record, wrap: bool = True):
    record = production_record(record)
    if record.chunks >= LIMIT:
        return Response(output=ProductionOutcome(record=record))
    chunk = _chunk(record)
    decision = _decide(chunk.output, wrap)
    output = {"record": decision.output.record} if wrap else decision.output
    return Response(replace=Flow([chunk, decision], output=output))


@job
def _read(outcome):
    return production_record(outcome).chunks


def _run(wrap: bool):
    decision = _decide(ProductionRecord(temperature=800.0), wrap)
    read = _read(decision.output)
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(Flow([decision, read]), store=store, ensure_success=True)
    return responses[read.uuid][1].output


def test_the_record_is_read_through_every_replacement():
    assert _run(wrap=True) == LIMIT


def test_a_bare_reference_as_the_output_fails_the_schema():
    """Why the outcome document exists: jobflow 0.4 rejects the unresolved reference."""
    with pytest.raises(RuntimeError, match="did not finish"):
        _run(wrap=False)


@pytest.mark.parametrize(
    "value",
    [
        ProductionRecord(temperature=600.0, chunks=2),
        {"temperature": 600.0, "chunks": 2},
        ProductionOutcome(record=ProductionRecord(temperature=600.0, chunks=2)),
        {"record": {"temperature": 600.0, "chunks": 2}},
    ],
)
def test_production_record_reads_a_record_or_an_outcome(value):
    record = production_record(value)
    assert (record.temperature, record.chunks) == (600.0, 2)


def test_production_record_keeps_none():
    assert production_record(None) is None
    assert production_record({"record": None}) is None
