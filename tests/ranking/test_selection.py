"""Candidate selection for MD and the final ranking."""

from __future__ import annotations

import pytest

from sse_flows.models.schemas import MaterialVote, VoteDoc
from sse_flows.provenance import Provenance
from sse_flows.ranking.schemas import CandidateDoc
from sse_flows.ranking.selection import (
    SelectionDoc,
    candidate_rows,
    choose_targets,
    parse_md_scope,
    rank,
    verdict,
)
from sse_flows.screening.schemas import ScreenedMaterial, ScreeningDoc


def _screening() -> ScreeningDoc:
    """A screening document with only the fields the selection reads (not validated)."""
    on_hull = [
        {
            "material_id": "mp-1222492",
            "formula": "Li3ErBr6",
            "band_gap": 4.1,
            "e_above_hull": 0.0,
            "v_ox": 4.0,
            "v_red": 0.5,
            "anion_class": "halide",
        },
        {
            "material_id": None,
            "formula": "Li9Xe",
            "band_gap": 2.0,
            "e_above_hull": 0.0,
            "v_ox": 3.9,
            "v_red": 0.1,
            "anion_class": "other",
        },
        {
            "material_id": "mp-29410",
            "formula": "Li2B2S5",
            "band_gap": 3.0,
            "e_above_hull": 0.0,
            "v_ox": 3.8,
            "v_red": 1.0,
            "anion_class": "sulfide",
        },
    ]
    materials = [ScreenedMaterial(e_above_hull_source="source", **m) for m in on_hull]
    return ScreeningDoc.model_construct(on_hull=materials, survivors=materials)


def _votes() -> VoteDoc:
    """A vote document with only the fields the selection reads (not validated): three
    candidates, and two materials that failed the vote or could not be featurized."""

    def v(mid, formula, p, candidate=True, error=None):
        return MaterialVote(
            material_id=mid,
            formula=formula,
            votes={"gb": 100 if candidate else 10, "lgbm": 100 if candidate else 10},
            p_superionic=p,
            candidate=candidate,
            error=error,
            log10_sigma=None if p is None else -4.0 + p,
            log10_sigma_low=None if p is None else -5.5 + p,
            log10_sigma_high=None if p is None else -2.5 + p,
        )

    candidates = [
        v("mp-29410", "Li2B2S5", 0.7),
        v(None, "Li9Xe", 0.9),
        v("mp-1222492", "Li3ErBr6", 0.8),
    ]
    return VoteDoc.model_construct(
        candidates=candidates,
        votes=[*candidates, v("mp-2", "Li3PO4", 0.1, candidate=False),
               v("mp-3", "LiX", None, candidate=False, error="cannot parse")],
    )


def _finder(mid, formula):
    from sse_flows.sources.structures import StructureLibrary

    hit = StructureLibrary().find(mid, formula)
    return None if hit is None else (hit.structure.as_dict(), hit.origin)


def test_rows_join_votes_with_stability_and_sort_by_probability():
    rows = candidate_rows(_screening(), _votes())
    assert [r.formula for r in rows] == ["Li9Xe", "Li3ErBr6", "Li2B2S5"]
    assert rows[1].v_ox == 4.0 and rows[1].anion_class == "halide" and rows[1].votes_gb == 100


def test_md_scope_pool_takes_every_voted_material_and_top_n_limits_them():
    assert [parse_md_scope(s) for s in ("candidates", "pool", "top-2")] == [None, None, 2]
    for bad in ("top-0", "top", "all", "top-x"):
        with pytest.raises(ValueError, match="top-N"):
            parse_md_scope(bad)
    pool = candidate_rows(_screening(), _votes(), "pool")
    # the material the vote rejected joins, last by probability; the unparsable one does not
    assert [r.formula for r in pool] == ["Li9Xe", "Li3ErBr6", "Li2B2S5", "Li3PO4"]
    assert [r.passed_vote for r in pool] == [True, True, True, False]
    assert pool[1].log10_sigma_model == pytest.approx(-3.2)
    assert len(candidate_rows(_screening(), _votes())) == 3  # the paper's scope
    rows, targets = choose_targets(pool, _finder, max_md=2, control_formula=None)
    # top-2: Li9Xe has no structure, so the next two with one run
    assert [t.formula for t in targets] == ["Li3ErBr6", "Li2B2S5"]
    rows, targets = choose_targets(pool, _finder, max_md=None, control_formula=None)
    assert "Li2B2S5" in [t.formula for t in targets]  # pool: no limit


