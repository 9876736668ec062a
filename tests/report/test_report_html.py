"""The HTML report: sections, embedded figures, escaping, missing stages, atomic writing."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from sse_flows.report import html as report_html
from sse_flows.report.html import REPORT_SECTIONS, write_report
from sse_flows.report.inputs import ReportInputs
from sse_flows.report.paper import PAPER_FUNNEL

STAGE_SECTIONS = [sid for sid, _ in REPORT_SECTIONS if sid not in ("summary", "provenance")]


class _Page(HTMLParser):
    """Collects sections (id -> text), tags and image sources of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: dict[str, list[str]] = {}
        self.text: dict[str, list[str]] = {}
        self._section: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs.get("id")
        if tag == "img" and self._section:
            self.images.setdefault(self._section, []).append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._section:
            self.text.setdefault(self._section, []).append(data)

    def section_text(self, section_id: str) -> str:
        return " ".join(self.text.get(section_id, []))


def _parse(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


def _decode_png(src: str) -> np.ndarray:
    from PIL import Image

    assert src.startswith("data:image/png;base64,")
    blob = base64.b64decode(src.split(",", 1)[1], validate=True)
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(blob)).convert("L"))


def test_every_section_is_rendered_with_content(full_report):
    page = _parse(full_report)
    for section_id, _title in REPORT_SECTIONS:
        assert page.section_text(section_id).strip(), section_id
        assert "not run" not in page.section_text(section_id), section_id
    figures_per_section = {
        "screening": 1,
        "anions": 1,
        "accuracy": 1,
        "importances": 1,
        "confusion": 2,
        "votes": 1,
        "arrhenius": 1,
    }  # random + grouped
    assert {k: len(v) for k, v in page.images.items()} == figures_per_section
    assert "script" not in page.tags  # self-contained and script-free
    assert not re.search(r'(src|href)="(?!data:|#|https://next-gen\.materialsproject)',
                         full_report.read_text())  # fmt: skip


def test_embedded_images_are_real_pngs_matching_the_files(full_report):
    page = _parse(full_report)
    sources = [src for srcs in page.images.values() for src in srcs]
    files = sorted(full_report.parent.glob("fig_*.png"))
    assert len(sources) == len(files) == 8
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    assert embedded == {f.read_bytes() for f in files}
    for src in sources:
        pixels = _decode_png(src)
        height, width = pixels.shape
        assert width >= 300 and height >= 150
        # a drawn figure, not a blank canvas: many distinct grey levels, some dark ink
        assert len(np.unique(pixels)) > 20
        assert (pixels < 100).mean() > 0.001


def test_numbers_in_the_tables_are_the_documents(full_report, full_inputs):
    page = _parse(full_report)
    screening = page.section_text("screening")
    for stage in full_inputs.screening.stages:
        assert f"{stage.count:,}" in screening
    for _, count in PAPER_FUNNEL:
        assert f"{count:,}" in screening
    candidates = page.section_text("candidates")
    for row in full_inputs.ranking.candidates:
        if row.material_id:
            assert row.material_id in candidates
        if row.sigma_rt_S_cm is not None:
            assert f"{row.sigma_rt_S_cm:.2e}" in candidates
            assert f"{row.sigma_rt_low:.2e}" in candidates
    control = [r for r in full_inputs.ranking.candidates if r.role == "positive_control"]
    assert control and control[0].md_status == "ok"
    assert "positive control" in candidates
    summary = page.section_text("summary")
    assert "REDUCED protocol" in summary  # the ranking says MD was reduced
    assert full_inputs.screening.data_version in summary
    votes = page.section_text("votes")
    assert f"{full_inputs.votes.n_candidates:,}" in votes


def test_text_from_documents_is_escaped(full_inputs, tmp_path):
    evil = "Li<script>alert(1)</script>2O"
    ranking = full_inputs.ranking.model_copy(deep=True)
    ranking.candidates[0].formula = evil
    ranking.candidates[0].md_reason = '"><img src=x onerror=alert(2)>'
    inputs = ReportInputs(
        screening=full_inputs.screening,
        ranking=ranking,
        workflow={"name": "<b>bold</b> & co", "stages": {"<i>x</i>": "COMPLETED"}},
    )
    index = write_report(inputs, tmp_path / "r")
    text = index.read_text()
    page = _parse(index)
    assert "script" not in page.tags and "i" not in page.tags
    assert "candidates" not in page.images  # the injected <img> stayed text
    assert "<b>bold" not in text and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in text
    assert "Li&lt;script&gt;alert(" in text
    assert "alert(1)</script>" in page.section_text("candidates").replace(" ", "")


