"""Pick the materials that go to MD, and assemble the final ranked candidate table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from sse_flows.analysis.verdict import (  # verdict: re-exported for the ranking's users
    CLOSE_MAX_DECADES,  # noqa: F401
    diffusion_verdict,
    verdict,  # noqa: F401
)
from sse_flows.provenance import Provenance
from sse_flows.ranking.schemas import CandidateDoc, RankingDoc, SelectionStage
from sse_flows.types import (
    DocumentProvenance,
    MaterialId,
    ReducedFormula,
    StructureDict,
    StructureOrigin,
)

if TYPE_CHECKING:
    from sse_flows.md.schemas import MDRunDoc
    from sse_flows.models.schemas import VoteDoc
    from sse_flows.screening.schemas import ScreeningDoc

NO_STRUCTURE_HELP = (
    "No structure for this composition in the structure library. Put a CIF/POSCAR named "
    "'<mp-id>.cif' or '<formula>.cif' in the folder given by --structures-dir, or run "
    "with --source mp and an MP API key so structures come from the Materials Project."
)


class MDTarget(BaseModel):
    """A material selected for MD validation."""

    label: str = Field(..., description="Unique label: MP id when known, else the formula.")
    material_id: MaterialId = None
    formula: ReducedFormula
    role: str = Field(
        "candidate", description="'candidate', 'positive_control' or 'negative_control'."
    )
    structure: StructureDict | None = Field(
        None, description="pymatgen Structure.as_dict() for MD; None when none was found."
    )
    structure_origin: StructureOrigin = None


class SelectionDoc(BaseModel):
    """The candidate rows (votes + stability) and the MD targets chosen among them."""

    rows: list[CandidateDoc] = Field(
        ..., description="Every voted candidate plus the control, before MD."
    )
    targets: list[MDTarget] = Field(..., description="Materials that will run MD, in order.")
    max_md: int | None = Field(
        ..., description="Most candidates sent to MD (None: no limit; the controls are extra)."
    )
    md_scope: str = Field(
        "candidates", description="What MD runs on: 'candidates', 'top-N' or 'pool'."
    )
    md_top: int | None = Field(
        None,
        description="Screened materials sent to MD by acquisition beside the vote's "
        "candidates (--md-top, after the recipe's default; 0 outside the 'candidates' "
        "scope; None in documents written before it existed).",
    )
    n_screened: int = Field(0, description="Materials that passed the screening funnel.")
    n_scored: int = Field(
        0, description="Screened materials the model scored (each has an acquisition score)."
    )
    funnel: list[SelectionStage] = Field(
        default_factory=list,
        description="Materials left after each selection step: screened -> scored -> with "
        "a structure -> within --md-max-atoms -> vote candidates -> acquisition top K -> "
        "MD targets (:func:`select_md_targets`).",
    )
    seconds: float = Field(
        0.0, description="Wall-clock time of the selection (s), mostly structure look-ups."
    )
    provenance: DocumentProvenance


def parse_md_scope(scope: str) -> int | None:
    """The number of materials an MD scope sends to MD (None: no limit but ``max_md``).

    Parameters
    ----------
    scope : str
        "candidates", "pool" or "top-N" with N >= 1 (e.g. "top-20").

    Returns
    -------
    int or None
        N for "top-N"; None for "candidates" (``max_md`` applies) and "pool" (everything).

    Raises
    ------
    ParameterError
        Any other spelling, with the allowed ones (a ``ValueError``).
    """
    from sse_flows.parameters import ParameterError

    scope = str(scope)
    if scope in ("candidates", "pool"):
        return None
    head, _, count = scope.partition("-")
    if head == "top" and count.isdigit() and int(count) >= 1:
        return int(count)
    raise ParameterError(
        "md_scope",
        f"must be 'candidates', 'pool' or 'top-N' with N >= 1 (e.g. 'top-20'), got {scope!r}",
    )


def candidate_rows(
    screening: ScreeningDoc, votes: VoteDoc, md_scope: str = "candidates"
) -> list[CandidateDoc]:
    """Join voted materials with their screening record, most probable first.

    Parameters
    ----------
    screening : ScreeningDoc
        The screening stage's document (its ``on_hull`` materials carry the stability).
    votes : VoteDoc
        The vote stage's document (``candidates`` passed the vote rule; ``votes`` holds
        every material).
    md_scope : str
        "candidates": the vote-rule candidates only (the paper). "top-N" and "pool": every
        voted material that could be featurized, candidate or not (``passed_vote`` says).

    Returns
    -------
    list of CandidateDoc
        One row per material, by decreasing probability of being superionic.
    """
    parse_md_scope(md_scope)
    by_id = {(m.material_id, m.formula): m for m in screening.on_hull}
    by_formula = {m.formula: m for m in screening.on_hull}
    voted = votes.candidates if md_scope == "candidates" else [
        vote for vote in votes.votes if vote.error is None
    ]
    rows = []
    for vote in voted:
        material = by_id.get((vote.material_id, vote.formula)) or by_formula.get(vote.formula)
        rows.append(
            CandidateDoc(
                material_id=vote.material_id,
                formula=vote.formula,
                votes_gb=vote.votes.get("gb"),
                votes_lgbm=vote.votes.get("lgbm"),
                p_superionic=vote.p_superionic,
                passed_vote=vote.candidate,
                log10_sigma_model=vote.log10_sigma,
                log10_sigma_model_low=vote.log10_sigma_low,
                log10_sigma_model_high=vote.log10_sigma_high,
                in_domain=vote.in_domain,
                anion_class=material.anion_class if material else None,
                band_gap=material.band_gap if material else None,
                e_hull=material.e_above_hull if material else None,
                v_ox=material.v_ox if material else None,
                v_red=material.v_red if material else None,
            )
        )
    rows.sort(key=lambda r: (-(r.p_superionic or 0.0), r.formula))
    return rows


def _md_readiness(
    row: CandidateDoc,
    find_structure,
    max_atoms: int | None,
    min_lattice_length: float,
) -> tuple[str, tuple[StructureDict, str] | None]:
    """Whether a row can run MD: "ready", "no_structure" or "too_large".

    Sets the row's ``structure_origin``, or its ``md_status``/``md_reason`` when it cannot
    run (no structure: what the user can do; too large: the supercell's size).

    Returns
    -------
    tuple
        The state and ``(structure_dict, origin)`` (None without a structure).
    """
    from pymatgen.core import Structure

    from sse_flows.md.protocol import supercell_atoms

    found = find_structure(row.material_id, row.formula)
    if found is None:
        row.md_status = "no_structure"
        row.md_reason = NO_STRUCTURE_HELP
        return "no_structure", None
    row.structure_origin = found[1]
    if max_atoms is not None:
        n_atoms = supercell_atoms(Structure.from_dict(found[0]), min_lattice_length)
        if n_atoms > max_atoms:
            row.md_reason = (
                f"not run: its MD supercell has {n_atoms} atoms, above the limit of "
                f"{max_atoms} (--md-max-atoms); run it with `sse-flows md` or on a GPU"
            )
            return "too_large", found
    return "ready", found


def _target(row: CandidateDoc, found: tuple[StructureDict, str]) -> MDTarget:
    return MDTarget(
        label=row.material_id or row.formula,
        material_id=row.material_id,
        formula=row.formula,
        structure=found[0],
        structure_origin=found[1],
    )


def _control_targets(
    find_structure, control_formula: str | None, negative_control_formula: str | None
) -> tuple[list[CandidateDoc], list[MDTarget]]:
    """The control rows (``selection_reason`` set) and the MD targets of those found."""
    rows: list[CandidateDoc] = []
    targets: list[MDTarget] = []
    for formula, role in ((control_formula, "positive_control"),
                          (negative_control_formula, "negative_control")):  # fmt: skip
        if not formula:
            continue
        found = find_structure(None, formula)
        control = CandidateDoc(formula=formula, role=role,
                               selection_reason=role.replace("_", " "))  # fmt: skip
        if found is None:
            control.md_status = "no_structure"
            control.md_reason = NO_STRUCTURE_HELP
        else:
            control.structure_origin = found[1]
            targets.append(
                MDTarget(
                    label=f"{role.split('_')[0]}:{formula}",
                    formula=formula,
                    role=role,
                    structure=found[0],
                    structure_origin=found[1],
                )
            )
        rows.append(control)
    return rows, targets


def choose_targets(
    rows: list[CandidateDoc],
    find_structure,
    max_md: int | None,
    control_formula: str | None,
    negative_control_formula: str | None = None,
    max_atoms: int | None = None,
    min_lattice_length: float = 10.0,
    limit_note: str = "most probable candidates",
) -> tuple[list[CandidateDoc], list[MDTarget]]:
    """Pick up to ``max_md`` rows, in the given order, that have a structure (None: all),
    plus the controls.

    ``find_structure(material_id, formula)`` returns ``(structure_dict, origin)`` or None.
    Rows without a structure are marked ``no_structure`` with what the user can do; rows
    whose MD supercell (lengths >= ``min_lattice_length``) would exceed ``max_atoms`` are
    skipped with the reason (the controls always run); rows beyond ``max_md`` are told
    "only the ``max_md`` ``limit_note`` run MD". :func:`select_md_targets` is the whole
    selection stage (vote candidates, acquisition, funnel) built on the same rules.
    """
    targets: list[MDTarget] = []
    for row in rows:
        state, found = _md_readiness(row, find_structure, max_atoms, min_lattice_length)
        if state != "ready":
            continue
        if max_md is not None and len(targets) >= max_md:
            row.md_reason = f"not run: only the {max_md} {limit_note} run MD"
            continue
        targets.append(_target(row, found))
    controls, control_targets = _control_targets(
        find_structure, control_formula, negative_control_formula
    )
    return [*rows, *controls], [*targets, *control_targets]


def _reduced(formula: str) -> str:
    from pymatgen.core import Composition

    try:
        return Composition(formula).reduced_formula
    except Exception:  # not a formula: compared as written
        return str(formula)


def acquisition_reason(row: CandidateDoc, n_scored: int) -> str:
    """``"acquisition rank 2 of 274 (score 0.31)"`` for a scored row."""
    return (
        f"acquisition rank {row.acquisition_rank} of {n_scored} "
        f"(score {row.acquisition_score:.2f})"
    )


def select_md_targets(
    screening: ScreeningDoc,
    votes: VoteDoc,
    find_structure,
    md_scope: str = "candidates",
    max_md: int | None = 3,
    md_top: int = 0,
    control_formula: str | None = None,
    negative_control_formula: str | None = None,
    max_atoms: int | None = None,
    min_lattice_length: float = 10.0,
    structure_log_odds: Mapping[str, float] | None = None,
) -> tuple[list[CandidateDoc], list[MDTarget], list[SelectionStage]]:
    """The selection stage: rank every screened material by acquisition, pick MD targets.

    Every material the vote scored gets an acquisition score and rank
    (:func:`sse_flows.ranking.acquisition.rank_by_acquisition`), and every one is looked up
    for a structure (and its MD supercell size) so that the funnel counts the whole pool.

    * ``md_scope="candidates"``: the vote's candidates, most probable first, at most
      ``max_md`` of those with a structure that fits (the paper), PLUS the best ``md_top``
      other screened materials by acquisition that have a structure that fits (a material
      with a control's formula is left to its control). The table holds the vote's
      candidates and those ``md_top`` materials.
    * ``"top-N"``: the N best screened materials by acquisition that have a structure that
      fits (vote candidates or not); ``"pool"``: every one, best first. The table holds
      every scored material. (For the paper recipe acquisition is the vote probability,
      so these keep their order "most probable first".)

    The controls are extra in every scope. Each row's ``selection_reason`` says why it is
    in the table ("vote candidate", "acquisition rank 2 of 274 (score 0.31)", "positive
    control", ...).

    Parameters
    ----------
    screening : ScreeningDoc
        The screening stage's document.
    votes : VoteDoc
        The vote stage's document (its ``ensemble.interval_level`` gives the interval's
        coverage when present).
    find_structure : callable
        ``find(material_id, formula) -> (structure_dict, origin) | None``.
    md_scope : str
        "candidates", "top-N" or "pool" (:func:`parse_md_scope`).
    max_md : int or None
        Most vote candidates sent to MD with the "candidates" scope (None: all).
    md_top : int
        Screened materials sent to MD by acquisition beside the vote's candidates
        ("candidates" scope only; the other scopes ignore it).
    control_formula, negative_control_formula : str or None
        The positive and negative controls (None: none).
    max_atoms : int or None
        Most atoms of an MD supercell (None: no limit).
    min_lattice_length : float
        The MD protocol's supercell rule (A).
    structure_log_odds : mapping of str to float, or None
        A structure stage's log-odds shift per material (label: MP id, else formula).

    Returns
    -------
    tuple
        ``(rows, targets, funnel)``: the table's rows (controls last), the MD targets
        (controls last) and the funnel's steps.
    """
    from sse_flows.ranking.acquisition import rank_by_acquisition

    limit = parse_md_scope(md_scope)
    md_top = int(md_top or 0)
    vote_rows = candidate_rows(screening, votes, "candidates")
    known = {(r.material_id, r.formula) for r in vote_rows}
    scored = [
        *vote_rows,
        *(r for r in candidate_rows(screening, votes, "pool")
          if (r.material_id, r.formula) not in known),
    ]  # fmt: skip
    ensemble = getattr(votes, "ensemble", None)
    ranked = rank_by_acquisition(
        scored, getattr(ensemble, "interval_level", None), structure_log_odds
    )
    n_scored = len(ranked)
    readiness = {
        id(row): _md_readiness(row, find_structure, max_atoms, min_lattice_length)
        for row in ranked
    }

    targets: list[MDTarget] = []
    n_by_vote = n_by_acquisition = 0
    if md_scope == "candidates":
        for row in vote_rows:
            row.selection_reason = "vote candidate"
            state, found = readiness[id(row)]
            if state != "ready":
                continue
            if max_md is not None and n_by_vote >= max_md:
                row.md_reason = f"not run: only the {max_md} most probable candidates run MD"
                continue
            targets.append(_target(row, found))
            n_by_vote += 1
        picked = []
        controls = {_reduced(f) for f in (control_formula, negative_control_formula) if f}
        for row in ranked:
            if n_by_acquisition >= md_top:
                break
            state, found = readiness[id(row)]
            if (row.material_id, row.formula) in known or state != "ready":
                continue
            if _reduced(row.formula) in controls:  # its control runs it anyway
                continue
            row.selection_reason = acquisition_reason(row, n_scored)
            targets.append(_target(row, found))
            picked.append(row)
            n_by_acquisition += 1
        rows = [*vote_rows, *picked]
    else:
        for row in ranked:
            reason = acquisition_reason(row, n_scored)
            row.selection_reason = f"vote candidate; {reason}" if row.passed_vote else reason
            state, found = readiness[id(row)]
            if state != "ready":
                continue
            if limit is not None and len(targets) >= limit:
                row.md_reason = (
                    f"not run: only the {limit} best by acquisition run MD (--md-scope "
                    f"{md_scope})"
                )
                continue
            targets.append(_target(row, found))
            if row.passed_vote:
                n_by_vote += 1
            else:
                n_by_acquisition += 1
        rows = list(ranked)

    controls, control_targets = _control_targets(
        find_structure, control_formula, negative_control_formula
    )
    states = [state for state, _ in readiness.values()]
    n_controls = len(control_targets)
    if md_scope == "candidates":
        vote_text = (
            f"vote candidates with a structure that fits, at most {max_md} (--max-md), of "
            f"the {len(vote_rows)} the vote passed"
            if max_md is not None
            else f"vote candidates with a structure that fits, of the {len(vote_rows)} the "
            "vote passed"
        )
        acquisition_text = (
            f"the best {md_top} other screened materials by acquisition with a structure "
            "that fits (--md-top)"
        )
    else:
        scope_text = "every one" if limit is None else f"the best {limit}"
        vote_text = f"vote candidates among {scope_text} by acquisition (--md-scope {md_scope})"
        acquisition_text = (
            f"other screened materials among {scope_text} by acquisition (--md-scope "
            f"{md_scope})"
        )
    funnel = [
        SelectionStage(name="screened", description="passed the screening funnel",
                       count=len(getattr(screening, "survivors", None) or [])),
        SelectionStage(name="scored", description="scored by the model (acquisition score)",
                       count=n_scored),
        SelectionStage(name="with_structure", description="a structure was found for MD",
                       count=sum(state != "no_structure" for state in states)),
        SelectionStage(
            name="within_max_atoms",
            description=f"MD supercell of at most {max_atoms} atoms (--md-max-atoms)"
            if max_atoms is not None else "no limit on the MD supercell (--md-max-atoms)",
            count=sum(state == "ready" for state in states),
        ),
        SelectionStage(name="vote_candidates", description=vote_text, count=n_by_vote),
        SelectionStage(name="acquisition_top", description=acquisition_text,
                       count=n_by_acquisition),
        SelectionStage(
            name="md_targets",
            description=f"screened materials sent to MD (plus {n_controls} "
            f"control{'' if n_controls == 1 else 's'})",
            count=n_by_vote + n_by_acquisition,
        ),
    ]  # fmt: skip
    return [*rows, *controls], [*targets, *control_targets], funnel


#: what the tables say about a row that has no MD verdict, by its MD status
_UNTESTED = {
    "failed": "MD failed",
    "no_structure": "not MD-tested (no structure)",
    "not_run": "not MD-tested",
}


def md_verdict_label(md_status: str | None, verdict_text: str | None) -> str:
    """How the tables mark a row's MD outcome: ``"MD: superionic"``, ``"MD: not
    superionic"``, ``"MD: undetermined"``, ``"MD: no diffusion"``, ... for a finished MD
    (its ``verdict``), else "MD failed", "not MD-tested (no structure)" or "not MD-tested".

    Parameters
    ----------
    md_status : str or None
        The row's ``md_status``.
    verdict_text : str or None
        The row's ``verdict``.

    Returns
    -------
    str
        The label.
    """
    if md_status == "ok":
        return f"MD: {verdict_text or 'undetermined'}"
    return _UNTESTED.get(str(md_status), "not MD-tested")


def merge_md_result(
    row: CandidateDoc, result: MDRunDoc | None, engine: str, protocol: str
) -> None:
    """Fill a candidate row from its MD document (None: the MD left no document)."""
    row.md_engine = engine
    row.md_protocol = protocol
    if result is None:
        row.md_status = "failed"
        row.md_reason = "MD or analysis job failed without a result; see the worker's log."
        return
    if result.status != "ok":
        row.md_status = "failed"
        row.md_reason = result.reason or result.status
        return
    diffusion = result.diffusion
    row.md_status = "ok"
    if diffusion is None:
        row.md_reason = "no usable trajectory for the diffusion analysis"
        return
    row.ea_eV = diffusion.ea_eV
    row.ea_err_eV = diffusion.ea_err_eV
    row.sigma_rt_S_cm = diffusion.sigma_rt_S_cm
    row.sigma_rt_low = diffusion.sigma_rt_low
    row.sigma_rt_high = diffusion.sigma_rt_high
    row.diffusion_flags = list(diffusion.flags)
    row.li_hops = int(sum(t.li_hops for t in diffusion.temperatures))
    row.arrhenius = [
        {
            "T": t.T,
            "D_cm2_s": t.D_cm2_s,
            "D_err": t.D_err,
            "li_hops": t.li_hops,
            "used_in_fit": t.used_in_fit,
            "diffusive": t.diffusive,
            "framework": t.framework.state if t.framework else None,
        }
        for t in diffusion.temperatures
    ]
    row.verdict = diffusion_verdict(diffusion)


#: The ranking's order of MD verdicts: the MD decides first (an undetermined material, with
#: Li hops but no confident fit, or not simulated, may still conduct; the last two do not).
VERDICT_ORDER = {"superionic": 0, "close": 1, "undetermined": 2, "not superionic": 3,
                 "no diffusion": 4}


def combine_evidence(row: CandidateDoc) -> None:
    """Fill a row's combined estimate from its model and MD columns
    (:func:`sse_flows.ranking.evidence.combine_log10_sigma`)."""
    from sse_flows.ranking.evidence import combine_log10_sigma

    md_ok = row.md_status == "ok"
    bound = md_ok and row.sigma_rt_S_cm is None and row.sigma_rt_high is not None
    estimate = combine_log10_sigma(
        row.log10_sigma_model, row.log10_sigma_model_low, row.log10_sigma_model_high,
        row.sigma_rt_S_cm if md_ok else None,
        row.sigma_rt_low if md_ok else None,
        row.sigma_rt_high if md_ok else None,
        md_upper_bound=bound,
    )
    row.log10_sigma_combined = estimate.log10_sigma
    row.log10_sigma_combined_err = estimate.stderr
    row.p_combined = estimate.p_superionic
    row.combined_from = estimate.source
    row.log10_sigma_combined_is_upper_bound = estimate.is_upper_bound


#: what each control must (not) be
CONTROL_EXPECTATIONS = {
    "positive_control": ("superionic", lambda v: v == "superionic"),
    "negative_control": (
        "not superionic or no diffusion", lambda v: v in ("not superionic", "no diffusion")
    ),
}


def check_controls(rows: list[CandidateDoc]) -> tuple[list[str], bool | None]:
    """One line per control (expected vs found) and whether all that ran passed."""
    lines, passed = [], []
    for row in rows:
        if row.role not in CONTROL_EXPECTATIONS:
            continue
        expected, accept = CONTROL_EXPECTATIONS[row.role]
        if row.md_status != "ok":
            lines.append(f"{row.role} {row.formula}: did not run ({row.md_status})")
            continue
        ok = accept(row.verdict)
        passed.append(ok)
        lines.append(
            f"{'PASS' if ok else 'FAIL'} {row.role} {row.formula}: expected {expected}, "
            f"found {row.verdict}"
        )
    return lines, (all(passed) if passed else None)


def rank(
    selection: SelectionDoc,
    md_results: Mapping[str, MDRunDoc | None] | None,
    engine: str,
    protocol: str,
    reduced_protocol: bool,
    parameters: dict[str, Any] | None = None,
) -> RankingDoc:
    """Merge MD results into the candidate rows and rank them.

    Order: MD verdict (superionic, close, undetermined, not superionic, no diffusion: the
    MD is the direct test, and an undetermined material may still conduct while the last
    two do not), then, within a verdict, the combined log10 sigma_RT of the model and the
    MD (:func:`combine_evidence`), then the vote probability. Rows without MD (not
    selected, no structure, failed) are "undetermined" and so follow the model alone.

    Parameters
    ----------
    selection : SelectionDoc
        The selection stage's document.
    md_results : mapping of str to MDRunDoc or None
        MD target label -> its document; a missing or None entry is a failed MD.
    engine, protocol : str
        The MD engine and a description of its protocol (recorded on every MD row).
    reduced_protocol : bool
        Whether the protocol is shorter or smaller than the paper's.
    parameters : dict or None
        Recorded in the provenance.

    Returns
    -------
    RankingDoc
        The ranked candidate table with the control checks.
    """
    md_results = md_results or {}
    labels = {(t.material_id, t.formula, t.role): t.label for t in selection.targets}
    rows = [row.model_copy(deep=True) for row in selection.rows]
    for row in rows:
        label = labels.get((row.material_id, row.formula, row.role))
        if label is not None:
            merge_md_result(row, md_results.get(label), engine, protocol)
    for row in rows:
        combine_evidence(row)
    rows.sort(
        key=lambda r: (
            r.role != "candidate",
            VERDICT_ORDER[r.verdict],
            -(r.log10_sigma_combined if r.log10_sigma_combined is not None else -99.0),
            -(r.p_superionic or 0.0),
        )
    )
    candidates = [r for r in rows if r.role == "candidate"]
    control_lines, controls_passed = check_controls(rows)
    return RankingDoc(
        controls=control_lines,
        controls_passed=controls_passed,
        candidates=rows,
        n_screened=selection.n_screened,
        n_voted_candidates=sum(r.passed_vote is not False for r in candidates),
        md_top=selection.md_top,
        selection_funnel=[stage.model_copy() for stage in selection.funnel],
        n_md_ok=sum(r.md_status == "ok" for r in rows),
        n_superionic=sum(r.verdict == "superionic" for r in candidates),
        md_reduced_protocol=reduced_protocol,
        provenance=Provenance.make(parameters or {}),
    )