def test_targets_skip_missing_structures_respect_max_and_add_control():
    rows = candidate_rows(_screening(), _votes())
    rows, targets = choose_targets(rows, _finder, max_md=1, control_formula="Li10GeP2S12")
    by_formula = {r.formula: r for r in rows}
    assert by_formula["Li9Xe"].md_status == "no_structure"
    assert "structures-dir" in by_formula["Li9Xe"].md_reason
    # the most probable candidate with a structure runs; the next is cut by max_md
    assert [t.formula for t in targets] == ["Li3ErBr6", "Li10GeP2S12"]
    assert targets[-1].role == "positive_control"
    assert "only the 1 most probable" in by_formula["Li2B2S5"].md_reason


def _md_doc(status, reason=None, sigma=None, low=None, high=None, ea=None, hops=(),
            diffusive=True, flags=()):
    """An MD document with only the fields the ranking reads (built without validation)."""
    from sse_flows.analysis.schemas import DiffusionDoc, TemperatureDiffusion
    from sse_flows.md.schemas import MDRunDoc

    temperatures = [
        TemperatureDiffusion.model_construct(
            T=800.0 + 200 * i, D_cm2_s=1e-6, D_err=1e-7, li_hops=h, diffusive=diffusive,
            used_in_fit=diffusive, framework_stable=True, framework=None,
        )
        for i, h in enumerate(hops)
    ]
    diffusion = DiffusionDoc.model_construct(
        sigma_rt_S_cm=sigma, sigma_rt_low=low, sigma_rt_high=high, ea_eV=ea, ea_err_eV=None,
        temperatures=temperatures, flags=list(flags),
    )
    return MDRunDoc.model_construct(
        status=status, reason=reason, diffusion=diffusion if status == "ok" else None
    )


def test_rank_orders_by_md_verdict_and_keeps_failures_with_reasons():
    rows = [
        CandidateDoc(material_id="mp-1", formula="LiA", p_superionic=0.9),
        CandidateDoc(material_id="mp-2", formula="LiB", p_superionic=0.5),
        CandidateDoc(material_id="mp-3", formula="LiC", p_superionic=0.7),
    ]
    targets = [
        {"label": r.material_id, "material_id": r.material_id, "formula": r.formula} for r in rows
    ]
    selection = SelectionDoc(
        rows=rows, targets=targets, max_md=3, n_screened=10, provenance=Provenance()
    )
    results = {
        "mp-1": _md_doc("failed", reason="exploding energies at 1200 K"),
        "mp-2": _md_doc("ok", sigma=2e-3, low=1e-3, high=4e-3, ea=0.2, hops=[40, 90]),
        "mp-3": _md_doc("ok", high=1e-2, hops=[1], diffusive=False, flags=["too few hops"]),
    }
    ranking = rank(selection, results, "chgnet", "reduced", True)
    assert [r.formula for r in ranking.candidates] == ["LiB", "LiA", "LiC"] or [
        r.formula for r in ranking.candidates
    ] == ["LiB", "LiC", "LiA"]
    top = ranking.candidates[0]
    assert top.verdict == "superionic" and top.li_hops == 130
    failed = next(r for r in ranking.candidates if r.formula == "LiA")
    assert failed.md_status == "failed" and "exploding" in failed.md_reason
    assert ranking.n_superionic == 1 and ranking.n_md_ok == 2 and ranking.md_reduced_protocol
    caged = next(r for r in ranking.candidates if r.formula == "LiC")
    assert caged.verdict == "no diffusion"  # hops seen nowhere: only an upper bound
    assert top.combined_from == "md" and top.log10_sigma_combined is not None


