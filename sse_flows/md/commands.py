"""``sse-flows md``: run (CHGNet) or submit (VASP) the MD protocol of one structure."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import click


def _parse_temperatures(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.ClickException(
            f"--temperatures {text!r} is not a comma-separated list of numbers; "
            "write e.g. --temperatures 600,800,1000,1200"
        ) from None
    if not values or min(values) <= 0:
        raise click.ClickException(
            f"--temperatures {text!r} must list positive temperatures in K (e.g. 600,800,1000)"
        )
    return values


def read_structure(path: Path):
    """Read an ordered structure, or raise a ClickException that names the file and the fix."""
    from pymatgen.core import Structure

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structure = Structure.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - every parse problem becomes one clear message
        raise click.ClickException(
            f"could not read a crystal structure from {path} ({type(exc).__name__}: {exc}). "
            "Give a CIF, POSCAR/CONTCAR or pymatgen Structure JSON file."
        ) from None
    if not structure.is_ordered:
        raise click.ClickException(
            f"the structure in {path} ({structure.composition.reduced_formula}) is disordered; "
            "MD needs an ordered structure: order it first (e.g. pymatgen's "
            "OrderDisorderedStructureTransformation) and save it as a new file."
        )
    return structure


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover - torch is a dependency
        return False


def _job_store():
    try:
        from sse_flows.stores import get_job_store
    except ImportError:  # pragma: no cover - the stores module ships with the package
        from jobflow import JobStore
        from maggma.stores import MemoryStore

        return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    return get_job_store()


def _summary(doc) -> str:
    lines = [
        f"{doc.formula} ({doc.material_id or 'no id'}): {doc.engine} MD, {doc.n_atoms} atoms, "
        f"status {doc.status}" + (f" - {doc.reason}" if doc.reason else ""),
        f"{'T (K)':>7} {'status':>7} {'frames':>7} {'Li hops':>8} {'<T> (K)':>8} "
        f"{'steps/s':>8}  reasons",
    ]
    for run in doc.runs:
        mean_t = f"{run.mean_temperature_K:8.0f}" if run.mean_temperature_K else f"{'-':>8}"
        speed = f"{run.steps_per_s:8.2f}" if run.steps_per_s else f"{'-':>8}"
        lines.append(
            f"{run.temperature:7.0f} {run.status:>7} {run.n_frames:7d} {run.li_hops:8d} "
            f"{mean_t} {speed}  {'; '.join(run.reasons)}"
        )
    if doc.diffusion:
        ea = doc.diffusion.get("ea_eV")
        sigma = doc.diffusion.get("sigma_rt_S_cm")
        lines.append(f"Ea = {ea} eV, sigma_RT = {sigma} S/cm")
    lines += [f"warning: {w}" for w in doc.warnings]
    return "\n".join(lines)


@click.command("md")
@click.argument("structure_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--engine",
    type=click.Choice(["chgnet", "vasp"]),
    default="chgnet",
    show_default=True,
    help="chgnet: run here with the CHGNet potential; vasp: build the AIMD flow and submit it.",
)
@click.option(
    "--temperatures",
    default="600,800,1000,1200",
    show_default=True,
    help="Comma-separated NVT temperatures (K).",
)
@click.option(
    "--steps",
    type=int,
    default=None,
    help="Production steps per temperature [paper: 10000; chgnet on a CPU: 1000].",
)
@click.option(
    "--equil-steps",
    type=int,
    default=None,
    help="Equilibration steps per temperature [paper: 3000; chgnet on a CPU: 200].",
)
@click.option(
    "--min-length",
    type=float,
    default=10.0,
    show_default=True,
    help="Supercell lattice lengths are all >= this (A).",
)
@click.option(
    "--chunks",
    type=int,
    default=4,
    show_default=True,
    help="vasp: restartable pieces of the production run.",
)
@click.option(
    "--traj-interval",
    type=int,
    default=None,
    help="chgnet: write a frame every N steps [10; 5 on the reduced protocol].",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="chgnet: torch device. On a GPU the full paper protocol is the default.",
)
@click.option("--material-id", default=None, help="Id recorded in the MD document.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="chgnet: folder of the job directories and trajectories [$SSE_FLOWS_HOME/md].",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="vasp: write the flow as JSON instead of submitting it to the LaunchPad.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
def md(
    structure_file: Path,
    engine: str,
    temperatures: str,
    steps: int | None,
    equil_steps: int | None,
    min_length: float,
    chunks: int,
    traj_interval: int | None,
    device: str,
    material_id: str | None,
    workdir: Path | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Run (chgnet) or submit (vasp) the MD protocol of the structure in STRUCTURE_FILE.

    The protocol is the paper's: NVT Nose-Hoover, 2 fs, 600/800/1000/1200 K, 3,000
    equilibration + 10,000 production steps, supercell lengths >= 10 A. CHGNet on a CPU
    defaults to a reduced protocol (200 + 1,000 steps) and says so.
    """
    structure = read_structure(structure_file)
    temps = _parse_temperatures(temperatures)
    for name, value in (("--steps", steps), ("--equil-steps", equil_steps)):
        if value is not None and value < (1 if name == "--steps" else 0):
            raise click.ClickException(f"{name} must be a positive number of MD steps")
    if engine == "vasp":
        result = _submit_vasp(
            structure, structure_file, temps, steps, equil_steps, min_length, chunks,
            material_id, dry_run,
        )
    else:
        result = _run_chgnet(
            structure, temps, steps, equil_steps, min_length, traj_interval, device,
            material_id, workdir,
        )
    if as_json:
        click.echo(json.dumps(result, default=str))


