"""The ``sse-flows`` command line (thin: parse, call the package, print).

Sub-commands live beside the stage they drive (``sse_flows/<stage>/commands.py``) and are
imported lazily, so ``sse-flows --help`` is fast and one stage's heavy imports do not slow
the others.
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple

import click


class LazyCommand(NamedTuple):
    """Where a sub-command lives and its line in ``sse-flows --help``: the module (relative
    to ``sse_flows``) defines the command under the command's own name."""

    module: str
    help: str


#: command name -> its module (imported on first use) and its one-line help
COMMANDS: dict[str, LazyCommand] = {
    "data": LazyCommand(".data.commands", "Build or inspect the derived datasets."),
    "screen": LazyCommand(".screening.commands", "Run the four-step screening funnel."),
    "train": LazyCommand(".models.commands", "Evaluate the nine classifiers."),
    "predict": LazyCommand(".models.commands", "Vote GB+LightGBM on formulas."),
    "md": LazyCommand(".md.commands", "Run (CHGNet) or submit (VASP) the MD protocol."),
    "analyze": LazyCommand(".analysis.commands", "Diffusion analysis of trajectories."),
    "submit": LazyCommand(".flows.commands", "Submit the discovery flow to the LaunchPad."),
    "worker": LazyCommand(".flows.commands", "Run a (single) worker on the LaunchPad."),
    "status": LazyCommand(".flows.commands", "Stage-by-stage state of a workflow."),
    "results": LazyCommand(".flows.commands", "The candidate table from the JobStore."),
    "report": LazyCommand(".report.commands", "Write the HTML report."),
    "demo": LazyCommand(".flows.commands", "The main job: the whole flow, embedded."),
    "config": LazyCommand(".stores_commands", "Show settings and store locations."),
}


#: commands that run joblib (loky) work: the model stages, here or on the worker
PARALLEL_COMMANDS = frozenset({"train", "predict", "worker", "demo"})


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(COMMANDS[name].module, "sse_flows"), name)

    def invoke(self, ctx: click.Context):
        """Run the sub-command; known failures become one line and a documented exit code.

        A damaged or unreachable store exits 1, a bad configuration 2 (see
        :mod:`sse_flows.validation` for the codes). SIGINT or SIGTERM stops any command,
        from its first import on (:func:`sse_flows.processes.stop_on_signals`): its child
        processes are stopped quietly, one line says what stopped (a worker, or the demo's
        worker, first puts its running Firework back to READY) and it exits 130 or 143.
        """
        from sse_flows.processes import (
            CommandInterrupted,
            ignore_signals,
            stop_on_signals,
            terminate_children,
        )

        with stop_on_signals():  # one signal policy for every command
            from sse_flows.settings import ConfigError
            from sse_flows.stores import StoreError
            from sse_flows.validation import ParameterError

            try:
                return super().invoke(ctx)
            except StoreError as exc:
                raise click.ClickException(str(exc)) from None
            except ConfigError as exc:
                raise click.UsageError(str(exc)) from None
            except ParameterError as exc:
                raise exc.to_click() from None
            except CommandInterrupted as exc:
                ignore_signals()  # a second Ctrl-C must not interrupt the cleanup
                terminate_children()
                click.echo(exc.describe(ctx.invoked_subcommand), err=True)
                ctx.exit(exc.exit_code)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, where.help) for name, where in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sse-flows")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """sse-flows: discover superionic Li-ion solid electrolytes (Kang, Kim & Min 2023).

    Settings come from SSE_FLOWS_* variables (SSE_FLOWS_HOME, SSE_FLOWS_MONGODB_URI,
    SSE_FLOWS_MP_API_KEY, ...) or a YAML file; see `sse-flows config`.
    """
    # the joblib (loky) workers of the model stages ignore Ctrl-C (the command stops them)
    # and die with the command, even after a SIGKILL; the other commands do not import joblib
    if ctx.invoked_subcommand in PARALLEL_COMMANDS:
        from sse_flows.processes import joblib_children_config

        ctx.with_resource(joblib_children_config())


def main() -> None:
    """Console-script entry point: user errors print one clear line, not a traceback.

    The signal policy (:meth:`LazyGroup.invoke`) starts here already, so a SIGINT or
    SIGTERM while the command starts also ends with one line and 130 or 143.
    """
    from sse_flows.processes import CommandInterrupted, stop_on_signals

    try:
        with stop_on_signals():
            _main()
    except CommandInterrupted as exc:
        click.echo(exc.describe(), err=True)
        sys.exit(exc.exit_code)


def _main() -> None:
    from sse_flows.settings import ConfigError
    from sse_flows.validation import EXIT_SIGINT, EXIT_USAGE

    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_SIGINT)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if isinstance(code, int) and not isinstance(code, bool):
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
