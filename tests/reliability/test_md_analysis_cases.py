"""Reliability cases of the MD and analysis stages (issue 27, part A).

* ``analyze`` joins trajectories only when they are provably one run (run id and
  consecutive steps written by ``sse-flows md``); independent runs at one temperature are
  replicas, the same file twice is refused, legacy files are replicas unless
  ``--join-chunks``; repeated ``md`` runs draw their own seed.
* ``md`` on a cell without a host is refused before any MD; an analysis failure fails
  the material instead of a traceback with status "ok".
* The force-field relaxation is checkpointed and cached: an interrupt loses at most one
  chunk of optimizer steps, and the same inputs relax once.
* ``--steps 0`` names ``--steps`` only.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pymatgen.core import Lattice, Structure


@pytest.fixture()
def li2o_file(tmp_path):
    li2o = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    path = tmp_path / "Li2O.json"
    path.write_text(li2o.to_json())
    return path


# ------------------------------------------------------------------ --steps 0 (case 7)
@pytest.mark.parametrize("command", ["md", "submit"])
def test_steps_zero_names_only_the_option_given(command, li2o_file, sse_home):
    """``--steps 0`` is refused naming --steps; --chunk-steps and --trajectory-interval,
    derived from it, are not blamed."""
    from sse_flows.cli import cli

    args = [command, str(li2o_file)] if command == "md" else [command]
    result = CliRunner().invoke(cli, [*args, "--steps", "0"])
    assert result.exit_code == 2, result.output
    assert "--steps must be >= 1, got 0" in result.output
    assert "--chunk-steps" not in result.output
    assert "--trajectory-interval" not in result.output


# ------------------------------------------------------------------ analyze: replicas (case 1)
def _write_traj(run, path, **description):
    """``run`` as an ASE trajectory (wrapped positions) whose description records the frame
    interval, the temperature and ``description`` (run id, step offset, ...)."""
    from ase import Atoms, units
    from ase.io.trajectory import Trajectory

    writer = Trajectory(str(path), "w")
    writer.set_description({"timestep": run.time_step_fs * units.fs, "interval": 1,
                            "temperature_K": run.temperature_K, **description})
    for frac in run.frac_coords:
        writer.write(Atoms(run.species, cell=run.lattice, scaled_positions=frac % 1.0,
                           pbc=True))
    writer.close()
    return path


def _walk(seed: int, n_frames: int = 200, rate: float = 0.5):
    """Li random walk at 800 K; 20 fs frames keep every frame-to-frame step far below half
    the 10 A cell, so a file round trip (minimum-image unwrapping) keeps every hop."""
    from sse_flows.analysis.synthetic import random_walk_run

    return random_walk_run(rate, temperature=800.0, n_cells=4, n_frames=n_frames, n_host=4,
                           time_step_fs=20.0, seed=seed)


def _analyze(*args):
    import json

    from sse_flows.cli import cli

    result = CliRunner().invoke(cli, ["analyze", *map(str, args)])
    payload = None
    if result.exit_code == 0 and "--json" in args:
        payload = json.loads(result.output.strip().splitlines()[-1])
    return result, payload


def test_the_same_trajectory_twice_is_refused(tmp_path):
    """One file given twice (directly, or again inside its folder), or a byte-identical
    copy, is a usage error, not a merge and not a replica."""
    folder = tmp_path / "runs"
    folder.mkdir()
    path = _write_traj(_walk(1), folder / "T800.traj", run_id="a", step_offset=0, n_steps=199)
    for args in ((path, path), (folder, path)):
        result, _ = _analyze(*args)
        assert result.exit_code == 2, result.output
        assert "is given twice" in result.output and "Traceback" not in result.output
    copy = tmp_path / "copy_T800.traj"
    copy.write_bytes(path.read_bytes())
    result, _ = _analyze(path, copy)
    assert result.exit_code == 2 and "hold the same trajectory" in result.output, result.output


def test_independent_runs_at_one_temperature_are_replicas(tmp_path):
    """Two runs at 800 K with their own run ids: two replicas (the output says so), D is
    their mean, and each run's chunks are joined in step order, not in argument order."""
    from sse_flows.analysis import analyze_runs, read_run

    first, second = _walk(1), _walk(2)
    files = [_write_traj(first, tmp_path / "a_T800.traj", run_id="run-a", step_offset=0,
                         n_steps=199)]
    # run b in two chunks, given in reverse order; the second repeats the first's last frame
    files += [
        _write_traj(second.slice(100, 200), tmp_path / "b2_T800.traj", run_id="run-b",
                    step_offset=100, n_steps=99),
        _write_traj(second.slice(0, 101), tmp_path / "b1_T800.traj", run_id="run-b",
                    step_offset=0, n_steps=100),
    ]
    result, payload = _analyze(*files, "--json")
    assert result.exit_code == 0, result.output
    (entry,) = payload["temperatures"]
    assert entry["replicas"] == 2
    assert any("2 replicas" in flag for flag in payload["flags"])
    text, _ = _analyze(*files)
    assert "(2 replicas)" in text.output and "! 800 K: 2 replicas" in text.output

    alone = [analyze_runs([read_run(files[0])]).temperatures[0],
             analyze_runs([second]).temperatures[0]]
    assert entry["D_cm2_s"] == pytest.approx(
        (alone[0].D_cm2_s + alone[1].D_cm2_s) / 2, rel=1e-6
    )
    assert entry["li_hops"] == alone[0].li_hops + alone[1].li_hops


