"""jobflow jobs of the ranking stage: choose MD targets, then rank with the MD results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Job, OnMissing, job

from sse_flows.jobs_common import StageMaker
from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol
from sse_flows.models.schemas import VoteDoc
from sse_flows.provenance import Provenance
from sse_flows.ranking.acquisition import default_md_top
from sse_flows.ranking.schemas import MDValidationDoc, RankingDoc
from sse_flows.ranking.selection import (
    SelectionDoc,
    parse_md_scope,
    rank,
    select_md_targets,
)
from sse_flows.screening.schemas import ScreeningDoc


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


@job(data=["targets"], output_schema=SelectionDoc)
def select_candidates_job(
    screening: ScreeningDoc | dict[str, Any],
    votes: VoteDoc | dict[str, Any],
    max_md: int = 3,
    control_formula: str | None = "Li10GeP2S12",
    negative_control_formula: str | None = "Li3PO4",
    source: str = "snapshot",
    structures_dir: str | None = None,
    max_atoms: int | None = None,
    min_lattice_length: float = 10.0,
    md_scope: str = "candidates",
    md_top: int | None = None,
    structure_log_odds: dict[str, float] | None = None,
) -> SelectionDoc:
    """Score every screened material by acquisition and choose the MD targets (plus the
    controls); :func:`~sse_flows.ranking.selection.select_md_targets` does the work.

    Parameters
    ----------
    screening
        The ScreeningDoc of the pool (or its stored dict, validated here).
    votes
        The VoteDoc of the ensemble (or its stored dict, validated here).
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
    md_scope
        "candidates" (the vote's candidates, at most ``max_md``, plus ``md_top`` by
        acquisition), "top-N" (the N best screened materials by acquisition, candidates
        or not) or "pool" (every screened material, best first); see
        :func:`~sse_flows.ranking.selection.parse_md_scope`.
    md_top
        Screened materials sent to MD by acquisition beside the vote's candidates
        ("candidates" scope); None: the recipe's default
        (:data:`~sse_flows.ranking.acquisition.DEFAULT_MD_TOP`: open 3, paper 0, read from
        the vote's ensemble).
    structure_log_odds
        A structure stage's log-odds shift of the acquisition per material (MP id, else
        formula); None: none.

    Returns
    -------
    SelectionDoc
        The candidate rows, the MD targets (sent to the ``data`` store) and the funnel.
    """
    import time

    start = time.perf_counter()
    screening = ScreeningDoc.model_validate(screening)
    votes = VoteDoc.model_validate(votes)
    find = structure_finder(source, structures_dir)
    limit = max_md if md_scope == "candidates" else parse_md_scope(md_scope)
    top = 0
    if md_scope == "candidates":
        top = default_md_top(votes.ensemble.recipe) if md_top is None else md_top
    rules = {
        "max_md": max_md,
        "control_formula": control_formula,
        "negative_control_formula": negative_control_formula,
        "max_atoms": max_atoms,
        "min_lattice_length": min_lattice_length,
    }
    rows, targets, funnel = select_md_targets(
        screening, votes, find, md_scope=md_scope, md_top=top,
        structure_log_odds=structure_log_odds, **rules,
    )
    parameters = {
        **rules,
        "source": source,
        "structures_dir": structures_dir,
        "md_scope": md_scope,
        "md_top": md_top,
        "structure_log_odds": bool(structure_log_odds),
    }
    return SelectionDoc(
        rows=rows,
        targets=targets,
        max_md=limit,
        md_scope=md_scope,
        md_top=top,
        n_screened=len(screening.survivors),
        n_scored=next(stage.count for stage in funnel if stage.name == "scored"),
        funnel=funnel,
        seconds=time.perf_counter() - start,
        provenance=Provenance.make(parameters),
    )


@job(output_schema=RankingDoc)
def rank_candidates_job(
    selection: SelectionDoc | dict[str, Any],
    md_results: MDValidationDoc | dict[str, Any] | None,
    engine: str,
    protocol: str,
    reduced_protocol: bool,
) -> RankingDoc:
    """The final candidate table: vote, stability and MD validation of every candidate.

    Parameters
    ----------
    selection
        The SelectionDoc (or its stored dict, validated here).
    md_results
        The MD validation stage's :class:`MDValidationDoc`: each MD target label -> its MD
        document (with the diffusion analysis inside); a missing or None entry (a job
        that died), or no document at all, is reported as failed.
    engine
        The MD engine.
    protocol
        Description of the MD protocol.
    reduced_protocol
        Whether the protocol is shorter or smaller than the paper's.

    Returns
    -------
    RankingDoc
        The ranked candidate table.
    """
    parameters = {"engine": engine, "protocol": protocol, "reduced_protocol": reduced_protocol}
    md_documents = MDValidationDoc.model_validate(md_results or {}).documents()
    selection_doc = SelectionDoc.model_validate(selection)
    return rank(selection_doc, md_documents, **parameters, parameters=parameters)


@dataclass
class CandidateSelectionMaker(StageMaker):
    """Maker of the selection stage (:func:`select_candidates_job`).

    Parameters
    ----------
    max_md : int
        Most candidates sent to MD, most probable first (the controls are extra).
    control_formula : str or None
        A known fast conductor run beside the candidates; None for no control.
    negative_control_formula : str or None
        A known poor conductor run beside the candidates; None for none.
    source : str
        ``'snapshot'`` or ``'mp'`` (MP gives structures by material id).
    structures_dir : str or None
        A user folder of structure files (see ``StructureLibrary``).
    max_atoms : int or None
        Candidates whose MD supercell exceeds this many atoms are not run (None: no limit).
    min_lattice_length : float
        The MD protocol's supercell rule (A), to count those atoms.
    md_scope : str
        "candidates", "top-N" or "pool" (:func:`select_candidates_job`).
    md_top : int or None
        Screened materials sent to MD by acquisition beside the vote's candidates
        ("candidates" scope; :mod:`sse_flows.ranking.acquisition`); None: the recipe's
        default (open 3, paper 0).
    """

    name: str = "select candidates"
    max_md: int = 3
    control_formula: str | None = "Li10GeP2S12"
    negative_control_formula: str | None = "Li3PO4"
    source: str = "snapshot"
    structures_dir: str | None = None
    max_atoms: int | None = None
    min_lattice_length: float = 10.0
    md_scope: str = "candidates"
    md_top: int | None = None

    def make(self, screening: Any, votes: Any, structure_log_odds: Any = None) -> Job:
        """The selection job.

        Parameters
        ----------
        screening : ScreeningDoc or OutputReference
            The screening stage's output.
        votes : VoteDoc or OutputReference
            The vote stage's output.
        structure_log_odds : dict, OutputReference or None
            A structure stage's log-odds shift of the acquisition per material (MP id,
            else formula); None: none.

        Returns
        -------
        Job
            Its output is a :class:`~sse_flows.ranking.selection.SelectionDoc`.
        """
        return self.named_job(
            select_candidates_job, screening, votes, structure_log_odds=structure_log_odds
        )


@dataclass
class RankingMaker(StageMaker):
    """Maker of the ranking stage (:func:`rank_candidates_job`).

    Parameters
    ----------
    engine : str
        The MD engine whose results are ranked (recorded in the table).
    protocol : MDProtocol
        The MD protocol those results were run with (described in the table; a reduced
        protocol is flagged).
    """

    name: str = "rank candidates"
    engine: str = DEFAULT_MD_ENGINE
    protocol: MDProtocol = field(default_factory=MDProtocol)

    def make(self, selection: Any, md_results: Any) -> Job:
        """The ranking job; it runs even when an MD flow died (missing results are None).

        Parameters
        ----------
        selection : SelectionDoc or OutputReference
            The selection stage's output.
        md_results : dict or OutputReference
            Target label -> ``MDRunDoc`` (the MD validation stage's output).

        Returns
        -------
        Job
            Its output is a :class:`~sse_flows.ranking.schemas.RankingDoc`.
        """
        ranking = self.named_job(
            rank_candidates_job,
            selection,
            md_results,
            protocol=self.protocol.describe(self.engine),
            reduced_protocol=self.protocol.reduced,
        )
        ranking.config.on_missing_references = OnMissing.NONE
        return ranking
