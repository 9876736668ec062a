"""CLI of the service: submit, worker, status, results, demo."""

from __future__ import annotations

from collections.abc import Iterator

import click

from sse_flows.cli_options import (
    algorithms_option,
    choice_option,
    click_errors,
    default_option,
    emit,
    folder_option,
    from_store,
    grouped_option,
    json_option,
    recipe_option,
    source_option,
    training_option,
    unset_option,
    workflow_argument,
)
from sse_flows.flows.md_validation import POOL_MATERIALS_PER_JOB
from sse_flows.md.commands import engine_option, md_protocol_options, protocol_from_options
from sse_flows.md.protocol import DEMO_PROTOCOL, MDProtocol
from sse_flows.validation import (
    EXIT_CONTROL_FAILED,
    EXIT_VERDICT_FAILED,
    ParameterError,
    validated,
)


@click.command()
@click.option("--max-fireworks", type=int, default=None, help="Stop after this many Fireworks.")
@click.option(
    "--category",
    default=None,
    help="Only run Fireworks of these categories (comma-separated, e.g. 'python').",
)
@click.option("--quiet", is_flag=True, help="No per-Firework progress lines.")
@validated("worker")
def worker(max_fireworks: int | None, category: str | None, quiet: bool) -> None:
    """Run READY Fireworks from the configured LaunchPad until none is left.

    On the embedded store only one launcher may run at a time (a second is refused), the
    LaunchPad is saved after every Firework, and Fireworks left RUNNING by a killed worker
    are re-queued on start. Ctrl-C (SIGINT) or SIGTERM puts the running Firework back to
    READY and exits 130 or 143; the next worker runs it again. Exits 3 when a Firework it
    ran FIZZLED. Its stdout is one line, the JSON summary; the progress lines go to stderr,
    and each launch folder under $SSE_FLOWS_HOME/launches keeps FireWorks' log and the
    job's output (launch.log) and a failed job's traceback (error.log).
    """
    from sse_flows.launcher import run_worker

    categories = [c.strip() for c in category.split(",")] if category else None
    # a signal ends it in cli.LazyGroup.invoke (WorkerInterrupted: one line, 130/143)
    report = from_store(
        run_worker, max_fireworks=max_fireworks, category=categories, progress=not quiet
    )
    if report.requeued:
        click.echo(f"re-queued lost Fireworks: {report.requeued}", err=True)
    fizzled = report.fizzled
    summary = {
        "fireworks_run": report.fireworks_run,
        "requeued": report.requeued,
        "fizzled": [run.fw_id for run in fizzled],
    }
    emit(summary, as_json=True)  # always: the last stdout line is the JSON summary
    if fizzled:
        failed = "; ".join(
            run.label() + (f": {run.error}" if run.error else "") for run in fizzled
        )
        click.echo(
            f"worker ran {report.fireworks_run} Fireworks; FIZZLED: {failed}. Full errors: "
            "error.log in their launch folders; see `sse-flows status`, fix the cause and "
            "submit again.",
            err=True,
        )
        click.get_current_context().exit(EXIT_VERDICT_FAILED)


def _check_source(source: str, mp_api_key: str | None) -> None:
    """Fail before submission when the MP source cannot work (no key, bad key, no network)."""
    if source != "mp":
        return
    from sse_flows.sources import get_source
    from sse_flows.sources.base import SourceUnavailableError

    with click_errors(SourceUnavailableError):
        get_source("mp", api_key=mp_api_key)