def test_chunks_of_one_run_with_a_gap_are_refused(tmp_path):
    """A run id whose chunks do not follow on (a chunk missing) is an error naming it."""
    run = _walk(3, n_frames=300)
    files = [
        _write_traj(run.slice(0, 101), tmp_path / "c1_T800.traj", run_id="c", step_offset=0,
                    n_steps=100),
        _write_traj(run.slice(200, 300), tmp_path / "c3_T800.traj", run_id="c",
                    step_offset=200, n_steps=99),
    ]
    result, _ = _analyze(*files)
    assert result.exit_code == 1 and "a chunk is missing" in result.output, result.output


def test_files_without_run_id_are_replicas_unless_join_chunks(tmp_path):
    """Older files (no run id) at one temperature are never joined by proximity: they are
    replicas, and the output says why and how to join them; --join-chunks joins them."""
    import json

    run = _walk(4, n_frames=300)
    for part, (start, stop) in enumerate(((0, 151), (150, 300))):  # restart chunks
        chunk = run.slice(start, stop)
        chunk.metadata = {}
        (tmp_path / f"800K_part{part}.json").write_text(json.dumps(chunk.as_dict()))
    result, payload = _analyze(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    assert payload["temperatures"][0]["replicas"] == 2
    assert any("record no run id" in f and "--join-chunks" in f for f in payload["flags"])

    result, payload = _analyze(tmp_path, "--join-chunks", "--json")
    assert result.exit_code == 0, result.output
    assert payload["temperatures"][0]["replicas"] == 1
    assert any("joined as restart chunks" in f for f in payload["flags"])


def test_replica_error_is_the_larger_of_propagated_and_spread():
    """Replicas that disagree far beyond their own errors get the spread as D_err."""
    from sse_flows.analysis.diffusion import analyze_temperature, combine_replicas

    slow, fast = (analyze_temperature(_walk(5, n_frames=400, rate=rate))
                  for rate in (0.1, 0.8))
    combined = combine_replicas([slow, fast])
    assert combined.n_replicas == 2
    assert combined.D_cm2_s == pytest.approx((slow.D_cm2_s + fast.D_cm2_s) / 2)
    propagated = (slow.D_err**2 + fast.D_err**2) ** 0.5 / 2
    assert combined.D_err_replica_spread > propagated
    assert combined.D_err == pytest.approx(combined.D_err_replica_spread)
    assert combined.D_err_replica_spread == pytest.approx(abs(fast.D_cm2_s - slow.D_cm2_s) / 2)


def test_md_draws_a_new_seed_unless_given(li2o_file, tmp_path, sse_home, monkeypatch):
    """Two ``md`` runs without --seed get different seeds (recorded in the JSON); --seed is
    used as given."""
    import json

    from sse_flows.cli import cli
    from sse_flows.md import commands

    seen = []

    def fake_run(structure, engine, protocol, device, material_id, workdir):
        seen.append(protocol.seed)
        return {"engine": engine, "status": "ok"}

    monkeypatch.setattr(commands, "_run_forcefield", fake_run)
    args = ["md", str(li2o_file), "--engine", "chgnet", "--device", "cpu", "--json"]
    outputs = [CliRunner().invoke(cli, a) for a in (args, args, [*args, "--seed", "7"])]
    assert all(r.exit_code == 0 for r in outputs), [r.output for r in outputs]
    seeds = [json.loads(r.output.strip().splitlines()[-1])["seed"] for r in outputs]
    assert seeds == seen
    assert seeds[0] != seeds[1] and seeds[2] == 7


def test_two_real_md_runs_are_replicas_and_their_chunks_join(li2o_file, tmp_path, sse_home):
    """The issue's case: two short ``sse-flows md`` runs at 800 K (CHGNet, two chunks each).
    They differ (own seeds), each file records its run id and first step, and ``analyze``
    of all four files joins each run's chunks and reports two replicas."""
    import json

    from sse_flows.analysis import load_runs, read_run
    from sse_flows.cli import cli

    summaries = []
    for name in ("one", "two"):
        result = CliRunner().invoke(cli, [
            "md", str(li2o_file), "--engine", "chgnet", "--device", "cpu", "--temperatures",
            "800", "--steps", "8", "--chunk-steps", "4", "--equil-steps", "2", "--no-relax",
            "--min-length", "6", "--traj-interval", "2", "--workdir", str(tmp_path / name),
            "--json",
        ])
        assert result.exit_code == 0, result.output
        summaries.append(json.loads(result.output.strip().splitlines()[-1]))
    assert summaries[0]["seed"] != summaries[1]["seed"]
    files = [f for s in summaries for f in s["runs"][0]["trajectory_files"]]
    assert len(files) == 4
    chunks = [read_run(f) for f in files]
    assert {c.metadata["run_id"] for c in chunks[:2]} != {c.metadata["run_id"] for c in
                                                          chunks[2:]}
    assert [c.metadata["step_offset"] for c in chunks] == [0, 4, 0, 4]
    runs = load_runs(files)
    assert len(runs) == 2 and all(r.metadata["joined_by"] == "run id" for r in runs)
    assert [r.n_frames for r in runs] == [5, 5]  # 0, 2, 4 | (4), 6, 8
    result, payload = _analyze(*files, "--json")
    assert result.exit_code == 0, result.output
    assert payload["temperatures"][0]["replicas"] == 2


# ------------------------------------------------------------------ md without a host (case 3)
def test_md_refuses_a_cell_without_host_before_any_work(tmp_path, sse_home):
    """One Li atom in a cell: a usage error naming the problem, no MD, no files."""
    from sse_flows.cli import cli

    lithium = tmp_path / "Li.json"
    lithium.write_text(Structure(Lattice.cubic(3.4), ["Li"], [[0, 0, 0]]).to_json())
    workdir = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["md", str(lithium), "--engine", "chgnet", "--device",
                                      "cpu", "--workdir", str(workdir)])
    assert result.exit_code == 2, result.output
    assert "holds only Li atoms" in result.output and "no host" in result.output
    assert "Traceback" not in result.output
    assert not workdir.exists()