def _submit_vasp(
    structure, structure_file: Path, temps, steps, equil_steps, min_length, chunks,
    material_id, dry_run,
) -> dict[str, Any]:
    from sse_flows.md.makers import AimdProtocolMaker

    try:
        maker = AimdProtocolMaker(
            temperatures=temps,
            production_steps=10000 if steps is None else steps,
            equilibration_steps=3000 if equil_steps is None else equil_steps,
            production_chunks=chunks,
            min_lattice_length=min_length,
        )
        protocol = maker.protocol
    except ValueError as exc:
        raise click.ClickException(f"invalid MD protocol: {exc}") from None
    flow = maker.make(structure, material_id=material_id)
    n_vasp = sum(job.name.startswith("aimd ") and "restart" not in job.name for job in flow.jobs)
    result: dict[str, Any] = {
        "engine": "vasp",
        "formula": structure.composition.reduced_formula,
        "n_jobs": len(flow.jobs),
        "n_vasp_jobs": n_vasp - 1,
        "protocol": protocol.as_dict(),
        "submitted": False,
    }
    if dry_run:
        path = structure_file.with_name(f"aimd_flow_{structure.composition.reduced_formula}.json")
        path.write_text(flow.to_json())
        click.echo(f"AIMD flow ({len(flow.jobs)} jobs) written to {path}; not submitted.")
        result["flow_file"] = str(path)
        return result
    from sse_flows.launcher import submit_flow
    from sse_flows.provenance import parameter_hash

    submission = submit_flow(
        flow,
        parameter_hash=parameter_hash(
            {"stage": "md", "engine": "vasp", "protocol": protocol.as_dict(),
             "structure": structure.as_dict()}
        ),
    )
    click.echo(
        f"AIMD flow for {structure.composition.reduced_formula} "
        + ("already on" if submission.duplicate else "submitted to")
        + f" the LaunchPad: workflow {submission.workflow_id} ({len(submission.fw_ids)} "
        "fireworks). Run it on a VASP machine with `sse-flows worker`."
    )
    result.update(
        submitted=True, workflow_id=submission.workflow_id, duplicate=submission.duplicate
    )
    return result


def _run_chgnet(
    structure, temps, steps, equil_steps, min_length, traj_interval, device, material_id,
    workdir,
) -> dict[str, Any]:
    from jobflow import run_locally

    from sse_flows.md.makers import make_md_flow
    from sse_flows.md.protocol import MDProtocol
    from sse_flows.settings import get_settings

    use_cuda = device == "cuda" or (device == "auto" and _cuda_available())
    if device == "cuda" and not _cuda_available():
        raise click.ClickException(
            "--device cuda but torch sees no CUDA GPU; use --device cpu (or auto)"
        )
    base = MDProtocol() if use_cuda else MDProtocol.reduced_cpu()
    overrides = {
        "production_steps": base.production_steps if steps is None else steps,
        "equilibration_steps": base.equilibration_steps if equil_steps is None else equil_steps,
        "trajectory_interval": base.trajectory_interval if traj_interval is None else traj_interval,
    }
    reduced = (
        overrides["production_steps"] < 10000 or overrides["equilibration_steps"] < 3000
    )
    if reduced:
        click.echo(
            f"Reduced protocol: {overrides['equilibration_steps']} equilibration + "
            f"{overrides['production_steps']} production steps per temperature (the paper: "
            "3000 + 10000). CHGNet runs ~0.1-0.5 s/step for 25-100 atoms on a CPU.",
            err=True,
        )
    try:
        flow = make_md_flow(
            structure,
            engine="chgnet",
            temperatures=temps,
            steps=overrides["production_steps"],
            equil_steps=overrides["equilibration_steps"],
            material_id=material_id,
            min_lattice_length=min_length,
            trajectory_interval=overrides["trajectory_interval"],
            reduced=reduced,
            calculator_kwargs={"use_device": "cuda" if use_cuda else "cpu"},
        )
    except ValueError as exc:
        raise click.ClickException(f"invalid MD protocol: {exc}") from None
    root = Path(workdir) if workdir else get_settings().HOME / "md"
    root.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        responses = run_locally(
            flow, store=_job_store(), root_dir=root, create_folders=True, log=False
        )
    md_job = flow.jobs[0]
    response = responses.get(md_job.uuid, {}).get(1)
    if response is None or response.output is None:
        raise click.ClickException(
            f"the MD job did not finish (see the job folder under {root}); rerun with a "
            "smaller --steps to check the setup"
        )
    doc = response.output
    click.echo(_summary(doc))
    return {
        "engine": "chgnet",
        "formula": doc.formula,
        "material_id": doc.material_id,
        "status": doc.status,
        "reason": doc.reason,
        "reduced_protocol": doc.reduced_protocol,
        "n_atoms": doc.n_atoms,
        "job_uuid": md_job.uuid,
        "runs": [
            {
                "T": run.temperature,
                "status": run.status,
                "li_hops": run.li_hops,
                "diffusive": run.diffusive,
                "steps_per_s": run.steps_per_s,
                "trajectory_files": run.trajectory_files,
                "reasons": run.reasons,
            }
            for run in doc.runs
        ],
        "diffusion": doc.diffusion,
        "warnings": doc.warnings,
    }
