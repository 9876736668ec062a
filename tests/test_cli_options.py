"""The shared CLI option layer (:mod:`sse_flows.cli_options`): one declaration per shared
option across the commands, and the output helpers (emit, click_errors, writing,
from_store)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import sse_flows.cli_options as cli_options
from sse_flows.cli import COMMANDS, cli
from sse_flows.cli_options import JSON_HELP, click_errors, emit, from_store, writing


def _commands() -> dict[str, click.Command]:
    """Every leaf command of ``sse-flows`` by its path (``data build``, ``md``, ...)."""
    found: dict[str, click.Command] = {}

    def walk(path: str, command: click.Command) -> None:
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                walk(f"{path} {name}".strip(), command.get_command(ctx, name))
        else:
            found[path] = command

    walk("", cli)
    return found


def _option(command: click.Command, name: str) -> click.Option | None:
    return next(
        (p for p in command.params if isinstance(p, click.Option) and name in p.opts), None
    )


def test_every_lazy_command_resolves_to_the_command_of_its_name():
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command)
        assert command.name == name


def test_every_json_option_is_the_shared_declaration():
    commands = _commands()
    with_json = {path for path, c in commands.items() if _option(c, "--json") is not None}
    # the commands that print a result and have --json (worker always prints JSON)
    assert with_json == {
        "data build", "data info", "screen", "train", "predict", "md", "analyze", "submit",
        "status", "results", "config",
    }
    for path in with_json:
        option = _option(commands[path], "--json")
        assert option.name == "as_json", path
        assert option.is_flag, path
        assert option.help == JSON_HELP, path


def test_shared_options_read_the_same_in_every_command():
    commands = _commands()
    for name, users in {
        "--recipe": ("train", "predict", "submit", "demo"),
        "--algorithms": ("train", "submit", "demo"),
        "--grouped": ("train", "submit", "demo"),
        "--training": ("train", "predict", "submit", "demo"),
        "--source": ("screen", "submit", "demo"),
    }.items():
        options = [_option(commands[user], name) for user in users]
        assert all(o is not None for o in options), name
        assert len({o.help for o in options}) == 1, name
        assert len({repr(o.default) for o in options}) == 1, name
    recipe = _option(commands["train"], "--recipe")
    assert recipe.default == "open" and list(recipe.type.choices) == ["open", "paper"]
    # the workflow id: an option of report, an argument of status and results
    assert _option(commands["report"], "--workflow-id").type is click.INT
    for user in ("status", "results"):
        argument = next(p for p in commands[user].params if p.name == "workflow_id")
        assert isinstance(argument, click.Argument) and not argument.required


def test_the_option_layer_imports_nothing_from_the_stages():
    tree = ast.parse(Path(cli_options.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    ours = {name for name in imported if name and name.startswith("sse_flows")}
    assert ours == {"sse_flows.stores"}  # below the stages (settings and stores only)


def _run(callback) -> click.testing.Result:
    return CliRunner().invoke(click.command()(callback), [])


def test_emit_prints_one_json_line_or_the_text_lines():
    result = {"n": 2, "path": Path("/x")}
    out = _run(lambda: emit(result, True, lambda: pytest.fail("text with --json"), default=str))
    assert out.exit_code == 0
    assert out.output.count("\n") == 1
    assert json.loads(out.output) == {"n": 2, "path": "/x"}
    out = _run(lambda: emit(result, False, (f"line {i}" for i in range(3))))
    assert out.output.splitlines() == ["line 0", "line 1", "line 2"]
    assert _run(lambda: emit(result, False, "one line")).output == "one line\n"
    assert _run(lambda: emit(result, False)).output == ""


def test_click_errors_makes_the_named_errors_one_line_and_lets_others_through():
    def fails(error: Exception):
        def callback():
            with click_errors(ValueError, message=lambda exc: f"bad: {exc}"):
                raise error

        return callback

    out = _run(fails(ValueError("x")))
    assert out.exit_code == 1
    assert out.output == "Error: bad: x\n"
    out = _run(fails(KeyError("y")))  # not named: not turned into a user error
    assert isinstance(out.exception, KeyError)


def test_writing_names_the_path_and_the_option(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = blocker / "out.csv"  # below a file: cannot be written

    def callback():
        with writing(target, "--out"):
            target.write_text("x")

    out = _run(callback)
    assert out.exit_code == 1
    assert out.output.startswith(f"Error: cannot write {target}: ")
    assert out.output.rstrip().endswith("; fix the path or choose another --out")


def test_from_store_turns_a_store_error_into_one_line():
    from sse_flows.stores import StoreError

    def load(workflow_id):
        raise StoreError(f"the LaunchPad is locked (workflow {workflow_id})")

    out = _run(lambda: from_store(load, 7))
    assert out.exit_code == 1
    assert out.output == "Error: the LaunchPad is locked (workflow 7)\n"
    assert _run(lambda: click.echo(from_store(lambda a, b=0: a + b, 1, b=2))).output == "3\n"
