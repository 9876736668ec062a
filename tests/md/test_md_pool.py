"""MD of many materials in one job (sse_flows.md.pool): the documents the one-structure
engine writes, a failing material fails alone, and the jobflow job stores them by label."""

from __future__ import annotations

import warnings

import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.util.testing import MatSciTest

from sse_flows.md.forcefield import run_forcefield_md
from sse_flows.md.pool import run_pool_md
from sse_flows.md.protocol import MDProtocol

#: one temperature, 6 + 12 steps, tight thermostats (as tests/md/test_md_batched.py)
PROTOCOL = MDProtocol(
    temperatures=(1000.0,), equilibration_steps=6, production_steps=12, chunk_steps=6,
    trajectory_interval=2, min_lattice_length=4.0, relax=False,
    langevin_friction_per_ps=200.0, thermostat_time_fs=10.0,
)


@pytest.fixture(scope="module")
def li2o():
    return MatSciTest.get_structure("Li2O") * (1, 1, 2)


def test_pool_documents_equal_the_one_structure_engine(li2o, tmp_path):
    no_li = Structure(Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pool = run_pool_md([li2o, no_li], PROTOCOL, tmp_path / "pool", labels=["a", "b"],
                           material_ids=["mp-1960", None], engine="sevennet")
        single = run_forcefield_md(li2o, PROTOCOL, tmp_path / "single", material_id="mp-1960",
                                   engine="sevennet")
    doc, failed = pool
    # the structure without Li fails alone, with the reason, and no trajectory
    assert failed.status == "failed" and "no Li" in failed.reason
    assert "relaxation" not in failed.reason  # it never got that far
    assert doc.status == single.status == "ok"
    assert doc.material_id == "mp-1960" and doc.n_atoms == single.n_atoms
    assert (tmp_path / "pool" / "a").is_dir() and not (tmp_path / "pool" / "b").exists()
    (run,), (ref,) = doc.runs, single.runs
    same = ("status", "n_frames", "li_hops", "diffusive", "stop_reason", "production_steps",
            "equilibration_steps", "equilibrated")
    assert {k: getattr(run, k) for k in same} == {k: getattr(ref, k) for k in same}
    # the same seeded trajectory, up to float32 round-off of the forward pass
    assert run.mean_temperature_K == pytest.approx(ref.mean_temperature_K, abs=1.0)
    assert doc.protocol_summary == single.protocol_summary


def test_labels_must_be_unique(li2o, tmp_path):
    with pytest.raises(ValueError, match="own label"):
        run_pool_md([li2o, li2o], PROTOCOL, tmp_path, labels=["x", "x"])