def test_within_a_verdict_the_combined_estimate_orders_the_rows():
    """Two MD-superionic materials: the model's estimate moves the one it finds slower down;
    a material without MD follows the model alone."""
    rows = [
        CandidateDoc(material_id="mp-1", formula="LiA", p_superionic=0.9,
                     log10_sigma_model=-5.0, log10_sigma_model_low=-6.6,
                     log10_sigma_model_high=-3.4),
        CandidateDoc(material_id="mp-2", formula="LiB", p_superionic=0.6,
                     log10_sigma_model=-2.0, log10_sigma_model_low=-3.6,
                     log10_sigma_model_high=-0.4),
        CandidateDoc(material_id="mp-3", formula="LiC", p_superionic=0.95,
                     log10_sigma_model=-1.0, log10_sigma_model_low=-2.6,
                     log10_sigma_model_high=0.6),
    ]
    targets = [{"label": r.material_id, "material_id": r.material_id, "formula": r.formula}
               for r in rows[:2]]  # fmt: skip
    selection = SelectionDoc(rows=rows, targets=targets, max_md=None, n_screened=3,
                             provenance=Provenance())  # fmt: skip
    same_md = {"sigma": 2e-3, "low": 1e-3, "high": 4e-3, "ea": 0.2, "hops": [40, 90]}
    results = {"mp-1": _md_doc("ok", **same_md), "mp-2": _md_doc("ok", **same_md)}
    ranking = rank(selection, results, "sevennet", "reduced", True)
    assert [r.formula for r in ranking.candidates] == ["LiB", "LiA", "LiC"]
    by = {r.formula: r for r in ranking.candidates}
    assert by["LiB"].log10_sigma_combined > by["LiA"].log10_sigma_combined
    # between its model's -5 and the MD's -2.7, nearer the MD (narrower interval)
    assert -5.0 < by["LiA"].log10_sigma_combined < -2.7 and by["LiA"].combined_from == "model+md"
    assert by["LiC"].verdict == "undetermined" and by["LiC"].combined_from == "model"


def test_verdict_thresholds_follow_the_paper():
    assert verdict(1e-4) == "superionic"
    assert verdict(9.9e-5) == "close"
    assert verdict(1e-5) == "close"
    assert verdict(9e-6) == "not superionic"
    assert verdict(None) == "undetermined"


def test_verdict_is_decided_on_the_whole_interval():
    # Li3ErBr6-like: point superionic, interval reaches below 1e-4 and spans 2.3 decades
    # -> neither superionic nor a narrow "close": undetermined, earns more sampling
    assert verdict(1.3e-3, 9e-5, 1.9e-2) == "undetermined"
    assert verdict(1.3e-3, 9e-5, 8e-3) == "close"
    assert verdict(2e-2, 2.2e-3, 0.19) == "superionic"
    # a 20-decade interval across every threshold decides nothing
    assert verdict(2.9e-22, 1e-32, 1e-3) == "undetermined"
    # "close" needs a narrow interval: [4e-5, 4e+1] (6 decades, the demo's old LGPS
    # verdict) says nothing, [2e-5, 1.9e-3] (2 decades) says near 1e-4
    assert verdict(4.0, 3.9e-5, 4.1e5) == "undetermined"
    assert verdict(2e-4, 2e-5, 1.9e-3) == "close"
    assert verdict(2e-4, 2e-5, 2.1e-3) == "undetermined"
    assert verdict(3e-7, 1e-9, 5e-6) == "not superionic"
    # an upper bound alone: decided only when below the "close" threshold
    assert verdict(None, None, 3.8e-6) == "not superionic"
    assert verdict(None, None, 1.5e-2) == "undetermined"
    assert verdict(None, None, 1.5e-2, diffusive_anywhere=False) == "no diffusion"


def test_controls_are_checked_against_their_known_answers():
    from sse_flows.ranking.selection import check_controls

    rows = [
        CandidateDoc(formula="Li10GeP2S12", role="positive_control", md_status="ok",
                     verdict="superionic"),
        CandidateDoc(formula="Li3PO4", role="negative_control", md_status="ok",
                     verdict="superionic"),
    ]
    lines, passed = check_controls(rows)
    assert passed is False
    assert lines[0].startswith("PASS positive_control") and lines[1].startswith("FAIL")
    rows[1].verdict = "no diffusion"
    assert check_controls(rows)[1] is True
    rows[0].md_status = "failed"
    lines, passed = check_controls(rows)
    assert passed is True and "did not run" in lines[0]


