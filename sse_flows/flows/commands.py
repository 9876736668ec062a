"""CLI of the service: submit, worker, status, results, demo."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--max-fireworks", type=int, default=None, help="Stop after this many Fireworks.")
@click.option(
    "--category",
    default=None,
    help="Only run Fireworks of these categories (comma-separated, e.g. 'python').",
)
@click.option("--quiet", is_flag=True, help="No per-Firework progress lines.")
def worker(max_fireworks: int | None, category: str | None, quiet: bool) -> None:
    """Run READY Fireworks from the configured LaunchPad until none is left.

    On the embedded store only one launcher may run at a time (a second is refused), the
    LaunchPad is saved after every Firework, and Fireworks left RUNNING by a killed worker
    are re-queued on start.
    """
    from sse_flows.launcher import run_worker
    from sse_flows.stores import StoreError

    categories = [c.strip() for c in category.split(",")] if category else None
    try:
        report = run_worker(max_fireworks=max_fireworks, category=categories, progress=not quiet)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if report.requeued:
        click.echo(f"re-queued lost Fireworks: {report.requeued}", err=True)
    click.echo(json.dumps({"fireworks_run": report.fireworks_run, "requeued": report.requeued}))
