"""The options and the output steps that the ``sse-flows`` commands share.

Each shared option (``--json``, output files and folders, the workflow id, the choice
options of engine, device, source and recipe, the training table) is declared here once,
with its name, type, default and help, and every command that takes it uses the
declaration. The output helpers do the steps every command repeats: call the package
where a known failure (a store that cannot be opened, a file that cannot be written)
must become one line and exit 1 (:func:`click_errors`, :func:`from_store`,
:func:`writing`), then print the result as one JSON line with ``--json`` or as text
lines without (:func:`emit`).

This module imports nothing from the stages (the cycle test,
``tests/test_import_cycles.py``, keeps it so): a stage passes its own choices, e.g. the
MD engines, to :func:`choice_option`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

__all__ = [
    "DEVICES",
    "JSON_HELP",
    "RECIPES",
    "SOURCES",
    "algorithms_option",
    "choice_option",
    "click_errors",
    "default_option",
    "emit",
    "file_option",
    "folder_option",
    "from_store",
    "grouped_option",
    "json_option",
    "recipe_option",
    "source_option",
    "training_option",
    "unset_option",
    "workflow_argument",
    "workflow_option",
    "writing",
]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

#: help of ``--json`` (every command that has it)
JSON_HELP = "Print one JSON object as the last line."

#: torch devices a command may name (``auto``: CUDA when torch sees a GPU)
DEVICES = ("auto", "cpu", "cuda")

#: materials sources (:func:`sse_flows.sources.get_source`)
SOURCES = ("snapshot", "mp")

#: model recipes (:mod:`sse_flows.models.open_recipe` and the paper's)
RECIPES = ("open", "paper")


# -- options -----------------------------------------------------------------------------


def folder_option(
    *decls: str, help: str, path_type: type | None = Path, **attrs: Any
) -> Decorator:
    """An output or input folder option, ``None`` unless given.

    Parameters
    ----------
    decls
        The option's names (and parameter name), as for :func:`click.option`.
    help
        Its help text.
    path_type
        ``Path`` (default) or ``None`` for a ``str`` value.
    attrs
        Further :func:`click.option` arguments (``required``, ...).
    """
    kind = click.Path(file_okay=False, path_type=path_type)
    return click.option(*decls, type=kind, default=None, help=help, **attrs)


def file_option(
    *decls: str,
    help: str,
    path_type: type | None = Path,
    exists: bool = False,
    **attrs: Any,
) -> Decorator:
    """A file option (not a folder), ``None`` unless given; ``exists``: the file must
    exist (click refuses a missing one, exit 2). Other parameters as :func:`folder_option`."""
    kind = click.Path(exists=exists, dir_okay=False, path_type=path_type)
    return click.option(*decls, type=kind, default=None, help=help, **attrs)


def choice_option(
    *decls: str, choices: Sequence[str], default: str | None, help: str, **attrs: Any
) -> Decorator:
    """An option that takes one of ``choices``; its default is shown in ``--help``."""
    kind = click.Choice(list(choices))
    return click.option(
        *decls, type=kind, default=default, show_default=True, help=help, **attrs
    )


def default_option(*decls: str, default: Any, help: str, **attrs: Any) -> Decorator:
    """An option with a default that ``--help`` shows (``attrs``: ``type``, ...)."""
    return click.option(*decls, default=default, show_default=True, help=help, **attrs)


def unset_option(*decls: str, help: str, **attrs: Any) -> Decorator:
    """An option whose default is ``None``: not given, the command keeps its base value
    (the protocol's, the settings'). ``attrs``: ``type``, ``cls``, ..."""
    return click.option(*decls, default=None, help=help, **attrs)


def training_option(*, exists: bool, path_type: type | None = Path) -> Decorator:
    """``--training CSV``: a user training table instead of the packaged one.

    ``exists``: click refuses a missing file (else the command's own check does).
    """
    return file_option(
        "--training",
        exists=exists,
        path_type=path_type,
        help="Training CSV (formula, sigma_S_cm[, family]); default: the packaged table of "
        "the recipe.",
    )


# -- the shared options (each a decorator, the same declaration for every command) ------

#: ``--json`` (parameter ``as_json``): the result as one JSON object, the last stdout line
json_option = click.option("--json", "as_json", is_flag=True, help=JSON_HELP)

#: ``--workflow-id``: the latest discovery workflow unless given
workflow_option = unset_option(
    "--workflow-id",
    type=int,
    help="FireWorks workflow id (default: the latest discovery workflow).",
)

#: the optional ``WORKFLOW_ID`` argument: the latest discovery workflow unless given
workflow_argument = click.argument("workflow_id", type=int, required=False)

#: ``--source snapshot|mp``: the materials pool (default: the SOURCE setting)
source_option = choice_option(
    "--source",
    choices=SOURCES,
    default=None,
    help="Materials pool: offline MP 2019 snapshot or live MP [the SOURCE setting, "
    "SSE_FLOWS_SOURCE, default snapshot].",
)

#: ``--recipe open|paper``: the model recipe
recipe_option = choice_option(
    "--recipe",
    choices=RECIPES,
    default="open",
    help="'open': the Li rows of all open data (Kang + Xu + OBELiX train), log10 sigma "
    "regressors with 90 % intervals, calibrated p and an applicability domain. 'paper': "
    "Kang + Xu rows, the GB + LightGBM classifier vote of the paper (the reproduction).",
)

#: ``--algorithms``: the classifiers of the evaluation
algorithms_option = default_option(
    "--algorithms",
    default="all",
    help="'all' or comma-separated keys: gnb,lr,dt,sgd,knn,rf,gb,lgbm,xgb.",
)

#: ``--grouped/--no-grouped``: the grouped splits of the evaluation too
grouped_option = default_option(
    "--grouped/--no-grouped",
    default=True,
    help="Also evaluate composition-cluster and leave-one-family-out splits.",
)


# -- calling the package and printing its result ------------------------------------------


@contextmanager
def click_errors(
    *errors: type[BaseException], message: Callable[[Any], str] = str
) -> Iterator[None]:
    """Turn one of ``errors`` raised inside into a one-line error (exit 1).

    Parameters
    ----------
    errors
        The exception classes that are the user's to fix (a missing file, a store that
        cannot be opened); others pass through.
    message
        The line printed after ``Error:``, from the exception (default: its text).
    """
    try:
        yield
    except errors as exc:
        raise click.ClickException(message(exc)) from exc


def from_store(load: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``load(*args, **kwargs)``, a call that opens the JobStore or the LaunchPad: a
    :class:`~sse_flows.stores.StoreError` (damaged, locked or unreachable store) becomes a
    one-line error (exit 1)."""
    from sse_flows.stores import StoreError

    with click_errors(StoreError):
        return load(*args, **kwargs)


@contextmanager
def writing(path: Path | str, option: str) -> Iterator[None]:
    """Write ``path`` inside: an :class:`OSError` becomes one line that names the path,
    the reason and the option to change (exit 1)."""
    with click_errors(
        OSError,
        message=lambda exc: f"cannot write {path}: {exc.strerror}; fix the path or choose "
        f"another {option}",
    ):
        yield


def emit(
    result: Any,
    as_json: bool,
    text: str | Iterable[str] | Callable[[], str | Iterable[str] | None] | None = None,
    *,
    default: Callable[[Any], Any] | None = None,
) -> None:
    """Print a command's result: one JSON line with ``--json``, else its text.

    Parameters
    ----------
    result
        What ``--json`` prints (``json.dumps(result, default=default)``).
    as_json
        The ``--json`` flag.
    text
        Without ``--json``: a string, lines, or a callable that returns either (called
        only then, so the text costs nothing with ``--json``); ``None`` prints nothing.
    default
        ``json.dumps``'s converter of objects it does not know (e.g. ``str``).
    """
    if as_json:
        click.echo(json.dumps(result, default=default))
        return
    if callable(text):
        text = text()
    if text is None:
        return
    for line in [text] if isinstance(text, str) else text:
        click.echo(line)
