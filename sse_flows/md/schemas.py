"""Output documents of the MD stage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sse_flows.analysis.schemas import DiffusionDoc
from sse_flows.analysis.stability import FrameworkStability
from sse_flows.types import (
    DocumentProvenance,
    Equilibrated,
    EquilibrationSteps,
    MaterialId,
    ProductionSteps,
    ReducedFormula,
    StructureDict,
    Temperature,
)

MDStatus = Literal["ok", "failed"]
RunStatus = Literal["ok", "failed", "skipped"]
StopReason = Literal[
    "fixed length", "target error reached", "too few hops", "maximum length reached",
    "host unstable", "engine error", "skipped: too few hops when hotter",
    "skipped: hottest host intact",
]


class RelaxationDoc(BaseModel):
    """The force-field relaxation (cell and positions) that precedes the MD."""

    converged: bool = Field(description="True when the largest force fell below fmax.")
    steps: int = Field(description="Optimizer steps taken.")
    max_force_eV_A: float = Field(description="Largest atomic force after the relaxation (eV/A).")
    energy_per_atom_before: float = Field(description="Potential energy before (eV/atom).")
    energy_per_atom_after: float = Field(description="Potential energy after (eV/atom).")
    volume_change: float = Field(
        description="Relative change of the cell volume (V_after / V_before - 1)."
    )
    pressure_before_GPa: float | None = Field(
        None, description="Pressure of the unrelaxed cell under the potential (GPa)."
    )
    resumed_from_step: int | None = Field(
        None,
        description="Optimizer step of the checkpoint an interrupted relaxation went on "
        "from (None: it ran in one go).",
    )
    from_cache: bool = Field(
        False,
        description="True when this relaxation was read from the cache of finished ones "
        "(same cell, engine and settings) instead of being run again.",
    )


class ProductionRecord(BaseModel):
    """Where the production of one temperature is and why it stopped (job hand-off)."""

    temperature: Temperature
    files: list[str] = Field(
        default_factory=list,
        description="Production trajectory files in time order (ASE .traj per force-field "
        "chunk; vasprun.xml per VASP chunk).",
    )
    production_steps: ProductionSteps = 0
    chunks: int = Field(0, description="Production chunks run so far.")
    stop_reason: StopReason | None = Field(
        None, description="Why production stopped; None while it continues."
    )
    d_relative_error: float | None = Field(
        None, description="Relative standard error of D at the last decision."
    )
    li_hops: int | None = Field(None, description="Li hops counted at the last decision.")
    diffusive: bool | None = Field(
        None,
        description="Whether the analysis called the run so far diffusive at the last "
        "decision (enough hops, linear MSD); None before the first decision.",
    )
    equilibration_steps: EquilibrationSteps = 0
    equilibration_mean_temperature_K: float | None = Field(
        None, description="Mean kinetic temperature of the last half of the equilibration (K)."
    )
    equilibrated: Equilibrated = None
    elapsed_s: float = Field(0.0, description="Wall time of all MD steps so far (s).")
    error: str | None = Field(None, description="Engine failure (crash, missing chunk).")
    run_id: str | None = Field(
        None,
        description="Id of this temperature's run (force fields), written into every chunk "
        "file with the chunk's first step: the analysis joins chunks of one id and keeps "
        "other runs apart as replicas. None before the first chunk and for VASP.",
    )


class ProductionOutcome(BaseModel):
    """What a VASP continue-until job passes on: its temperature's production record.

    The output of :func:`~sse_flows.md.jobs.vasp_production_decision` and
    :func:`~sse_flows.md.jobs.vasp_fallback`. These jobs may replace themselves by a Flow;
    jobflow stores that Flow's output unresolved and validates it against the job's
    ``output_schema``, which a bare reference never passes, so the record travels inside
    this document: the record itself, or a reference to the next job's record that
    jobflow resolves when the output is read. :func:`production_record` reads either.
    """

    record: Any = Field(
        None,
        description="The temperature's ProductionRecord (while production goes on, a "
        "reference to the record of the job that replaced this one, resolved when read).",
    )


def production_record(value: Any) -> ProductionRecord | None:
    """The :class:`ProductionRecord` in a job's output: a record, a
    :class:`ProductionOutcome` or the stored dict of either (None stays None).

    Parameters
    ----------
    value
        The resolved output of an MD chunk, decision or fallback job.

    Returns
    -------
    ProductionRecord or None
        The record.
    """
    if isinstance(value, ProductionOutcome):
        value = value.record
    elif isinstance(value, dict) and "record" in value and "temperature" not in value:
        value = value["record"]
    return None if value is None else ProductionRecord.model_validate(value)


class MDTemperatureRun(BaseModel):
    """One NVT run at one temperature: where its trajectory is and what the checks say."""

    temperature: Temperature
    status: RunStatus = Field(
        ...,
        description="'ok'; 'failed' when an engine check failed or the host melted; "
        "'skipped' when the hottest run saw too few Li hops (a colder one sees fewer), or "
        "for a fallback temperature, when it was not needed (the hottest run's host stayed "
        "intact and the other temperatures give two diffusive runs, or none at all).",
    )
    reasons: list[str] = Field(
        default_factory=list, description="Why the run failed or was skipped (empty when ok)."
    )
    equilibration_steps: EquilibrationSteps
    production_steps: ProductionSteps
    stop_reason: str | None = Field(None, description="Why production stopped.")
    time_step_fs: float = Field(..., description="MD time step (fs).")
    step_skip: int = Field(..., description="MD steps between two stored frames.")
    n_frames: int = Field(0, description="Production frames analysed (after any discard).")
    discarded_frames: int = Field(
        0, description="Leading production frames dropped before the temperature settled."
    )
    trajectory_files: list[str] = Field(
        default_factory=list,
        description="Production trajectory files, in time order (ASE .traj for force-field "
        "runs; vasprun.xml of each chunk for VASP).",
    )
    li_hops: int = Field(0, description="Li site-to-site hops counted by the analysis stage.")
    diffusive: bool = Field(
        False, description="True when the analysis finds Li diffusion (hops, linear MSD)."
    )
    D_cm2_s: float | None = Field(None, description="Li tracer diffusivity (cm^2/s).")
    D_relative_error: float | None = Field(None, description="Relative standard error of D.")
    framework: FrameworkStability | None = Field(
        None, description="The analysis stage's verdict on the host framework."
    )
    min_distance_A: float | None = Field(
        None, description="Smallest interatomic distance seen in the production run (A)."
    )
    max_energy_deviation_per_atom: float | None = Field(
        None, description="Largest |E - median(E)| per atom over the frames (eV/atom)."
    )
    mean_temperature_K: float | None = Field(
        None, description="Mean kinetic temperature of the analysed production frames (K)."
    )
    temperature_within_tolerance: bool | None = Field(
        None, description="True when that mean is within the protocol's tolerance."
    )
    equilibrated: Equilibrated = None
    elapsed_s: float | None = Field(None, description="Wall time of the MD steps (s).")
    steps_per_s: float | None = Field(None, description="MD steps per second (all steps).")


class MDRunDoc(BaseModel):
    """The MD protocol of one material: per-temperature runs, checks and diffusion."""

    material_id: MaterialId = None
    formula: ReducedFormula
    engine: str = Field(..., description="Engine that ran the MD: 'chgnet', 'sevennet', 'vasp'.")
    status: MDStatus = Field(
        ..., description="'ok' when at least one temperature is usable, else 'failed'."
    )
    reason: str | None = Field(None, description="Why the material failed (None when ok).")
    reduced_protocol: bool = Field(
        ..., description="True when the protocol is shorter or smaller than the paper's "
        "(derived from the protocol)."
    )
    protocol_summary: str = Field("", description="One line describing the protocol run.")
    n_atoms: int = Field(..., description="Atoms in the MD supercell.")
    supercell_scaling: list[int] = Field(..., description="Multiples of a, b, c of the cell.")
    structure: StructureDict = Field(
        ..., description="The MD supercell (pymatgen Structure.as_dict()) at the start."
    )
    relaxation: RelaxationDoc | None = Field(
        None, description="The force-field relaxation before the MD (None: not relaxed)."
    )
    runs: list[MDTemperatureRun] = Field(
        default_factory=list, description="One entry per temperature, in protocol order."
    )
    diffusion: DiffusionDoc | None = Field(
        None,
        description="The analysis stage's DiffusionDoc over the runs that passed the engine "
        "checks (unstable hosts are kept out of its fit); None when none did.",
    )
    warnings: list[str] = Field(
        default_factory=list, description="Non-fatal problems (non-diffusive temperatures, ...)."
    )
    provenance: DocumentProvenance

    @property
    def usable_runs(self) -> list[MDTemperatureRun]:
        """Runs that passed every check."""
        return [run for run in self.runs if run.status == "ok"]


class RestartCellDoc(BaseModel):
    """The last frame of a VASP MD chunk, with its velocities: the start of the next chunk."""

    structure: StructureDict = Field(
        description="The CONTCAR structure (Structure.as_dict()), with a 'velocities' site "
        "property (A/fs) when the CONTCAR has velocities."
    )
    dir_name: str = Field(description="Directory of the finished run whose CONTCAR it is.")
    has_velocities: bool = Field(description="True when the CONTCAR carried velocities.")


class MDCellDoc(BaseModel):
    """The MD supercell of one material, after the force-field relaxation if any."""

    formula: ReducedFormula
    supercell: StructureDict = Field(
        description="The MD supercell (right-handed, upper-triangular), Structure.as_dict()."
    )
    relaxation: RelaxationDoc | None = Field(
        None, description="What the relaxation did (None: not relaxed)."
    )
    error: str | None = Field(None, description="Why no supercell could be made.")


class PoolMDDoc(BaseModel):
    """The MD documents of one batched job of the pool-wide MD mode."""

    results: dict[str, MDRunDoc] = Field(
        default_factory=dict, description="MD target label -> its MDRunDoc, in target order."
    )
    engine: str = Field(description="The force-field engine ('sevennet' or 'chgnet').")
    device: str = Field(description="Torch device the batch ran on.")
    seconds: float = Field(description="Wall-clock time of the whole batch (s).")


class OrderingDoc(BaseModel):
    """How a disordered structure was turned into an ordered MD cell
    (:func:`sse_flows.md.ordering.order_structure`)."""

    formula_disordered: str = Field(description="Reduced formula of the disordered input.")
    formula_ordered: str = Field(description="Formula of the ordered cell (all its atoms).")
    scaling: list[int] = Field(
        description="Diagonal supercell of the input that was ordered ([1, 1, 1]: the cell)."
    )
    disordered_groups: int = Field(
        description="Groups of sites with the same partial or mixed occupancy (0: the input "
        "was ordered)."
    )
    atoms_removed: int = Field(
        0, description="Atoms left out because the rounded occupancies would have put two "
        "atoms on sites closer than the clash distance (split positions of one atom)."
    )
    n_atoms: int = Field(description="Atoms in the ordered cell.")
    max_fraction_error: float = Field(
        description="Largest change of an element's atomic fraction between the input's "
        "composition and the ordered cell's (rounding of the occupancies to whole atoms)."
    )
    shortest_distance_A: float = Field(
        description="Shortest interatomic distance in the ordered cell (A)."
    )
    seed: int = Field(description="Seed of the random placements.")
