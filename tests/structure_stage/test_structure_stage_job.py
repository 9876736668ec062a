"""The structure stage's job: typed documents, soft failures, the score."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymatgen.core import Structure
from pymatgen.util.testing import MatSciTest

from sse_flows.structure_stage import (
    StructureDescriptorsDoc,
    StructureDescriptorsMaker,
    StructureStageDoc,
    describe_materials,
    structure_score,
)
from sse_flows.structure_stage import score as score_module

PACKAGED = Path(__file__).resolve().parents[2] / "sse_flows" / "data" / "structures"


@pytest.fixture()
def materials() -> list[dict]:
    li3po4 = Structure.from_file(str(PACKAGED / "Li3PO4.json"))
    return [
        {"material_id": "mp-1960", "formula": "Li2O",
         "structure": MatSciTest.get_structure("Li2O").as_dict()},
        {"label": "Li3PO4 control", "formula": "Li3PO4", "structure": li3po4.as_dict()},
        {"material_id": "mp-149", "formula": "Si",
         "structure": MatSciTest.get_structure("Si").as_dict()},
        {"material_id": "mp-0", "formula": "LiX", "structure": {"lattice": "not a structure"}},
        {"material_id": "mp-1", "formula": "LiY"},
    ]  # fmt: skip


def test_describe_materials_types_and_soft_errors(materials):
    doc = describe_materials(materials)
    assert isinstance(doc, StructureStageDoc)
    assert (doc.n_materials, doc.n_ok, doc.n_failed) == (5, 2, 3)
    by_label = doc.by_label()
    assert list(by_label) == ["mp-1960", "Li3PO4 control", "mp-149", "mp-0", "mp-1"]
    li2o = by_label["mp-1960"]
    assert isinstance(li2o, StructureDescriptorsDoc)
    assert li2o.error is None and li2o.formula == "Li2O" and li2o.n_sites == 3
    assert li2o.li_li_min_A == pytest.approx(2.33, abs=0.01)  # a/2 of antifluorite Li2O
    assert li2o.li_network_dimension == 3
    assert li2o.bvse_barrier_3d_eV is None  # bvlain is off by default
    assert by_label["Li3PO4 control"].material_id is None
    assert "no Li site" in by_label["mp-149"].error
    assert by_label["mp-0"].error and by_label["mp-0"].li_li_min_A is None
    assert by_label["mp-1"].error == "ValueError: no structure"
    assert all(d.structure_score == 0.0 for d in doc.documents if d.error)
    assert doc.log_odds() == dict.fromkeys(by_label, 0.0)  # the score is off by default


def test_job_returns_the_stage_document(sse_home, materials):
    from jobflow import run_locally

    from sse_flows.stores import get_job_store

    job = StructureDescriptorsMaker(name="structures of the pool").make(materials)
    assert job.name == "structures of the pool"
    responses = run_locally(job, store=get_job_store(), ensure_success=True, log=False)
    output = responses[job.uuid][1].output
    doc = StructureStageDoc.model_validate(output)
    assert (doc.n_ok, doc.n_failed) == (2, 3)
    assert doc.provenance.parameters["li_network_cutoff_A"] == 4.0
    assert doc.documents[1].oxidation_states == {"Li": 1, "P": 5, "O": -2}


def test_structure_score_is_zero_by_default_and_follows_its_formula(monkeypatch):
    li2o = describe_materials(
        [{"formula": "Li2O", "structure": MatSciTest.get_structure("Li2O")}]
    ).documents[0]
    assert structure_score(li2o) == 0.0  # no descriptor adds to the model: score off
    monkeypatch.setattr(score_module, "SCORE_DESCRIPTOR", "li_li_min_A")
    monkeypatch.setattr(score_module, "SCORE_COEFFICIENT", -0.5)
    monkeypatch.setattr(score_module, "SCORE_CENTER", 3.0)
    monkeypatch.setattr(score_module, "SCORE_SCALE", 0.5)
    expected = -0.5 * (li2o.li_li_min_A - 3.0) / 0.5  # z = -1.34, inside the clip
    assert structure_score(li2o) == pytest.approx(expected)
    assert structure_score(li2o.model_dump() | {"li_li_min_A": 100.0}) == pytest.approx(-1.5)
    assert structure_score(li2o.model_dump() | {"error": "failed"}) == 0.0
    assert structure_score(None) == 0.0


def test_one_species_per_site_orders_disordered_lgps():
    from sse_flows.structure_stage.bvse import one_species_per_site

    lgps = MatSciTest.get_structure("Li10GeP2S12")
    ordered = one_species_per_site(lgps)
    assert ordered.is_ordered and len(ordered) == len(lgps)
    # every partially occupied Li site becomes a full Li site; the Ge/P mixed site keeps
    # its majority species
    n_li_sites = sum("Li" in {sp.symbol for sp in site.species} for site in lgps)
    assert ordered.composition["Li"] == n_li_sites
    assert ordered.composition["S"] == lgps.composition["S"]


def test_bvse_barriers_of_li2o_if_bvlain_is_installed():
    pytest.importorskip("bvlain")
    from sse_flows.structure_stage.bvse import bvse_barriers

    barriers = bvse_barriers(MatSciTest.get_structure("Li2O"))
    # Li2O: Li hops between face-sharing tetrahedra of a 3D network, BVSE barrier < 1.5 eV
    assert 0 < barriers["bvse_barrier_1d_eV"] <= barriers["bvse_barrier_3d_eV"] < 1.5
