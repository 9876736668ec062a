"""Documents of the final ranking stage (the candidate table users query)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from sse_flows.screening.schemas import FunnelStage
from sse_flows.types import (
    ActivationEnergy,
    ActivationEnergyError,
    BandGap,
    ConductivityRT,
    ConductivityRTHigh,
    ConductivityRTLow,
    DocumentProvenance,
    InDomain,
    MaterialId,
    OxidationLimit,
    ReducedFormula,
    ReductionLimit,
    StructureOrigin,
    SuperionicProbability,
)

if TYPE_CHECKING:
    from sse_flows.md.schemas import MDRunDoc

MDStatus = Literal["ok", "failed", "no_structure", "not_run"]
Verdict = Literal["superionic", "close", "not superionic", "no diffusion", "undetermined"]
Role = Literal["candidate", "positive_control", "negative_control"]


class CandidateDoc(BaseModel):
    """One row of the candidate table."""

    material_id: MaterialId = None
    formula: ReducedFormula
    role: Role = Field(
        "candidate",
        description="'candidate' (a screened material the MD scope selected: a vote "
        "candidate, one of the best --md-top by acquisition, or any screened material "
        "with --md-scope top-N or pool), "
        "'positive_control' (a known fast conductor) or 'negative_control' (a known poor "
        "conductor), run beside the candidates to check the MD protocol.",
    )
    passed_vote: bool | None = Field(
        None, description="Whether the material passed the vote rule (None for controls)."
    )
    anion_class: str | None = Field(None, description="Anion class (oxide, halide, sulfide, ...).")
    votes_gb: int | None = Field(None, description="GradientBoosting votes for superionic (0-100).")
    votes_lgbm: int | None = Field(None, description="LightGBM votes for superionic (0-100).")
    p_superionic: SuperionicProbability = None
    log10_sigma_model: float | None = Field(
        None, description="The model's log10 sigma_RT (S/cm) (open recipe; None for 'paper')."
    )
    log10_sigma_model_low: float | None = Field(
        None, description="Lower end of the model's 90 % interval of log10 sigma_RT."
    )
    log10_sigma_model_high: float | None = Field(
        None, description="Upper end of the model's 90 % interval of log10 sigma_RT."
    )
    in_domain: InDomain = None
    acquisition_score: float | None = Field(
        None,
        description="Probability-like worth of an MD test (sse_flows.ranking.acquisition): "
        "P(log10 sigma_RT >= -4) under the model's interval, widened 1.5x out of domain; "
        "the vote probability without a log10 sigma (paper recipe). None for controls.",
    )
    acquisition_rank: int | None = Field(
        None,
        description="Rank of acquisition_score among the screened materials the model "
        "scored (1 = best). None for controls.",
    )
    acquisition_basis: str | None = Field(
        None,
        description="What the acquisition score rests on: 'model interval', 'model interval, "
        "out of domain (sd x1.5)' or 'vote probability'.",
    )
    selection_reason: str | None = Field(
        None,
        description="Why the material is in the table: 'vote candidate', 'acquisition rank "
        "2 of 274 (score 0.31)', 'positive control', 'negative control', ...",
    )
    band_gap: BandGap = None
    e_hull: float | None = Field(None, description="Energy above hull (eV/atom).")
    v_ox: OxidationLimit = None
    v_red: ReductionLimit = None
    structure_origin: StructureOrigin = None
    md_engine: str | None = Field(
        None, description="MD engine used ('chgnet', 'sevennet' or 'vasp')."
    )
    md_protocol: str | None = Field(
        None, description="MD protocol summary, e.g. 'reduced: 600-1200 K, 300 steps'."
    )
    md_status: MDStatus = Field("not_run", description="State of the MD validation.")
    md_reason: str | None = Field(
        None, description="Why MD failed or did not run, and what the user can do about it."
    )
    ea_eV: ActivationEnergy = None
    ea_err_eV: ActivationEnergyError = None
    sigma_rt_S_cm: ConductivityRT = None
    sigma_rt_low: ConductivityRTLow = None
    sigma_rt_high: ConductivityRTHigh = None
    li_hops: int | None = Field(None, description="Li hops counted over all temperatures.")
    diffusion_flags: list[str] = Field(
        default_factory=list, description="Warnings from the diffusion analysis."
    )
    verdict: Verdict = Field(
        "undetermined",
        description="superionic (the sigma_RT interval lies at >= 1e-4 S/cm), close (>= 1e-5), "
        "not superionic (below 1e-5), no diffusion (no Li diffusion at any simulated "
        "temperature, host intact: sigma_RT has only an upper bound), or undetermined (no "
        "MD, or an interval straddling a threshold).",
    )
    log10_sigma_combined: float | None = Field(
        None,
        description="log10 sigma_RT (S/cm) from the model and the MD together "
        "(sse_flows.ranking.evidence: inverse-variance mean; the model capped by an MD "
        "upper bound; either alone when the other is missing).",
    )
    log10_sigma_combined_err: float | None = Field(
        None, description="Standard error (decades) of log10_sigma_combined (None: capped)."
    )
    p_combined: float | None = Field(
        None, description="Probability that sigma_RT >= 1e-4 S/cm from the combined estimate "
        "(None when the evidence cannot say, e.g. an MD upper bound above 1e-4 alone)."
    )
    combined_from: str | None = Field(
        None,
        description="What the combined estimate rests on: 'model+md', 'model capped by md "
        "bound', 'md', 'md bound', 'model' or 'none'.",
    )
    log10_sigma_combined_is_upper_bound: bool = Field(
        False,
        description="True when log10_sigma_combined is an upper bound (an MD bound alone, or "
        "the model capped by one), not an estimate: shown as '<= x'.",
    )
    arrhenius: list[dict] = Field(
        default_factory=list,
        description="Per temperature: T (K), D (cm^2/s), D_err, li_hops, used_in_fit, "
        "diffusive, framework state (for the report's Arrhenius plot).",
    )


#: one step of the selection funnel: the screening's funnel step
SelectionStage = FunnelStage


class RankingDoc(BaseModel):
    """The final candidate table of one discovery run."""

    candidates: list[CandidateDoc] = Field(
        default_factory=list,
        description="Candidates, then controls; ranked by MD verdict, then the combined model + "
        "MD log10 sigma_RT, then the vote probability.",
    )
    n_screened: int = Field(0, description="Materials that passed the screening funnel.")
    n_voted_candidates: int = Field(0, description="Materials selected by the vote rule.")
    md_top: int | None = Field(
        None,
        description="Screened materials sent to MD by acquisition beside the vote's "
        "candidates (--md-top, resolved; None: not recorded).",
    )
    selection_funnel: list[SelectionStage] = Field(
        default_factory=list,
        description="The selection stage's funnel (a copy of SelectionDoc.funnel): screened "
        "-> with a structure -> within --md-max-atoms -> vote candidates -> acquisition "
        "top K -> MD targets.",
    )
    n_md_ok: int = Field(0, description="Materials whose MD validation finished.")
    n_superionic: int = Field(0, description="Candidates with an MD verdict of superionic.")
    md_reduced_protocol: bool = Field(
        False, description="True when MD used a reduced (shorter) protocol than the paper's."
    )
    controls: list[str] = Field(
        default_factory=list,
        description="One line per control: its expected and found verdict ('PASS'/'FAIL').",
    )
    controls_passed: bool | None = Field(
        None, description="True when every control that ran got the expected verdict."
    )
    provenance: DocumentProvenance


class MDValidationDoc(BaseModel):
    """What the MD validation stage hands to the ranking: one MD document per target."""

    results: dict[str, Any] = Field(
        default_factory=dict,
        description="MD target label -> its MDRunDoc (None when its MD flow died without "
        "one). Stored as references to the MD flows' outputs, which jobflow resolves when "
        "the ranking reads them; read them through documents().",
    )

    def documents(self) -> dict[str, MDRunDoc | None]:
        """The resolved results as typed documents.

        Returns
        -------
        dict of str to MDRunDoc or None
            Target label -> ``MDRunDoc`` (None for a target whose MD left no document).
        """
        from sse_flows.md.schemas import MDRunDoc

        return {
            label: None if value is None else MDRunDoc.model_validate(value)
            for label, value in self.results.items()
        }
