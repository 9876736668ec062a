"""Readers: every supported format gives back the trajectory it was written from."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from monty.json import MontyDecoder, MontyEncoder
from monty.serialization import dumpfn

from sse_flows.analysis import TemperatureRun, TrajectoryReadError, load_runs, read_run
from sse_flows.analysis.readers import temperature_from_name
from sse_flows.analysis.synthetic import random_walk_run


@pytest.fixture(scope="module")
def run() -> TemperatureRun:
    """A short walk whose Li leave the 7.5 A cell (unwrapping matters)."""
    return random_walk_run(
        0.25,
        temperature=900.0,
        spacing_A=2.5,
        n_cells=3,
        n_frames=300,
        time_step_fs=100.0,
        n_host=4,
        seed=7,
    )


def _structures(run, wrap=True):
    from pymatgen.core import Lattice, Structure

    return [
        Structure(
            Lattice(run.lattice),
            run.species,
            run.frac_coords[i] % 1.0 if wrap else run.frac_coords[i],
        )
        for i in range(run.n_frames)
    ]


def _same_path(a: TemperatureRun, b: TemperatureRun):
    """Same unwrapped trajectory up to a constant lattice translation of each atom."""
    da, db = a.displacements, b.displacements
    np.testing.assert_allclose(da, db, atol=1e-6)
    assert a.species == b.species
    np.testing.assert_allclose(a.lattice, b.lattice, atol=1e-6)


def test_walk_really_crosses_the_cell(run):
    assert np.abs(run.frac_coords - run.frac_coords[0]).max() > 1.0


def test_run_dict_and_monty_round_trip(run):
    back = TemperatureRun.from_dict(run.as_dict())
    np.testing.assert_array_equal(back.frac_coords, run.frac_coords)  # bit-exact
    _same_path(run, TemperatureRun.from_dict(run.as_dict(compact=False)))
    text = json.dumps(run, cls=MontyEncoder)
    decoded = json.loads(text, cls=MontyDecoder)
    assert isinstance(decoded, TemperatureRun)
    assert decoded.temperature_K == 900.0 and decoded.time_step_fs == 100.0
    _same_path(run, decoded)


@pytest.mark.parametrize("encoding", ["plain", "string", "gzip"])
def test_diffusion_analyzer_json(run, tmp_path, encoding):
    analyzer = run.to_diffusion_analyzer("Li", smoothed=False)
    data = analyzer.as_dict()
    data["time_step"], data["step_skip"] = 2, 50  # 100 fs between frames
    path = tmp_path / "md.json"
    if encoding == "string":  # how Kang et al. stored theirs: a JSON string of JSON
        path.write_text(json.dumps(json.dumps(data)))
    elif encoding == "gzip":
        path = tmp_path / "md.json.gz"
        with gzip.open(path, "wt") as handle:
            json.dump(data, handle)
    else:
        path.write_text(json.dumps(data))
    back = read_run(path)
    assert back.temperature_K == 900.0
    assert back.time_step_fs == pytest.approx(100.0)
    _same_path(run, back)
    # the analysis of the re-read run gives pymatgen's D of the original analyzer
    assert back.to_diffusion_analyzer("Li", smoothed=False).diffusivity == pytest.approx(
        analyzer.diffusivity, rel=1e-8
    )


def test_pymatgen_trajectory_json_unwraps(run, tmp_path):
    from pymatgen.core.trajectory import Trajectory

    traj = Trajectory.from_structures(_structures(run), constant_lattice=True)
    traj.time_step = 100.0
    path = tmp_path / "T900_traj.json.gz"
    dumpfn(traj, path)
    back = read_run(path)
    assert back.temperature_K == 900.0  # from the file name
    _same_path(run, back)


def test_xdatcar_with_incar(run, tmp_path):
    from pymatgen.core.trajectory import Trajectory

    Trajectory.from_structures(_structures(run), constant_lattice=True).write_Xdatcar(
        tmp_path / "XDATCAR"
    )
    (tmp_path / "INCAR").write_text("IBRION = 0\nTEBEG = 900\nPOTIM = 2\nNBLOCK = 50\n")
    back = read_run(tmp_path / "XDATCAR")
    assert back.temperature_K == 900.0
    assert back.time_step_fs == pytest.approx(100.0)
    np.testing.assert_allclose(back.displacements, run.displacements, atol=1e-5)


def test_ase_trajectory_with_description(run, tmp_path):
    from ase import units
    from ase.io.trajectory import Trajectory as AseTrajectory
    from pymatgen.io.ase import AseAtomsAdaptor

    path = tmp_path / "md.traj"
    with AseTrajectory(str(path), "w") as traj:
        traj.set_description({"timestep": 2 * units.fs, "interval": 50, "temperature_K": 900})
        for structure in _structures(run):
            traj.write(AseAtomsAdaptor.get_atoms(structure))
    back = read_run(path)
    assert back.temperature_K == 900.0
    assert back.time_step_fs == pytest.approx(100.0)
    np.testing.assert_allclose(back.displacements, run.displacements, atol=1e-6)
    # no description and no time step: a clear error naming the file
    bare = tmp_path / "bare_1000K.traj"
    with AseTrajectory(str(bare), "w") as traj:
        for structure in _structures(run)[:3]:
            traj.write(AseAtomsAdaptor.get_atoms(structure))
    with pytest.raises(TrajectoryReadError, match="bare_1000K.traj.*time"):
        read_run(bare)
    assert read_run(bare, time_step_fs=100.0).temperature_K == 1000.0


@pytest.mark.parametrize(
    ("name", "temperature"),
    [
        ("800_nteps_100.json", 800.0),
        ("T1100.traj", 1100.0),
        ("md_1400K.json.gz", 1400.0),
        ("1700K/vasprun.xml", 1700.0),
        ("vasprun.xml", None),
        ("run_2.json", None),
    ],
)
def test_temperature_from_name(name, temperature):
    assert temperature_from_name(name) == temperature


def test_unreadable_files_name_the_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(TrajectoryReadError, match="broken.json"):
        read_run(broken)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"@class": "Structure"}))
    with pytest.raises(TrajectoryReadError, match="other.json"):
        read_run(other)
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello")
    with pytest.raises(TrajectoryReadError, match="unknown trajectory format"):
        read_run(unknown)
    with pytest.raises(TrajectoryReadError, match="no such"):
        read_run(tmp_path / "missing.json")


def test_missing_temperature_is_an_error(run, tmp_path):
    data = run.to_diffusion_analyzer("Li", smoothed=False).as_dict()
    data["temperature"] = None
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TrajectoryReadError, match="run.json: no temperature"):
        read_run(path)
    assert read_run(path, temperature=950).temperature_K == 950.0


def test_load_runs_joins_restart_chunks_and_sorts(run, tmp_path):
    from pymatgen.core.trajectory import Trajectory

    structures = _structures(run)
    for i, (start, stop) in enumerate(((0, 151), (150, 300))):  # restart repeats frame 150
        traj = Trajectory.from_structures(structures[start:stop], constant_lattice=True)
        traj.time_step = 100.0
        dumpfn(traj, tmp_path / f"900K_part{i}.json")
    other = random_walk_run(0.1, temperature=700.0, n_cells=3, n_frames=50, n_host=4, seed=8)
    (tmp_path / "700K.json").write_text(json.dumps(other.as_dict()))
    # pymatgen Trajectory files record no run id: joined only on the caller's word
    assert [r.temperature_K for r in load_runs([tmp_path])] == [700.0, 900.0, 900.0]
    runs = load_runs([tmp_path], join_chunks=True)
    assert [r.temperature_K for r in runs] == [700.0, 900.0]
    joined = runs[1]
    assert joined.n_frames == run.n_frames
    _same_path(run, joined)


def test_load_runs_checks_the_number_of_temperatures(tmp_path, run):
    (tmp_path / "a.json").write_text(json.dumps(run.as_dict()))
    with pytest.raises(TrajectoryReadError, match="1 trajectories"):
        load_runs([tmp_path], temperatures=[800, 900])
    assert load_runs([tmp_path], temperatures=[650])[0].temperature_K == 650.0
