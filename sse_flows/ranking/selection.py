"""Pick the materials that go to MD, and assemble the final ranked candidate table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from sse_flows.constants import CLOSE_THRESHOLD_S_CM, SUPERIONIC_THRESHOLD_S_CM
from sse_flows.provenance import Provenance
from sse_flows.ranking.schemas import CandidateDoc, RankingDoc
from sse_flows.types import StructureDict

if TYPE_CHECKING:
    from sse_flows.analysis.schemas import DiffusionDoc
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
    material_id: str | None = Field(None, description="Materials Project id, when known.")
    formula: str = Field(..., description="Reduced formula.")
    role: str = Field(
        "candidate", description="'candidate', 'positive_control' or 'negative_control'."
    )
    structure: StructureDict | None = Field(
        None, description="pymatgen Structure.as_dict() for MD; None when none was found."
    )
    structure_origin: str | None = Field(None, description="Where the structure came from.")


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
    n_screened: int = Field(0, description="Materials that passed the screening funnel.")
    provenance: Provenance = Field(..., description="Parameters of the selection.")


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
    from sse_flows.validation import ParameterError

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
                anion_class=material.anion_class if material else None,
                band_gap=material.band_gap if material else None,
                e_hull=material.e_above_hull if material else None,
                v_ox=material.v_ox if material else None,
                v_red=material.v_red if material else None,
            )
        )
    rows.sort(key=lambda r: (-(r.p_superionic or 0.0), r.formula))
    return rows


def choose_targets(
    rows: list[CandidateDoc],
    find_structure,
    max_md: int | None,
    control_formula: str | None,
    negative_control_formula: str | None = None,
    max_atoms: int | None = None,
    min_lattice_length: float = 10.0,
) -> tuple[list[CandidateDoc], list[MDTarget]]:
    """Pick up to ``max_md`` candidates that have a structure (None: all), plus the controls.

    ``find_structure(material_id, formula)`` returns ``(structure_dict, origin)`` or None.
    Candidates without a structure are marked ``no_structure`` with what the user can do;
    candidates whose MD supercell (lengths >= ``min_lattice_length``) would exceed
    ``max_atoms`` are skipped with the reason (the controls always run).
    """
    from pymatgen.core import Structure

    from sse_flows.md.protocol import supercell_atoms

    targets: list[MDTarget] = []
    for row in rows:
        found = find_structure(row.material_id, row.formula)
        if found is None:
            row.md_status = "no_structure"
            row.md_reason = NO_STRUCTURE_HELP
            continue
        row.structure_origin = found[1]
        if max_atoms is not None:
            structure = Structure.from_dict(found[0])
            n_atoms = supercell_atoms(structure, min_lattice_length)
            if n_atoms > max_atoms:
                row.md_reason = (
                    f"not run: its MD supercell has {n_atoms} atoms, above the limit of "
                    f"{max_atoms} (--md-max-atoms); run it with `sse-flows md` or on a GPU"
                )
                continue
        if max_md is not None and len(targets) >= max_md:
            row.md_reason = f"not run: only the {max_md} most probable candidates run MD"
            continue
        targets.append(
            MDTarget(
                label=row.material_id or row.formula,
                material_id=row.material_id,
                formula=row.formula,
                structure=found[0],
                structure_origin=found[1],
            )
        )
    for formula, role in ((control_formula, "positive_control"),
                          (negative_control_formula, "negative_control")):
        if not formula:
            continue
        found = find_structure(None, formula)
        control = CandidateDoc(formula=formula, role=role)
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
        rows = [*rows, control]
    return rows, targets


def verdict(
    sigma_rt: float | None,
    low: float | None = None,
    high: float | None = None,
    diffusive_anywhere: bool | None = None,
) -> str:
    """The paper's classes of an MD room-temperature conductivity, decided on the interval.

    With an interval ``[low, high]`` a class is given only when the whole interval lies in
    it: superionic (low >= 1e-4 S/cm), close (low >= 1e-5), not superionic (high < 1e-5);
    an interval straddling a threshold is "undetermined". With only an upper bound
    (``sigma_rt`` None, ``high`` set) the material is "not superionic" when the bound is
    below 1e-5, and "no diffusion" when no simulated temperature showed Li diffusion
    (``diffusive_anywhere`` False). Without an interval the point value decides.
    """
    if sigma_rt is None:
        if high is not None and high < CLOSE_THRESHOLD_S_CM:
            return "not superionic"
        if diffusive_anywhere is False:
            return "no diffusion"
        return "undetermined"
    low = sigma_rt if low is None else low
    high = sigma_rt if high is None else high
    if low >= SUPERIONIC_THRESHOLD_S_CM:
        return "superionic"
    if high < CLOSE_THRESHOLD_S_CM:
        return "not superionic"
    if low >= CLOSE_THRESHOLD_S_CM:
        return "close"  # at least close (superionic not excluded when high >= 1e-4)
    return "undetermined"


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
            "framework": t.framework.state if t.framework else None,
        }
        for t in diffusion.temperatures
    ]
    row.verdict = diffusion_verdict(diffusion)


def diffusion_verdict(diffusion: DiffusionDoc) -> str:
    """The :func:`verdict` of a material's diffusion analysis (Li diffusion counts only at
    temperatures whose host stayed intact)."""
    diffusive = any(t.diffusive for t in diffusion.temperatures if t.framework_stable)
    return verdict(
        diffusion.sigma_rt_S_cm, diffusion.sigma_rt_low, diffusion.sigma_rt_high, diffusive
    )


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
        n_md_ok=sum(r.md_status == "ok" for r in rows),
        n_superionic=sum(r.verdict == "superionic" for r in candidates),
        md_reduced_protocol=reduced_protocol,
        provenance=Provenance.make(parameters or {}),
    )
