"""Every jobflow job of the package declares the document it returns (``output_schema``)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sse_flows"


def _is_job(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "job"


def _job_declarations(tree: ast.Module) -> list[tuple[str, ast.expr]]:
    """(job name, the ``job`` expression) of every ``@job``/``@job(...)`` decorated function
    and every ``name = job(function, ...)`` assignment."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if _is_job(target):
                    found.append((node.name, decorator))
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
              and _is_job(node.value.func)):
            found.append((ast.unparse(node.targets[0]), node.value))
    return found


def _declares_schema(expression: ast.expr) -> bool:
    return isinstance(expression, ast.Call) and any(
        keyword.arg == "output_schema" for keyword in expression.keywords
    )


def test_the_reader_sees_both_ways_of_making_a_job():
    tree = ast.parse(
        "@job\ndef a(): ...\n@job(output_schema=D)\ndef b(): ...\n"
        "c = job(f, output_schema=D)\nd = job(f)\n"
    )
    found = {name: _declares_schema(expression) for name, expression in _job_declarations(tree)}
    assert found == {"a": False, "b": True, "c": True, "d": False}


def test_every_job_declares_output_schema():
    jobs, missing = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name, expression in _job_declarations(ast.parse(path.read_text())):
            where = f"{path.relative_to(PACKAGE.parent)}:{name}"
            jobs.append(where)
            if not _declares_schema(expression):
                missing.append(where)
    assert len(jobs) >= 15  # the stage jobs and the MD jobs were all read
    assert missing == []
