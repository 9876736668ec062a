"""Output documents of the MD stage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sse_flows.provenance import Provenance
from sse_flows.types import StructureDict

MDStatus = Literal["ok", "failed"]


class MDTemperatureRun(BaseModel):
    """One NVT run at one temperature: where its trajectory is and what the checks say."""

    temperature: float = Field(..., description="Thermostat temperature (K).")
    status: MDStatus = Field(..., description="'ok', or 'failed' when a physics check failed.")
    reasons: list[str] = Field(
        default_factory=list, description="Why the run failed (empty when ok)."
    )
    equilibration_steps: int = Field(..., description="Equilibration steps run (discarded).")
    production_steps: int = Field(..., description="Production steps run.")
    time_step_fs: float = Field(..., description="MD time step (fs).")
    step_skip: int = Field(..., description="MD steps between two stored frames.")
    n_frames: int = Field(0, description="Production frames stored.")
    trajectory_files: list[str] = Field(
        default_factory=list,
        description="Production trajectory files, in time order (ASE .traj for force-field "
        "runs; vasprun.xml of each chunk for VASP).",
    )
    li_hops: int = Field(0, description="Li site-to-site hops counted in the production run.")
    diffusive: bool = Field(
        False, description="True when the run is ok and has at least the minimum Li hops."
    )
    min_distance_A: float | None = Field(
        None, description="Smallest interatomic distance seen in the production run (A)."
    )
    framework_rmsd_A: float | None = Field(
        None,
        description="RMS displacement of the time-averaged framework (non-Li) from the start (A).",
    )
    framework_matches_initial: bool | None = Field(
        None, description="StructureMatcher verdict: time-averaged framework vs the start."
    )
    max_energy_deviation_per_atom: float | None = Field(
        None, description="Largest |E - median(E)| per atom over the frames (eV/atom)."
    )
    mean_temperature_K: float | None = Field(
        None, description="Mean kinetic temperature of the production frames (K)."
    )
    elapsed_s: float | None = Field(None, description="Wall time of the MD steps (s).")
    steps_per_s: float | None = Field(None, description="MD steps per second (all steps).")


class MDRunDoc(BaseModel):
    """The MD protocol of one material: per-temperature runs, checks and diffusion."""

    material_id: str | None = Field(None, description="Material id (e.g. 'mp-1234'), if known.")
    formula: str = Field(..., description="Reduced formula of the material.")
    engine: str = Field(..., description="Engine that ran the MD: 'chgnet', 'vasp', ...")
    status: MDStatus = Field(
        ..., description="'ok' when at least one temperature is usable, else 'failed'."
    )
    reason: str | None = Field(None, description="Why the material failed (None when ok).")
    reduced_protocol: bool = Field(
        False, description="True when a reduced (shorter) protocol than the paper's was run."
    )
    n_atoms: int = Field(..., description="Atoms in the MD supercell.")
    supercell_scaling: list[int] = Field(..., description="Multiples of a, b, c of the cell.")
    structure: StructureDict = Field(
        ..., description="The MD supercell (pymatgen Structure.as_dict()) at the start."
    )
    runs: list[MDTemperatureRun] = Field(
        default_factory=list, description="One entry per temperature, in protocol order."
    )
    diffusion: dict[str, Any] | None = Field(
        None,
        description="DiffusionDoc (sse_flows.analysis) of the usable runs, as a dict; None when "
        "fewer than two temperatures are usable or the analysis is unavailable.",
    )
    warnings: list[str] = Field(
        default_factory=list, description="Non-fatal problems (non-diffusive temperatures, ...)."
    )
    provenance: Provenance = Field(..., description="Parameters and versions that made the doc.")

    @property
    def usable_runs(self) -> list[MDTemperatureRun]:
        """Runs that passed every check."""
        return [run for run in self.runs if run.status == "ok"]