def _discovery_options(func):
    """The options of ``submit`` and ``demo``: the pool, the models, the MD stage (and
    the MD protocol options of :func:`~sse_flows.md.commands.md_protocol_options`)."""
    options = [
        source_option,
        unset_option(
            "--mp-api-key", help="MP API key for --source mp (workers read SSE_FLOWS_MP_API_KEY)."
        ),
        engine_option(
            "--md-engine",
            help="MD engine of the validation stage (sevennet agrees better with AIMD; "
            "chgnet is 3-5x faster on a CPU).",
        ),
        choice_option(
            "--md-device", choices=("cpu", "cuda"), default="cpu",
            help="Torch device of the force-field MD workers.",
        ),
        unset_option(
            "--md-max-atoms", type=int,
            help="Candidates whose MD supercell has more atoms are not run (default: no limit).",
        ),
        default_option(
            "--max-md", type=int, default=3,
            help="Most candidates sent to MD with --md-scope candidates (the controls are extra).",
        ),
        default_option(
            "--md-scope", default="candidates",
            help="What MD runs on: 'candidates' (the vote's, at most --max-md, plus --md-top "
            "by acquisition), 'top-N' (the N best screened materials by acquisition) or "
            "'pool' (every screened material). top-N and pool run batched force-field MD, "
            "--md-materials-per-job materials per job (FireWorks category 'gpu' with "
            "--md-device cuda).",
        ),
        unset_option(
            "--md-top", type=int,
            help="With --md-scope candidates, also MD-test the K best other screened "
            "materials by acquisition (P(log10 sigma >= -4) from the model's interval, "
            "widened out of domain) that have a structure within --md-max-atoms "
            "[default: 3 for --recipe open, 0 for --recipe paper].",
        ),
        unset_option(
            "--md-materials-per-job", type=int,
            help=f"Materials per batched MD job of top-N and pool (default "
            f"{POOL_MATERIALS_PER_JOB}).",
        ),
        default_option(
            "--md-processes", type=int, default=1,
            help="Force-field MD on the CPU with --md-scope candidates: run this many "
            "materials side by side in one job (one process, one torch thread each).",
        ),
        default_option(
            "--control", default="Li10GeP2S12",
            help="Positive-control fast conductor run beside the candidates ('none' to skip).",
        ),
        default_option(
            "--negative-control", default="Li3PO4",
            help="Negative-control poor conductor run beside the candidates ('none' to skip).",
        ),
        folder_option(
            "--structures-dir", path_type=None,
            help="Folder of CIF/POSCAR files named <mp-id> or <formula> for MD.",
        ),
        algorithms_option,
        default_option(
            "--evaluation-splits", type=int, default=100,
            help="Random splits of the nine-algorithm evaluation.",
        ),
        grouped_option,
        default_option(
            "--evaluation-cluster-repeats", type=int, default=2,
            help="Repeats of the composition-cluster 5-fold of the grouped evaluation.",
        ),
        unset_option(
            "--vote-splits", type=int,
            help="Models per algorithm in the GB + LightGBM vote (default: the recipe's, "
            "100 for paper, 10 for open).",
        ),
        unset_option(
            "--min-votes", type=int,
            help="Votes each of GB and LightGBM must give (default: unanimous).",
        ),
        training_option(exists=False, path_type=None),
        recipe_option,
    ]
    for option in reversed(options):
        func = option(func)
    return md_protocol_options(func)


def _none(value: str) -> str | None:
    return None if value.lower() == "none" else value


def build_maker(opts: dict, base_protocol: MDProtocol | None = None):
    """DiscoveryFlowMaker from the CLI options (validated up front)."""
    from sse_flows.flows.discovery import DiscoveryFlowMaker
    from sse_flows.sources import source_name

    source = source_name(opts["source"])
    _check_source(source, opts["mp_api_key"])
    if opts["structures_dir"]:
        from sse_flows.sources.structures import StructureFileError, StructureLibrary

        with click_errors(StructureFileError):
            StructureLibrary(opts["structures_dir"]).index()
    if opts["training"]:
        from sse_flows.data.tables import load_training_table

        with click_errors(ValueError):
            load_training_table(opts["training"])
    protocol = protocol_from_options(base_protocol or MDProtocol(), opts)
    try:
        return DiscoveryFlowMaker(
            source=source,
            training_path=str(opts["training"]) if opts["training"] else None,
            algorithms=[a.strip() for a in opts["algorithms"].split(",")],
            evaluation_splits=opts["evaluation_splits"],
            grouped_evaluation=opts["grouped"],
            evaluation_cluster_repeats=opts["evaluation_cluster_repeats"],
            vote_splits=opts["vote_splits"],
            min_votes=opts["min_votes"],
            recipe=opts.get("recipe", "open"),
            max_md=opts["max_md"],
            md_scope=opts["md_scope"],
            md_top=opts.get("md_top"),
            md_materials_per_job=opts["md_materials_per_job"],
            md_processes=opts["md_processes"],
            control_formula=_none(opts["control"]),
            negative_control_formula=_none(opts["negative_control"]),
            structures_dir=opts["structures_dir"],
            md_engine=opts["md_engine"],
            md_protocol=protocol,
            md_device=opts["md_device"],
            md_max_atoms=opts["md_max_atoms"],
        )
    except ParameterError as exc:
        raise exc.to_click() from None


