"""``sse-flows report``: write the HTML report of a discovery run from the JobStore."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from sse_flows.validation import validated


def default_report_dir(workflow_id: int | None) -> Path:
    """``<reports_dir>/workflow-<id>``, or a UTC time stamp when no workflow id is known."""
    from sse_flows.settings import get_settings

    name = (
        f"workflow-{workflow_id}"
        if workflow_id is not None
        else datetime.now(timezone.utc).strftime("report-%Y%m%dT%H%M%SZ")
    )
    return get_settings().reports_dir / name


@click.command()
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the report (default: <SSE_FLOWS_HOME>/reports/workflow-<id>).",
)
@click.option(
    "--workflow-id",
    type=int,
    default=None,
    help="FireWorks workflow id (default: the latest discovery workflow).",
)
@validated("report")
def report(out_dir: Path | None, workflow_id: int | None) -> None:
    """Write the self-contained HTML report (index.html with embedded PNG figures).

    Reads the stage documents of the workflow from the JobStore; stages that have not run
    are shown as such. The last line printed is the path of index.html.
    """
    from sse_flows.flows.results import load_report_inputs
    from sse_flows.report.html import write_report
    from sse_flows.report.inputs import ReportInputError
    from sse_flows.stores import StoreError

    try:
        inputs = load_report_inputs(workflow_id)
    except (StoreError, ReportInputError, LookupError) as exc:
        raise click.ClickException(f"{exc}") from exc
    if out_dir is None:
        workflow = inputs.workflow or {}
        known_id = workflow.get("workflow_id", workflow.get("id", workflow_id))
        out_dir = default_report_dir(known_id)
    try:
        index = write_report(inputs, out_dir)
    except OSError as exc:
        raise click.ClickException(
            f"could not write the report to {out_dir}: {exc}; choose another folder with -o"
        ) from exc
    click.echo(str(index))
