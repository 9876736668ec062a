"""``sse-flows analyze``: diffusion analysis of MD trajectories."""

from __future__ import annotations

import click

from sse_flows.cli_options import emit, json_option
from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM, sci
from sse_flows.validation import parse_temperatures, validated

__all__ = ["analyze"]


def _fmt(value: float | None, spec: str = ".2e") -> str:
    return "-" if value is None else format(value, spec)


def _table(doc) -> str:
    lines = [
        f"{doc.material_id or ''} {doc.formula} ({doc.n_atoms} atoms, {doc.specie} diffusion)",
        f"{'T (K)':>7} {'D (cm2/s)':>10} {'D_err':>9} {'Li hops':>8} {'MSD slope':>9} "
        f"{'host MSD':>8}  diffusive  in fit",
    ]
    for e in doc.temperatures:
        lines.append(
            f"{e.T:>7.0f} {e.D_cm2_s:>10.2e} {e.D_err:>9.1e} {e.li_hops:>8d} "
            f"{_fmt(e.msd_exponent, '.2f'):>9} {e.framework_msd_A2:>8.1f}  {str(e.diffusive):<9}  "
            f"{e.used_in_fit}" + (f"  ({e.n_replicas} replicas)" if e.n_replicas > 1 else "")
        )
    if doc.ea_eV is not None:
        lines.append(f"Ea = {doc.ea_eV:.3f} +- {_fmt(doc.ea_err_eV, '.3f')} eV ({doc.n_fit} T)")
    if doc.sigma_rt_S_cm is not None:
        lines.append(
            f"sigma(300 K) = {doc.sigma_rt_S_cm:.2e} S/cm, {doc.interval_level:.0%} interval "
            f"[{_fmt(doc.sigma_rt_low)}, {_fmt(doc.sigma_rt_high)}]"
        )
    elif doc.sigma_rt_is_upper_bound:
        lines.append(f"sigma(300 K) < {_fmt(doc.sigma_rt_high)} S/cm (upper bound only)")
    if doc.sigma_rt_library_S_cm is not None:
        lines.append(
            f"(pymatgen get_extrapolated_conductivity, all T, unweighted: "
            f"{doc.sigma_rt_library_S_cm:.2e} S/cm)"
        )
    verdict = {True: "superionic", False: "not superionic", None: "undecided"}[doc.superionic]
    lines.append(f"verdict at {sci(SUPERIONIC_THRESHOLD_S_CM)} S/cm: {verdict}")
    lines.extend(f"! {flag}" for flag in doc.flags)
    return "\n".join(lines)


@click.command("analyze")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--temperatures",
    default=None,
    help="Comma-separated temperatures (K), one per trajectory file in sorted order; "
    "default: read from the files or their names.",
)
@click.option(
    "--time-step-fs",
    type=float,
    default=None,
    help="Time between stored frames (fs) for formats that do not record it.",
)
@click.option("--specie", default="Li", show_default=True, help="Diffusing element.")
@click.option(
    "--join-chunks",
    is_flag=True,
    help="Join all trajectories of one temperature as restart chunks of one run (files "
    "without a run id: VASP chunks, other codes). Default: only chunks that record the same "
    "run id (as `sse-flows md` writes them) are joined; other runs at one temperature are "
    "analysed as replicas.",
)
@click.option(
    "--plot", "plot_path", type=click.Path(), default=None, help="Write an Arrhenius PNG."
)
@json_option
@validated("analyze")
def analyze(paths, temperatures, time_step_fs, specie, join_chunks, plot_path, as_json):
    """Diffusion analysis of MD trajectories at several temperatures.

    PATHS are trajectory files or folders: pymatgen DiffusionAnalyzer or Trajectory JSON,
    vasprun.xml, XDATCAR (with INCAR) or ASE .traj files, one material per call. Chunks of
    one `sse-flows md` run (same run id, consecutive steps) are joined; independent runs at
    one temperature are replicas (D is their mean; the output says how many).
    """
    from sse_flows.analysis.core import analyze_trajectories
    from sse_flows.analysis.readers import DuplicateTrajectoryError, TrajectoryReadError

    try:
        doc = analyze_trajectories(
            paths,
            list(parse_temperatures(temperatures)) if temperatures else None,
            time_step_fs=time_step_fs,
            specie=specie,
            join_chunks=join_chunks,
        )
    except DuplicateTrajectoryError as exc:  # the arguments themselves are wrong: usage
        raise click.UsageError(str(exc)) from exc
    except TrajectoryReadError as exc:
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:
        raise click.ClickException(f"analysis failed: {exc}") from exc
    if plot_path:
        from sse_flows.analysis.plotting import plot_arrhenius

        plot_arrhenius(doc, plot_path)
    plot_line = [f"Arrhenius plot: {plot_path}"] if plot_path else []
    emit(doc.summary(), as_json, lambda: [_table(doc), *plot_line])