def submit_maker(maker, allow_duplicate: bool = False):
    """Build the flow and put it on the LaunchPad (duplicates are detected by hash)."""
    from sse_flows.launcher import submit_flow

    flow = maker.make()
    return from_store(
        submit_flow, flow, parameter_hash=maker.parameter_hash(), allow_duplicate=allow_duplicate
    )


@click.command()
@_discovery_options
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help="Submit even if a workflow with the same parameters exists.",
)
@json_option
@validated("submit")
def submit(allow_duplicate: bool, as_json: bool, **opts) -> None:
    """Build the discovery flow, convert it (flow_to_workflow) and add it to the LaunchPad."""
    maker = build_maker(opts)
    result = submit_maker(maker, allow_duplicate)
    info = {
        "workflow_id": result.workflow_id,
        "duplicate": result.duplicate,
        "fireworks": len(result.fw_ids),
        "parameter_hash": result.parameter_hash,
        "md_protocol": maker.md_protocol.describe(maker.md_engine),
    }
    said = (
        f"A workflow with these parameters exists already: {result.workflow_id} "
        "(use --allow-duplicate to submit again)."
        if result.duplicate
        else f"Submitted workflow {result.workflow_id} ({len(result.fw_ids)} Fireworks)."
    )
    emit(info, as_json, [said, f"MD: {info['md_protocol']}", str(result.workflow_id)])


@click.command()
@workflow_argument
@json_option
@validated("status")
def status(workflow_id: int | None, as_json: bool) -> None:
    """Stage-by-stage state of the latest (or the given) discovery workflow.

    Each finished stage shows its run time (its latest finished launch). A Firework
    RUNNING while no worker holds the embedded LaunchPad is marked stale (a killed
    worker's; the next `sse-flows worker` re-queues it)."""
    from sse_flows.flows.results import workflow_status

    info = from_store(workflow_status, workflow_id)
    emit(info, as_json, lambda: _status_lines(info), default=str)
    _exit_if_failed(info)


def _status_lines(info: dict) -> Iterator[str]:
    """The text of ``status``: the workflow, then one line per stage."""
    from sse_flows.flows.results import state_label

    yield f"workflow {info['workflow_id']}  {info['name']}  {state_label(info)}"
    for stage in info["stages"]:
        yield (
            f"  {stage['fw_id']:>5}  {stage['state']:<10} {stage['category'] or '':<7} "
            f"{_run_time_text(stage.get('run_s')):>8}  {stage['name']}"
            + ("  (stale: no worker runs it)" if stage.get("stale") else "")
        )


def _run_time_text(seconds: float | None) -> str:
    """A stage's run time for the status table: '12 s', '3.4 min', or '' before it ends."""
    if seconds is None:
        return ""
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds / 60:.1f} min"


def _exit_if_failed(info: dict) -> None:
    """Exit 3 ("ran, verdict failed") when a stage FIZZLED; not when another command calls.

    ``demo`` invokes ``status`` and ``results`` to print them and decides its exit code
    itself.
    """
    if info["state"] != "FIZZLED":
        return
    ctx = click.get_current_context()
    if ctx.parent is not None and not isinstance(ctx.parent.command, click.Group):
        return
    failed = ", ".join(info.get("failed_stages") or []) or "a stage"
    click.echo(
        f"workflow {info['workflow_id']} FIZZLED: {failed} failed; its error is in "
        "`sse-flows status --json` and the launch folders under $SSE_FLOWS_HOME/launches.",
        err=True,
    )
    ctx.exit(EXIT_VERDICT_FAILED)


def _exit_if_control_failed(ranking: dict | None) -> None:
    """Exit 4 with a one-line reason when an MD control did not get its known answer."""
    if not ranking or ranking.get("controls_passed") is not False:
        return
    failed = [line.removeprefix("FAIL ") for line in ranking.get("controls") or []
              if line.startswith("FAIL")]
    error = click.ClickException(
        "control check failed: " + "; ".join(failed)
        + " (the MD verdicts of this run are not trustworthy)"
    )
    error.exit_code = EXIT_CONTROL_FAILED
    raise error


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


