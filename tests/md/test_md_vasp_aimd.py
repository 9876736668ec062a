"""The VASP AIMD protocol flow, run end to end with VASP mocked the atomate2 way.

Reference runs (tests/md/test_data/aimd_li2o, made by make_md_test_data.py from a short
CHGNet trajectory) hold the INCAR values the paper requires (written by hand), Gamma-only
KPOINTS, the expected POSCARs and VASP-format outputs.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.io.vasp import Incar, Kpoints, Poscar, Vasprun
from pymatgen.util.testing import MatSciTest

from sse_flows.md.jobs import collect_md, vasp_record
from sse_flows.md.makers import AimdProtocolMaker
from sse_flows.md.protocol import MDProtocol, make_md_supercell
from sse_flows.md.schemas import MDCellDoc

TEST_DATA = Path(__file__).resolve().parent / "test_data" / "aimd_li2o"
TEMPERATURES = (600.0, 800.0, 1000.0, 1200.0)
PAPER_INCAR_KEYS = [
    "ENCUT", "GGA", "IBRION", "ISIF", "ISPIN", "ISYM", "MDALGO", "NSW", "POTIM", "SMASS",
    "TEBEG", "TEEND",
]


def _job_names() -> list[str]:
    names = []
    for t in TEMPERATURES:
        names += [f"aimd equilibration {t:g}K", f"aimd production {t:g}K 1",
                  f"aimd production {t:g}K 2"]
    return names


@pytest.fixture()
def mock_vasp(monkeypatch, tmp_path):
    from atomate2.utils.testing.vasp import monkeypatch_vasp

    monkeypatch.chdir(tmp_path)
    yield from monkeypatch_vasp(monkeypatch, TEST_DATA)


@pytest.fixture(scope="module")
def li2o():
    return MatSciTest.get_structure("Li2O")


def _find(directory: Path, name: str) -> Path:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(directory / name)


def _vasp_task_dirs(responses, names) -> dict[str, Path]:
    """Job name -> run folder of the mocked VASP jobs among ``names`` that ran."""
    dirs = {}
    for by_index in responses.values():
        output = by_index[1].output
        if getattr(output, "task_label", None) in names:
            dirs[output.task_label] = Path(output.dir_name.split(":")[-1])
    return dirs


def test_aimd_flow_defaults_are_the_papers_protocol(li2o):
    maker = AimdProtocolMaker()
    protocol = maker.protocol
    assert protocol.temperatures == TEMPERATURES
    assert (protocol.time_step_fs, protocol.equilibration_steps, protocol.production_steps) == (
        2.0, 3000, 10000,
    )
    assert protocol.planned_chunks() == [2500] * 4
    incar = maker.input_set_generator(800.0, 3000).get_input_set(li2o, potcar_spec=True).incar
    assert incar["ENCUT"] == 400 and incar["POTIM"] == 2 and incar["MDALGO"] == 2
    assert incar["SMASS"] == 0 and incar["TEBEG"] == incar["TEEND"] == 800
    flow = maker.make(li2o)
    names = [job.name for job in flow.jobs]
    # per temperature: 1 equilibration + 4 production chunks (+ 4 restart readers), then a check
    assert sum(name.startswith("aimd production") for name in names) == 16
    assert sum(name.startswith("aimd equilibration") for name in names) == 4
    assert sum(name.startswith("aimd decide") for name in names) == 4
    assert names[-1] == "aimd check"


def test_aimd_flow_with_mocked_vasp(mock_vasp, li2o, tmp_path):
    names = _job_names()
    mock_vasp(
        {name: name.replace(" ", "_") for name in names},
        {name: {"incar_settings": PAPER_INCAR_KEYS, "clear_inputs": False} for name in names},
    )
    maker = AimdProtocolMaker(
        protocol=MDProtocol(equilibration_steps=3, production_steps=4, chunk_steps=2,
                            min_lattice_length=5.0, trajectory_interval=1)
    )
    flow = maker.make(li2o, material_id="mp-1960")
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        responses = run_locally(flow, store=store, create_folders=True, ensure_success=True)

    task_dirs = _vasp_task_dirs(responses, names)
    assert sorted(task_dirs) == sorted(names)

    for name, directory in task_dirs.items():
        temperature = float(name.split()[2].rstrip("K"))
        incar = Incar.from_file(_find(directory, "INCAR"))
        assert incar["ENCUT"] == 400 and incar["POTIM"] == 2.0 and incar["GGA"].upper() == "PE"
        assert incar["MDALGO"] == 2 and incar["SMASS"] == 0 and incar["IBRION"] == 0
        assert incar["TEBEG"] == incar["TEEND"] == temperature
        assert incar["NSW"] == (3 if "equilibration" in name else 2)
        kpoints = Kpoints.from_file(_find(directory, "KPOINTS"))
        assert kpoints.style == Kpoints.supported_modes.Gamma
        assert tuple(kpoints.kpts[0]) == (1, 1, 1)
        poscar = Poscar.from_file(_find(directory, "POSCAR"))
        assert len(poscar.structure) == 24 and min(poscar.structure.lattice.abc) >= 5.0

    # a production chunk continues the dynamics of the run before it: its POSCAR carries the
    # previous CONTCAR's positions AND velocities
    for t in TEMPERATURES:
        previous = Poscar.from_file(TEST_DATA / f"aimd_production_{t:g}K_1" / "outputs" / "CONTCAR")
        restart = Poscar.from_file(_find(task_dirs[f"aimd production {t:g}K 2"], "POSCAR"))
        np.testing.assert_allclose(restart.velocities, previous.velocities, atol=1e-6)
        np.testing.assert_allclose(
            restart.structure.frac_coords % 1, previous.structure.frac_coords % 1, atol=1e-6
        )

    doc = responses[flow.output.uuid][1].output
    assert doc.engine == "vasp" and doc.material_id == "mp-1960"
    assert doc.n_atoms == 24 and doc.supercell_scaling == [2, 2, 2]
    assert [run.temperature for run in doc.runs] == list(TEMPERATURES)
    assert doc.reduced_protocol is True
    for run in doc.runs:
        assert run.status == "ok", run.reasons
        assert run.n_frames == 4  # 2 chunks of 2 steps, concatenated in time order
        assert run.production_steps == 4 and run.stop_reason == "fixed length"
        assert len(run.trajectory_files) == 2
        vasprun = Vasprun(TEST_DATA / f"aimd_production_{run.temperature:g}K_2" / "outputs"
                          / "vasprun.xml", parse_dos=False, parse_eigen=False)
        assert run.max_energy_deviation_per_atom < 0.5
        np.testing.assert_allclose(
            Vasprun(run.trajectory_files[-1], parse_dos=False, parse_eigen=False).final_energy,
            vasprun.final_energy,
        )


def test_aimd_production_continues_with_another_vasp_chunk(mock_vasp, li2o):
    """Continue-until on VASP: one planned chunk is too short to analyse, so the decision
    appends a second (restart reader + MDMaker + decision: a replacing Flow) and then stops
    at the limit."""
    temperature = 1000.0
    names = [f"aimd equilibration {temperature:g}K"] + [
        f"aimd production {temperature:g}K {i}" for i in (1, 2)
    ]
    mock_vasp({name: name.replace(" ", "_") for name in names},
              {name: {"incar_settings": PAPER_INCAR_KEYS, "clear_inputs": False}
               for name in names})
    maker = AimdProtocolMaker(
        protocol=MDProtocol(temperatures=(temperature,), equilibration_steps=3,
                            production_steps=2, max_production_steps=4, chunk_steps=2,
                            min_lattice_length=5.0, trajectory_interval=1)
    )
    flow = maker.make(li2o, material_id="mp-1960")
    assert not any(job.name == names[-1] for job in flow.jobs)  # only planned at run time
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        responses = run_locally(flow, store=store, create_folders=True, ensure_success=True)
    (run,) = responses[flow.output.uuid][1].output.runs
    assert run.production_steps == 4 and len(run.trajectory_files) == 2
    assert run.stop_reason == "maximum length reached"


def test_vasp_outputs_parse_into_the_analysis():
    from sse_flows.analysis import read_run

    path = TEST_DATA / "aimd_production_1000K_1" / "outputs" / "vasprun.xml"
    run = read_run(path, temperature=1000.0)
    expected = Vasprun(path, parse_dos=False, parse_eigen=False).structures
    assert run.temperature_K == 1000.0
    assert run.time_step_fs == pytest.approx(2.0)  # POTIM of the run, every step stored
    assert run.frac_coords.shape == (len(expected), 24, 3)
    assert run.species.count("Li") == 16
    np.testing.assert_allclose(run.frac_coords[-1] % 1, expected[-1].frac_coords % 1, atol=1e-6)


def test_collect_reports_a_failed_vasp_chunk_and_keeps_the_other_temperatures(li2o):
    protocol = MDProtocol(equilibration_steps=3, production_steps=4, chunk_steps=2,
                          trajectory_interval=1, min_lattice_length=5.0)
    dirs = {
        t: [str(TEST_DATA / f"aimd_production_{t:g}K_{i}" / "outputs") for i in (1, 2)]
        for t in TEMPERATURES
    }
    dirs[800.0][1] = None  # the second chunk at 800 K died (walltime, SCF failure, ...)
    records = [vasp_record(t, dirs[t], [2, 2]) for t in TEMPERATURES]
    supercell = make_md_supercell(li2o, 5.0)
    doc = collect_md.original(
        unit_cell=li2o,
        cell=MDCellDoc(formula="Li2O", supercell=supercell.as_dict()),
        records=records,
        protocol=protocol.as_dict(),
        engine="vasp",
        material_id="mp-1960",
    )
    status = {run.temperature: run.status for run in doc.runs}
    assert status == {600.0: "ok", 800.0: "failed", 1000.0: "ok", 1200.0: "ok"}
    assert "chunk 2 did not complete" in doc.runs[1].reasons[0]
    assert doc.status == "ok"


@pytest.mark.parametrize("needed", [True, False])
def test_aimd_fallback_temperature_runs_only_when_the_others_give_no_fit(
    mock_vasp, li2o, monkeypatch, needed
):
    """600/1200 K with 800 K as the fallback: ``aimd fallback 800K`` waits for both
    decisions and, when they leave no Arrhenius fit, replaces itself by the 800 K chain
    (mocked VASP: its INCAR at 800 K, its record in the document); otherwise no 800 K VASP
    run exists and the record says why. (Four mocked steps are too few to analyse, so the
    analysis' answer is set here; its rule is tested in test_md_continuation.py.)"""
    from sse_flows.md import continuation

    seen = []

    def stand_in(records, protocol):
        seen.append(sorted(records))
        return needed

    monkeypatch.setattr(continuation, "fallback_needed", stand_in)
    temperatures = (600.0, 1200.0)
    names = [f"aimd {kind} {t:g}K{suffix}" for t in (600.0, 800.0, 1200.0)
             for kind, suffix in (("equilibration", ""), ("production", " 1"),
                                  ("production", " 2"))]
    mock_vasp({name: name.replace(" ", "_") for name in names},
              {name: {"incar_settings": PAPER_INCAR_KEYS, "clear_inputs": False}
               for name in names})
    maker = AimdProtocolMaker(protocol=MDProtocol(
        temperatures=temperatures, fallback_temperatures=(800.0,), equilibration_steps=3,
        production_steps=4, chunk_steps=2, min_lattice_length=5.0, trajectory_interval=1,
    ))
    flow = maker.make(li2o, material_id="mp-1960")
    built = [job.name for job in flow.jobs]
    assert "aimd fallback 800K" in built and not any("800K" in n and "aimd fallback" not in n
                                                     for n in built)
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        responses = run_locally(flow, store=store, create_folders=True, ensure_success=True)
    assert seen == [[600.0, 1200.0]]  # decided on both protocol temperatures' records
    ran = _vasp_task_dirs(responses, names)
    fallback_runs = sorted(n for n in ran if "800K" in n)
    doc = responses[flow.output.uuid][1].output
    assert [run.temperature for run in doc.runs] == [600.0, 800.0, 1200.0]
    run_800 = doc.runs[1]
    if needed:
        assert fallback_runs == sorted(n for n in names if "800K" in n)
        incar = Incar.from_file(_find(ran["aimd production 800K 2"], "INCAR"))
        assert incar["TEBEG"] == incar["TEEND"] == 800
        assert run_800.status == "ok" and run_800.production_steps == 4
        assert len(run_800.trajectory_files) == 2
    else:
        assert fallback_runs == []
        assert run_800.status == "skipped" and "fallback" in run_800.reasons[0]
        assert [run.status for run in (doc.runs[0], doc.runs[2])] == ["ok", "ok"]
