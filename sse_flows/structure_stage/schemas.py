"""Documents of the structure stage: one per material, and the stage's list of them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sse_flows.types import DocumentProvenance, MaterialId


class StructureDescriptorsDoc(BaseModel):
    """Cheap Li-transport descriptors of one material's structure (or why there are none)."""

    label: str = Field(..., description="The material's label (material id or formula).")
    material_id: MaterialId = None
    formula: str | None = Field(
        None, description="Reduced formula of the structure (the given formula if unreadable)."
    )
    n_sites: int | None = Field(None, description="Sites in the cell the descriptors used.")
    ordered: bool | None = Field(
        None, description="False when some site is partially occupied (a disordered cell)."
    )
    li_li_min_A: float | None = Field(
        None,
        description="Shortest Li-Li site distance (A), periodic images included; split "
        "positions closer than 0.5 A skipped; None above 6 A.",
    )
    li_percolation_1d_A: float | None = Field(
        None,
        description="Smallest Li-Li cutoff (A) at which the Li sites form a network "
        "infinite in at least one dimension; None when it needs more than 6 A.",
    )
    li_percolation_2d_A: float | None = Field(
        None, description="As li_percolation_1d_A, infinite in at least two dimensions."
    )
    li_percolation_3d_A: float | None = Field(
        None, description="As li_percolation_1d_A, infinite in three dimensions."
    )
    li_network_dimension: int | None = Field(
        None,
        description="Highest dimension (0-3) of a Li network at the stage's Li-Li cutoff "
        "(4 A by default).",
    )
    li_network_fraction: float | None = Field(
        None,
        description="Fraction of the Li sites in the largest connected Li network at that cutoff.",
    )
    free_volume_fraction: float | None = Field(
        None,
        description="1 - (occupancy-weighted volume of Shannon ionic spheres) / cell volume.",
    )
    li_per_nm3: float | None = Field(None, description="Li atoms per nm^3 (occupancy-weighted).")
    volume_per_anion_A3: float | None = Field(None, description="Cell volume per anion atom (A^3).")
    oxidation_states: dict[str, int] = Field(
        default_factory=dict,
        description="Element -> oxidation state used for the ionic radii (the structure's own, "
        "else guessed from the composition).",
    )
    bvse_barrier_1d_eV: float | None = Field(
        None,
        description="bvlain BVSE Li percolation barrier in 1D (eV); None unless the stage ran "
        "bvlain (off by default) or where it does not percolate below 10 eV.",
    )
    bvse_barrier_2d_eV: float | None = Field(
        None, description="bvlain BVSE Li percolation barrier in 2D (eV); see the 1D field."
    )
    bvse_barrier_3d_eV: float | None = Field(
        None, description="bvlain BVSE Li percolation barrier in 3D (eV); see the 1D field."
    )
    structure_score: float = Field(
        0.0,
        description="Log-odds shift for an acquisition function "
        "(sse_flows.structure_stage.score.structure_score; 0 when the stage failed).",
    )
    seconds: float = Field(0.0, description="Wall time spent on this material (s).")
    error: str | None = Field(
        None, description="Why the descriptors could not be computed (None when they were)."
    )


class StructureStageDoc(BaseModel):
    """The structure stage's output: one document per material given."""

    documents: list[StructureDescriptorsDoc] = Field(
        default_factory=list, description="One document per material, in the order given."
    )
    n_materials: int = Field(0, description="Materials given to the stage.")
    n_ok: int = Field(0, description="Materials with descriptors.")
    n_failed: int = Field(0, description="Materials whose document carries an error.")
    seconds: float = Field(0.0, description="Wall time of the whole stage (s).")
    provenance: DocumentProvenance

    def log_odds(self) -> dict[str, float]:
        """Each material's ``structure_score``, keyed by label (MP id, else formula).

        The mapping the selection stage's ``structure_log_odds`` takes.

        Returns
        -------
        dict of str to float
            Label -> log-odds shift (0.0 for every material while the score is off).
        """
        return {doc.label: doc.structure_score for doc in self.documents}

    def by_label(self) -> dict[str, StructureDescriptorsDoc]:
        """The documents keyed by their label.

        Returns
        -------
        dict of str to StructureDescriptorsDoc
            Label -> document (a repeated label keeps its last document).
        """
        return {doc.label: doc for doc in self.documents}
