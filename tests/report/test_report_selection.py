"""The report says why each material went to MD, its MD verdict, and shows its Arrhenius plot."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from sse_flows.report.html import render_html, write_report
from sse_flows.report.inputs import ReportInputs

AIMD_ID = "mp-1222492"  # Li3ErBr6, whose AIMD analysis the conftest's diffusion_doc holds
REASON = "acquisition rank 2 of 40 (score 0.31)"


class _Page(HTMLParser):
    """Text and image sources per section of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, list[str]] = {}
        self.images: dict[str, list[str]] = {}
        self._section: str | None = None

    def handle_starttag(self, tag, attrs):
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


def _parse(index) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def acquisition_ranking(diffusion_doc):
    """A ranking whose MD-tested material was chosen by acquisition, not by the vote (the
    authors' AIMD analysis of Li3ErBr6 stands in for its MD)."""
    from sse_flows.md.schemas import MDRunDoc
    from sse_flows.provenance import Provenance
    from sse_flows.ranking.schemas import CandidateDoc, SelectionStage
    from sse_flows.ranking.selection import SelectionDoc, rank

    rows = [
        CandidateDoc(material_id=AIMD_ID, formula=diffusion_doc.formula, passed_vote=False,
                     p_superionic=0.2, log10_sigma_model=-4.6, log10_sigma_model_low=-6.2,
                     log10_sigma_model_high=-3.0, acquisition_score=0.31, acquisition_rank=2,
                     acquisition_basis="model interval", selection_reason=REASON),
        CandidateDoc(material_id="mp-99", formula="Li2O", passed_vote=True, p_superionic=0.7,
                     selection_reason="vote candidate", md_status="no_structure"),
    ]  # fmt: skip
    targets = [{"label": AIMD_ID, "material_id": AIMD_ID, "formula": diffusion_doc.formula}]
    funnel = [
        SelectionStage(name="screened", description="passed the screening funnel", count=41),
        SelectionStage(name="scored", description="scored by the model", count=40),
        SelectionStage(name="with_structure", description="a structure was found", count=12),
        SelectionStage(name="acquisition_top", description="best 1 by acquisition", count=1),
        SelectionStage(name="md_targets", description="sent to MD", count=1),
    ]
    selection = SelectionDoc(rows=rows, targets=targets, max_md=3, md_top=1, funnel=funnel,
                             n_screened=41, provenance=Provenance())  # fmt: skip
    md_doc = MDRunDoc.model_construct(status="ok", reason=None, diffusion=diffusion_doc)
    return rank(selection, {AIMD_ID: md_doc}, "vasp", "authors' AIMD", True)


def test_candidate_table_marks_the_md_verdict_and_the_selection_reason(
    acquisition_ranking, diffusion_doc, tmp_path
):
    from sse_flows.ranking.selection import diffusion_verdict

    expected = diffusion_verdict(diffusion_doc)
    tested = next(r for r in acquisition_ranking.candidates if r.material_id == AIMD_ID)
    assert tested.verdict == expected and tested.md_status == "ok"
    inputs = ReportInputs(ranking=acquisition_ranking,
                          diffusion={f"{diffusion_doc.formula} ({AIMD_ID})": diffusion_doc})
    index = write_report(inputs, tmp_path / "r")
    page = _parse(index)
    candidates = page.section_text("candidates")
    assert REASON in candidates and "vote candidate" in candidates
    assert f"MD: {expected}" in candidates
    assert "not MD-tested (no structure)" in candidates  # the vote candidate without a cell
    assert "0.31 (#2)" in candidates  # acquisition score and rank
    # the selection funnel with its counts
    assert "Selection funnel" in candidates
    for step, count in (("scored", "40"), ("with structure", "12"), ("md targets", "1")):
        assert re.search(rf"{step}\s.*?\s{count}\b", candidates), step
    # its Arrhenius plot: the candidate table points to the panel, which names the reason
    html = index.read_text()
    assert '<a href="#arrhenius">panel 1</a>' in html
    arrhenius = page.section_text("arrhenius")
    assert REASON in arrhenius and f"MD: {expected}" in arrhenius
    assert len(page.images["arrhenius"]) == 1
    summary = page.section_text("summary")
    assert "1 (0 vote candidates, 1 by acquisition" in summary


def test_rows_without_their_diffusion_document_get_a_plot_from_the_table(
    acquisition_ranking, tmp_path
):
    index = write_report(ReportInputs(ranking=acquisition_ranking), tmp_path / "r")
    page = _parse(index)
    assert (index.parent / "fig_arrhenius_ranking.png").is_file()
    assert len(page.images["arrhenius"]) == 1
    arrhenius = page.section_text("arrhenius")
    assert "From the candidate table" in arrhenius and REASON in arrhenius
    assert "ranking panel 1" in page.section_text("candidates")


def test_ranking_arrhenius_points_are_the_rows_diffusion_coefficients(acquisition_ranking):
    import numpy as np

    from sse_flows.report.plotting import plot_ranking_arrhenius

    row = next(r for r in acquisition_ranking.candidates if r.md_status == "ok")
    fig = plot_ranking_arrhenius([row])
    ax = fig.axes[0]
    drawn = sorted(
        (round(float(line.get_xdata()[0]), 6), round(float(line.get_ydata()[0]), 6))
        for line in ax.get_lines() if line.get_marker() in ("o", "x")  # not the error caps
    )  # fmt: skip
    points = sorted((round(1000.0 / p["T"], 6), round(float(np.log10(p["D_cm2_s"])), 6))
                    for p in row.arrhenius)  # fmt: skip
    assert drawn == points and len(points) >= 2
    assert row.verdict in ax.get_title()


def test_reports_of_older_rankings_have_no_selection_columns_filled(tmp_path):
    from sse_flows.ranking.schemas import RankingDoc

    old = RankingDoc.model_validate(
        {"candidates": [{"material_id": "mp-1", "formula": "LiA", "md_status": "not_run"}]}
    )
    html = render_html(ReportInputs(ranking=old), tmp_path)
    assert "Selection funnel" not in html and "not MD-tested" in html
