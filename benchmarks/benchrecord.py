"""Write a benchmark's record, ``docs/benchmarks/<name>.md``, from its JSON result.

Every benchmark script that the reference pages quote keeps its measurements in
``benchmarks/results/<name>.json`` and renders them into ``docs/benchmarks/<name>.md``
from that JSON alone: the date, the machine, the protocol, the tables and the figure. A
script run with ``--record-only`` (:func:`record_only`) rewrites the record from the stored
JSON without computing anything.

Two page styles share the helpers here: :func:`render` (a ``* Date``/``* Machine`` list,
then ``## Protocol`` and ``## Results``; the models, screening and features scripts) and
:func:`header` (a ``- key: value`` list of facts; the MD and analysis scripts).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RECORDS = ROOT / "docs" / "benchmarks"


# --- the machine --------------------------------------------------------------------------


def machine() -> dict:
    """What a record says about the machine a run used."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def run_info() -> dict:
    """``date`` (UTC day) and ``machine`` of a run, to merge into its JSON."""
    return {"date": time.strftime("%Y-%m-%d", time.gmtime()), "machine": machine()}


def machine_text(value) -> str:
    """One line for the machine field of a JSON: a dict from :func:`machine`, or the text
    an older JSON holds (shown as it is)."""
    if value is None:
        return "not recorded"
    if isinstance(value, str):
        return value
    parts = [f"{value.get('cpus', '?')} CPUs", str(value.get("platform", ""))]
    if value.get("load_average"):
        parts.append("load average " + ", ".join(f"{x:.1f}" for x in value["load_average"]))
    return "; ".join(p for p in parts if p)


# --- cells and tables -----------------------------------------------------------------------


def fmt(value, spec: int | str = 3, missing: str = "-") -> str:
    """A number for a table cell; ``missing`` for None, an empty value or NaN.

    ``spec`` an int: that many decimals for a float (an infinite one is ``missing``), ints
    and bools as they are. ``spec`` a str: a format spec (``".1e"``, ``"d"``) for any value.
    Anything else that is not a number is shown with ``str``.
    """
    if value is None or (isinstance(value, str) and value == ""):
        return missing
    if isinstance(value, float) and math.isnan(value):
        return missing
    if isinstance(spec, str):
        return format(value, spec)
    if isinstance(value, bool | int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{spec}f}" if math.isfinite(value) else missing
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence]) -> list[str]:
    """A Markdown table as lines (cells already formatted, or formatted with :func:`fmt`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in row) + " |")
    return lines


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of ``text`` as rows of stripped cells (separator rows left out)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-:") and c for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def parse_tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of ``text`` as a list of rows keyed by the header cells."""
    return [
        [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]
        for rows in markdown_tables(text)
    ]


# --- JSON results ---------------------------------------------------------------------------


def read_json(path: Path) -> dict:
    """A stored result."""
    return json.loads(Path(path).read_text())


def _write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary name in the folder, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def write_json(path: Path, result: dict, indent: int = 1, sort_keys: bool = False) -> Path:
    """Write a result atomically (numbers that JSON does not know are written as floats)."""
    return _write_atomic(
        path, json.dumps(result, indent=indent, sort_keys=sort_keys, default=float) + "\n"
    )


# --- the record -----------------------------------------------------------------------------


def _shown(path: Path) -> Path:
    """``path`` relative to the repository where it lies inside it."""
    path = Path(path)
    if path.is_absolute() and path.resolve().is_relative_to(ROOT):
        return path.resolve().relative_to(ROOT)
    return path


def render(
    name: str,
    title: str,
    result: dict,
    json_path: Path,
    protocol: Sequence[str],
    body: Sequence[str],
    figure: str | None = None,
) -> str:
    """The text of ``docs/benchmarks/<name>.md``: date and machine, protocol, results."""
    lines = [
        f"# {title}",
        "",
        f"Generated by `benchmarks/{name}.py` from `{_shown(json_path)}`; do not edit by hand. "
        f"`python benchmarks/{name}.py --record-only` regenerates it from the JSON.",
        "",
        f"* Date: {result.get('date', 'not recorded')}",
        f"* Machine: {machine_text(result.get('machine'))}",
        "", "## Protocol", "", *protocol, "", "## Results", "", *body,
    ]  # fmt: skip
    if figure:
        lines += ["", f"![{name}](../img/{figure})"]
    return "\n".join(lines).rstrip() + "\n"


def header(name: str, title: str, sources: Sequence[Path], facts: dict[str, object]) -> str:
    """The record's title, where it comes from and its facts (date, machine, protocol);
    facts that are None or empty are left out, ``machine`` goes through :func:`machine_text`."""
    paths = ", ".join(f"`{_shown(Path(p).resolve())}`" for p in sources)
    lines = [
        f"# {title}",
        "",
        f"Generated by `benchmarks/{name}.py` from {paths} "
        f"(`python benchmarks/{name}.py --record-only` rewrites it from the JSON).",
        "",
    ]
    for key, value in facts.items():
        if value in (None, ""):
            continue
        lines.append(f"- {key}: {machine_text(value) if key == 'machine' else value}")
    return "\n".join(lines) + "\n"


def write_record(name: str, text: str, path: Path | None = None) -> Path:
    """Write the record ``docs/benchmarks/<name>.md`` (or ``path``) whole, atomically, with
    runs of blank lines cut to one."""
    path = Path(path) if path else RECORDS / f"{name}.md"
    return _write_atomic(path, re.sub(r"\n{3,}", "\n\n", text.strip("\n")) + "\n")


def add_record_options(parser: argparse.ArgumentParser, name: str) -> None:
    """``--record-only`` and ``--record`` for a benchmark script."""
    parser.add_argument(
        "--record-only",
        action="store_true",
        help=f"only rewrite docs/benchmarks/{name}.md from the stored JSON (computes nothing)",
    )
    parser.add_argument(
        "--record", type=Path, default=RECORDS / f"{name}.md", help="where the record goes"
    )


def open_study_parser(doc: str, name: str, result: Path) -> argparse.ArgumentParser:
    """The options of the open-recipe studies: ``--seeds`` (comma-separated), ``--n-jobs``,
    ``--out`` (the JSON) and the record options."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=result)
    add_record_options(parser, name)
    return parser


def record_only(
    args: argparse.Namespace, name: str, json_path: Path, render: Callable[[dict], str]
) -> bool:
    """With ``--record-only``: the record from the JSON at ``json_path`` (``render`` turns the
    result into its text), written to ``--record``; says so and returns True. Otherwise
    returns False and does nothing."""
    if not args.record_only:
        return False
    print(f"wrote {write_record(name, render(read_json(json_path)), args.record)}")
    return True