def test_missing_stages_say_not_run(tmp_path):
    index = write_report(ReportInputs(), tmp_path / "empty")
    page = _parse(index)
    for section_id in STAGE_SECTIONS:
        assert "not run" in page.section_text(section_id), section_id
    assert not page.images
    assert list(index.parent.glob("*.png")) == []


def test_partial_run_shows_present_stages_only(screening_doc, tmp_path):
    index = write_report(ReportInputs(screening=screening_doc), tmp_path / "partial")
    page = _parse(index)
    assert "not run" not in page.section_text("screening")
    assert "not run" not in page.section_text("anions")
    for section_id in ("accuracy", "votes", "candidates", "arrhenius"):
        assert "not run" in page.section_text(section_id)


def test_failure_mid_way_leaves_no_partial_report(full_inputs, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full while drawing")

    monkeypatch.setattr(report_html.report_plotting, "plot_vote_histograms", broken)
    out = tmp_path / "new"
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(full_inputs, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind

    # over an earlier report: the old one stays whole
    monkeypatch.undo()
    old = write_report(ReportInputs(screening=full_inputs.screening), tmp_path / "old")
    before = {p.name: p.read_bytes() for p in old.parent.iterdir()}
    monkeypatch.setattr(report_html.report_plotting, "plot_vote_histograms", broken)
    with pytest.raises(RuntimeError):
        write_report(full_inputs, old.parent)
    assert {p.name: p.read_bytes() for p in old.parent.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_rewriting_a_report_replaces_it_and_drops_stale_figures(full_inputs, tmp_path):
    out = tmp_path / "r"
    write_report(ReportInputs(screening=full_inputs.screening,
                              diffusion=full_inputs.diffusion), out)  # fmt: skip
    assert (out / "fig_arrhenius.png").is_file()
    (out / "notes.txt").write_text("user file")
    write_report(ReportInputs(screening=full_inputs.screening), out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["fig_anion_classes.png", "fig_screening_funnel.png", "index.html",
                     "notes.txt"]  # fmt: skip
    assert "not run" in _parse(out / "index.html").section_text("arrhenius")


def test_unfeaturizable_materials_are_reported_in_the_votes_section(vote_doc, tmp_path):
    from sse_flows.models.schemas import MaterialVote

    votes = vote_doc.model_copy(deep=True)
    votes.votes.append(MaterialVote(formula="Li<x>", material_id="mp-0",
                                    error="cannot featurize formula 'Li<x>'"))  # fmt: skip
    votes.n_materials += 1
    votes.n_errors += 1
    index = write_report(ReportInputs(votes=votes), tmp_path / "r")
    text = _parse(index).section_text("votes")
    assert "1 of" in text and "could not be featurized" in text
    assert "cannot featurize formula 'Li<x>'" in text  # shown as text, not markup
    assert "x" not in _parse(index).tags


def test_subtitle_names_the_workflow_id_of_the_status(tmp_path):
    """The workflow block is workflow_status()'s dict: its id key is 'workflow_id'."""
    from sse_flows.report.html import render_html

    html = render_html(ReportInputs(workflow={"workflow_id": 17, "name": "run A"}), tmp_path)
    assert "workflow 17 run A" in html
    html = render_html(ReportInputs(workflow={"id": 17, "name": "run A"}), tmp_path)
    assert "workflow 17" not in html and "· workflow run A" in html


def test_a_row_without_an_id_links_the_mp_structure_it_was_matched_to(full_inputs, tmp_path):
    ranking = full_inputs.ranking.model_copy(deep=True)
    row = next(r for r in ranking.candidates if r.role == "candidate")
    row.material_id, row.structure_origin = None, "mp_structures:mp-22905"
    index = write_report(ReportInputs(ranking=ranking), tmp_path / "r")
    assert "(mp-22905)" in _parse(index).section_text("candidates").replace(" ", "")
    assert 'href="https://next-gen.materialsproject.org/materials/mp-22905"' in index.read_text()


def test_the_summary_shows_run_times_and_empty_lists_as_people_read_them(tmp_path):
    """status's stage run times are rounded, its empty lists say "none"."""
    status = {
        "workflow_id": 3, "failed_stages": [], "stale_fw_ids": [],
        "stages": [{"fw_id": 6, "name": "screen", "run_s": 4.631361},
                   {"fw_id": 8, "name": "md parallel", "run_s": 1663.481651}],
    }  # fmt: skip
    index = write_report(ReportInputs(workflow=status), tmp_path / "r")
    summary = _parse(index).section_text("summary")
    assert "4.63" in summary and "4.631361" not in summary
    assert "1,663" in summary and "1663.48" not in summary
    assert "failed stages none" in " ".join(summary.split()) and "[]" not in summary