def test_rank_job_reads_stored_documents_and_missing_md_results():
    """The job validates the stored dicts into typed documents; a lost MD run is 'failed'."""
    from sse_flows.ranking.jobs import rank_candidates_job
    from sse_flows.ranking.schemas import MDValidationDoc, RankingDoc

    rows = [
        CandidateDoc(material_id="mp-1", formula="LiA", p_superionic=0.9),
        CandidateDoc(material_id="mp-2", formula="LiB", p_superionic=0.5),
    ]
    targets = [{"label": r.material_id, "material_id": r.material_id, "formula": r.formula}
               for r in rows]  # fmt: skip
    selection = SelectionDoc(rows=rows, targets=targets, max_md=2, n_screened=4,
                             provenance=Provenance())  # fmt: skip
    ok = _md_doc("ok", sigma=2e-3, low=1e-3, high=4e-3, ea=0.2, hops=[40, 90])
    md = MDValidationDoc(results={"mp-2": ok, "mp-1": None})
    assert md.documents() == {"mp-2": ok, "mp-1": None}
    # what jobflow hands the job: the stored dicts, not the objects
    stored_selection = selection.model_dump(mode="json")
    ranking = rank_candidates_job.original(
        stored_selection, {"results": {"mp-1": None}}, "chgnet", "paper", False
    )
    assert isinstance(ranking, RankingDoc) and ranking.n_screened == 4
    assert {r.formula: r.md_status for r in ranking.candidates} == {
        "LiA": "failed", "LiB": "failed"
    }
    # no MD document at all (the MD stage itself died): every target failed
    nothing = rank_candidates_job.original(stored_selection, None, "chgnet", "paper", False)
    assert all(r.md_status == "failed" for r in nothing.candidates)


def test_every_stage_job_declares_its_document():
    from sse_flows.analysis.jobs import analyze_diffusion_job
    from sse_flows.analysis.schemas import DiffusionDoc
    from sse_flows.flows.md_validation import validate_candidates_job
    from sse_flows.models.jobs import evaluate_models_job, vote_job
    from sse_flows.models.schemas import ModelEvaluationDoc
    from sse_flows.ranking.jobs import rank_candidates_job, select_candidates_job
    from sse_flows.ranking.schemas import MDValidationDoc, RankingDoc
    from sse_flows.screening.jobs import screen_pool_job

    expected = {
        screen_pool_job: ScreeningDoc,
        evaluate_models_job: ModelEvaluationDoc,
        vote_job: VoteDoc,
        select_candidates_job: SelectionDoc,
        validate_candidates_job: MDValidationDoc,
        rank_candidates_job: RankingDoc,
        analyze_diffusion_job: DiffusionDoc,
    }
    for job_function, schema in expected.items():
        assert job_function().output_schema is schema, job_function.__name__


# ------------------------------------------------------------------ acquisition selection
def _cell(n_sites: int) -> dict:
    """A cubic 5 A cell of ``n_sites`` atoms (its >= 10 A MD supercell: 8 x n_sites atoms)."""
    from pymatgen.core import Lattice, Structure

    coords = [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0]][:n_sites]
    species = ["Li", "Cl", "Li", "Cl"][:n_sites]
    return Structure(Lattice.cubic(5.0), species, coords).as_dict()


#: material id -> (formula, log10 sigma, interval half-width, in domain, vote candidate)
POOL = {
    "mp-10": ("LiVote", -4.5, 1.6, True, True),
    "mp-11": ("LiTopNoStructure", -3.0, 1.6, True, False),
    "mp-12": ("LiTooBig", -3.2, 1.6, True, False),
    "mp-13": ("LiGoodA", -3.5, 1.6, True, False),
    "mp-14": ("LiOutOfDomain", -5.0, 3.0, False, False),
    "mp-15": ("LiGoodB", -4.2, 1.6, True, False),
    "mp-16": ("LiSlow", -6.0, 1.6, True, False),
}


def _pool_docs(recipe: str = "open"):
    """Screening and vote documents of POOL (plus one unfeaturizable survivor)."""
    from sse_flows.models.schemas import EnsembleSpec

    materials = [
        ScreenedMaterial(material_id=mid, formula=f, band_gap=3.0, e_above_hull=0.0,
                         e_above_hull_source="source", v_ox=4.0, v_red=0.5,
                         anion_class="halide")
        for mid, (f, *_rest) in POOL.items()
    ] + [ScreenedMaterial(material_id="mp-17", formula="LiErr", e_above_hull_source="source",
                          anion_class="other")]  # fmt: skip
    screening = ScreeningDoc.model_construct(on_hull=materials, survivors=materials)
    votes = [
        MaterialVote(material_id=mid, formula=f, votes={"gb": 100 if cand else 0,
                     "lgbm": 100 if cand else 0}, p_superionic=0.6 if cand else 0.2,
                     candidate=cand, log10_sigma=mu, log10_sigma_low=mu - half,
                     log10_sigma_high=mu + half, in_domain=domain)
        for mid, (f, mu, half, domain, cand) in POOL.items()
    ] + [MaterialVote(material_id="mp-17", formula="LiErr", error="cannot featurize")]  # fmt: skip
    ensemble = EnsembleSpec.model_construct(recipe=recipe, interval_level=0.9)
    vote_doc = VoteDoc.model_construct(
        candidates=[v for v in votes if v.candidate], votes=votes, ensemble=ensemble
    )
    return screening, vote_doc


