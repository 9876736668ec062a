"""jobflow jobs of the ranking stage: choose MD targets, then rank with the MD results."""

from __future__ import annotations

from typing import Any

from jobflow import job

from sse_flows.provenance import Provenance
from sse_flows.ranking.schemas import RankingDoc
from sse_flows.ranking.selection import (
    SelectionDoc,
    candidate_rows,
    choose_targets,
    get_field,
    rank,
)


def structure_finder(source: str, structures_dir: str | None):
    """``find(material_id, formula) -> (structure_dict, origin) | None`` for a source.

    The live MP source gives each material's own MP structure; otherwise (and as a fallback)
    the local :class:`~sse_flows.sources.structures.StructureLibrary` is used.
    """
    from sse_flows.sources.structures import StructureLibrary

    library = StructureLibrary(structures_dir)
    mp_source = None
    if source == "mp":
        from sse_flows.sources import get_source

        mp_source = get_source("mp")

    def find(material_id: str | None, formula: str) -> tuple[dict, str] | None:
        if mp_source is not None and material_id:
            structure = mp_source.structure(material_id)
            if structure is not None:
                return structure.as_dict(), f"mp:{material_id}"
        hit = library.find(material_id, formula)
        return None if hit is None else (hit.structure.as_dict(), hit.origin)

    return find


@job(data=["targets"])
def select_candidates_job(
    screening: Any,
    votes: Any,
    max_md: int = 3,
    control_formula: str | None = "Li10GeP2S12",
    negative_control_formula: str | None = "Li3PO4",
    source: str = "snapshot",
    structures_dir: str | None = None,
    max_atoms: int | None = None,
    min_lattice_length: float = 10.0,
) -> SelectionDoc:
    """Join votes with stability, and choose the MD targets (plus the controls).

    Parameters
    ----------
    screening
        The ScreeningDoc (or its dict) of the pool.
    votes
        The VoteDoc (or its dict) of the ensemble.
    max_md
        Most candidates sent to MD, most probable first (the control is extra).
    control_formula
        A known fast conductor run beside the candidates; None for no control.
    negative_control_formula
        A known poor conductor run beside the candidates; None for none.
    source
        'snapshot' or 'mp' (MP gives structures by material id).
    structures_dir
        A user folder of structure files (see StructureLibrary).
    max_atoms
        Candidates whose MD supercell exceeds this many atoms are not run (None: no limit).
    min_lattice_length
        The MD protocol's supercell rule (A), to count those atoms.
    """
    rows = candidate_rows(screening, votes)
    find = structure_finder(source, structures_dir)
    rows, targets = choose_targets(
        rows, find, max_md, control_formula, negative_control_formula, max_atoms,
        min_lattice_length,
    )
    parameters = {
        "max_md": max_md,
        "control_formula": control_formula,
        "negative_control_formula": negative_control_formula,
        "max_atoms": max_atoms,
        "min_lattice_length": min_lattice_length,
        "source": source,
        "structures_dir": structures_dir,
    }
    survivors = get_field(screening, "survivors")
    return SelectionDoc(
        rows=rows,
        targets=targets,
        max_md=max_md,
        n_screened=len(survivors),
        provenance=Provenance.make(parameters),
    )


@job
def rank_candidates_job(
    selection: Any,
    md_results: dict[str, Any] | None,
    engine: str,
    protocol: str,
    reduced_protocol: bool,
) -> RankingDoc:
    """The final candidate table: vote, stability and MD validation of every candidate.

    ``md_results`` maps each MD target label to its MD document (with the diffusion
    analysis inside); a missing or None entry (a job that died) is reported as failed.
    """
    parameters = {"engine": engine, "protocol": protocol, "reduced_protocol": reduced_protocol}
    return rank(
        selection,
        md_results,
        engine=engine,
        protocol=protocol,
        reduced_protocol=reduced_protocol,
        parameters=parameters,
    )
