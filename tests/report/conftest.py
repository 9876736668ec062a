"""Small but real stage documents for the report tests (built once per session).

Each document is made by its stage's own functions on small real data: the screening funnel
over 150 records of the MP 2019 snapshot, a three-split evaluation of two fast algorithms on
the Kang training table, a five-model GB + LightGBM vote over the screened pool, the
diffusion analysis of the authors' AIMD runs of Li3ErBr6 (mp-1222492), and the ranking
stage's own selection/ranking functions joining them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sse_flows.report.inputs import ReportInputs

AIMD_ID = "mp-1222492"  # Li3ErBr6: diffusive at all four temperatures in the authors' AIMD


@pytest.fixture(scope="session")
def screening_doc():
    from sse_flows.screening.funnel import run_funnel
    from sse_flows.screening.phase_diagrams import PhaseDiagramCache
    from sse_flows.sources.snapshot import SnapshotSource

    source = SnapshotSource()
    records = source.li_records()[:150]
    cache = PhaseDiagramCache.from_formation_energies(source.formation_energies())
    return run_funnel(records, cache, data_version=source.data_version,
                      e_hull_from="computed", progress=False)  # fmt: skip


@pytest.fixture(scope="session")
def training_set():
    from sse_flows.models.training import load_training_set

    return load_training_set()


@pytest.fixture(scope="session")
def evaluation_doc(training_set):
    from sse_flows.models.evaluation import evaluate_models

    return evaluate_models(training_set, "gnb,dt", n_splits=3, grouped=True,
                           n_cluster_repeats=1, n_jobs=1)  # fmt: skip


@pytest.fixture(scope="session")
def vote_doc(training_set, screening_doc):
    from sse_flows.models.ensemble import train_ensemble
    from sse_flows.models.prediction import vote_materials

    params = {"gb": {"n_estimators": 30}, "lgbm": {"n_estimators": 30}}
    ensemble = train_ensemble(training_set, n_splits=5, params=params, n_jobs=1)
    pool = [{"formula": m.formula, "material_id": m.material_id}
            for m in screening_doc.survivors]  # fmt: skip
    # 3 of 5: the applicability domain keeps the one 4-of-5 material (far from the training
    # data) out, and the report needs a candidate
    return vote_materials(pool, ensemble, min_votes=3)


@pytest.fixture(scope="session")
def diffusion_doc(raw_dir):
    from sse_flows.analysis import analyze_runs, load_runs

    return analyze_runs(load_runs([raw_dir / "kang2023" / "aimd" / AIMD_ID]))


@pytest.fixture(scope="session")
def ranking_doc(screening_doc, vote_doc, diffusion_doc):
    """The ranking stage's functions; the AIMD material stands in as the positive control."""
    from sse_flows.ranking.selection import SelectionDoc, candidate_rows, choose_targets, rank
    from sse_flows.sources.structures import StructureLibrary

    hit = StructureLibrary().find(AIMD_ID, diffusion_doc.formula)
    assert hit is not None, "the package ships the AIMD structure of mp-1222492"

    def find_structure(material_id, formula):
        """Only the control has a structure (the small pool's candidates get 'no_structure')."""
        if formula == diffusion_doc.formula:
            return hit.structure.as_dict(), hit.origin
        return None

    rows = candidate_rows(screening_doc, vote_doc)
    assert rows, "the small pool should give at least one candidate"
    rows, targets = choose_targets(rows, find_structure, max_md=2,
                                   control_formula=diffusion_doc.formula)  # fmt: skip
    selection = SelectionDoc(rows=rows, targets=targets, max_md=2,
                             n_screened=len(screening_doc.survivors),
                             provenance={"parameters": {"max_md": 2}})  # fmt: skip
    from sse_flows.md.schemas import MDRunDoc

    # the AIMD analysis stands in for an MD run (only the fields the ranking reads)
    md_doc = MDRunDoc.model_construct(status="ok", reason=None, diffusion=diffusion_doc)
    results = {t.label: md_doc for t in targets}
    return rank(selection, results, engine="vasp", protocol="authors' AIMD 800-1700 K",
                reduced_protocol=True)  # fmt: skip


@pytest.fixture(scope="session")
def full_inputs(screening_doc, evaluation_doc, vote_doc, ranking_doc, diffusion_doc):
    return ReportInputs(
        screening=screening_doc,
        evaluation=evaluation_doc,
        votes=vote_doc,
        ranking=ranking_doc,
        diffusion={AIMD_ID: diffusion_doc},
        workflow={"workflow_id": 7, "name": "discovery", "state": "COMPLETED",
                  "stages": [{"fw_id": 1, "name": "screen", "state": "COMPLETED"}]},
    )  # fmt: skip


@pytest.fixture(scope="session")
def full_report(full_inputs, tmp_path_factory) -> Path:
    from sse_flows.report.html import write_report

    return write_report(full_inputs, tmp_path_factory.mktemp("report") / "run")
