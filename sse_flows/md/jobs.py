"""jobflow jobs of the MD stage.

The force-field protocol of one material is a small flow: ``prepare`` (relaxation and
supercell), one chain of ``md chunk`` jobs per temperature, and ``collect``. Each chunk job
runs one restartable piece of production and, while the production should go on
(:func:`sse_flows.md.continuation.production_decision`), replaces itself by the next
chunk (atomate2's continue-until pattern with jobflow ``Response(replace=...)``). The VASP
protocol ends each temperature with the same decision job over its ``vasprun.xml`` chunks.
No job raises for a physics failure: a failed material is a stored document with its
reason, and the other materials go on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Response, job
from jobflow.core.job import JobConfig
from jobflow.core.reference import OnMissing
from pymatgen.core import Structure

from sse_flows.md.documents import make_md_run_doc
from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol

if TYPE_CHECKING:
    from sse_flows.md.makers import AimdProtocolMaker
from sse_flows.md.schemas import (
    MDCellDoc,
    MDRunDoc,
    PoolMDDoc,
    ProductionOutcome,
    ProductionRecord,
    RestartCellDoc,
    production_record,
)

logger = logging.getLogger(__name__)


def _find_file(directory: Path, name: str) -> Path | None:
    """``name`` or its gzipped copy in ``directory`` (atomate2 gzips finished runs)."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            return candidate
    return None


def _local_dir(dir_name: str | Path) -> Path:
    from atomate2.utils.path import strip_hostname

    return Path(strip_hostname(str(dir_name)))


# ---------------------------------------------------------------------- force field
@job(output_schema=MDCellDoc)
def prepare_md_cell(
    structure: Structure,
    protocol: dict[str, Any],
    engine: str = DEFAULT_MD_ENGINE,
    device: str = "cpu",
) -> MDCellDoc:
    """Relax the unit cell with the potential (when the protocol says so) and build the
    MD supercell; a potential that cannot describe the structure gives ``error``.

    The relaxation resumes from its last checkpoint when the job is rerun after an
    interrupt, and is read from the cache when it already finished
    (:func:`sse_flows.md.forcefield.prepare_supercell`)."""
    from sse_flows.md.forcefield import load_calculator, prepare_supercell

    md_protocol = MDProtocol.from_dict(protocol)
    try:
        # engine given: the relaxation is checkpointed and cached under SSE_FLOWS_HOME, so
        # a rerun of this job after an interrupt goes on instead of starting over
        supercell, relaxation = prepare_supercell(
            structure, md_protocol, load_calculator(engine, device), engine
        )
    except Exception as exc:  # noqa: BLE001 - the material fails, the flow goes on
        logger.exception("relaxation failed")
        return MDCellDoc(
            formula=structure.composition.reduced_formula,
            supercell=structure.as_dict(),
            error=f"relaxation failed: {type(exc).__name__}: {exc}",
        )
    return MDCellDoc(
        formula=structure.composition.reduced_formula,
        supercell=supercell.as_dict(),
        relaxation=relaxation,
    )


@job(output_schema=ProductionRecord)
def forcefield_md_chunk(
    cell: MDCellDoc,
    temperature: float,
    protocol: dict[str, Any],
    engine: str = DEFAULT_MD_ENGINE,
    device: str = "cpu",
    record: ProductionRecord | None = None,
    name_prefix: str = "md",
    hotter: ProductionRecord | None = None,
    earlier: list[ProductionRecord] | None = None,
) -> Response:
    """One production chunk at one temperature (the first also equilibrates).

    Returns the :class:`ProductionRecord` when production is done, else replaces itself
    by the next chunk (which starts from this chunk's last frame, velocities included).
    ``hotter`` is the finished record of the hottest temperature: when it saw too few
    Li hops, this colder temperature is skipped without running; a fallback temperature
    also gets ``earlier``, the finished records of every protocol temperature, and runs
    only when they leave no Arrhenius fit (:func:`sse_flows.md.continuation.skip_colder`).
    """
    from sse_flows.md.continuation import skip_colder
    from sse_flows.md.forcefield import load_calculator, md_chunk

    md_protocol = MDProtocol.from_dict(protocol)
    if record is None and hotter is not None:
        records = [ProductionRecord.model_validate(r) for r in earlier or []]
        skipped = skip_colder(
            temperature, ProductionRecord.model_validate(hotter), md_protocol,
            {r.temperature: r for r in records} or None,
        )
        if skipped is not None:
            return Response(output=skipped)
    cell = MDCellDoc.model_validate(cell)
    if cell.error:
        return Response(
            output=ProductionRecord(temperature=temperature, error=cell.error,
                                    stop_reason="engine error")
        )
    record = ProductionRecord.model_validate(record) if record is not None else None
    updated = md_chunk(
        Structure.from_dict(cell.supercell),
        temperature,
        md_protocol,
        Path.cwd(),
        load_calculator(engine, device),
        record,
    )
    if updated.stop_reason is not None:
        return Response(output=updated)
    following = forcefield_md_chunk(
        cell, temperature, protocol, engine, device, updated, name_prefix
    )
    following.name = f"{name_prefix} {temperature:g}K chunk {updated.chunks + 1}"
    return Response(replace=following)


