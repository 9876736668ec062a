"""Describe materials: one :class:`StructureDescriptorsDoc` each, never raising."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sse_flows.provenance import Provenance
from sse_flows.structure_stage.descriptors import (
    DESCRIPTOR_NAMES,
    LI_NETWORK_CUTOFF_A,
    MAX_CUTOFF_A,
    li_transport_descriptors,
)
from sse_flows.structure_stage.schemas import StructureDescriptorsDoc, StructureStageDoc
from sse_flows.structure_stage.score import structure_score


def describe_material(
    material: Mapping[str, Any],
    li_network_cutoff: float = LI_NETWORK_CUTOFF_A,
    with_bvse: bool = False,
) -> StructureDescriptorsDoc:
    """The structure descriptors of one material; a failure is stored, not raised.

    Parameters
    ----------
    material : mapping
        ``structure`` (pymatgen ``Structure`` or its ``as_dict()``), and optionally
        ``label``, ``material_id`` and ``formula``. The label defaults to the material id,
        then the formula.
    li_network_cutoff : float
        Li-Li cutoff (A) of ``li_network_dimension`` and ``li_network_fraction``.
    with_bvse : bool
        Also compute the bvlain BVSE barriers (needs ``bvlain``; seconds to minutes).

    Returns
    -------
    StructureDescriptorsDoc
        The descriptors and :func:`~sse_flows.structure_stage.score.structure_score`, or
        ``error`` naming what went wrong (no structure, unreadable, no Li site, ...).
    """
    start = time.perf_counter()
    material_id = material.get("material_id")
    formula = material.get("formula")
    label = str(material.get("label") or material_id or formula or "unnamed")
    doc = StructureDescriptorsDoc(label=label, material_id=material_id, formula=formula)
    try:
        from pymatgen.core import Structure

        structure = material.get("structure")
        if structure is None:
            raise ValueError("no structure")
        if not isinstance(structure, Structure):
            structure = Structure.from_dict(structure)
        doc.formula = structure.composition.reduced_formula
        doc.n_sites = len(structure)
        doc.ordered = bool(structure.is_ordered)
        values = li_transport_descriptors(structure, li_network_cutoff=li_network_cutoff)
        for name in (*DESCRIPTOR_NAMES, "oxidation_states"):
            setattr(doc, name, values[name])
        if with_bvse:
            from sse_flows.structure_stage.bvse import bvse_barriers

            for name, value in bvse_barriers(structure).items():
                setattr(doc, name, value)
        doc.structure_score = structure_score(doc)
    except Exception as exc:  # any failure of one material is that material's error
        doc.error = f"{type(exc).__name__}: {exc}"
    doc.seconds = time.perf_counter() - start
    return doc


def describe_materials(
    materials: Sequence[Mapping[str, Any]],
    li_network_cutoff: float = LI_NETWORK_CUTOFF_A,
    with_bvse: bool = False,
) -> StructureStageDoc:
    """:func:`describe_material` of every material (a failing one gets an ``error``), with
    counts, time and provenance.

    Parameters
    ----------
    materials : sequence of mapping
        Each with ``structure`` and optionally ``label``, ``material_id``, ``formula``.
    li_network_cutoff : float
        Li-Li cutoff (A) of the fixed-cutoff network descriptors.
    with_bvse : bool
        Also compute the bvlain BVSE barriers (needs ``bvlain``; seconds to minutes each).

    Returns
    -------
    StructureStageDoc
        One document per material, in the order given.
    """
    start = time.perf_counter()
    documents = [describe_material(m, li_network_cutoff, with_bvse) for m in materials]
    n_failed = sum(doc.error is not None for doc in documents)
    parameters = {
        "li_network_cutoff_A": li_network_cutoff,
        "max_cutoff_A": MAX_CUTOFF_A,
        "with_bvse": with_bvse,
    }
    return StructureStageDoc(
        documents=documents,
        n_materials=len(documents),
        n_ok=len(documents) - n_failed,
        n_failed=n_failed,
        seconds=time.perf_counter() - start,
        provenance=Provenance.make(parameters),
    )