@click.command()
@workflow_argument
@json_option
@click.option(
    "--check-controls", is_flag=True,
    help="Exit 4 with a one-line reason when an MD control did not get its known answer.",
)
@validated("results")
def results(workflow_id: int | None, as_json: bool, check_controls: bool = False) -> None:
    """The candidate table (votes, stability, MD sigma_RT with interval, Ea, status).

    A sigma_RT shown as "<=x" is an upper bound (no confident Arrhenius fit)."""
    from sse_flows.flows.results import load_results, results_rows

    info, ranking = from_store(load_results, workflow_id)
    rows = results_rows(ranking)
    summary = {
        "workflow_id": info["workflow_id"],
        "state": info["state"],
        "md_reduced_protocol": (ranking or {}).get("md_reduced_protocol"),
        "failed_stages": info.get("failed_stages", []),
        "selection_funnel": (ranking or {}).get("selection_funnel") or [],
        "candidates": rows,
        "controls": (ranking or {}).get("controls") or [],
        "controls_passed": (ranking or {}).get("controls_passed"),
    }
    emit(summary, as_json, lambda: _results_lines(info, ranking, rows))
    _exit_if_failed(info)
    if check_controls:
        _exit_if_control_failed(ranking)


def _results_lines(info: dict, ranking: dict | None, rows: list[dict]) -> Iterator[str]:
    """The text of ``results``: the candidate table, the selection funnel and the control
    checks (one line when the workflow has no ranking yet)."""
    from sse_flows.flows.results import material_label, state_label

    if ranking is None:
        yield (
            f"workflow {info['workflow_id']} is {state_label(info)}: no ranking yet "
            "(see `sse-flows status`)."
        )
        return
    yield f"workflow {info['workflow_id']}  {state_label(info)}"
    yield (
        f"{'material':<12} {'formula':<16} {'GB':>4} {'LGBM':>4} {'p':>5} {'acq':>5} "
        f"{'V_ox':>5} {'E_hull':>6} {'sigma_RT':>9} {'[low, high]':>21} {'Ea':>5} "
        f"{'status':<12} {'MD verdict':<28} selected because"
    )
    for row in rows:
        interval = (
            f"[{_fmt(row['sigma_rt_low'], '.1e')}, {_fmt(row['sigma_rt_high'], '.1e')}]"
            if row["sigma_rt_low"] is not None
            else "-"
        )
        sigma = _fmt(row["sigma_rt_S_cm"], ".1e")
        if row["sigma_rt_S_cm"] is None and row["sigma_rt_high"] is not None:
            sigma = f"<={row['sigma_rt_high']:.1e}"  # an upper bound, not a value
        name = material_label(row)
        yield (
            f"{name:<12} {row['formula']:<16} {_fmt(row['votes_gb'], 'd'):>4} "
            f"{_fmt(row['votes_lgbm'], 'd'):>4} {_fmt(row['p_superionic'], '.2f'):>5} "
            f"{_fmt(row['acquisition_score'], '.2f'):>5} "
            f"{_fmt(row['v_ox'], '.2f'):>5} {_fmt(row['e_hull'], '.3f'):>6} "
            f"{sigma:>9} {interval:>21} {_fmt(row['ea_eV'], '.2f'):>5} "
            f"{row['md_status']:<12} {row['md_verdict']:<28} {row['selection_reason'] or '-'}"
        )
    funnel = ranking.get("selection_funnel") or []
    if funnel:
        steps = " -> ".join(f"{stage['name'].replace('_', ' ')} {stage['count']}"
                            for stage in funnel)  # fmt: skip
        yield f"selection funnel: {steps}"
    for line in ranking.get("controls") or []:
        yield f"control check: {line}"
    if ranking.get("md_reduced_protocol"):
        yield "note: MD used a REDUCED protocol; sigma_RT is indicative only."


