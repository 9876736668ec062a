"""The record every materials source yields (offline snapshot or live MP)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sse_flows.types import BandGap


class MaterialRecord(BaseModel):
    """One material of the candidate pool.

    The offline snapshot has one record per reduced composition (no polymorphs, no
    structures); the live MP source has one record per MP material id.
    """

    material_id: str | None = Field(
        None, description="Materials Project id (e.g. 'mp-1234'); None when the snapshot has none."
    )
    formula: str = Field(..., description="Reduced formula, pymatgen style (e.g. 'Li3PS4').")
    elements: list[str] = Field(..., description="Sorted element symbols of the composition.")
    nelements: int = Field(..., description="Number of distinct elements.")
    band_gap: BandGap = None
    band_gaps: list[float] = Field(
        default_factory=list,
        description="All band gaps the source lists for this composition (polymorphs), eV.",
    )
    formation_energy_per_atom: float | None = Field(
        None, description="Formation energy per atom (eV/atom) of the lowest-energy polymorph."
    )
    energy_above_hull: float | None = Field(
        None,
        description="Energy above the convex hull (eV/atom) as given by the source; None when the "
        "source does not provide it (the screening computes it).",
    )
    structure: dict[str, Any] | None = Field(
        None, description="pymatgen Structure.as_dict() when the source provides one."
    )
    source: str = Field(..., description="Where the record came from (e.g. 'mp-2019-snapshot').")
    data_version: str = Field(
        ..., description="Vintage of the source data (e.g. 'MP 2019-04-02 via matbench v0.1')."
    )
