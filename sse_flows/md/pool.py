"""Force-field MD of many materials in one process: relax each, batched MD, one document each.

:func:`run_pool_md` is the many-material twin of
:func:`~sse_flows.md.forcefield.run_forcefield_md`: the same relaxation and supercell
(:func:`~sse_flows.md.forcefield.prepare_supercell`), the same protocol run by the batched
engine (:func:`~sse_flows.md.batched.run_batched_materials`: hottest temperature first,
colder ones skipped for materials without Li hops), and the same
:func:`~sse_flows.md.documents.make_md_run_doc`, so every material gets the
:class:`~sse_flows.md.schemas.MDRunDoc` the one-structure engine would write. It is what the
pool-wide MD mode of the discovery flow runs (:func:`sse_flows.md.jobs.pool_md_job`), one
job per batch of materials.

A material whose relaxation fails, or whose MD fails, gets a failed document with its
reason; the others go on.

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

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from pymatgen.core import Structure

from sse_flows.data.writers import write_text_atomic
from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol, MDStructureError
from sse_flows.md.schemas import MDRunDoc, ProductionRecord, RelaxationDoc

logger = logging.getLogger(__name__)


def _safe_name(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


#: The relaxed MD supercell of a material, kept in its folder so that a rerun after an
#: interruption does not relax it again (and continues from the same cell).
PREPARED_FILE = "prepared_supercell.json"


def _fingerprint(structure: Structure, protocol: MDProtocol, engine: str) -> str:
    payload = json.dumps([structure.as_dict(), protocol.pair_key(), engine], sort_keys=True,
                         default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _prepare(structure: Structure, protocol: MDProtocol, engine: str, calculator,
             folder: Path) -> tuple[Structure, RelaxationDoc | None]:
    """:func:`~sse_flows.md.forcefield.prepare_supercell`, or its result from an earlier run
    of the same structure, protocol and engine in ``folder``."""
    from sse_flows.md.forcefield import prepare_supercell

    path = folder / PREPARED_FILE
    key = _fingerprint(structure, protocol, engine)
    try:
        saved = json.loads(path.read_text())
        if saved["fingerprint"] == key:
            relaxation = saved["relaxation"]
            return (Structure.from_dict(saved["supercell"]),
                    None if relaxation is None else RelaxationDoc.model_validate(relaxation))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    supercell, relaxation = prepare_supercell(structure, protocol, calculator, engine)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({
        "fingerprint": key, "supercell": supercell.as_dict(),
        "relaxation": None if relaxation is None else relaxation.model_dump(mode="json"),
    }))
    return supercell, relaxation


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

    from sse_flows.md.batched import load_batched_potential, run_batched_materials
    from sse_flows.md.documents import make_md_run_doc
    from sse_flows.md.forcefield import load_calculator

    n = len(structures)
    ids = list(material_ids) if material_ids is not None else [None] * n
    names = list(labels) if labels is not None else [i or f"m{k:03d}" for k, i in enumerate(ids)]
    if len(ids) != n or len(names) != n:
        raise ValueError(f"{n} structures, {len(ids)} material ids, {len(names)} labels")
    if len(set(names)) != n:
        raise ValueError("every material needs its own label")
    calculator = load_calculator(engine, device)
    root = Path(workdir).resolve()
    prepared: list[tuple[Structure, object] | str] = []
    for k, structure in enumerate(tqdm(structures, desc="relax", disable=not progress)):
        try:
            prepared.append(_prepare(structure, protocol, engine, calculator,
                                     root / _safe_name(names[k])))
        except MDStructureError as exc:  # not a structure MD can run (disordered, no Li)
            logger.warning("%s: %s", structure.formula, exc)
            prepared.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - this material fails, the others go on
            logger.warning("relaxation of %s failed: %s", structure.formula, exc)
            prepared.append(f"relaxation failed: {type(exc).__name__}: {exc}")
    ok = [k for k, item in enumerate(prepared) if not isinstance(item, str)]
    records_of: dict[int, list[ProductionRecord]] = {}
    if ok:
        results = run_batched_materials(
            [prepared[k][0] for k in ok], protocol, [root / _safe_name(names[k]) for k in ok],
            engine=engine, device=device, max_batch_atoms=max_batch_atoms,
            potential=load_batched_potential(engine, device), progress=progress,
        )
        records_of = dict(zip(ok, results, strict=True))
    docs = []
    for k, structure in enumerate(structures):
        item = prepared[k]
        if isinstance(item, str):
            supercell, relaxation = structure, None
            records = [
                ProductionRecord(temperature=t, error=item, stop_reason="engine error")
                for t in protocol.run_temperatures
            ]
        else:
            (supercell, relaxation), records = item, records_of[k]
        docs.append(make_md_run_doc(
            engine=engine, unit_cell=structure, supercell=supercell, records=records,
            protocol=protocol, material_id=ids[k], relaxation=relaxation,
            parameters={"device": device, "workdir": str(root / _safe_name(names[k])),
                        "batched": True},
        ))
    return docs
