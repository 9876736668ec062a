"""A short real CHGNet NVT run through the jobflow job, and the ``sse-flows md`` command."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from ase.io import read as ase_read
from click.testing import CliRunner
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.util.testing import MatSciTest

from sse_flows.md.commands import md
from sse_flows.md.failures import FailureThresholds
from sse_flows.md.makers import ForceFieldMdProtocolMaker, make_md_flow
from sse_flows.md.protocol import MDProtocol


@pytest.fixture(scope="module")
def li2o():
    return MatSciTest.get_structure("Li2O")  # 3-atom rhombohedral cell (not upper triangular)


def test_short_chgnet_run_through_jobflow(li2o, tmp_path):
    protocol = MDProtocol(
        temperatures=(800.0, 1200.0), equilibration_steps=4, production_steps=10,
        production_chunks=1, min_lattice_length=3.0, trajectory_interval=2,
    )
    maker = ForceFieldMdProtocolMaker(
        protocol=protocol, thresholds=FailureThresholds(min_li_hops=0), analyze=False
    )
    job = maker.make(li2o, material_id="mp-1960")
    docs, data = MemoryStore(), MemoryStore()
    store = JobStore(docs, additional_stores={"data": data})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        responses = run_locally(job, store=store, root_dir=tmp_path, create_folders=True,
                                ensure_success=True, log=False)
    doc = responses[job.uuid][1].output
    assert doc.engine == "chgnet" and doc.status == "ok" and doc.material_id == "mp-1960"
    assert [run.temperature for run in doc.runs] == [800.0, 1200.0]
    for run in doc.runs:
        assert run.status == "ok", run.reasons
        assert run.n_frames == 10 // 2 + 1  # frames at steps 0, 2, ..., 10
        # the cell was not scrambled by ASE's upper-triangular cell requirement
        assert run.min_distance_A > 1.5  # Li-O bond in Li2O: 2.0 A
        assert np.isfinite(run.max_energy_deviation_per_atom)
        assert run.mean_temperature_K > 0
        (path,) = run.trajectory_files
        images = ase_read(path, index=":")
        assert len(images) == run.n_frames
        assert np.isfinite(images[-1].get_potential_energy())
    # trajectories live in files, not in the stored document
    stored = docs.query_one({"uuid": job.uuid})
    assert len(json.dumps(stored, default=str)) < 50_000
    assert stored["output"]["runs"][0]["trajectory_files"][0].endswith("production_800K.traj")


def test_chgnet_trajectory_parses_into_the_analysis(li2o, tmp_path):
    from sse_flows.analysis import TemperatureRun
    from sse_flows.md.forcefield import run_forcefield_md

    protocol = MDProtocol(temperatures=(1000.0,), equilibration_steps=0, production_steps=6,
                          production_chunks=1, min_lattice_length=3.0, trajectory_interval=3)
    doc = run_forcefield_md(li2o, protocol, workdir=tmp_path, analyze=False)
    (path,) = doc.runs[0].trajectory_files
    run = TemperatureRun.from_file(path, temperature=1000.0, time_step_fs=6.0)
    assert run.frac_coords.shape == (3, 3, 3)
    assert run.species.count("Li") == 2


def test_make_md_flow_engine_choice(li2o):
    chgnet = make_md_flow(li2o, engine="chgnet", temperatures=[900], steps=20, equil_steps=5)
    assert len(chgnet.jobs) == 1
    vasp = make_md_flow(li2o, engine="vasp", temperatures=[900], steps=20, equil_steps=5,
                        production_chunks=2)
    assert [j.name for j in vasp.jobs if j.name.startswith("aimd production")] == [
        "aimd production 900K 1", "aimd production 900K 2",
    ]
    with pytest.raises(ValueError, match="engine"):
        make_md_flow(li2o, engine="lammps")


def test_md_command_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.cif"
    bad.write_text("this is not a CIF\n")
    result = CliRunner().invoke(md, [str(bad)])
    assert result.exit_code != 0
    assert "broken.cif" in result.output and "could not read a crystal structure" in result.output
    result = CliRunner().invoke(md, [str(bad), "--temperatures", "hot"])
    assert result.exit_code != 0


def test_md_command_vasp_dry_run_builds_the_paper_flow(li2o, tmp_path):
    path = tmp_path / "Li2O.json"
    path.write_text(li2o.to_json())
    result = CliRunner().invoke(md, [str(path), "--engine", "vasp", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["submitted"] is False
    assert summary["protocol"]["temperatures"] == [600.0, 800.0, 1000.0, 1200.0]
    # 4 temperatures x (1 equilibration + 4 production chunks) VASP jobs
    assert summary["n_vasp_jobs"] == 20
    flow = json.loads((tmp_path / "aimd_flow_Li2O.json").read_text())
    assert len(flow["jobs"]) == summary["n_jobs"]


def test_md_command_runs_chgnet(li2o, tmp_path, sse_home):
    path = tmp_path / "POSCAR"
    li2o.to(filename=str(path))
    result = CliRunner().invoke(
        md,
        [str(path), "--temperatures", "1000", "--steps", "4", "--equil-steps", "2",
         "--min-length", "3", "--traj-interval", "2", "--device", "cpu",
         "--workdir", str(tmp_path / "runs"), "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["reduced_protocol"] is True
    assert summary["runs"][0]["T"] == 1000.0 and summary["runs"][0]["status"] == "ok"
    # 4 steps cannot show 10 Li hops: reported as a failed material, not a crash
    assert summary["status"] == "failed" and "Li hops" in summary["reason"]


def test_md_command_vasp_submits_to_the_launchpad(li2o, tmp_path, sse_home):
    path = tmp_path / "Li2O.json"
    path.write_text(li2o.to_json())
    args = [str(path), "--engine", "vasp", "--temperatures", "600,1200", "--json"]
    result = CliRunner().invoke(md, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["submitted"] is True and summary["duplicate"] is False
    again = json.loads(CliRunner().invoke(md, args).output.strip().splitlines()[-1])
    assert again["duplicate"] is True  # the same protocol for the same structure is not re-added
    assert again["workflow_id"] == summary["workflow_id"]
