"""Output documents of the screening stage."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sse_flows.screening.criteria import ScreeningCriteria
from sse_flows.screening.hull import HullAgreement
from sse_flows.types import (
    BandGap,
    DocumentProvenance,
    MaterialId,
    OxidationLimit,
    ReducedFormula,
    ReductionLimit,
    StructureOrigin,
)


class FunnelStage(BaseModel):
    """One step of a funnel (the screening's, the selection's) and how many materials are
    left after it."""

    name: str = Field(
        ..., description="Step name, e.g. 'band_gap' (screening) or 'md_targets' (selection)."
    )
    description: str = Field(
        ..., description="What the step keeps, with its threshold or parameter."
    )
    count: int = Field(..., description="Materials left after (or chosen by) this step.")


class ScreenedMaterial(BaseModel):
    """A material that reached the hull step, with its stability window."""

    material_id: MaterialId = None
    formula: ReducedFormula
    band_gap: BandGap = None
    e_above_hull: float | None = Field(
        None, description="Energy above the convex hull used by step 3 (eV/atom)."
    )
    e_above_hull_source: str = Field(
        ..., description="'source' when the record carried it (MP), 'computed' when computed here."
    )
    v_red: ReductionLimit = None
    v_ox: OxidationLimit = None
    anion_class: str = Field(
        ..., description="Anion class: oxide, halide, nitride, ..., or 'mixed-anion'."
    )
    anion_elements: list[str] = Field(
        default_factory=list, description="Elements acting as anions (charge-balance rule)."
    )
    structure_origin: StructureOrigin = None


class StructureCoverage(BaseModel):
    """How many survivors have a structure for MD offline, and from which tier."""

    n_survivors: int = Field(..., description="Number of survivors looked up.")
    n_with_structure: int = Field(..., description="Survivors with a structure.")
    by_tier: dict[str, int] = Field(
        default_factory=dict,
        description="Library tier (package, mp_structures, pymatgen, user) -> survivors "
        "whose structure comes from it, largest first.",
    )
    missing: list[str] = Field(
        default_factory=list,
        description="Survivors without a structure (material id, else reduced formula).",
    )
    library: str = Field(
        "offline",
        description="The library searched: 'offline' (package files, the packaged MP "
        "structure table, pymatgen) or the user folder placed before them. Live MP is "
        "not queried.",
    )

    def line(self) -> str:
        """One line for the terminal: counts by tier and the survivors without one."""
        tiers = ", ".join(f"{tier} {count}" for tier, count in self.by_tier.items())
        text = f"{self.n_with_structure} of {self.n_survivors} survivors have a structure"
        text += f" ({tiers})" if tiers else ""
        if self.missing:
            text += f"; none for {', '.join(self.missing)}"
        return text


class ScreeningDoc(BaseModel):
    """Result of the four-step screening funnel over one materials pool."""

    source: str = Field(..., description="Name of the materials source ('snapshot' or 'mp').")
    data_version: str | None = Field(None, description="Vintage of the source data.")
    criteria: ScreeningCriteria = Field(..., description="Thresholds and element rule used.")
    stages: list[FunnelStage] = Field(
        ..., description="Funnel stages in order, starting with all Li-containing records."
    )
    survivors: list[ScreenedMaterial] = Field(
        ..., description="Materials that pass all four steps (the screened pool)."
    )
    on_hull: list[ScreenedMaterial] = Field(
        ...,
        description="Materials that pass steps 1-3, with their stability windows (superset of "
        "survivors; lets a later stage change the voltage threshold without recomputing).",
    )
    stage_members: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Stage name -> identifiers (material id, else reduced formula) of the "
        "materials left after that stage (stored in the 'data' store).",
    )
    anion_classes: dict[str, int] = Field(
        ..., description="Anion class -> number of survivors, largest first."
    )
    hull_agreement: HullAgreement | None = Field(
        None,
        description="Computed E_hull against MP's own values on the shared Li compositions "
        "(None when E_hull came from the source or no reference was given).",
    )
    n_phase_diagrams: int = Field(..., description="Chemical systems whose hull was built.")
    stage_seconds: dict[str, float] = Field(
        default_factory=dict, description="Wall time of each part of the run (s)."
    )
    structure_coverage: StructureCoverage | None = Field(
        None,
        description="Survivors with an offline structure for MD, by library tier (None "
        "when structures were not looked up, e.g. documents written before this field).",
    )
    provenance: DocumentProvenance

    def stage_counts(self) -> dict[str, int]:
        """Stage name -> count, in funnel order."""
        return {stage.name: stage.count for stage in self.stages}

    def summary(self) -> dict[str, object]:
        """The compact JSON summary printed by ``sse-flows screen --json``."""
        summary: dict[str, object] = {
            "stages": [{"name": s.name, "count": s.count} for s in self.stages],
            "anion_classes": self.anion_classes,
        }
        if self.structure_coverage is not None:
            summary["structure_coverage"] = self.structure_coverage.model_dump()
        return summary