def _pool_finder(material_id, formula):
    """No structure for the best-scored material, a too-large one for the second."""
    if material_id == "mp-11":
        return None
    if material_id == "mp-12":
        return _cell(4), "test:big"  # 32-atom supercell
    return _cell(2), "test:small"  # 16-atom supercell


def test_md_top_adds_the_best_k_by_acquisition_that_have_a_structure_that_fits():
    from sse_flows.ranking.selection import select_md_targets

    screening, votes = _pool_docs()
    rows, targets, funnel = select_md_targets(
        screening, votes, _pool_finder, md_scope="candidates", max_md=3, md_top=2,
        control_formula="Li10GeP2S12", negative_control_formula=None, max_atoms=20,
    )  # fmt: skip
    # the vote's candidate, then the best two others that can run: the best-scored material
    # has no structure and the second a 32-atom supercell above the limit of 20
    assert [t.formula for t in targets] == ["LiVote", "LiGoodA", "LiGoodB", "Li10GeP2S12"]
    assert [t.role for t in targets][-1] == "positive_control"
    by = {r.formula: r for r in rows}
    assert list(by) == ["LiVote", "LiGoodA", "LiGoodB", "Li10GeP2S12"]
    assert by["LiVote"].selection_reason == "vote candidate"
    assert by["LiGoodA"].selection_reason == "acquisition rank 3 of 7 (score 0.70)"
    assert by["LiGoodB"].selection_reason == "acquisition rank 4 of 7 (score 0.42)"
    assert by["Li10GeP2S12"].selection_reason == "positive control"
    assert by["Li10GeP2S12"].acquisition_score is None
    # the out-of-domain material (-5 +- 3) ranks above the in-domain vote candidate (-4.5 +-
    # 1.6): the exploration term
    assert by["LiVote"].acquisition_rank == 6
    assert by["LiGoodA"].passed_vote is False and by["LiGoodA"].in_domain is True
    assert [(s.name, s.count) for s in funnel] == [
        ("screened", 8), ("scored", 7), ("with_structure", 6), ("within_max_atoms", 5),
        ("vote_candidates", 1), ("acquisition_top", 2), ("md_targets", 3),
    ]
    assert "20 atoms" in funnel[3].description and "1 control)" in funnel[6].description
    # one more goes to the out-of-domain material
    _, targets, _ = select_md_targets(screening, votes, _pool_finder, md_top=3, max_atoms=20)
    assert [t.formula for t in targets] == ["LiVote", "LiGoodA", "LiGoodB", "LiOutOfDomain"]
    # a screened material with a control's formula is left to the control: the next one runs
    _, targets, _ = select_md_targets(screening, votes, _pool_finder, md_top=2, max_atoms=20,
                                      negative_control_formula="LiGoodA")  # fmt: skip
    assert [t.formula for t in targets] == ["LiVote", "LiGoodB", "LiOutOfDomain", "LiGoodA"]
    assert targets[-1].role == "negative_control"


def test_md_top_zero_is_the_vote_alone_and_max_md_still_caps_the_vote():
    from sse_flows.ranking.selection import select_md_targets

    screening, votes = _pool_docs("paper")
    rows, targets, funnel = select_md_targets(
        screening, votes, _pool_finder, max_md=3, md_top=0, control_formula="Li10GeP2S12",
        negative_control_formula="Li3PO4",
    )  # fmt: skip
    assert [t.formula for t in targets] == ["LiVote", "Li10GeP2S12", "Li3PO4"]
    assert [r.formula for r in rows] == ["LiVote", "Li10GeP2S12", "Li3PO4"]
    assert {s.name: s.count for s in funnel}["acquisition_top"] == 0
    # max_md = 0: the candidate says why it did not run; without --md-max-atoms the large
    # cell is the best-scored material that has a structure
    rows, targets, funnel = select_md_targets(screening, votes, _pool_finder, max_md=0,
                                              md_top=1)  # fmt: skip
    assert [t.formula for t in targets] == ["LiTooBig"]
    assert "only the 0 most probable" in rows[0].md_reason
    assert [r.formula for r in rows] == ["LiVote", "LiTooBig"]
    assert {s.name: s.count for s in funnel}["within_max_atoms"] == 6


