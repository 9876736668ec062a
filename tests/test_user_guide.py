"""The user guide (README.md, docs/index.md, docs/cluster.md): links resolve, docs/index.md
links every reference page, no history, and README's two commands are the
Makefile's targets that CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = [ROOT / "README.md", DOCS / "index.md", DOCS / "cluster.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _links(page: Path) -> list[str]:
    return [t for t in LINK.findall(page.read_text("utf-8")) if not re.match(r"[a-z]+://", t)]


@pytest.mark.parametrize("page", GUIDE, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    broken = [t for t in _links(page) if not (page.parent / t.partition("#")[0]).exists()]
    assert not broken, f"{page.name}: links that do not resolve: {broken}"


@pytest.mark.parametrize("page", GUIDE, ids=lambda p: p.name)
def test_guide_page_is_short_and_has_no_history(page):
    text = page.read_text("utf-8")
    assert len(text.splitlines()) <= 400
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "a date belongs in a record"
    assert not re.search(r"\bissue \d+|\(issue", text, flags=re.I)


def test_index_links_every_reference_page():
    linked = {(DOCS / t.partition("#")[0]).resolve() for t in _links(DOCS / "index.md")}
    pages = [p for p in DOCS.glob("*.md") if p.name != "index.md"]
    assert len(pages) >= 9
    missing = sorted(p.name for p in pages if p.resolve() not in linked)
    assert not missing, f"docs/index.md does not link: {missing}"
    assert any("/benchmarks/" in str(p) for p in linked)  # and the records


def test_index_reports_the_demo_timing_once_through_its_record():
    text = (DOCS / "index.md").read_text("utf-8")
    assert not re.search(r"\d+(\.\d+)?\s*(min|minutes)\b", text), "timings belong in the record"
    mentions = [m.start() for m in re.finditer(r"wall time", text, flags=re.I)]
    assert len(mentions) == 1
    assert "](benchmarks/demo.md)" in text[mentions[0]:mentions[0] + 120]


def test_readme_two_commands_are_the_makefile_targets_ci_runs():
    readme = (ROOT / "README.md").read_text("utf-8")
    block = re.search(r"## The two commands\n.*?```bash\n(.*?)```", readme, flags=re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert re.search(r"^demo: .*\n\t\$\(BIN\)/sse-flows demo$", makefile, flags=re.M)
    assert re.search(r"^test: .*\n(\t.*\n)*\t\$\(BIN\)/python -m pytest", makefile, flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert re.search(r"^make test$", ci, flags=re.M)
