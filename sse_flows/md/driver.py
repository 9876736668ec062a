"""The force-field MD protocol, run over an engine (:class:`~sse_flows.md.engine.MDEngine`).

One driver for both force-field engines: the one-structure engine
(:func:`sse_flows.md.forcefield.run_forcefield_md`, and one chunk per jobflow job through
:func:`sse_flows.md.forcefield.md_chunk`) and the batched engine
(:func:`sse_flows.md.batched.run_batched_md`, :func:`sse_flows.md.pool.run_pool_md`). The
engine steps the runs; the driver decides what runs and when it stops:

1. per material, the hottest temperature first; each colder temperature is skipped when
   the hottest saw too few Li hops, each fallback temperature runs only when the protocol
   temperatures leave no Arrhenius fit (:func:`~sse_flows.md.continuation.skip_colder`):
   :func:`run_temperatures`, one phase for every material's hottest run, one for the
   colder runs, one for the fallbacks;
2. per run (:func:`run_program`): equilibration (unless the run goes on from a chunk),
   then production chunks, each followed by the continue-until decision
   (:func:`~sse_flows.md.continuation.production_decision`), until it says stop;
   a run resumed from an engine's checkpoint is decided again by the current rule first
   (:func:`run_runs`);
3. the document of each material, and, while its verdict is "undetermined", extension
   chunks at the temperature that narrows it most (:func:`extend`; ``extension_chunks``
   rounds).

Parameters reach the engines only through these calls: nothing in an engine asks the
stop rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from pymatgen.core import Structure

from sse_flows.md.continuation import (
    extension_protocol,
    extension_temperature,
    hottest_first,
    production_decision,
    skip_colder,
)
from sse_flows.md.engine import MDEngine, MDRun, Program
from sse_flows.md.protocol import MDProtocol
from sse_flows.md.schemas import MDRunDoc, ProductionRecord

logger = logging.getLogger(__name__)

#: Builds a material's document from its records (in ``protocol.run_temperatures`` order)
#: and the protocol they ran with (the entry point binds the cell, relaxation, provenance).
DocumentWriter = Callable[[list[ProductionRecord], MDProtocol], MDRunDoc]


def run_program(
    engine: MDEngine,
    run: MDRun,
    protocol: MDProtocol,
    chunks: int | None = None,
    on_decision: Callable[[ProductionRecord], None] | None = None,
) -> Program:
    """One run's protocol from where its record stands, as a generator for the engine.

    Equilibration when no production chunk ran yet, then production chunks, each followed
    by the stop decision and :meth:`~sse_flows.md.engine.MDEngine.chunk_finished`. A run
    that failed is decided ("engine error") and ends.

    Parameters
    ----------
    engine
        Steps the run.
    run
        The run (its record is replaced by each decision's).
    protocol
        Lengths, seeds and stop limits.
    chunks
        Run exactly this many chunks, whatever the decision (one jobflow job; an
        extension round); None: until the decision says stop.
    on_decision
        Called with the record after each decision (progress lines).
    """
    if run.record.chunks == 0:
        yield from engine.equilibrate(run, protocol)
    ran = 0
    while run.record.stop_reason is None if chunks is None else ran < chunks:
        if run.failed:
            run.record = production_decision(run.record, protocol)
            if on_decision is not None:
                on_decision(run.record)
            break
        yield from engine.production_chunk(run, protocol)
        run.record = production_decision(run.record, protocol)
        engine.chunk_finished(run, protocol)
        ran += 1
        if on_decision is not None:
            on_decision(run.record)


def run_chunks(
    engine: MDEngine,
    supercell: Structure,
    temperature: float,
    workdir: Path,
    protocol: MDProtocol,
    record: ProductionRecord | None = None,
    chunks: int = 1,
) -> ProductionRecord:
    """``chunks`` more production chunks of one run (the first call also equilibrates),
    each decided; never raises for MD failures.

    Returns
    -------
    ProductionRecord
        A new record (``record`` is not changed) with the last decision's stop reason.
    """
    record = record.model_copy(deep=True) if record else ProductionRecord(temperature=temperature)
    run = engine.start(0, supercell, temperature, Path(workdir), record)
    engine.execute([(run, run_program(engine, run, protocol, chunks))], lambda _run: None)
    return run.record


def run_runs(
    engine: MDEngine,
    pairs: Sequence[tuple[Structure, float, Path]],
    protocol: MDProtocol,
    on_finish: Callable[[int, ProductionRecord], None] | None = None,
    on_decision: Callable[[ProductionRecord], None] | None = None,
) -> list[ProductionRecord]:
    """Every (supercell, temperature, workdir) run to its stop decision.

    A run with a record from an earlier call (the engine's checkpoint) goes on from it; a
    finished one is decided again by the current rule (a raised length limit or a tighter
    target runs it on) and not run when the decision still says stop.

    Parameters
    ----------
    engine
        Steps the runs (all of them handed over at once: the engine schedules them).
    pairs
        The runs.
    protocol
        The MD protocol.
    on_finish
        Called as ``on_finish(index, record)`` as each run ends (also one not run again).
    on_decision
        Called with the record after each decision.

    Returns
    -------
    list of ProductionRecord
        One per run, in input order, each with its stop reason.
    """
    records: list[ProductionRecord | None] = [None] * len(pairs)

    def finish(index: int, record: ProductionRecord) -> None:
        records[index] = record
        if on_finish is not None:
            on_finish(index, record)

    programs: list[tuple[MDRun, Program]] = []
    for index, (supercell, temperature, workdir) in enumerate(pairs):
        saved = engine.saved_record(supercell, temperature, workdir, protocol)
        if saved is not None and saved.stop_reason is not None:
            # finished before: decided again by the current stop rule, which may run on
            saved = production_decision(saved.model_copy(update={"stop_reason": None}),
                                        protocol)
        if saved is not None and saved.stop_reason is not None:
            finish(index, saved)  # finished: not run again
            continue
        run = engine.start(index, supercell, temperature, workdir,
                           saved or ProductionRecord(temperature=temperature))
        programs.append((run, run_program(engine, run, protocol, on_decision=on_decision)))
    logger.info("%d of %d runs to run", len(programs), len(pairs))
    engine.execute(programs, lambda run: finish(run.index, run.record))
    return [record for record in records if record is not None]


def run_temperatures(
    engine: MDEngine,
    supercells: Sequence[Structure],
    workdirs: Sequence[Path],
    protocol: MDProtocol,
    on_finish: Callable[[int, ProductionRecord], None] | None = None,
    on_decision: Callable[[ProductionRecord], None] | None = None,
    on_phase: Callable[[int], None] | None = None,
) -> list[dict[float, ProductionRecord]]:
    """Every material's temperatures: the hottest of all materials in one call of the
    engine, then the colder ones, then the fallbacks, each phase without the runs that
    :func:`~sse_flows.md.continuation.skip_colder` skips (their records say why).

    ``on_finish`` and ``on_decision`` go to :func:`run_runs` (indices count the runs of
    one phase); ``on_phase(n)`` is called before each phase that has ``n`` > 0 runs.

    Returns
    -------
    list of dict
        Per material, temperature -> its finished record, for every
        ``protocol.run_temperatures``.
    """
    def phase(pairs: list[tuple[Structure, float, Path]]) -> list[ProductionRecord]:
        if not pairs:
            return []
        if on_phase is not None:
            on_phase(len(pairs))
        return run_runs(engine, pairs, protocol, on_finish, on_decision)

    hottest, colder = hottest_first(protocol)
    hot = phase([(cell, hottest, folder) for cell, folder in
                 zip(supercells, workdirs, strict=True)])
    by_material: list[dict[float, ProductionRecord]] = [{hottest: r} for r in hot]
    fallbacks = set(protocol.fallback_temperatures)
    for temperatures in ([t for t in colder if t not in fallbacks],
                         [t for t in colder if t in fallbacks]):
        pairs = []
        for i, records in enumerate(by_material):
            for temperature in temperatures:
                skipped = skip_colder(temperature, records[hottest], protocol, records)
                if skipped is not None:
                    records[temperature] = skipped
                else:
                    pairs.append((i, temperature))
        done = phase([(supercells[i], t, workdirs[i]) for i, t in pairs])
        for (i, temperature), record in zip(pairs, done, strict=True):
            by_material[i][temperature] = record
    return by_material


def extend(
    engine: MDEngine,
    supercell: Structure,
    workdir: Path,
    records: dict[float, ProductionRecord],
    protocol: MDProtocol,
    document: DocumentWriter,
    on_extended: Callable[[ProductionRecord], None] | None = None,
) -> MDRunDoc:
    """The material's document, after the extension rounds its verdict earns.

    While the verdict is "undetermined" and ``extension_chunks`` rounds are left, one more
    chunk runs at the temperature whose longer run narrows it most
    (:func:`~sse_flows.md.continuation.extension_temperature`), and the document is
    written again. ``records`` is updated in place.
    """
    def write(current: MDProtocol) -> MDRunDoc:
        return document([records[t] for t in protocol.run_temperatures], current)

    doc = write(protocol)
    current = protocol
    while (temperature := extension_temperature(doc.diffusion, records, current)):
        current = extension_protocol(records[temperature], current)
        records[temperature] = run_chunks(
            engine, supercell, temperature, workdir, current, records[temperature]
        )
        if on_extended is not None:
            on_extended(records[temperature])
        doc = write(current)
    return doc


def run_protocol(
    engine: MDEngine,
    supercells: Sequence[Structure],
    workdirs: Sequence[Path],
    protocol: MDProtocol,
    documents: Sequence[DocumentWriter],
    extension: bool = True,
    on_finish: Callable[[int, ProductionRecord], None] | None = None,
    on_decision: Callable[[ProductionRecord], None] | None = None,
    on_extended: Callable[[ProductionRecord], None] | None = None,
    on_phase: Callable[[int], None] | None = None,
) -> list[MDRunDoc]:
    """The whole protocol of prepared materials: :func:`run_temperatures`, then per
    material its document (with :func:`extend` when ``extension``).

    Parameters
    ----------
    engine
        Steps the runs.
    supercells, workdirs
        Per material: its MD supercell (:meth:`~sse_flows.md.engine.MDEngine.prepare`) and
        the folder of its trajectories.
    protocol
        The MD protocol.
    documents
        Per material, the :data:`DocumentWriter` of its document.
    extension
        Run the extension rounds (``protocol.extension_chunks``); False: the document of
        the runs as they stopped.
    on_finish, on_decision, on_extended, on_phase
        Progress callbacks (:func:`run_runs`, :func:`extend`, :func:`run_temperatures`).

    Returns
    -------
    list of MDRunDoc
        One per material, in input order.
    """
    by_material = run_temperatures(engine, supercells, workdirs, protocol, on_finish,
                                   on_decision, on_phase)
    if not extension:
        return [write([records[t] for t in protocol.run_temperatures], protocol)
                for write, records in zip(documents, by_material, strict=True)]
    return [
        extend(engine, cell, folder, records, protocol, write, on_extended)
        for cell, folder, records, write in zip(supercells, workdirs, by_material, documents,
                                                strict=True)
    ]
