"""The protocol driver over an engine: what runs, in which order, and who decides the stop.

A stand-in engine (no potential, no files) records every call; the driver's stop decision
is replaced by the length limits alone, so each test states exactly which chunks run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

from sse_flows.md import driver
from sse_flows.md.continuation import FALLBACK_NOT_NEEDED, SKIPPED
from sse_flows.md.engine import MDRun
from sse_flows.md.protocol import MDProtocol
from sse_flows.md.schemas import ProductionRecord

ROOT = Path(__file__).resolve().parents[2]

PROTOCOL = MDProtocol(temperatures=(600.0, 1000.0), equilibration_steps=4,
                      production_steps=10, max_production_steps=30, chunk_steps=10,
                      trajectory_interval=5, min_lattice_length=4.0, relax=False)


class _Engine:
    """Steps nothing: a chunk adds its steps and a file name; every call is logged."""

    name = "stand-in"

    def __init__(self, saved: dict[float, ProductionRecord] | None = None,
                 fail_at: float | None = None) -> None:
        self.calls: list[tuple] = []
        self.saved = saved or {}
        self.fail_at = fail_at

    def prepare(self, structure, protocol, folder):
        return structure, None

    def saved_record(self, supercell, temperature, workdir, protocol):
        saved = self.saved.get(temperature)
        return None if saved is None else saved.model_copy(deep=True)

    def start(self, index, supercell, temperature, workdir, record):
        self.calls.append(("start", temperature, record.chunks))
        return MDRun(index=index, temperature=temperature, workdir=workdir, record=record)

    def equilibrate(self, run, protocol):
        self.calls.append(("equilibrate", run.temperature))
        if run.temperature == self.fail_at:
            run.record.error = "MD crashed: stand-in"
        run.record.equilibration_steps = protocol.equilibration_steps
        yield

    def production_chunk(self, run, protocol):
        n_steps = protocol.next_chunk_steps(run.record.production_steps)
        self.calls.append(("chunk", run.temperature, run.record.chunks + 1))
        yield
        run.record.files.append(f"chunk_{run.temperature:g}_{run.record.chunks + 1}")
        run.record.production_steps += n_steps
        run.record.chunks += 1

    def chunk_finished(self, run, protocol):
        self.calls.append(("finished", run.temperature, run.record.stop_reason))

    def execute(self, programs, on_finish):
        for run, program in programs:
            for _ in program:
                pass
            on_finish(run)


def _limits_only(hops: dict[float, int] | None = None):
    """The stop decision by the length limits alone; ``hops`` as the analysis would count."""
    def decide(record, protocol, time_step_fs=None):
        decided = record.model_copy()
        if record.error:
            decided.stop_reason = "engine error"
            return decided
        decided.li_hops = (hops or {}).get(record.temperature, 0)
        decided.diffusive = decided.li_hops >= 10
        if record.production_steps >= protocol.production_limit:
            decided.stop_reason = "maximum length reached"
        return decided
    return decide


@pytest.fixture
def cell() -> Structure:
    return Structure(Lattice.cubic(4.0), ["Li", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_hottest_first_and_colder_skipped_without_hops(cell, tmp_path, monkeypatch):
    """The hottest runs alone first; with no hops there, the colder one is skipped and
    never reaches the engine; every chunk is followed by a decision, the engine's hook
    seeing the decided record."""
    monkeypatch.setattr(driver, "production_decision", _limits_only())
    engine = _Engine()
    (records,) = driver.run_temperatures(engine, [cell], [tmp_path], PROTOCOL)
    assert records[600.0].stop_reason == SKIPPED and not records[600.0].files
    hot = records[1000.0]
    assert (hot.chunks, hot.production_steps, hot.stop_reason) == (3, 30,
                                                                    "maximum length reached")
    assert engine.calls == [
        ("start", 1000.0, 0), ("equilibrate", 1000.0),
        ("chunk", 1000.0, 1), ("finished", 1000.0, None),
        ("chunk", 1000.0, 2), ("finished", 1000.0, None),
        ("chunk", 1000.0, 3), ("finished", 1000.0, "maximum length reached"),
    ]


def test_colder_then_fallback_phases(cell, tmp_path, monkeypatch):
    """With hops at the hottest only, the colder runs, then the fallback (needed: one
    diffusive temperature gives no Arrhenius fit); for a second material whose colder run
    is diffusive too, the fallback is skipped."""
    protocol = PROTOCOL.with_changes(fallback_temperatures=(800.0,), max_production_steps=10)
    monkeypatch.setattr(driver, "production_decision", _limits_only({1000.0: 20}))
    engine = _Engine()
    lonely, _ = driver.run_temperatures(engine, [cell, cell], [tmp_path / "a", tmp_path / "b"],
                                        protocol)
    starts = [call[1] for call in engine.calls if call[0] == "start"]
    assert starts == [1000.0, 1000.0, 600.0, 600.0, 800.0, 800.0]  # phase by phase
    assert lonely[800.0].stop_reason == "maximum length reached"

    monkeypatch.setattr(driver, "production_decision",
                        _limits_only({1000.0: 20, 600.0: 20}))
    engine = _Engine()
    (both,) = driver.run_temperatures(engine, [cell], [tmp_path / "c"], protocol)
    assert both[800.0].stop_reason == FALLBACK_NOT_NEEDED
    assert [call[1] for call in engine.calls if call[0] == "start"] == [1000.0, 600.0]


def test_a_failed_equilibration_is_decided_without_a_chunk(cell, tmp_path, monkeypatch):
    monkeypatch.setattr(driver, "production_decision", _limits_only())
    engine = _Engine(fail_at=1000.0)
    (record,) = driver.run_runs(engine, [(cell, 1000.0, tmp_path)], PROTOCOL)
    assert record.stop_reason == "engine error" and record.chunks == 0
    assert [call[0] for call in engine.calls] == ["start", "equilibrate"]


def test_one_chunk_runs_whatever_the_earlier_stop(cell, tmp_path, monkeypatch):
    """``run_chunks`` (one jobflow job, one extension round) runs its chunk even on a
    record that had stopped, continues it without equilibrating, and leaves the input
    record as it was."""
    monkeypatch.setattr(driver, "production_decision", _limits_only())
    engine = _Engine()
    first = driver.run_chunks(engine, cell, 1000.0, tmp_path, PROTOCOL)
    assert (first.chunks, first.stop_reason) == (1, None)
    stopped = first.model_copy(update={"stop_reason": "maximum length reached"})
    longer = PROTOCOL.with_changes(max_production_steps=20)
    again = driver.run_chunks(engine, cell, 1000.0, tmp_path, longer, stopped)
    assert (again.chunks, again.production_steps) == (2, 20)
    assert stopped.chunks == 1
    assert [c[0] for c in engine.calls].count("equilibrate") == 1


def test_a_saved_finished_record_is_decided_again(cell, tmp_path, monkeypatch):
    """A checkpointed record whose stop the current limits do not give runs on from its
    last chunk; one they still stop is returned without reaching the engine."""
    monkeypatch.setattr(driver, "production_decision", _limits_only())
    saved = ProductionRecord(temperature=1000.0, files=["chunk_1000_1"], production_steps=10,
                             chunks=1, stop_reason="maximum length reached")
    engine = _Engine(saved={1000.0: saved})
    (record,) = driver.run_runs(engine, [(cell, 1000.0, tmp_path)], PROTOCOL)
    assert (record.chunks, record.production_steps) == (3, 30)
    assert engine.calls[0] == ("start", 1000.0, 1)
    assert "equilibrate" not in [c[0] for c in engine.calls]

    engine = _Engine(saved={1000.0: record})
    (again,) = driver.run_runs(engine, [(cell, 1000.0, tmp_path)], PROTOCOL)
    assert again.stop_reason == "maximum length reached" and engine.calls == []


def test_the_engines_do_not_import_each_other_or_the_stop_rules():
    """The parameters go down: the batched engine imports no one-structure internals,
    and neither engine module asks the continue-until rules (the driver does)."""
    spec = importlib.util.spec_from_file_location("import_cycles",
                                                  ROOT / "scripts" / "import_cycles.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    graph = tool.import_graph()
    assert "sse_flows.md.driver" in graph["sse_flows.md.batched"]
    assert "sse_flows.md.driver" in graph["sse_flows.md.forcefield"]
    assert "sse_flows.md.forcefield" not in graph["sse_flows.md.batched"]
    for engine in ("sse_flows.md.batched", "sse_flows.md.forcefield"):
        assert "sse_flows.md.continuation" not in graph[engine], engine
    assert not {"sse_flows.md.batched", "sse_flows.md.forcefield"} & graph["sse_flows.md.driver"]


def test_extension_rounds_run_one_chunk_each_past_the_limit(cell, tmp_path, monkeypatch):
    """Each round (while the verdict says so and rounds are left) runs one more chunk at
    the chosen temperature, past the old limit, and writes the document again with the
    protocol of that round."""
    monkeypatch.setattr(driver, "production_decision", _limits_only({1000.0: 20}))
    monkeypatch.setattr(driver, "extension_temperature",
                        lambda diffusion, records, current: 1000.0 if diffusion else None)
    protocol = PROTOCOL.with_changes(extension_chunks=2, max_production_steps=10)
    written = []

    def document(records, current):
        written.append((current.max_production_steps, current.extension_chunks,
                        [r.production_steps for r in records]))
        return type("Doc", (), {"diffusion": current.extension_chunks > 0})()

    engine = _Engine()
    driver.run_protocol(engine, [cell], [tmp_path], protocol, [document])
    assert written == [(10, 2, [10, 10]), (20, 1, [10, 20]), (30, 0, [10, 30])]
    chunks = [call[1:] for call in engine.calls if call[0] == "chunk"]
    assert chunks == [(1000.0, 1), (600.0, 1), (1000.0, 2), (1000.0, 3)]

    written.clear()
    driver.run_protocol(_Engine(), [cell], [tmp_path], protocol, [document], extension=False)
    assert written == [(10, 2, [10, 10])]
