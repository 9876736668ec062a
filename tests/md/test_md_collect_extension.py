"""collect_md's extension rounds finish under jobflow (an "undetermined" verdict earns chunks).

The force field and the verdict are replaced by stand-ins (the jobflow plumbing is what is
tested): ``extension_temperature`` asks for 800 K twice, ``md_chunk`` adds one chunk.
"""

from __future__ import annotations

from jobflow import Flow, JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from sse_flows.md.jobs import collect_md
from sse_flows.md.protocol import MDProtocol
from sse_flows.md.schemas import MDCellDoc, MDRunDoc, ProductionRecord


def test_two_extension_rounds_run_in_the_collect_job_and_the_flow_finishes(
    monkeypatch, tmp_path
):
    import sse_flows.md.continuation as continuation
    import sse_flows.md.forcefield as forcefield

    monkeypatch.chdir(tmp_path)
    protocol = MDProtocol(temperatures=(800.0, 1000.0), production_steps=100,
                          max_production_steps=200, chunk_steps=100, extension_chunks=2)
    asked: list[float] = []
    chunks: list[tuple[float, int | None, int]] = []

    def extension_temperature(diffusion, records, md_protocol):
        if md_protocol.extension_chunks <= 0:
            return None
        asked.append(md_protocol.extension_chunks)
        return 800.0

    def md_chunk(supercell, temperature, md_protocol, workdir, calculator, record):
        chunks.append((temperature, md_protocol.max_production_steps,
                       md_protocol.extension_chunks))
        return record.model_copy(update={
            "production_steps": record.production_steps + md_protocol.chunk_steps,
            "chunks": record.chunks + 1, "stop_reason": "maximum length reached"})

    monkeypatch.setattr(continuation, "extension_temperature", extension_temperature)
    monkeypatch.setattr(forcefield, "md_chunk", md_chunk)
    monkeypatch.setattr(forcefield, "load_calculator", lambda engine, device="cpu": None)

    cell = Structure(Lattice.cubic(4.2), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    records = [ProductionRecord(temperature=t, production_steps=200, chunks=2,
                                stop_reason="maximum length reached")
               for t in protocol.run_temperatures]
    collect = collect_md(cell, MDCellDoc(formula="LiCl", supercell=cell.as_dict()), records,
                         protocol.as_dict(), "chgnet", "mp-22905", {"device": "cpu"})
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(Flow([collect]), store=store, ensure_success=True)

    doc = responses[collect.uuid][1].output
    assert isinstance(doc, MDRunDoc)
    assert asked == [2, 1]
    assert chunks == [(800.0, 300, 1), (800.0, 400, 0)]
    by_t = {run.temperature: run for run in doc.runs}
    assert by_t[800.0].production_steps == 400 and by_t[1000.0].production_steps == 200
