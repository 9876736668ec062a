"""The package's import graph has no cycle among module-level imports.

Every module under ``sse_flows/`` is parsed with :mod:`ast` (nothing is imported). Each
``import`` / ``from ... import`` of an ``sse_flows`` module is recorded with where it sits:

* ``module``: executed when the module is imported (top level, or inside a top-level
  ``try``/``if``/``with`` block, except ``if TYPE_CHECKING:``);
* ``function``: inside a function or method body (runs only when called);
* ``type-checking``: under ``if TYPE_CHECKING:`` (never executed).

A cycle among ``module`` edges means that importing one of its modules can see another
half-initialised, so the test fails and names the cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sse_flows"

Graph = dict[str, dict[str, set[str]]]  # module -> imported module -> kinds


def module_name(path: Path, package_dir: Path) -> str:
    """Dotted module name of ``path`` inside the package rooted at ``package_dir``.

    Parameters
    ----------
    path : Path
        A ``.py`` file under ``package_dir``.
    package_dir : Path
        The package's folder (its name is the top-level package name).

    Returns
    -------
    str
        For example ``sse_flows.analysis.runs``, or ``sse_flows.analysis`` for an
        ``__init__.py``.
    """
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement of ``tree`` with its kind (module/function/type-checking)."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, kind))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, "function")
            elif isinstance(child, ast.If) and kind == "module" and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), "type-checking")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), kind)
            else:
                visit(child, kind)

    visit(tree, "module")
    return found


def import_graph(package_dir: Path) -> Graph:
    """Imports of the package's own modules, by importing module and kind.

    Parameters
    ----------
    package_dir : Path
        The package's folder.

    Returns
    -------
    dict
        ``{module: {imported_module: {"module" | "function" | "type-checking", ...}}}``;
        ``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``.
    """
    top = package_dir.name
    files = {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}
    graph: Graph = {name: {} for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, kind in _imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:  # relative import
                    base = name.split(".")
                    drop = node.level - 1 if is_package else node.level
                    base = base[: len(base) - drop] if drop else base
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    candidate = f"{source}.{alias.name}"
                    targets.append(candidate if candidate in files else source)
            for target in targets:
                if target.split(".")[0] != top:
                    continue
                while target not in files and "." in target:  # import a.b.attr -> a.b
                    target = target.rsplit(".", 1)[0]
                if target != name:
                    graph[name].setdefault(target, set()).add(kind)
    return graph


def find_cycles(graph: Graph, kinds: frozenset[str] = frozenset({"module"})) -> list[list[str]]:
    """Every strongly connected group of modules that import each other, as one cycle each.

    Parameters
    ----------
    graph : dict
        As returned by :func:`import_graph`.
    kinds : frozenset of str
        Edge kinds that count.

    Returns
    -------
    list of list of str
        One cycle (``[a, b, ..., a]``) through each group of mutually importing modules.
    """
    edges = {
        m: sorted(t for t, k in targets.items() if k & kinds) for m, targets in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, []):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)

    cycles = []
    for group in groups:  # a shortest path back to the start, inside the group
        members = set(group)
        start = min(group)
        paths = {start: [start]}
        frontier = [start]
        cycle = None
        while frontier and cycle is None:
            nxt = []
            for v in frontier:
                for w in edges[v]:
                    if w == start:
                        cycle = paths[v] + [start]
                        break
                    if w in members and w not in paths:
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
                if cycle:
                    break
            frontier = nxt
        cycles.append(cycle)
    return cycles


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_walker_sees_module_function_and_type_checking_imports(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": (
                "from typing import TYPE_CHECKING\n"
                "import os\n"
                "from pkg.b import thing\n"
                "try:\n    from . import c\nexcept ImportError:\n    c = None\n"
                "if TYPE_CHECKING:\n    from pkg.d import D\n"
                "def f():\n    import pkg.sub.e as e\n    return e\n"
            ),
            "pkg/b.py": "thing = 1\n",
            "pkg/c.py": "",
            "pkg/d.py": "class D: ...\n",
            "pkg/sub/__init__.py": "from .e import x\n",
            "pkg/sub/e.py": "from ..b import thing as x\n",
        },
    )
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {
        "pkg.b": {"module"},
        "pkg.c": {"module"},
        "pkg.d": {"type-checking"},
        "pkg.sub.e": {"function"},
    }
    assert graph["pkg.sub"] == {"pkg.sub.e": {"module"}}
    assert graph["pkg.sub.e"] == {"pkg.b": {"module"}}
    assert find_cycles(graph) == []


def test_walker_reports_a_module_level_cycle_but_not_a_function_level_one(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import g\n",
            "pkg/b.py": "from pkg import c\ndef g():\n    from pkg.a import f\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "from pkg.e import y\n",
            "pkg/e.py": "def y():\n    from pkg.d import z\n",
        },
    )
    graph = import_graph(pkg)
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    both = frozenset({"module", "function"})
    assert sorted(map(tuple, find_cycles(graph, both))) == [
        ("pkg.a", "pkg.b", "pkg.a"),
        ("pkg.d", "pkg.e", "pkg.d"),
    ]


def test_sse_flows_has_no_module_level_import_cycle():
    graph = import_graph(PACKAGE)
    assert len(graph) > 50  # the walk found the package
    assert "sse_flows.analysis.runs" in graph["sse_flows.analysis.readers"]
    cycles = find_cycles(graph)
    assert not cycles, "module-level import cycles:\n" + "\n".join(
        " -> ".join(c) for c in cycles
    )


def test_readers_and_runs_do_not_import_each_other_at_all():
    graph = import_graph(PACKAGE)
    assert graph["sse_flows.analysis.readers"]["sse_flows.analysis.runs"] == {"module"}
    assert "sse_flows.analysis.readers" not in graph["sse_flows.analysis.runs"]
