"""``sse-flows report``: write the HTML report of a discovery run from the JobStore."""

from __future__ import annotations

from pathlib import Path

import click

from sse_flows.validation import validated


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
    from sse_flows.flows.results import write_workflow_report
    from sse_flows.report.inputs import ReportInputError
    from sse_flows.stores import StoreError

    try:
        index = write_workflow_report(workflow_id, out_dir)
    except (StoreError, ReportInputError, LookupError) as exc:
        raise click.ClickException(f"{exc}") from exc
    except OSError as exc:
        raise click.ClickException(
            f"could not write the report to {out_dir or 'the reports folder'}: {exc}; "
            "choose another folder with -o"
        ) from exc
    click.echo(str(index))