def _target_structure(target: dict[str, Any]) -> Structure:
    """A target's structure: a dict when the job runs in-process, already a Structure when
    FireWorks passed the target through its LaunchPad (MontyDecoder revives it)."""
    structure = target["structure"]
    return structure if isinstance(structure, Structure) else Structure.from_dict(structure)


def _run_targets(runner, targets: list[dict[str, Any]], protocol: dict[str, Any], engine: str,
                 ran_on: str, **options) -> PoolMDDoc:
    """Run ``runner`` (``run_pool_md`` or ``run_parallel_md``, given ``options``) on the
    targets in :func:`pool_workdir`; one ``MDRunDoc`` per target label, run on ``ran_on``."""
    import time

    start = time.perf_counter()
    docs = runner(
        [_target_structure(t) for t in targets], MDProtocol.from_dict(protocol), pool_workdir(),
        labels=[t["label"] for t in targets],
        material_ids=[t.get("material_id") for t in targets], engine=engine, **options,
    )
    return PoolMDDoc(
        results={t["label"]: doc for t, doc in zip(targets, docs, strict=True)},
        engine=engine, device=ran_on, seconds=time.perf_counter() - start,
    )


def pool_workdir() -> Path:
    """Where a pool MD job writes: ``$SSE_FLOWS_HOME/md/pool/<job uuid>`` inside a jobflow
    job (the same folder when FireWorks reruns the job in a new launch directory, so the
    rerun continues from the checkpoints), the current folder outside one."""
    from jobflow import CURRENT_JOB

    from sse_flows.settings import get_settings

    if CURRENT_JOB.job is None:
        return Path.cwd()
    return get_settings().HOME / "md" / "pool" / str(CURRENT_JOB.job.uuid)


# the documents of up to 64 materials go to the "data" store (GridFS on MongoDB), so the
# job's own document stays far below MongoDB's 16 MB limit
@job(output_schema=PoolMDDoc, data=["results"])
def pool_md_job(
    targets: list[dict[str, Any]],
    protocol: dict[str, Any],
    engine: str = DEFAULT_MD_ENGINE,
    device: str = "cpu",
) -> PoolMDDoc:
    """The force-field protocol of many materials in one job (``run_pool_md``), restartable:
    a rerun of the job (``lpad rerun_fws`` after a wall-time kill) continues from the
    checkpoints in :func:`pool_workdir`.

    Parameters
    ----------
    targets
        MD targets (``label``, ``material_id``, ``structure`` as Structure.as_dict()).
    protocol
        :meth:`MDProtocol.as_dict` of the protocol.
    engine
        "sevennet" or "chgnet".
    device
        Torch device ("cuda" on the GPU workers).

    Returns
    -------
    PoolMDDoc
        Target label -> ``MDRunDoc`` (failed documents for materials that failed); the
        trajectories stay in :func:`pool_workdir`, one sub-folder per label.
    """
    from sse_flows.md.pool import run_pool_md

    return _run_targets(run_pool_md, targets, protocol, engine, device, device=device)


@job(output_schema=PoolMDDoc, data=["results"])
def parallel_md_job(
    targets: list[dict[str, Any]],
    protocol: dict[str, Any],
    engine: str = DEFAULT_MD_ENGINE,
    processes: int = 2,
) -> PoolMDDoc:
    """The force-field protocol of several materials side by side on the CPU
    (:func:`~sse_flows.md.parallel.run_parallel_md`: one process and one torch thread per
    material, ``processes`` at a time; the positive control starts first).

    Parameters
    ----------
    targets
        MD targets (``label``, ``material_id``, ``role``, ``structure`` as
        Structure.as_dict()).
    protocol
        :meth:`MDProtocol.as_dict` of the protocol.
    engine
        "sevennet" or "chgnet".
    processes
        Materials run at once.

    Returns
    -------
    PoolMDDoc
        Target label -> ``MDRunDoc``; the trajectories stay in :func:`pool_workdir`, one
        sub-folder per label.
    """
    import time

    from sse_flows.analysis.verdict import diffusion_verdict
    from sse_flows.md.parallel import run_parallel_md
    from sse_flows.progress import report_progress

    start = time.perf_counter()

    def done(label: str, doc) -> None:
        summary = diffusion_verdict(doc.diffusion) if doc.diffusion is not None else doc.status
        report_progress(f"[md] {label}: {summary} ({time.perf_counter() - start:.0f} s)")

    return _run_targets(
        run_parallel_md, targets, protocol, engine, "cpu", processes=processes,
        long_first=[t.get("role") == "positive_control" for t in targets], on_done=done,
    )


