"""Real force-field MD (CHGNet) through jobflow and the ``sse-flows md`` command, and the
LGPS positive control: a famous superionic conductor must come out stable and diffusive."""

from __future__ import annotations

import json
import warnings

import pytest
from click.testing import CliRunner
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore

from sse_flows.md.commands import md
from sse_flows.md.makers import ForceFieldMdProtocolMaker
from sse_flows.md.protocol import MDProtocol


def test_chgnet_flow_relaxes_continues_in_chunks_and_skips_colder_runs(li2o, tmp_path,
                                                                        sse_home):
    """Li2O has no real Li hop in 40 fs: the hottest run continues to its limit in two chunks
    (too short to analyse after one), and the colder run is skipped, not run."""
    from sse_flows.md.continuation import SKIPPED

    protocol = MDProtocol(
        temperatures=(800.0, 1200.0), equilibration_steps=10, production_steps=10,
        max_production_steps=20, chunk_steps=10, target_d_relative_error=1e-3,
        min_lattice_length=6.0, trajectory_interval=5,
    )
    flow = ForceFieldMdProtocolMaker(engine="chgnet", protocol=protocol).make(
        li2o, material_id="mp-1960"
    )
    docs = MemoryStore()
    store = JobStore(docs, additional_stores={"data": MemoryStore()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        responses = run_locally(flow, store=store, root_dir=tmp_path, create_folders=True,
                                ensure_success=True, log=False)
    doc = responses[flow.output.uuid][1].output
    assert doc.engine == "chgnet" and doc.material_id == "mp-1960" and doc.n_atoms == 24
    assert doc.reduced_protocol is True and "REDUCED" in doc.protocol_summary
    assert doc.relaxation is not None and abs(doc.relaxation.volume_change) < 0.1
    assert doc.status == "ok"
    cold, hot = doc.runs
    assert (cold.temperature, hot.temperature) == (800.0, 1200.0)
    assert hot.status == "ok" and hot.li_hops < 10 and not hot.diffusive
    assert hot.production_steps == 20 and hot.stop_reason == "maximum length reached"
    assert len(hot.trajectory_files) == 2
    assert hot.mean_temperature_K > 0 and hot.min_distance_A > 1.5
    assert cold.status == "skipped" and cold.stop_reason == SKIPPED
    assert cold.production_steps == 0 and cold.trajectory_files == []
    # the analysis saw one temperature: no Li diffusion anywhere
    assert [entry.T for entry in doc.diffusion.temperatures] == [1200.0]
    # the files record their frame interval: the analysis reads them without options
    from sse_flows.analysis import read_run

    chunk = read_run(hot.trajectory_files[0])
    assert chunk.time_step_fs == pytest.approx(10.0) and chunk.temperature_K == 1200.0
    assert chunk.energies is not None and chunk.kinetic_temperatures is not None
    names = {d["name"] for d in docs.query({}, properties=["name"])}
    assert "chgnet md mp-1960 1200K chunk 2" in names  # the continuation job, stored
    assert "chgnet md mp-1960 800K chunk 2" not in names
    stored = docs.query_one({"uuid": flow.output.uuid})
    assert len(json.dumps(stored, default=str)) < 200_000  # frames live in files


def test_md_command_runs_a_force_field(li2o, tmp_path, sse_home):
    path = tmp_path / "POSCAR"
    li2o.to(filename=str(path))
    result = CliRunner().invoke(
        md,
        [str(path), "--engine", "chgnet", "--temperatures", "1000", "--steps", "10",
         "--equil-steps", "4",
         "--min-length", "6", "--traj-interval", "2", "--device", "cpu",
         "--workdir", str(tmp_path / "runs"), "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["reduced_protocol"] is True and summary["status"] == "ok"
    (run,) = summary["runs"]
    assert run["T"] == 1000.0 and run["production_steps"] == 10
    assert run["stop_reason"] == "fixed length"  # --steps alone: no continuation


def test_md_command_refuses_bad_input_before_any_work(tmp_path, li2o):
    bad = tmp_path / "broken.cif"
    bad.write_text("this is not a CIF\n")
    result = CliRunner().invoke(md, [str(bad)])
    assert result.exit_code != 0 and "broken.cif" in result.output
    good = tmp_path / "Li2O.json"
    good.write_text(li2o.to_json())
    for args, message in (
        (["--temperatures", "hot"], "comma-separated"),
        (["--temperatures", "-300,0"], "--temperatures must be in"),
        (["--steps", "0"], "--steps must be >= 1"),
        (["--traj-interval", "0"], "--trajectory-interval"),
    ):
        result = CliRunner().invoke(md, [str(good), *args])
        # a usage error (exit 2) that names the option the user typed, before any MD
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    no_li = tmp_path / "MgO.json"
    from pymatgen.core import Lattice, Structure

    no_li.write_text(Structure(Lattice.cubic(4.2), ["Mg", "O"], [[0, 0, 0], [.5, .5, .5]])
                     .to_json())
    result = CliRunner().invoke(md, [str(no_li)])
    assert result.exit_code != 0 and "has no Li" in result.output


def test_md_command_vasp_dry_run_builds_the_paper_flow(li2o, tmp_path):
    path = tmp_path / "Li2O.json"
    path.write_text(li2o.to_json())
    result = CliRunner().invoke(md, [str(path), "--engine", "vasp", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["submitted"] is False and summary["reduced_protocol"] is False
    assert summary["protocol"]["temperatures"] == [600.0, 800.0, 1000.0, 1200.0]
    # 4 temperatures x (1 equilibration + 4 production chunks) VASP jobs
    assert summary["n_vasp_jobs"] == 20
    flow = json.loads((tmp_path / "aimd_flow_Li2O.json").read_text())
    assert len(flow["jobs"]) == summary["n_jobs"]


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


@pytest.mark.slow
def test_lgps_positive_control_is_stable_and_diffusive(tmp_path, sse_home):
    """Li10GeP2S12 at 1200 K (CHGNet, 50 atoms, 0.2 + 0.8 ps): the host keeps its crystal
    (PS4 groups may rotate) and Li hops; the old check called this run 'melted'."""
    from sse_flows.md.forcefield import run_forcefield_md
    from sse_flows.sources.structures import StructureLibrary

    lgps = StructureLibrary().find(None, "Li10GeP2S12").structure
    protocol = MDProtocol(temperatures=(1200.0,), equilibration_steps=100,
                          production_steps=400, chunk_steps=400, min_lattice_length=8.0,
                          trajectory_interval=5, relax_max_steps=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = run_forcefield_md(lgps, protocol, engine="chgnet", workdir=tmp_path)
    (run,) = doc.runs
    assert run.status == "ok", run.reasons
    assert run.framework.stable and run.framework.state in ("plateau", "creeping")
    assert run.li_hops >= 10 and run.D_cm2_s > 1e-5
    assert abs(doc.relaxation.volume_change) < 0.1  # right-handed first: no collapse