def test_top_n_scope_orders_by_acquisition_and_skips_what_cannot_run():
    from sse_flows.ranking.selection import select_md_targets

    screening, votes = _pool_docs()
    rows, targets, funnel = select_md_targets(
        screening, votes, _pool_finder, md_scope="top-2", md_top=5, max_atoms=20,
        control_formula=None,
    )  # fmt: skip
    assert [t.formula for t in targets] == ["LiGoodA", "LiGoodB"]  # md_top is ignored here
    assert [r.acquisition_rank for r in rows] == list(range(1, 8))  # every scored material
    by = {r.formula: r for r in rows}
    assert by["LiTopNoStructure"].md_status == "no_structure"
    assert "above the limit of 20" in by["LiTooBig"].md_reason
    assert "only the 2 best by acquisition" in by["LiOutOfDomain"].md_reason
    assert by["LiVote"].selection_reason.startswith("vote candidate; acquisition rank 6 of 7")
    assert {s.name: s.count for s in funnel}["md_targets"] == 2


def test_selection_job_takes_the_recipe_default_of_md_top(monkeypatch):
    from sse_flows.ranking import jobs

    monkeypatch.setattr(jobs, "structure_finder", lambda source, folder: _pool_finder)
    kwargs = dict(control_formula=None, negative_control_formula=None, max_atoms=20)
    for recipe, md_top, expected in (("open", None, 3), ("paper", None, 0), ("paper", 1, 1)):
        screening, votes = _pool_docs(recipe)
        doc = jobs.select_candidates_job.original(screening, votes, md_top=md_top, **kwargs)
        assert doc.md_top == expected, recipe
        assert len(doc.targets) == 1 + expected  # the vote's candidate and K by acquisition
        assert doc.n_scored == 7 and doc.funnel[-1].count == 1 + expected
        assert doc.seconds >= 0
    # outside the candidates scope md_top does not apply
    doc = jobs.select_candidates_job.original(*_pool_docs(), md_scope="top-1", **kwargs)
    assert doc.md_top == 0 and [t.formula for t in doc.targets] == ["LiGoodA"]


def test_ranking_keeps_the_selection_funnel_and_reasons():
    from sse_flows.ranking.selection import md_verdict_label, select_md_targets

    screening, votes = _pool_docs()
    rows, targets, funnel = select_md_targets(screening, votes, _pool_finder, md_top=1,
                                              max_atoms=20, control_formula=None)  # fmt: skip
    selection = SelectionDoc(rows=rows, targets=targets, max_md=3, md_top=1, funnel=funnel,
                             n_screened=8, provenance=Provenance())  # fmt: skip
    results = {"mp-13": _md_doc("ok", sigma=2e-3, low=1e-3, high=4e-3, ea=0.2, hops=[40, 90])}
    ranking = rank(selection, results, "chgnet", "reduced", True)
    assert ranking.selection_funnel == funnel and ranking.md_top == 1
    top = ranking.candidates[0]
    assert top.formula == "LiGoodA" and top.verdict == "superionic"
    assert top.selection_reason.startswith("acquisition rank 3 of 7")
    assert md_verdict_label(top.md_status, top.verdict) == "MD: superionic"
    vote = next(r for r in ranking.candidates if r.formula == "LiVote")
    assert vote.md_status == "failed"  # its target got no MD document
    assert md_verdict_label(vote.md_status, vote.verdict) == "MD failed"
    assert md_verdict_label("not_run", "undetermined") == "not MD-tested"
    assert md_verdict_label("ok", "no diffusion") == "MD: no diffusion"
    assert ranking.n_voted_candidates == 1


def test_old_selection_and_ranking_documents_still_load():
    from sse_flows.ranking.schemas import RankingDoc

    old_row = {"material_id": "mp-1", "formula": "LiA", "md_status": "ok",
               "verdict": "close"}  # fmt: skip
    row = CandidateDoc.model_validate(old_row)
    assert row.selection_reason is None and row.acquisition_score is None
    ranking = RankingDoc.model_validate({"candidates": [old_row]})
    assert ranking.selection_funnel == [] and ranking.md_top is None
    selection = SelectionDoc.model_validate(
        {"rows": [old_row], "targets": [], "max_md": 3, "provenance": {}}
    )
    assert selection.funnel == [] and selection.md_top is None and selection.n_scored == 0