# ---------------------------------------------------------------------- VASP
@job(output_schema=RestartCellDoc)
def structure_from_contcar(dir_name: str) -> RestartCellDoc:
    """The final structure of a VASP MD run with its velocities (to continue the run).

    atomate2's ``MultiMDMaker`` passes on the task document's structure, which has no
    velocities; this reads the CONTCAR so the next chunk continues the dynamics.

    Parameters
    ----------
    dir_name
        Directory (atomate2 ``dir_name``, host prefix allowed) of the finished run.

    Returns
    -------
    RestartCellDoc
        Its ``structure`` has a ``velocities`` site property (A/fs) when the CONTCAR has
        velocities.
    """
    from pymatgen.io.vasp import Poscar

    directory = _local_dir(dir_name)
    contcar = _find_file(directory, "CONTCAR")
    if contcar is None:
        raise FileNotFoundError(f"no CONTCAR in {directory}")
    poscar = Poscar.from_file(contcar)
    structure = poscar.structure
    if poscar.velocities is not None:
        structure.add_site_property("velocities", [list(v) for v in poscar.velocities])
    return RestartCellDoc(
        structure=structure.as_dict(),
        dir_name=str(dir_name),
        has_velocities=poscar.velocities is not None,
    )


def vasp_record(
    temperature: float, dir_names: list[str | None], chunk_steps: list[int]
) -> ProductionRecord:
    """The production record of VASP chunks (their vasprun.xml files, in order)."""
    record = ProductionRecord(temperature=temperature)
    for index, (dir_name, steps) in enumerate(zip(dir_names, chunk_steps, strict=True), 1):
        if dir_name is None:
            record.error = f"VASP production chunk {index} did not complete"
            return record
        path = _find_file(_local_dir(dir_name), "vasprun.xml")
        if path is None:
            record.error = f"no vasprun.xml in {_local_dir(dir_name)}"
            return record
        record.files.append(str(path))
        record.production_steps += steps
        record.chunks = index
    return record


@job(output_schema=ProductionOutcome, config=JobConfig(on_missing_references=OnMissing.NONE))
def vasp_production_decision(
    maker: AimdProtocolMaker,
    temperature: float,
    dir_names: list[str | None],
    chunk_steps: list[int],
) -> Response:
    """After the planned VASP chunks: stop, or append one more chunk and decide again.

    Parameters
    ----------
    maker
        The :class:`~sse_flows.md.makers.AimdProtocolMaker` (its protocol and VASP inputs).
    temperature
        The temperature (K).
    dir_names
        Directories of the production chunks so far (None for a chunk that died).
    chunk_steps
        NSW of each of those chunks.

    Returns
    -------
    Response
        The temperature's record in a :class:`~sse_flows.md.schemas.ProductionOutcome`
        when production stops, else a replacing Flow (restart reader, one more chunk, the
        next decision) whose output is that decision's outcome.
    """
    from sse_flows.md.continuation import production_decision

    protocol = maker.protocol
    record = production_decision(
        vasp_record(temperature, list(dir_names), list(chunk_steps)), protocol,
        time_step_fs=protocol.time_step_fs,
    )
    if record.stop_reason is not None:
        return Response(output=ProductionOutcome(record=record))
    nsteps = protocol.next_chunk_steps(record.production_steps)
    label = f"{temperature:g}K"
    restart = structure_from_contcar(dir_names[-1])
    restart.name = f"aimd restart {label} {record.chunks + 1}"
    chunk = maker.md_maker(f"aimd production {label} {record.chunks + 1}", temperature,
                           nsteps).make(restart.output.structure, prev_dir=dir_names[-1])
    decision = vasp_production_decision(
        maker, temperature, [*dir_names, chunk.output.dir_name], [*chunk_steps, nsteps]
    )
    decision.name = f"aimd decide {label}"
    # a dict, not the decision's output: jobflow applies ProductionOutcome to it as it is
    return Response(replace=Flow([restart, chunk, decision],
                                 output={"record": decision.output.record}))


