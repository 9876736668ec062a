"""DiscoveryFlowMaker is composed of stage Makers: defaults from its fields, any one swappable."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from jobflow import JobStore, job, run_locally
from maggma.stores import MemoryStore

from sse_flows.flows.discovery import STAGE_MAKERS, DiscoveryFlowMaker, default_stage_names
from sse_flows.md.protocol import MDProtocol
from sse_flows.models.jobs import ModelEvaluationMaker, VoteMaker
from sse_flows.provenance import parameter_hash
from sse_flows.ranking.schemas import RankingDoc
from sse_flows.screening.jobs import ScreeningMaker
from sse_flows.screening.schemas import ScreeningDoc
from sse_flows.validation import ParameterError

#: a tiny but complete run: no MD, no controls, two splits
TINY = dict(
    algorithms=["gb", "lgbm"],
    evaluation_splits=2,
    grouped_evaluation=False,
    vote_splits=2,
    min_votes=0,
    recipe="paper",
    max_md=0,
    control_formula=None,
    negative_control_formula=None,
)


@job(data=["survivors", "on_hull", "stage_members"], output_schema=ScreeningDoc)
def screen_first_job(source_name: str, criteria: dict, keep: int) -> ScreeningDoc:
    """The real funnel, then only the first ``keep`` survivors go on."""
    from sse_flows.screening.criteria import ScreeningCriteria
    from sse_flows.screening.funnel import screen_source
    from sse_flows.sources import get_source

    doc = screen_source(
        get_source(source_name), ScreeningCriteria.model_validate(criteria), progress=False
    )
    doc.survivors = doc.survivors[:keep]
    return doc


@dataclass
class FirstFewScreeningMaker(ScreeningMaker):
    """A user's screening stage: the paper's funnel, but only ``keep`` materials go on."""

    name: str = "screen first few"
    keep: int = 5

    def make(self):
        """The screening job that keeps ``keep`` survivors."""
        new_job = screen_first_job(
            self.source_name, self.criteria.model_dump(mode="json"), self.keep
        )
        new_job.name = self.name
        return new_job


def test_flat_fields_configure_the_default_stage_makers():
    protocol = MDProtocol.reduced_cpu(temperatures=(800.0, 1200.0))
    maker = DiscoveryFlowMaker(
        criteria={"min_band_gap": 2.0},
        training_path=None,
        vote_splits=7,
        min_votes=5,
        evaluation_splits=3,
        max_md=2,
        md_engine="sevennet",
        md_protocol=protocol,
        md_max_atoms=90,
    )
    makers = maker.stage_makers()
    assert list(makers) == list(STAGE_MAKERS)
    assert all(type(m) is STAGE_MAKERS[key] for key, m in makers.items())
    assert makers["screening"].criteria.min_band_gap == 2.0
    assert isinstance(makers["evaluation"], ModelEvaluationMaker)
    assert makers["evaluation"].n_splits == 3 and makers["evaluation"].recipe == "open"
    assert makers["vote"].n_splits == 7 and makers["vote"].min_votes == 5
    assert makers["selection"].max_md == 2 and makers["selection"].max_atoms == 90
    assert makers["selection"].min_lattice_length == protocol.min_lattice_length
    assert makers["md_validation"].engine == "sevennet"
    assert makers["md_validation"].protocol == protocol == makers["ranking"].protocol

    flow = maker.make()
    names = [j.name for j in flow.jobs]
    assert names == list(default_stage_names().values()) == list(maker.stage_names().values())
    assert names == ["screen", "evaluate models", "vote", "select candidates",
                     "md validation", "rank candidates"]  # fmt: skip
    assert flow.metadata["sse_flows_stages"] == maker.stage_names()
    assert {j.config.manager_config["_category"] for j in flow.jobs} == {"python"}
    vote = flow.jobs[2]
    assert vote.function_kwargs["n_splits"] == 7 and vote.function_kwargs["min_votes"] == 5


def test_parameter_hash_keeps_its_meaning():
    maker = DiscoveryFlowMaker(vote_splits=7)
    flat = {
        "name": "sse-flows discovery",
        "source": "snapshot",
        "criteria": {},
        "training_path": None,
        "algorithms": ["all"],
        "evaluation_splits": 100,
        "grouped_evaluation": True,
        "vote_splits": 7,
        "min_votes": None,
        "recipe": "open",
        "max_md": 3,
        "control_formula": "Li10GeP2S12",
        "negative_control_formula": "Li3PO4",
        "structures_dir": None,
        "md_engine": "sevennet",  # DEFAULT_MD_ENGINE: agrees better with AIMD
        "md_protocol": MDProtocol().as_dict(),
        "md_device": "cpu",
        "md_max_atoms": None,
    }
    # the default flow hashes exactly the fields it always hashed
    assert maker.parameters() == flat
    assert maker.parameter_hash() == parameter_hash(flat)
    # giving a stage the Maker it would get anyway changes nothing
    same = DiscoveryFlowMaker(vote_splits=7, vote_maker=VoteMaker(n_splits=7, recipe="open"))
    assert same.parameter_hash() == maker.parameter_hash()
    # a different Maker (a subclass, or other settings) is a different run
    swapped = DiscoveryFlowMaker(vote_splits=7, screening_maker=FirstFewScreeningMaker())
    assert swapped.parameter_hash() != maker.parameter_hash()
    assert set(swapped.parameters()["stage_makers"]) == {"screening_maker"}
    assert swapped.parameters()["stage_makers"]["screening_maker"]["keep"] == 5
    other = DiscoveryFlowMaker(vote_splits=7, vote_maker=VoteMaker(n_splits=8, recipe="open"))
    assert other.parameter_hash() != maker.parameter_hash()


def test_stage_makers_are_checked():
    with pytest.raises(ParameterError, match="vote_maker"):
        DiscoveryFlowMaker(vote_maker="gb")
    with pytest.raises(ParameterError, match="own job name"):
        DiscoveryFlowMaker(vote_maker=VoteMaker(name="screen"))


def test_swapped_screening_maker_runs_through_the_whole_flow(sse_home):
    from sse_flows.screening.funnel import screen_source
    from sse_flows.sources import get_source

    maker = DiscoveryFlowMaker(screening_maker=FirstFewScreeningMaker(keep=5), **TINY)
    flow = maker.make()
    assert flow.jobs[0].name == "screen first few"
    assert maker.stage_names()["screening"] == "screen first few"

    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(flow, store=store, create_folders=False, ensure_success=True)
    ranking = RankingDoc.model_validate(responses[flow.jobs[-1].uuid][1].output)

    full = screen_source(get_source("snapshot"), progress=False).survivors
    assert len(full) > 5  # the default screening would have sent all of these on
    kept = {(m.material_id, m.formula) for m in full[:5]}
    # every candidate of the ranking comes from the five the swapped stage kept
    assert ranking.n_screened == 5
    assert {(c.material_id, c.formula) for c in ranking.candidates} <= kept
    assert 0 < ranking.n_voted_candidates == len(ranking.candidates) <= 5
    vote = store.query_one({"name": "vote"}, load=True)["output"]
    assert vote["n_materials"] == 5  # the vote saw only what the swapped stage kept
    assert all(c.role == "candidate" and c.md_status != "ok" for c in ranking.candidates)
    assert ranking.controls_passed is None
    # the stored stage documents are found under the Makers' names
    names = {d["name"] for d in store.query({}, properties=["name"])}
    assert set(maker.stage_names().values()) <= names


def test_results_find_stages_by_the_recorded_names(sse_home):
    from sse_flows.flows.results import stage_names, workflow_status
    from sse_flows.launcher import submit_flow

    maker = DiscoveryFlowMaker(screening_maker=FirstFewScreeningMaker(), **TINY)
    submitted = submit_flow(maker.make(), parameter_hash=maker.parameter_hash())
    status = workflow_status(submitted.workflow_id)
    assert status["stage_names"] == maker.stage_names()
    assert status["stage_names"]["screening"] == "screen first few"
    assert [s["name"] for s in status["stages"]] == list(maker.stage_names().values())
    # a workflow submitted before the names were recorded gets the default names
    assert stage_names({"metadata": {}}) == default_stage_names()


def test_the_architecture_map_in_the_docs_matches_the_code():
    """docs/index.md's stage table: job names, Makers, fields and documents as built."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "index.md").read_text()
    section = text.split("## Architecture map", 1)[1].split("Which store holds what", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| [a-zA-Z ]+ \(`", line)]
    maker = DiscoveryFlowMaker()
    flow = maker.make()
    assert len(rows) == len(flow.jobs) == len(STAGE_MAKERS)
    for row, (key, stage_maker), job_ in zip(
        rows, maker.stage_makers().items(), flow.jobs, strict=True
    ):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert f"(`{job_.name}`)" in cells[0]
        assert cells[1] == f"`{type(stage_maker).__name__}`: `{key}_maker`"
        module = job_.function.__module__.removeprefix("sse_flows.")
        assert cells[2].split(",")[0].split()[0] == f"`{module}.{job_.function.__name__}`"
        assert re.match(rf"`{job_.output_schema.__name__}`", cells[4]), (cells[4], job_.name)


def test_md_scope_pool_runs_every_screened_material_in_batched_jobs(sse_home, tmp_path):
    """--md-scope pool: every screened material is a row (vote or not), MD runs in batched
    jobs (category gpu on CUDA), and the ranking joins MD with the model."""
    from pymatgen.core import Composition

    from sse_flows.flows.md_validation import GPU_CATEGORY, MD_CATEGORY
    from sse_flows.flows.results import md_diffusion_documents
    from sse_flows.report.html import render_html
    from sse_flows.report.inputs import ReportInputs

    tiny_md = MDProtocol(
        temperatures=(1000.0,), equilibration_steps=4, production_steps=8, chunk_steps=8,
        trajectory_interval=2, min_lattice_length=4.0, relax=False,
    )
    pool = {**TINY, "min_votes": None, "control_formula": "Li10GeP2S12",
            "negative_control_formula": "Li3PO4", "md_engine": "chgnet",
            "md_protocol": tiny_md, "md_scope": "pool", "md_materials_per_job": 8}
    on_gpu = DiscoveryFlowMaker(screening_maker=FirstFewScreeningMaker(keep=3), **pool,
                                md_device="cuda")
    assert on_gpu.md_validation_maker.materials_per_job == 8
    validate = on_gpu.make().jobs[4]
    assert validate.config.response_manager_config["_category"] == GPU_CATEGORY
    paper = DiscoveryFlowMaker(**TINY)  # the paper's scope: one MD flow per material
    assert paper.md_validation_maker.materials_per_job is None
    assert paper.make().jobs[4].config.response_manager_config["_category"] == MD_CATEGORY
    assert "md_scope" not in paper.parameters()  # old flows keep their hash
    with pytest.raises(ParameterError, match="md_scope"):
        DiscoveryFlowMaker(md_scope="everything")

    maker = DiscoveryFlowMaker(screening_maker=FirstFewScreeningMaker(keep=3), **pool)
    flow = maker.make()
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(flow, store=store, create_folders=True, root_dir=tmp_path,
                            ensure_success=True)
    ranking = RankingDoc.model_validate(responses[flow.jobs[-1].uuid][1].output)
    materials = [r for r in ranking.candidates if r.role == "candidate"]
    assert len(materials) == 3  # all three screened materials, whatever the vote said
    # offline, each finds its structure in the packaged MP table and gets an MD document
    assert all((r.structure_origin or "").startswith("mp_structures:") for r in materials)
    assert [r.md_status for r in materials] == ["ok"] * 3
    assert ranking.n_voted_candidates == sum(r.passed_vote for r in materials)
    batch = store.query_one({"name": "md batch 1"}, load=True)
    assert batch is not None and set(batch["output"]["results"]) >= {
        "positive:Li10GeP2S12", "negative:Li3PO4"}
    controls = [r for r in ranking.candidates if r.role != "candidate"]
    assert [r.md_status for r in controls] == ["ok", "ok"]
    assert all(r.combined_from in ("md", "md bound") for r in controls)  # paper: no log10
    # the report reads the batched job's MD documents and plots each tested row from them
    diffusion = md_diffusion_documents(store, flow.uuid)
    assert sorted(Composition(d["formula"]).reduced_formula for d in diffusion.values()) == \
        sorted(Composition(r.formula).reduced_formula for r in ranking.candidates)
    html = render_html(ReportInputs.from_documents(ranking=ranking, diffusion=diffusion),
                       tmp_path)  # fmt: skip
    assert "ranking panel" not in html
    assert [html.count(f'<a href="#arrhenius">panel {i}</a>') for i in range(1, 6)] == [1] * 5


def test_md_top_is_hashed_only_when_given_and_reaches_the_selection_job():
    default = DiscoveryFlowMaker(vote_splits=7)
    assert "md_top" not in default.parameters()  # flows built before md_top keep their hash
    assert DiscoveryFlowMaker(vote_splits=7, md_top=None).parameter_hash() == (
        default.parameter_hash()
    )
    assert default.selection_maker.md_top is None  # the job takes the recipe's default
    three = DiscoveryFlowMaker(vote_splits=7, md_top=3)
    assert three.parameters()["md_top"] == 3
    assert three.parameter_hash() != default.parameter_hash()
    assert "stage_makers" not in three.parameters()  # the default Maker, from the flat field
    assert three.selection_maker.md_top == 3
    assert three.make().jobs[3].function_kwargs["md_top"] == 3
    assert DiscoveryFlowMaker(md_top=0).parameters()["md_top"] == 0  # explicit 0 is a choice
    with pytest.raises(ParameterError, match="md_top"):
        DiscoveryFlowMaker(md_top=-1)
    with pytest.raises(ParameterError, match="md-scope candidates"):
        DiscoveryFlowMaker(md_top=2, md_scope="top-5")
    assert DiscoveryFlowMaker(md_top=0, md_scope="pool").md_top == 0


@job(data=["survivors", "on_hull", "stage_members"], output_schema=ScreeningDoc)
def screen_formulas_job(source_name: str, criteria: dict, formulas: list[str]) -> ScreeningDoc:
    """The real funnel, then only the survivors with these formulas go on."""
    from sse_flows.screening.criteria import ScreeningCriteria
    from sse_flows.screening.funnel import screen_source
    from sse_flows.sources import get_source

    doc = screen_source(
        get_source(source_name), ScreeningCriteria.model_validate(criteria), progress=False
    )
    doc.survivors = [m for m in doc.survivors if m.formula in formulas]
    return doc


@dataclass
class FormulaScreeningMaker(ScreeningMaker):
    """A screening stage that passes on only the survivors named in ``formulas``."""

    name: str = "screen some formulas"
    formulas: tuple[str, ...] = ()

    def make(self):
        """The screening job that keeps ``formulas``."""
        new_job = screen_formulas_job(
            self.source_name, self.criteria.model_dump(mode="json"), list(self.formulas)
        )
        new_job.name = self.name
        return new_job


@pytest.mark.slow
def test_md_top_sends_the_best_screened_material_to_md_and_the_report_plots_it(
    sse_home, tmp_path
):
    """--md-top 1 MD-tests the best screened material outside the vote that has a
    structure, and its MD document reaches the ranking and the report."""
    from sse_flows.flows.results import md_diffusion_documents
    from sse_flows.report.html import render_html
    from sse_flows.report.inputs import ReportInputs

    tiny_md = MDProtocol(
        temperatures=(1000.0,), equilibration_steps=4, production_steps=8, chunk_steps=8,
        trajectory_interval=2, min_lattice_length=4.0, relax=False,
    )
    # Li3PO4 fails the paper's vote (an oxide) and has a packaged structure
    screening = FormulaScreeningMaker(formulas=("LiAlCl4", "LiAsF6", "Li3PO4"))
    maker = DiscoveryFlowMaker(screening_maker=screening, **{**TINY, "min_votes": 2},
                               md_top=1, md_engine="chgnet", md_protocol=tiny_md)  # fmt: skip
    flow = maker.make()
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(flow, store=store, create_folders=True, root_dir=tmp_path,
                            ensure_success=True)  # fmt: skip
    ranking = RankingDoc.model_validate(responses[flow.jobs[-1].uuid][1].output)
    assert ranking.md_top == 1
    tested = [r for r in ranking.candidates if r.selection_reason
              and r.selection_reason.startswith("acquisition rank")]  # fmt: skip
    assert len(tested) == 1 and tested[0].selection_reason.endswith(
        f"of 3 (score {tested[0].acquisition_score:.2f})")
    assert tested[0].passed_vote is False and tested[0].md_status == "ok"
    assert all(r.selection_reason == "vote candidate" for r in ranking.candidates
               if r is not tested[0])  # max_md 0: the vote's candidates are listed, not run
    funnel = {stage.name: stage.count for stage in ranking.selection_funnel}
    assert funnel["screened"] == funnel["scored"] == 3 and funnel["with_structure"] >= 1
    assert funnel["vote_candidates"] == 0
    assert funnel["acquisition_top"] == funnel["md_targets"] == 1
    # the report reads the MD documents as `sse-flows report` does, and plots this one
    diffusion = md_diffusion_documents(store, flow.uuid)
    assert list(diffusion) == [f"{tested[0].formula} ({tested[0].material_id})"]
    inputs = ReportInputs.from_documents(ranking=ranking, diffusion=diffusion)
    html = render_html(inputs, tmp_path)
    assert '<a href="#arrhenius">panel 1</a>' in html
    assert f"MD: {tested[0].verdict}" in html
    arrhenius = html.split('id="arrhenius"', 1)[1].split("</section>", 1)[0]
    assert tested[0].selection_reason in arrhenius


def test_the_vote_takes_the_recipes_member_count_unless_vote_splits_is_given():
    from sse_flows.models.open_recipe import N_MEMBERS
    from sse_flows.models.prediction import default_members

    open_default = DiscoveryFlowMaker()
    assert open_default.vote_maker.n_splits is None  # the recipe decides, not the paper's 100
    assert default_members("open") == N_MEMBERS < 100
    assert default_members("paper") == 100
    assert DiscoveryFlowMaker(vote_splits=7).vote_maker.n_splits == 7
    # min_votes is checked against the recipe's member count before any work
    with pytest.raises(ParameterError, match="min_votes"):
        DiscoveryFlowMaker(min_votes=N_MEMBERS + 1)
    assert DiscoveryFlowMaker(recipe="paper", min_votes=N_MEMBERS + 1).min_votes == N_MEMBERS + 1


def test_cluster_repeats_reach_the_evaluation_and_are_hashed_only_when_changed():
    default = DiscoveryFlowMaker(vote_splits=7)
    assert "evaluation_cluster_repeats" not in default.parameters()
    assert default.evaluation_maker.n_cluster_repeats == 2
    one = DiscoveryFlowMaker(vote_splits=7, evaluation_cluster_repeats=1)
    assert one.evaluation_maker.n_cluster_repeats == 1
    assert one.parameter_hash() != default.parameter_hash()
    with pytest.raises(ParameterError, match="evaluation_cluster_repeats"):
        DiscoveryFlowMaker(evaluation_cluster_repeats=0)