#: the demo's settings (CPU, < 20 minutes on 2 cores); all are CLI options
DEMO_DEFAULTS = {
    # the nine-algorithm evaluation on 2 random + 5 composition-cluster + the family splits
    # (the paper: 100 random splits), ~3 of the demo's minutes
    "evaluation_splits": 2,
    "evaluation_cluster_repeats": 1,
    # MD of the five targets two at a time, one thread each: ~1.5x the throughput of one
    # two-thread run on 2 cores (a CHGNet step is mostly serial work)
    "md_processes": 2,
    "max_md": 1,
    "md_max_atoms": 100,
    # CHGNet, 3-5x faster than the default SevenNet on 2 CPU cores, keeps the demo under
    # 20 minutes; at the demo's 600/1000 K it decides both controls right (docs/md.md)
    "md_engine": "chgnet",
}


@click.command()
@_discovery_options
@folder_option(
    "-o", "--out", path_type=None,
    help="Report folder (default: $SSE_FLOWS_HOME/reports/workflow-<id>).",
)
@validated("demo")
def demo(out: str | None, **opts) -> None:
    """The main job, on the embedded default: submit the discovery flow, run it, report.

    Uses the offline snapshot, the open recipe and CHGNet on a REDUCED MD protocol. Unless
    given, the demo uses: --evaluation-splits 2 --evaluation-cluster-repeats 1 (the
    nine-algorithm evaluation on 2 random, 5 composition-cluster and the family splits),
    --max-md 1, --md-max-atoms 100, --md-engine chgnet, --md-processes 2 (two materials
    side by side, one thread each), and MD at 1000 and 600 K (700 K as fallback) with 150
    equilibration + 500-2,000 production steps (continued until D is known to 15 %, up to
    2 more chunks for an undetermined verdict) in >= 8 A cells; the defaults shown below
    are those of `submit`. Besides the vote's candidates it MD-tests the 3 best screened
    materials by acquisition that fit (--md-top, open recipe). The positive control
    (Li10GeP2S12) must come out superionic and the negative control (Li3PO4) must not,
    or the command exits 4. Run it again with the same options and it reuses the finished
    workflow.
    """
    import time

    from sse_flows.launcher import run_worker
    from sse_flows.settings import get_settings
    from sse_flows.stores import describe_stores

    ctx = click.get_current_context()
    for key, value in DEMO_DEFAULTS.items():
        if ctx.get_parameter_source(key) == click.core.ParameterSource.DEFAULT:
            opts[key] = value
    start = time.monotonic()
    settings = get_settings()
    stores = describe_stores(settings)
    click.echo(f"sse-flows demo: stores are {stores['mode']} under {settings.HOME}")
    maker = build_maker(opts, base_protocol=DEMO_PROTOCOL)
    click.echo(f"MD: {maker.md_protocol.describe(maker.md_engine)}")
    if maker.md_protocol.reduced:
        click.echo(
            "    (the paper runs 3,000 + 10,000 steps per temperature: this demo's "
            "sigma_RT values are indicative, not converged)"
        )
    submission = submit_maker(maker)
    what = "reusing" if submission.duplicate else "submitted"
    click.echo(f"{what} workflow {submission.workflow_id} ({len(submission.fw_ids)} Fireworks)")
    report = from_store(run_worker, settings)
    click.echo(f"worker ran {report.fireworks_run} Fireworks")
    ctx.invoke(status, workflow_id=submission.workflow_id, as_json=False)
    ctx.invoke(results, workflow_id=submission.workflow_id, as_json=False)
    from sse_flows.flows.results import write_workflow_report

    index = write_workflow_report(submission.workflow_id, out, settings)
    click.echo(f"demo finished in {time.monotonic() - start:.0f} s")
    click.echo(f"report: {index}")
    from sse_flows.flows.results import load_results

    info, ranking = load_results(submission.workflow_id, settings)
    if info["state"] != "COMPLETED":
        failed = [s["name"] for s in info["stages"] if s["state"] == "FIZZLED"]
        error = click.ClickException(
            f"workflow {submission.workflow_id} ended {info['state']}"
            + (f" (failed: {', '.join(failed)})" if failed else "")
            + "; see `sse-flows status` and the worker's log above"
        )
        error.exit_code = EXIT_VERDICT_FAILED  # it ran; a stage failed
        raise error
    _exit_if_control_failed(ranking)