@job(output_schema=ProductionOutcome, config=JobConfig(on_missing_references=OnMissing.NONE))
def vasp_fallback(
    maker: AimdProtocolMaker,
    temperature: float,
    supercell: Structure,
    earlier: list[ProductionRecord | None],
) -> Response:
    """A fallback temperature of the AIMD flow: its chain runs only when needed.

    Waits for the decisions of every protocol temperature (``earlier``; None for one whose
    chain died) and asks :func:`sse_flows.md.continuation.skip_colder`, as the force-field
    engines do: when they leave no Arrhenius fit (the hottest host unstable, or the hottest
    run alone diffusive) this job is replaced by the temperature's chain (equilibration,
    production chunks, decision: :meth:`AimdProtocolMaker.temperature_chain`), whose
    decision gives the record; otherwise the record says "skipped: hottest host intact"
    and no VASP runs. A hottest chain that died gives no D either: the fallback runs.

    Parameters
    ----------
    maker
        The :class:`~sse_flows.md.makers.AimdProtocolMaker` (its protocol and VASP inputs).
    temperature
        The fallback temperature (K).
    supercell
        The MD supercell of the protocol temperatures' runs.
    earlier
        The protocol temperatures' records (or their decisions' outcomes).

    Returns
    -------
    Response
        The skipped record in a :class:`~sse_flows.md.schemas.ProductionOutcome`, or a
        replacing Flow (the temperature's chain) whose output is its decision's outcome.
    """
    from sse_flows.md.continuation import skip_colder

    protocol = maker.protocol
    records = {
        record.temperature: record
        for record in (production_record(r) for r in earlier) if record is not None
    }
    skipped = skip_colder(temperature, records.get(max(protocol.temperatures)), protocol,
                          records)
    if skipped is not None:
        return Response(output=ProductionOutcome(record=skipped))
    chain = maker.temperature_chain(supercell, temperature)
    return Response(replace=Flow(chain, output={"record": chain[-1].output.record}))


# ---------------------------------------------------------------------- both engines
@job(
    output_schema=MDRunDoc,
    config=JobConfig(on_missing_references=OnMissing.NONE),
)
def collect_md(
    unit_cell: Structure,
    cell: MDCellDoc | None,
    records: list[ProductionRecord | None],
    protocol: dict[str, Any],
    engine: str,
    material_id: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> MDRunDoc:
    """Check and analyse every temperature of one material and make its ``MDRunDoc``.

    ``records`` holds one ProductionRecord per run temperature (a VASP decision's
    :class:`~sse_flows.md.schemas.ProductionOutcome` is read for its record). Runs even
    when some MD jobs died (their records arrive as ``None``): those
    temperatures are reported as failed, not dropped. With force fields and
    ``extension_chunks`` left, an "undetermined" verdict earns one more chunk at the
    limiting temperature (:func:`sse_flows.md.continuation.extension_temperature`), run
    here, in this job, and the material is analysed again, for up to ``extension_chunks``
    rounds. (Not a replacement by a chunk job and a new ``collect``: jobflow validates the
    output of a job replaced by a Flow against its ``output_schema`` before resolving it,
    so such a replacement never finishes.)
    """
    from sse_flows.md.continuation import extension_protocol, extension_temperature

    md_protocol = MDProtocol.from_dict(protocol)
    records = [production_record(record) for record in records]
    cell = MDCellDoc.model_validate(cell) if cell is not None else None
    supercell = Structure.from_dict(cell.supercell) if cell else unit_cell
    device = (parameters or {}).get("device", "cpu")
    while True:
        doc = make_md_run_doc(
            engine=engine,
            unit_cell=unit_cell,
            supercell=supercell,
            records=records,
            protocol=md_protocol,
            material_id=material_id,
            relaxation=cell.relaxation if cell else None,
            step_skip=1 if engine == "vasp" else None,
            parameters=parameters,
        )
        by_temperature = {
            t: r for t, r in zip(md_protocol.run_temperatures, records, strict=True)
            if r is not None
        }
        temperature = (
            None if engine == "vasp" or cell is None
            else extension_temperature(doc.diffusion, by_temperature, md_protocol)
        )
        if temperature is None:
            return doc
        from sse_flows.md.forcefield import load_calculator, md_chunk

        md_protocol = extension_protocol(by_temperature[temperature], md_protocol)
        logger.info("%s: one more chunk at %g K (undetermined verdict)",
                    material_id or unit_cell.composition.reduced_formula, temperature)
        index = md_protocol.run_temperatures.index(temperature)
        records[index] = md_chunk(supercell, temperature, md_protocol, Path.cwd(),
                                  load_calculator(engine, device), by_temperature[temperature])