def test_an_analysis_failure_fails_the_md_document(tmp_path, caplog):
    """Should a Li-only trajectory reach the MD document (a flow given such a cell by an
    older check, a file mix-up), the material is "failed" with the analysis's reason, and
    the log has one line, no traceback: never status "ok" with a swallowed error."""
    import logging

    import numpy as np

    from sse_flows.analysis.runs import TemperatureRun
    from sse_flows.md.documents import make_md_run_doc
    from sse_flows.md.protocol import MDProtocol
    from sse_flows.md.schemas import ProductionRecord

    rng = np.random.default_rng(0)
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)]) / 2
    frames = grid[None] + rng.normal(0, 0.01, (12, 8, 3))
    run = TemperatureRun(800.0, ["Li"] * 8, np.eye(3) * 6.0, frames, time_step_fs=10.0)
    path = _write_traj(run, tmp_path / "production_800K_001.traj", run_id="x",
                       step_offset=0, n_steps=110)
    protocol = MDProtocol(temperatures=(800.0,), equilibration_steps=0, production_steps=110,
                          chunk_steps=110, trajectory_interval=10, relax=False)
    record = ProductionRecord(temperature=800.0, files=[str(path)], production_steps=110,
                              chunks=1, stop_reason="fixed length")
    cell = run.initial_structure
    with caplog.at_level(logging.DEBUG, logger="sse_flows.md.documents"):
        doc = make_md_run_doc("chgnet", cell, cell, [record], protocol)
    assert doc.status == "failed"
    assert "diffusion analysis failed" in doc.reason and "needs a host" in doc.reason
    assert doc.runs[0].status == "failed"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all(r.exc_info is None for r in errors)


# ------------------------------------------------------------------ resumable relaxation (6)
class _Killed(Exception):
    """Stands for the worker being killed mid-relaxation."""


