"""``sse-flows md``: run (force field) or submit (VASP) the MD protocol of one structure.

The protocol options (:func:`md_protocol_options`) are shared with ``submit`` and ``demo``;
:func:`protocol_from_options` turns them into the one :class:`MDProtocol` every stage takes.
"""

from __future__ import annotations

import re
import secrets
import warnings
from pathlib import Path
from typing import Any

import click

from sse_flows.cli_options import (
    DEVICES,
    choice_option,
    click_errors,
    emit,
    folder_option,
    json_option,
    unset_option,
)
from sse_flows.md.makers import MD_ENGINES
from sse_flows.md.protocol import DEFAULT_MD_ENGINE, THERMOSTATS, MDProtocol
from sse_flows.validation import (
    DEFAULT_MAX_ATOMS,
    EXIT_VERDICT_FAILED,
    register_check,
    validated,
)


class _OldSpellingOption(click.Option):
    """An option whose first name is the one shown in ``--help``; its older spellings
    (the other names) still work, hidden."""

    def get_help_record(self, ctx: click.Context):
        shown, self.opts = self.opts, self.opts[:1]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = shown


def md_protocol_options(func):
    """The MD protocol options shared by ``md``, ``submit`` and ``demo`` (all ``None``
    unless given: :func:`protocol_from_options` keeps the base protocol's value)."""
    options = [
        unset_option(
            "--temperatures",
            help="Comma-separated NVT temperatures (K) [paper: 600,800,1000,1200].",
        ),
        unset_option(
            "--fallback-temperatures",
            help="Temperatures (K) run only when the others leave no Arrhenius fit (the "
            "hottest one's host melts, or it alone diffuses), e.g. 700; 'none' for no "
            "fallback [paper: none; demo: 700].",
        ),
        unset_option(
            "--steps", type=int,
            help="Production steps per temperature [paper: 10000]; fixed unless --max-steps.",
        ),
        unset_option(
            "--max-steps", type=int,
            help="Continue production in chunks until D is known to the target error, up to "
            "this many steps.",
        ),
        unset_option(
            "--equil-steps", type=int, help="Equilibration steps per temperature [paper: 3000]."
        ),
        unset_option(
            "--chunk-steps", type=int, help="Steps of one restartable production chunk [2500]."
        ),
        unset_option(
            "--min-lattice-length", "--min-length", "min_lattice_length", type=float,
            cls=_OldSpellingOption, help="Supercell lattice lengths are all >= this (A) [10].",
        ),
        unset_option(
            "--trajectory-interval", "--traj-interval", "trajectory_interval", type=int,
            cls=_OldSpellingOption, help="Write a frame every N steps [10].",
        ),
        unset_option(
            "--thermostat", type=click.Choice(THERMOSTATS),
            help="Production thermostat of the force fields [bussi].",
        ),
        unset_option(
            "--relax/--no-relax",
            help="Relax cell and positions with the potential before the MD [relax].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def engine_option(*decls: str, help: str):
    """An MD engine option (one of :data:`~sse_flows.md.makers.MD_ENGINES`, default
    :data:`~sse_flows.md.protocol.DEFAULT_MD_ENGINE`): ``md --engine`` and the flow's
    ``--md-engine``."""
    return choice_option(*decls, choices=MD_ENGINES, default=DEFAULT_MD_ENGINE, help=help)


#: CLI option name -> MDProtocol field
_FIELDS = {
    "steps": "production_steps",
    "max_steps": "max_production_steps",
    "equil_steps": "equilibration_steps",
    "chunk_steps": "chunk_steps",
    "min_lattice_length": "min_lattice_length",
    "trajectory_interval": "trajectory_interval",
    "thermostat": "thermostat",
    "relax": "relax",
}


def protocol_from_options(base: MDProtocol, opts: dict[str, Any]) -> MDProtocol:
    """``base`` with the options the user gave; errors are one-line usage errors that name
    the options (``--steps``), not the fields.

    ``--steps`` alone makes production fixed-length (no continuation), as a user who asks
    for N steps expects.
    """
    from sse_flows.validation import (
        option_names,
        parse_fallback_temperatures,
        parse_temperatures,
    )

    changes: dict[str, Any] = {}
    if opts.get("temperatures") is not None:
        changes["temperatures"] = parse_temperatures(opts["temperatures"])
    if opts.get("fallback_temperatures") is not None:
        changes["fallback_temperatures"] = parse_fallback_temperatures(
            opts["fallback_temperatures"]
        )
    for option, name in _FIELDS.items():
        if opts.get(option) is not None:
            changes[name] = opts[option]
    if "production_steps" in changes and "max_production_steps" not in changes:
        changes["max_production_steps"] = None
    if "production_steps" in changes and "chunk_steps" not in changes:
        # derived, so it must stay valid when --steps is not: an error then names --steps
        # alone, the option the user gave, not --chunk-steps, which they did not
        changes["chunk_steps"] = min(base.chunk_steps, max(1, changes["production_steps"]))
    try:
        return base.with_changes(**changes)
    except ValueError as exc:
        raise click.UsageError(option_names(str(exc))) from None


#: An argument of ``md`` that names a material of the structure library, not a file.
_MP_ID = re.compile(r"mp-\d+")


def argument_material_id(argument: str | Path) -> str | None:
    """The MP id that the ``md`` argument is, or None (a file path or a formula)."""
    text = str(argument)
    if Path(text).is_file() or not _MP_ID.fullmatch(text):
        return None
    return text


def resolve_structure(argument: str | Path):
    """The structure that the ``md`` argument names: a file, else a library material.

    An existing file is read (CIF, POSCAR/CONTCAR/.vasp, pymatgen JSON). Otherwise an
    argument that is an MP id (``mp-22905``) or a reduced formula (``LiCl``) is looked up
    in the offline :class:`~sse_flows.sources.structures.StructureLibrary` (package
    structures, the packaged MP structure table, pymatgen's), so any screened material
    runs without a file. An argument with a structure-file suffix or a folder part is
    always a file.

    Returns
    -------
    tuple
        ``(structure, origin)``: origin is the file path, or the library's
        ``'<tier>:<name>'``.

    Raises
    ------
    StructureFileError
        For an unreadable file, a missing file, or a name the library does not hold.
    """
    from pymatgen.core import Composition

    from sse_flows.sources.structures import (
        BARE_NAMES,
        SUFFIXES,
        StructureFileError,
        StructureLibrary,
    )
    from sse_flows.sources.structures import read_structure as read_file

    path = Path(argument)
    looks_like_file = (
        path.is_file()
        or path.suffix.lower() in SUFFIXES
        or path.name in BARE_NAMES
        or len(path.parts) > 1
    )
    if looks_like_file:
        return read_file(path), str(path)
    text = str(argument)
    material_id, formula = (text, None) if _MP_ID.fullmatch(text) else (None, text)
    if formula is not None:
        try:
            formula = Composition(formula).reduced_formula
        except Exception:  # not a formula either
            formula = None
    hit = None if material_id is None and formula is None else (
        StructureLibrary().find(material_id, formula)
    )
    if hit is None:
        raise StructureFileError(
            f"{text} is neither a structure file nor a material of the structure library "
            "(package structures, the MP structure table, pymatgen). Give a CIF, POSCAR or "
            "pymatgen JSON file, or an MP id such as mp-22905 (Li-containing compositions of "
            "the offline snapshot without transition metals)."
        )
    return hit.structure, hit.origin


def read_structure(path: Path | str, order: bool = False):
    """Read an MD input cell, or raise a ClickException that names the file and the fix.

    ``path`` is a structure file, or an MP id / reduced formula of the structure library
    (:func:`resolve_structure`). With ``order``, a disordered structure is first ordered
    (:func:`sse_flows.md.ordering.order_structure`, seed 0: the same file gives the same
    cell). Returns ``(structure, ordering)``, ``ordering`` being the
    :class:`~sse_flows.md.schemas.OrderingDoc` or None when nothing was ordered.
    """
    from sse_flows.md.ordering import order_structure
    from sse_flows.md.protocol import MDStructureError, check_md_structure
    from sse_flows.sources.structures import StructureFileError

    with click_errors(StructureFileError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structure, _ = resolve_structure(path)
    ordering = None
    try:
        if order and not structure.is_ordered:
            structure, ordering = order_structure(structure)
        check_md_structure(structure)
    except MDStructureError as exc:  # an argument MD cannot run: refused as usage (exit 2)
        raise click.UsageError(f"the structure in {path}: {exc}") from None
    return structure, ordering


def md_setup(
    structure_file: Path, engine: str, device: str, protocol_opts: dict[str, Any],
    order: bool = False,
) -> tuple[Any, MDProtocol, str, Any]:
    """What ``sse-flows md`` runs: the checked structure, the protocol and the torch device.

    The one place that reads the options; the validation layer calls it before any work
    and the command calls it again (both cheap). On a GPU (or for VASP) the base protocol
    is the paper's, on a CPU the reduced one.

    Returns
    -------
    tuple
        ``(structure, protocol, device, ordering)`` with device ``"cuda"`` or ``"cpu"``
        (``"cpu"`` for VASP, which does not use torch) and ``ordering`` the
        :class:`~sse_flows.md.schemas.OrderingDoc` of ``--order`` (None: nothing ordered).
    """
    structure, ordering = read_structure(structure_file, order)
    if device == "cuda" and engine != "vasp" and not cuda_available():
        raise click.ClickException(
            "--device cuda but torch sees no CUDA GPU; use --device cpu (or auto)"
        )
    use_cuda = engine != "vasp" and (device == "cuda" or (device == "auto" and cuda_available()))
    base = MDProtocol() if (engine == "vasp" or use_cuda) else MDProtocol.reduced_cpu()
    protocol = protocol_from_options(base, protocol_opts)
    return structure, protocol, "cuda" if use_cuda else "cpu", ordering


def run_seed_of(seed: int | None) -> int:
    """The seed of one ``md`` run: the one given, else a fresh one (31 bits from the OS's
    entropy), so two runs without ``--seed`` are independent replicas, not copies."""
    return int(seed) if seed is not None else secrets.randbelow(2**31)


def cuda_available() -> bool:
    """True when torch sees a CUDA device."""
    import torch

    return bool(torch.cuda.is_available())


def _summary(doc) -> str:
    lines = [
        f"{doc.formula} ({doc.material_id or 'no id'}): {doc.engine} MD, {doc.n_atoms} atoms, "
        f"status {doc.status}" + (f" - {doc.reason}" if doc.reason else ""),
        f"{'T (K)':>7} {'status':>7} {'steps':>6} {'Li hops':>8} {'<T> (K)':>8} "
        f"{'D (cm2/s)':>10} {'host':>10} {'steps/s':>8}  stop / reasons",
    ]
    for run in doc.runs:
        mean_t = f"{run.mean_temperature_K:8.0f}" if run.mean_temperature_K else f"{'-':>8}"
        speed = f"{run.steps_per_s:8.2f}" if run.steps_per_s else f"{'-':>8}"
        d = f"{run.D_cm2_s:10.2e}" if run.D_cm2_s is not None else f"{'-':>10}"
        host = run.framework.state if run.framework else "-"
        lines.append(
            f"{run.temperature:7.0f} {run.status:>7} {run.production_steps:6d} "
            f"{run.li_hops:8d} {mean_t} {d} {host:>10} {speed}  "
            f"{run.stop_reason or ''} {'; '.join(run.reasons)}"
        )
    diffusion = doc.diffusion
    if diffusion is not None:
        if diffusion.sigma_rt_S_cm is not None:
            lines.append(
                f"Ea = {diffusion.ea_eV:.3f} eV, sigma_RT = {diffusion.sigma_rt_S_cm:.2e} S/cm "
                f"[{diffusion.sigma_rt_low:.1e}, {diffusion.sigma_rt_high:.1e}]"
            )
        elif diffusion.sigma_rt_high is not None:
            lines.append(f"sigma_RT <= {diffusion.sigma_rt_high:.1e} S/cm (upper bound only)")
    lines += [f"warning: {w}" for w in doc.warnings]
    return "\n".join(lines)


@click.command("md")
@click.argument(
    "structure_file", metavar="STRUCTURE", type=click.Path(dir_okay=False, path_type=Path)
)
@engine_option(
    "--engine",
    help="sevennet/chgnet: run here with a universal potential (sevennet agrees better "
    "with AIMD, chgnet is 3-5x faster on a CPU); vasp: build the AIMD flow and submit it.",
)
@md_protocol_options
@choice_option(
    "--device",
    choices=DEVICES,
    default="auto",
    help="Force fields: torch device. On a GPU the paper protocol is the default.",
)
@click.option("--material-id", default=None, help="Id recorded in the MD document.")
@folder_option(
    "--workdir",
    help="Force fields: folder of the job directories and trajectories [$SSE_FLOWS_HOME/md].",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="vasp: write the flow as JSON instead of submitting it to the LaunchPad.",
)
@click.option(
    "--max-atoms",
    type=int,
    default=DEFAULT_MAX_ATOMS,
    show_default=True,
    help="Refuse an MD supercell with more atoms (raise it to run a larger cell).",
)
@click.option(
    "--order",
    is_flag=True,
    help="Order a disordered structure (partial occupancies) first: occupancies rounded to "
    "whole atoms in a small supercell, atoms placed to keep like atoms apart (seeded).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Force fields: seed of the initial velocities and the stochastic thermostats. "
    "Default: a new one each run (printed and recorded), so a repeated run is an "
    "independent replica.",
)
@json_option
@validated("md")
def md(
    structure_file: Path,
    engine: str,
    device: str,
    material_id: str | None,
    workdir: Path | None,
    dry_run: bool,
    max_atoms: int,
    order: bool,
    seed: int | None,
    as_json: bool,
    **protocol_opts: Any,
) -> None:
    """Run (chgnet, sevennet) or submit (vasp) the MD protocol of STRUCTURE.

    STRUCTURE is a structure file (CIF, POSCAR, pymatgen JSON) or, without a file, an MP
    id (mp-22905) or reduced formula of the offline structure library, which holds nearly
    every screened material (an id is then recorded unless --material-id is given).

    The paper's protocol: NVT, 2 fs, 600/800/1000/1200 K, 3,000 equilibration + 10,000
    production steps, supercell lengths >= 10 A. The force fields first relax the cell
    with the same potential, equilibrate with Langevin and produce with Bussi's thermostat;
    on a CPU they default to a reduced protocol (500 + 2,000-5,000 steps, continued until
    D is known to 30 %) and say so. Every option is checked before any MD (the supercell
    size against --max-atoms too). Exit code 3 when the MD verdict is 'failed'.
    """
    structure, protocol, torch_device, ordering = md_setup(
        structure_file, engine, device, protocol_opts, order
    )
    if engine != "vasp":  # VASP draws its own velocities; its flow keeps its duplicate key
        protocol = protocol.with_changes(seed=run_seed_of(seed))
    material_id = material_id or argument_material_id(structure_file)
    if ordering is not None:
        click.echo(
            f"ordered {ordering.formula_disordered} -> {ordering.formula_ordered} "
            f"({ordering.n_atoms} atoms, supercell {ordering.scaling}, largest change of an "
            f"atomic fraction {ordering.max_fraction_error:.3f}, shortest distance "
            f"{ordering.shortest_distance_A:.2f} A)", err=True,
        )
    seed_note = "" if engine == "vasp" else f"; seed {protocol.seed}" + (
        "" if seed is not None else " (drawn; --seed repeats it)"
    )
    click.echo(protocol.describe(engine) + seed_note, err=True)
    if engine == "vasp":
        result = _submit_vasp(structure, structure_file, protocol, material_id, dry_run)
    else:
        result = _run_forcefield(structure, engine, protocol, torch_device, material_id, workdir)
    if engine != "vasp":
        result["seed"] = protocol.seed
    if ordering is not None:
        result["ordering"] = ordering.model_dump()
    emit(result, as_json, default=str)  # the text was printed as the run went
    if result.get("status") == "failed":
        raise SystemExit(EXIT_VERDICT_FAILED)


def _submit_vasp(structure, structure_file: Path, protocol, material_id, dry_run) -> dict:
    from sse_flows.md.makers import AimdProtocolMaker

    maker = AimdProtocolMaker(protocol=protocol)
    flow = maker.make(structure, material_id=material_id)
    n_vasp = sum(
        job.name.startswith(("aimd equilibration", "aimd production")) for job in flow.jobs
    )
    result: dict[str, Any] = {
        "engine": "vasp",
        "formula": structure.composition.reduced_formula,
        "n_jobs": len(flow.jobs),
        "n_vasp_jobs": n_vasp,
        "protocol": protocol.as_dict(),
        "reduced_protocol": protocol.reduced,
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


def _run_forcefield(structure, engine, protocol, device, material_id, workdir) -> dict:
    from jobflow import run_locally

    from sse_flows.md.makers import md_maker
    from sse_flows.settings import get_settings
    from sse_flows.stores import get_job_store

    flow = md_maker(engine, protocol, device=device).make(structure, material_id=material_id)
    root = Path(workdir) if workdir else get_settings().HOME / "md"
    root.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        responses = run_locally(
            flow, store=get_job_store(), root_dir=root, create_folders=True, log=False
        )
    final = flow.jobs[-1]
    response = max(responses.get(final.uuid, {}).items(), default=(None, None))[1]
    if response is None or response.output is None:
        raise click.ClickException(
            f"the MD flow did not finish (see the job folders under {root}); rerun with a "
            "smaller --steps to check the setup"
        )
    doc = response.output
    click.echo(_summary(doc))
    return {
        "engine": engine,
        "formula": doc.formula,
        "material_id": doc.material_id,
        "status": doc.status,
        "reason": doc.reason,
        "reduced_protocol": doc.reduced_protocol,
        "protocol": doc.protocol_summary,
        "n_atoms": doc.n_atoms,
        "job_uuid": final.uuid,
        "relaxation": doc.relaxation.model_dump() if doc.relaxation else None,
        "runs": [
            {
                "T": run.temperature,
                "status": run.status,
                "production_steps": run.production_steps,
                "stop_reason": run.stop_reason,
                "li_hops": run.li_hops,
                "diffusive": run.diffusive,
                "D_cm2_s": run.D_cm2_s,
                "host": run.framework.state if run.framework else None,
                "mean_temperature_K": run.mean_temperature_K,
                "steps_per_s": run.steps_per_s,
                "trajectory_files": run.trajectory_files,
                "reasons": run.reasons,
            }
            for run in doc.runs
        ],
        "diffusion": doc.diffusion.summary() if doc.diffusion else None,
        "warnings": doc.warnings,
    }


def _check_md(params: dict[str, Any]) -> None:
    """``md``: the structure, protocol and size checks, the home and the outputs, before work."""
    from sse_flows.validation import (
        check_home,
        check_int,
        check_md_size,
        check_output_folder,
    )

    max_atoms = params.get("max_atoms", DEFAULT_MAX_ATOMS)
    check_int("max_atoms", max_atoms, 1, option="--max-atoms")
    engine = params.get("engine")
    structure, protocol, _, _ = md_setup(
        params["structure_file"], engine, params.get("device"), params,
        bool(params.get("order")),
    )
    check_md_size(structure, protocol.min_lattice_length, max_atoms)
    if engine != "vasp":
        check_home(write=True)
        if params.get("workdir") is not None:
            check_output_folder(params["workdir"], "workdir", "--workdir")
    elif params.get("dry_run"):
        check_output_folder(Path(params["structure_file"]).parent, "structure_file")
    else:
        check_home(write=True)


register_check("md", _check_md)
