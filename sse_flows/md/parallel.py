"""Force-field MD of several materials side by side: one process per material, one thread each.

On a CPU a force-field MD step is mostly serial work (graph construction, the integrator,
small tensor operations): a second torch thread speeds one run up by ~1.3x, a second
process running another material by ~2x. :func:`run_parallel_md` therefore runs the
one-structure engine (:func:`~sse_flows.md.forcefield.run_forcefield_md`: the same
relaxation, protocol, stop rules and extension rounds as the per-material jobflow path)
for each material in its own process with one torch thread, ``processes`` at a time, and
returns one :class:`~sse_flows.md.schemas.MDRunDoc` per material, in input order. It is
what the MD stage runs with ``processes`` > 1 (:func:`sse_flows.md.jobs.parallel_md_job`).

Order: the material expected to run longest starts first (longest-processing-time
scheduling): materials flagged ``long_first`` (the positive control, which diffuses and
so runs every temperature to its limit), then by supercell size, largest first.

Limits: each material runs from the start in one call; an interrupted job starts its
materials again (the relaxation cache of the one-structure engine, where present, is
reused). A material whose MD fails gets a failed document with the reason; the others go
on. Child processes ignore SIGINT (the parent decides), die with the parent
(:func:`sse_flows.processes.die_with_parent`) and are terminated when the parent stops.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from pymatgen.core import Structure

from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol, supercell_scaling
from sse_flows.md.schemas import MDRunDoc, ProductionRecord

logger = logging.getLogger(__name__)


def _child_setup(parent_pid: int, threads: int) -> None:
    """Each child: no Ctrl-C of its own, killed with its parent, ``threads`` torch threads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from sse_flows.processes import die_with_parent

    die_with_parent(parent_pid)
    import torch

    torch.set_num_threads(threads)


def _run_one(task: tuple) -> MDRunDoc:
    """One material through the one-structure engine (in a child process)."""
    import warnings

    warnings.simplefilter("ignore")
    from sse_flows.md.forcefield import run_forcefield_md

    structure_dict, protocol_dict, workdir, material_id, engine = task
    return run_forcefield_md(
        Structure.from_dict(structure_dict), MDProtocol.from_dict(protocol_dict), workdir,
        material_id=material_id, engine=engine,
    )


def run_order(structures: Sequence[Structure], min_lattice_length: float,
              long_first: Sequence[bool] | None = None) -> list[int]:
    """Indices of ``structures`` in start order: ``long_first`` ones, then largest cells first.

    Parameters
    ----------
    structures
        The unit cells.
    min_lattice_length
        The protocol's minimum supercell length (A), which sets each supercell's size.
    long_first
        Materials expected to run longest (e.g. a positive control); default none.

    Returns
    -------
    list of int
        A permutation of ``range(len(structures))``.
    """
    flags = list(long_first) if long_first is not None else [False] * len(structures)
    atoms = [len(s) * math.prod(supercell_scaling(s, min_lattice_length)) for s in structures]
    return sorted(range(len(structures)), key=lambda k: (not flags[k], -atoms[k], k))


def run_parallel_md(
    structures: Sequence[Structure],
    protocol: MDProtocol,
    workdir: str | Path,
    labels: Sequence[str],
    material_ids: Sequence[str | None] | None = None,
    engine: str = DEFAULT_MD_ENGINE,
    processes: int = 2,
    threads: int = 1,
    long_first: Sequence[bool] | None = None,
    on_done=None,
) -> list[MDRunDoc]:
    """Run the force-field protocol of each material in its own process.

    Parameters
    ----------
    structures
        Unit cells with Li.
    protocol
        The MD protocol.
    workdir
        Material ``k`` writes its trajectories under ``workdir/<labels[k]>``.
    labels
        One unique label per material (its folder name is the label with characters
        other than letters, digits, ``-_.`` replaced by ``_``).
    material_ids
        Recorded in the documents (default: none).
    engine
        "chgnet" or "sevennet" (on the CPU).
    processes
        Materials run at once (>= 1).
    threads
        Torch threads per process.
    long_first
        Materials to start first (see :func:`run_order`).
    on_done
        Called as ``on_done(label, doc)`` in the parent when a material finishes.

    Returns
    -------
    list of MDRunDoc
        One per material, in input order; a material whose MD raised gets a failed
        document naming the error.
    """
    from sse_flows.md.documents import make_md_run_doc
    from sse_flows.md.pool import _safe_name

    n = len(structures)
    ids = list(material_ids) if material_ids is not None else [None] * n
    folders = [_safe_name(label) for label in labels]
    if len(labels) != n or len(ids) != n or len(set(folders)) != n:
        raise ValueError(f"{n} structures need {n} unique labels and material ids")
    if processes < 1 or threads < 1:
        raise ValueError(f"processes and threads must be >= 1, got {processes}, {threads}")
    root = Path(workdir).resolve()
    order = run_order(structures, protocol.min_lattice_length, long_first)
    docs: list[MDRunDoc | None] = [None] * n
    context = multiprocessing.get_context("spawn")  # no fork of a process with torch threads
    pool = ProcessPoolExecutor(
        max_workers=min(processes, n), mp_context=context,
        initializer=_child_setup, initargs=(os.getpid(), threads),
    )
    try:
        futures = {
            pool.submit(_run_one, (structures[k].as_dict(), protocol.as_dict(),
                                   str(root / folders[k]), ids[k], engine)): k
            for k in order
        }
        for future in as_completed(futures):
            k = futures[future]
            try:
                docs[k] = future.result()
            except Exception as exc:  # noqa: BLE001 - this material fails, the others go on
                logger.warning("MD of %s failed: %s", labels[k], exc)
                reason = f"engine error: {type(exc).__name__}: {exc}"
                docs[k] = make_md_run_doc(
                    engine=engine, unit_cell=structures[k], supercell=structures[k],
                    records=[ProductionRecord(temperature=t, error=reason,
                                              stop_reason="engine error")
                             for t in protocol.run_temperatures],
                    protocol=protocol, material_id=ids[k], relaxation=None,
                    parameters={"workdir": str(root / folders[k]), "processes": processes},
                )
            if on_done is not None:
                on_done(labels[k], docs[k])
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()  # an interrupt must not leave MD running
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return docs