def _counting_calculator(base, fail_after: int | None = None):
    """``base`` (an ASE calculator class) that counts its calculations and raises
    :class:`_Killed` on the one after ``fail_after``."""

    class Counting(base):
        calls = 0

        def calculate(self, *args, **kwargs):
            type(self).calls += 1
            if fail_after is not None and type(self).calls > fail_after:
                raise _Killed(f"killed after {fail_after} force calls")
            super().calculate(*args, **kwargs)

    return Counting


def _distorted_copper():
    return Structure(
        Lattice([[3.7, 0.1, 0.0], [0.0, 3.5, 0.05], [0.1, 0.0, 3.75]]), ["Cu"] * 4,
        [[0, 0, 0], [0.5, 0.52, 0], [0.5, 0, 0.48], [0.02, 0.5, 0.5]],
    )


def test_an_interrupted_relaxation_resumes_and_a_finished_one_is_cached(tmp_path):
    """Killed after 25 force calls, the relaxation goes on from its step-20 checkpoint and
    ends where an uninterrupted one ends; the same inputs again take no optimizer step."""
    import numpy as np
    from ase.calculators.emt import EMT

    from sse_flows.md.forcefield import RELAX_CHECKPOINT_STEPS, RelaxationCache, relax_for_md
    from sse_flows.md.protocol import MDProtocol

    copper, protocol = _distorted_copper(), MDProtocol(relax_fmax=0.005, relax_max_steps=300)
    reference, reference_doc = relax_for_md(copper, EMT(), protocol)
    assert reference_doc.converged and reference_doc.steps > 3 * RELAX_CHECKPOINT_STEPS

    cache = RelaxationCache(tmp_path / "relaxations")
    with pytest.raises(_Killed):
        relax_for_md(copper, _counting_calculator(EMT, fail_after=25)(), protocol, "emt", cache)
    (checkpoint,) = cache.folder.glob("*.checkpoint.json")

    resumed_calculator = _counting_calculator(EMT)()
    relaxed, doc = relax_for_md(copper, resumed_calculator, protocol, "emt", cache)
    assert doc.resumed_from_step == 20 and doc.steps == reference_doc.steps
    assert type(resumed_calculator).calls <= reference_doc.steps - 20 + 2  # not from zero
    np.testing.assert_allclose(relaxed.lattice.matrix, reference.lattice.matrix, atol=1e-6)
    np.testing.assert_allclose(relaxed.frac_coords, reference.frac_coords, atol=1e-6)
    assert doc.energy_per_atom_before == pytest.approx(reference_doc.energy_per_atom_before)
    assert not checkpoint.exists()
    assert sorted(p.name for p in cache.folder.iterdir()) == [checkpoint.name.replace(
        ".checkpoint.json", ".json")]  # no temporary files left

    again_calculator = _counting_calculator(EMT)()
    again, again_doc = relax_for_md(copper, again_calculator, protocol, "emt", cache)
    assert type(again_calculator).calls == 0 and again_doc.from_cache
    assert again_doc.steps == doc.steps
    np.testing.assert_allclose(again.lattice.matrix, relaxed.lattice.matrix)
    other, _ = relax_for_md(copper, EMT(), protocol.with_changes(relax_fmax=0.02), "emt",
                            cache)  # other settings: another key, a relaxation of its own
    assert len(list(cache.folder.glob("*.json"))) == 2 and other is not None


def test_the_md_prepare_step_caches_its_relaxation_under_the_home(li2o_file, sse_home):
    """``prepare_supercell`` with an engine (what the MD prepare job passes) keeps the
    relaxation under $SSE_FLOWS_HOME/md/relaxations; a rerun relaxes nothing."""
    from ase.calculators.lj import LennardJones

    from sse_flows.md.forcefield import prepare_supercell
    from sse_flows.md.protocol import MDProtocol

    li2o = Structure.from_file(li2o_file)
    protocol = MDProtocol(relax_max_steps=12, min_lattice_length=6.0)
    first_calculator = _counting_calculator(LennardJones)(sigma=2.0, epsilon=0.05, rc=5.0)
    supercell, relaxation = prepare_supercell(li2o, protocol, first_calculator, "chgnet")
    assert type(first_calculator).calls > 0 and relaxation.steps > 0
    assert len(list((sse_home / "md" / "relaxations").glob("*.json"))) == 1
    rerun_calculator = _counting_calculator(LennardJones)(sigma=2.0, epsilon=0.05, rc=5.0)
    again, again_relaxation = prepare_supercell(li2o, protocol, rerun_calculator, "chgnet")
    assert type(rerun_calculator).calls == 0 and again_relaxation.from_cache
    assert again == supercell
