"""Force-field MD of several materials side by side (sse_flows.md.parallel): the documents of
the one-structure engine, in input order; a failing material fails alone; the positive
control starts first; the MD stage runs one such job with ``md_processes`` > 1."""

from __future__ import annotations

import warnings

import pytest
from pymatgen.core import Lattice, Structure

from sse_flows.md.forcefield import run_forcefield_md
from sse_flows.md.parallel import run_order, run_parallel_md


@pytest.fixture(scope="module")
def li2o_x2(li2o):
    return li2o * (1, 1, 2)


def test_side_by_side_documents_equal_the_one_structure_engine(li2o_x2, tiny_protocol,
                                                               tmp_path):
    no_li = Structure(Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    finished = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        docs = run_parallel_md(
            [no_li, li2o_x2], tiny_protocol, tmp_path / "par", labels=["negative:NaCl", "a"],
            material_ids=[None, "mp-1960"], engine="chgnet", processes=2,
            on_done=lambda label, doc: finished.append(label),
        )
        single = run_forcefield_md(li2o_x2, tiny_protocol, tmp_path / "single",
                                   material_id="mp-1960", engine="chgnet")
    failed, doc = docs  # input order, whatever finished first
    assert sorted(finished) == ["a", "negative:NaCl"]
    assert failed.status == "failed" and "no Li" in failed.reason
    assert doc.status == single.status == "ok"
    assert doc.material_id == "mp-1960" and doc.n_atoms == single.n_atoms
    assert (tmp_path / "par" / "a").is_dir()  # a label's folder is file-name safe
    (run,), (ref,) = doc.runs, single.runs
    same = ("status", "n_frames", "stop_reason", "production_steps", "equilibration_steps")
    assert {k: getattr(run, k) for k in same} == {k: getattr(ref, k) for k in same}
    # the same seeded trajectory, up to round-off of one thread against several
    assert run.mean_temperature_K == pytest.approx(ref.mean_temperature_K, abs=5.0)
    assert doc.protocol_summary == single.protocol_summary


def test_the_long_run_starts_first_then_the_largest_cells(li2o, li2o_x2):
    large = li2o_x2 * (2, 1, 1)
    assert run_order([li2o, large, li2o_x2], 1.0) == [1, 2, 0]
    assert run_order([li2o, large, li2o_x2], 1.0, long_first=[True, False, False]) == [0, 1, 2]


def test_bad_arguments_are_refused_before_any_process_starts(li2o, tiny_protocol, tmp_path):
    with pytest.raises(ValueError, match="unique labels"):
        run_parallel_md([li2o, li2o], tiny_protocol, tmp_path, labels=["x", "x"])
    with pytest.raises(ValueError, match="processes"):
        run_parallel_md([li2o], tiny_protocol, tmp_path, labels=["x"], processes=0)
    assert not any(tmp_path.iterdir())


def test_md_processes_makes_the_stage_one_side_by_side_job_and_is_hashed_only_when_set():
    from sse_flows.flows.discovery import DiscoveryFlowMaker
    from sse_flows.flows.md_validation import runs_parallel
    from sse_flows.validation import ParameterError

    default = DiscoveryFlowMaker(vote_splits=7)
    assert "md_processes" not in default.parameters()
    two = DiscoveryFlowMaker(vote_splits=7, md_processes=2, md_engine="chgnet")
    assert two.parameters()["md_processes"] == 2
    assert two.parameter_hash() != default.parameter_hash()
    assert two.make().jobs[4].function_args[-1] == 2  # processes
    assert runs_parallel("chgnet", "cpu", None, 2)
    assert not runs_parallel("vasp", "cpu", None, 2)  # VASP runs on the cluster's nodes
    assert not runs_parallel("chgnet", "cuda", None, 2)  # the GPU batches instead
    assert not runs_parallel("chgnet", "cpu", 8, 2)  # pool scope: batched jobs
    assert not runs_parallel("chgnet", "cpu", None, 1)
    with pytest.raises(ParameterError, match="md_processes"):
        DiscoveryFlowMaker(md_processes=0)


def test_md_jobs_take_a_target_structure_as_dict_or_as_revived_by_fireworks(li2o):
    """FireWorks' MontyDecoder turns a target's structure dict back into a Structure before
    the job runs; run_locally passes the dict. Both reach the engine as a Structure."""
    from monty.json import MontyDecoder

    from sse_flows.md.jobs import _target_structure

    target = {"label": "a", "structure": li2o.as_dict()}
    revived = MontyDecoder().process_decoded(target)
    assert isinstance(revived["structure"], Structure)
    assert _target_structure(target) == _target_structure(revived) == li2o
