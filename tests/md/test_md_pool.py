"""MD of many materials in one job (sse_flows.md.pool): the documents the one-structure
engine writes, a failing material fails alone, and the jobflow job stores them by label."""

from __future__ import annotations

import json
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


class _Killed(BaseException):
    """What a wall-time kill looks like to the code: nothing catches it."""


class _Counting:
    """The batched potential, counting its calls; raises ``_Killed`` at call ``die_at``."""

    def __init__(self, potential, die_at: int | None = None) -> None:
        self.potential, self.die_at, self.calls = potential, die_at, 0
        self.engine = potential.engine

    def __call__(self, atoms_list):
        self.calls += 1
        if self.die_at is not None and self.calls >= self.die_at:
            raise _Killed
        return self.potential(atoms_list)


def test_an_interrupted_pool_run_continues_to_the_same_documents(li2o, tmp_path, monkeypatch):
    """Killed in its last production chunk and run again in the same folder, the pool run
    keeps the relaxed cell and the finished chunk and continues with the same seeds: the
    trajectories and documents equal those of an uninterrupted run."""
    import numpy as np
    from ase.io import read

    from sse_flows.md import batched, pool
    from sse_flows.md.schemas import ProductionRecord

    potential = batched.load_batched_potential("chgnet", "cpu")
    wrapper = {"current": _Counting(potential)}
    monkeypatch.setattr(batched, "load_batched_potential", lambda *a, **k: wrapper["current"])
    structures = [li2o, li2o.copy()]
    structures[1].perturb(0.05, 0.05)  # two different materials in one batch
    kwargs = {"labels": ["a", "b"], "engine": "chgnet"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = run_pool_md(structures, PROTOCOL, tmp_path / "ref", **kwargs)
        total = wrapper["current"].calls
        wrapper["current"] = _Counting(potential, die_at=total - 3)  # in the last chunk
        with pytest.raises(_Killed):
            run_pool_md(structures, PROTOCOL, tmp_path / "run", **kwargs)
        for label in ("a", "b"):
            folder = tmp_path / "run" / label
            assert (folder / pool.PREPARED_FILE).is_file()
            saved = ProductionRecord.model_validate(json.loads(
                batched.checkpoint_path(folder, 1000.0).read_text())["record"])
            assert saved.chunks == 1 and saved.stop_reason is None  # mid-production
        wrapper["current"] = _Counting(potential)
        resumed = run_pool_md(structures, PROTOCOL, tmp_path / "run", **kwargs)
    # the rerun did only what was left: the last chunk (plus one force call per pair)
    assert wrapper["current"].calls < total / 2
    for ref_doc, doc in zip(reference, resumed, strict=True):
        (ref_run,), (run,) = ref_doc.runs, doc.runs
        assert doc.status == ref_doc.status == "ok"
        assert run.production_steps == ref_run.production_steps == 12
        assert run.n_frames == ref_run.n_frames and run.li_hops == ref_run.li_hops
        assert run.mean_temperature_K == pytest.approx(ref_run.mean_temperature_K, rel=1e-9)
    for label in ("a", "b"):
        last = read(tmp_path / "run" / label / "production_1000K_002.traj", index=-1)
        ref_last = read(tmp_path / "ref" / label / "production_1000K_002.traj", index=-1)
        np.testing.assert_allclose(last.get_positions(), ref_last.get_positions(), atol=1e-10)
        np.testing.assert_allclose(last.get_momenta(), ref_last.get_momenta(), atol=1e-10)


def test_a_finished_checkpoint_is_decided_again_by_the_current_rule(li2o, tmp_path):
    """A stored stop that the current continue-until rule does not give is not trusted: the
    rerun decides again (here: "too few hops") without running a step."""
    from sse_flows.md import batched
    from sse_flows.md.schemas import ProductionRecord

    protocol = PROTOCOL.with_changes(production_steps=6, max_production_steps=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (first,) = run_pool_md([li2o], protocol, tmp_path, labels=["a"], engine="chgnet")
    (run,) = first.runs
    assert run.stop_reason == "too few hops"  # a crystal: no hop, a flat MSD
    path = batched.checkpoint_path(tmp_path / "a", 1000.0)
    payload = json.loads(path.read_text())
    payload["record"]["stop_reason"] = "maximum length reached"  # what an old rule said
    path.write_text(json.dumps(payload))
    frames = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "a").glob("*.traj")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (again,) = run_pool_md([li2o], protocol, tmp_path, labels=["a"], engine="chgnet")
    assert again.runs[0].stop_reason == "too few hops"
    assert again.runs[0].production_steps == run.production_steps
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "a").glob("*.traj")} == frames
    assert ProductionRecord.model_validate(payload["record"]).production_steps == (
        run.production_steps)
