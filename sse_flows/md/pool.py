"""Force-field MD of many materials in one process: relax each, batched MD, one document each.

:func:`run_pool_md` is the many-material twin of
:func:`~sse_flows.md.forcefield.run_forcefield_md`: the same relaxation and supercell
(:func:`~sse_flows.md.relax.prepare_in_folder`), the same protocol driver
(:func:`~sse_flows.md.driver.run_protocol`: hottest temperature first, colder ones skipped
for materials without Li hops, the stop decision after each chunk) over the batched engine
(:class:`~sse_flows.md.batched.BatchedEngine`), and the same
:func:`~sse_flows.md.documents.make_md_run_doc`, so every material gets the
:class:`~sse_flows.md.schemas.MDRunDoc` the one-structure engine would write. It is what the
pool-wide MD mode of the discovery flow runs (:func:`sse_flows.md.jobs.pool_md_job`), one
job per batch of materials.

A material whose relaxation fails, or whose MD fails, gets a failed document with its
reason; the others go on. Limit: no extension rounds (``extension_chunks`` is not used
here; the one-structure engine runs them).

Restart: each material's folder keeps its relaxed supercell (:data:`PREPARED_FILE`) and
each (material, temperature) pair a checkpoint after every production chunk
(:func:`~sse_flows.md.batched.checkpoint_path`). Run again in the same ``workdir`` after an
interruption (a killed job, a wall-time limit), the same call skips the relaxations,
keeps the finished pairs and continues the others from their last chunk, with the same
seeds: the documents equal those of an uninterrupted run. A finished pair's stop is
decided again by the current continue-until rule (a rule that stops later runs it on),
and a protocol that differs only in its fallback temperatures keeps every checkpoint.

Extend: run again with a higher ``max_production_steps`` (or a tighter
``target_d_relative_error``) and each pair that stopped at the old limit continues from its
last chunk with the next chunk's seed. The trajectory is the old one plus more production:
the same physics as a run made with the higher limit from the start, though not the same
numbers (its chunk boundaries and seeds after the old limit may differ). The relaxed cell
is kept as well.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from pymatgen.core import Structure

from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol, MDStructureError
from sse_flows.md.relax import PREPARED_FILE  # noqa: F401 - a material's prepared cell
from sse_flows.md.schemas import MDRunDoc, ProductionRecord, RelaxationDoc

logger = logging.getLogger(__name__)


def _safe_name(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def run_pool_md(
    structures: Sequence[Structure],
    protocol: MDProtocol,
    workdir: str | Path,
    labels: Sequence[str] | None = None,
    material_ids: Sequence[str | None] | None = None,
    engine: str = DEFAULT_MD_ENGINE,
    device: str = "cpu",
    max_batch_atoms: int | None = None,
    progress: bool = False,
) -> list[MDRunDoc]:
    """The force-field protocol for many materials, batched; never raises for MD failures.

    Parameters
    ----------
    structures
        Ordered unit cells with Li.
    protocol
        The MD protocol (thermostats "langevin" or "bussi").
    workdir
        Each material writes its trajectories under ``workdir/<label>``.
    labels
        One unique label per material (default: ``material_ids``, else ``m000``, ...).
    material_ids
        Recorded in the documents (default: none).
    engine
        "sevennet" or "chgnet".
    device
        "cpu" or "cuda".
    max_batch_atoms
        Most atoms in flight at once (default: the batched engine's).
    progress
        Show progress bars (relaxations, finished MD pairs).

    Returns
    -------
    list of MDRunDoc
        One per material, in input order.
    """
    from tqdm.auto import tqdm

    from sse_flows.md.batched import BatchedEngine
    from sse_flows.md.documents import make_md_run_doc
    from sse_flows.md.driver import run_protocol

    n = len(structures)
    ids = list(material_ids) if material_ids is not None else [None] * n
    names = list(labels) if labels is not None else [i or f"m{k:03d}" for k, i in enumerate(ids)]
    if len(ids) != n or len(names) != n:
        raise ValueError(f"{n} structures, {len(ids)} material ids, {len(names)} labels")
    if len(set(names)) != n:
        raise ValueError("every material needs its own label")
    md_engine = BatchedEngine(engine, device, max_batch_atoms)
    root = Path(workdir).resolve()
    folders = [root / _safe_name(name) for name in names]
    prepared: list[tuple[Structure, RelaxationDoc | None] | str] = []
    for k, structure in enumerate(tqdm(structures, desc="relax", disable=not progress)):
        try:
            prepared.append(md_engine.prepare(structure, protocol, folders[k]))
        except MDStructureError as exc:  # not a structure MD can run (disordered, no Li)
            logger.warning("%s: %s", structure.formula, exc)
            prepared.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - this material fails, the others go on
            logger.warning("relaxation of %s failed: %s", structure.formula, exc)
            prepared.append(f"relaxation failed: {type(exc).__name__}: {exc}")

    def document(k: int, supercell: Structure, relaxation: RelaxationDoc | None):
        def write(records: list[ProductionRecord], current: MDProtocol) -> MDRunDoc:
            return make_md_run_doc(
                engine=engine, unit_cell=structures[k], supercell=supercell, records=records,
                protocol=current, material_id=ids[k], relaxation=relaxation,
                parameters={"device": device, "workdir": str(folders[k]), "batched": True},
            )
        return write

    ok = [k for k, item in enumerate(prepared) if not isinstance(item, str)]
    docs_of: dict[int, MDRunDoc] = {}
    if ok:
        bars = []

        def phase_bar(count: int) -> None:
            if bars:
                bars[-1].close()
            bars.append(tqdm(total=count, desc="MD pairs", unit="pair", disable=not progress))

        docs = run_protocol(
            md_engine, [prepared[k][0] for k in ok], [folders[k] for k in ok], protocol,
            [document(k, *prepared[k]) for k in ok], extension=False,
            on_finish=lambda _i, _r: bars[-1].update(1), on_phase=phase_bar,
        )
        for bar in bars[-1:]:
            bar.close()
        docs_of = dict(zip(ok, docs, strict=True))
    return [
        docs_of[k] if k in docs_of else document(k, structure, None)(
            [ProductionRecord(temperature=t, error=prepared[k], stop_reason="engine error")
             for t in protocol.run_temperatures], protocol)
        for k, structure in enumerate(structures)
    ]
