"""``sse-flows report``: write the HTML report of a discovery run from the JobStore."""

from __future__ import annotations

from pathlib import Path

import click

from sse_flows.cli_options import click_errors, folder_option, workflow_option
from sse_flows.validation import validated


@click.command()
@folder_option(
    "-o", "--out", "out_dir",
    help="Folder of the report (default: <SSE_FLOWS_HOME>/reports/workflow-<id>).",
)
@workflow_option
@validated("report")
def report(out_dir: Path | None, workflow_id: int | None) -> None:
    """Write the self-contained HTML report (index.html with embedded PNG figures).

    Reads the stage documents of the workflow from the JobStore; stages that have not run
    are shown as such. The last line printed is the path of index.html.
    """
    from sse_flows.flows.results import write_workflow_report
    from sse_flows.report.inputs import ReportInputError
    from sse_flows.stores import StoreError

    with click_errors(StoreError, ReportInputError, LookupError), click_errors(
        OSError,
        message=lambda exc: f"could not write the report to {out_dir or 'the reports folder'}: "
        f"{exc}; choose another folder with -o",
    ):
        index = write_workflow_report(workflow_id, out_dir)
    click.echo(str(index))
