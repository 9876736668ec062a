"""``sse-flows config``: show the settings and where the stores are."""

from __future__ import annotations

import json

import click

from sse_flows.cli_options import emit, json_option


@click.command()
@json_option
@click.option(
    "--jobflow-yaml", is_flag=True, help="Print a jobflow.yaml for the configured JobStore."
)
def config(as_json: bool, jobflow_yaml: bool) -> None:
    """Show the settings in force and the store locations."""
    from sse_flows.settings import get_settings
    from sse_flows.stores import describe_stores, job_store_spec

    settings = get_settings()
    if jobflow_yaml:
        import yaml

        click.echo(yaml.safe_dump({"JOB_STORE": json.loads(json.dumps(job_store_spec()))}))
        return
    info = {
        "home": str(settings.HOME),
        "raw_data_dir": str(settings.RAW_DATA_DIR),
        "source": settings.SOURCE,
        "mp_api_key": "set" if settings.mp_api_key else "not set",
        **{f"store_{k}": v for k, v in describe_stores(settings).items()},
    }
    width = max(map(len, info))
    emit(info, as_json, (f"{key:<{width}}  {value}" for key, value in info.items()))
