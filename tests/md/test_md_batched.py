"""The batched MD engine against the one-structure engine (CPU, tiny: three Li2O cells of
6-12 atoms, tens of steps): same energies, same trajectories and temperatures, the same
documents and verdicts; a failing structure fails alone."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from ase.io.trajectory import Trajectory
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from pymatgen.util.testing import MatSciTest

from sse_flows.md.batched import (
    CPU_MAX_BATCH_ATOMS,
    default_max_batch_atoms,
    load_batched_potential,
    run_batched_md,
)
from sse_flows.md.continuation import read_production
from sse_flows.md.documents import make_md_run_doc
from sse_flows.md.forcefield import load_calculator, md_chunk
from sse_flows.md.protocol import MDProtocol, make_md_supercell
from sse_flows.md.schemas import MDRunDoc

#: 6 equilibration + 12 production steps in two chunks, a frame every 2 steps; tight
#: thermostats (Langevin 200/ps, Bussi 10 fs) so that 12 fs reach the target temperature
#: (a crystal started at its minimum with all its energy kinetic drops to half of it)
PROTOCOL = MDProtocol(
    temperatures=(1000.0,), equilibration_steps=6, production_steps=12, chunk_steps=6,
    trajectory_interval=2, min_lattice_length=4.0, relax=False,
    langevin_friction_per_ps=200.0, thermostat_time_fs=10.0,
)
TEMPERATURES = [1200.0, 1000.0, 800.0]

#: More structures per forward pass than any batch here holds: every round in one pass, as
#: on CUDA (``structures_per_pass=None`` means the device default, one per pass on a CPU)
ONE_PASS = 64

#: |<T / T_target> - 1| allowed for the production frames of the three pairs pooled (weighted
#: by atoms): one frame of N = 6-12 atoms fluctuates by sqrt(2 / 3N) = 24-33 %, and the 21
#: frames are ~12 independent samples (Bussi 10 fs, a frame every 4 fs): ~8 % is one
#: standard error, 20 % 2.5. Each pair's mean must equal the one-structure engine's to 1 K.
TEMPERATURE_TOLERANCE = 0.2


@pytest.fixture(scope="module")
def cells():
    """Rhombohedral Li2O doubled (6 atoms), conventional Li2O (12 atoms) and the same cell
    2 % expanded."""
    primitive = MatSciTest.get_structure("Li2O")
    conventional = SpacegroupAnalyzer(primitive).get_conventional_standard_structure()
    expanded = conventional.copy()
    expanded.scale_lattice(conventional.volume * 1.02**3)
    return [
        make_md_supercell(primitive * (1, 1, 2), 1.0),
        make_md_supercell(conventional, 4.0),
        make_md_supercell(expanded, 4.0),
    ]


@pytest.fixture(scope="module")
def both_engines(cells, tmp_path_factory):
    """(batched records, one-structure records) of the three pairs."""
    root = tmp_path_factory.mktemp("batched")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batched = run_batched_md(
            cells, TEMPERATURES, PROTOCOL, root / "batched", engine="sevennet",
            max_batch_atoms=20,  # two batches: [6 + 12 atoms], [12 atoms]
            structures_per_pass=ONE_PASS,  # a batch in one forward pass (the CUDA path)
        )
        calculator = load_calculator("sevennet", "cpu")
        single = []
        for i, (cell, temperature) in enumerate(zip(cells, TEMPERATURES, strict=True)):
            record = None
            while record is None or record.stop_reason is None:
                record = md_chunk(cell, temperature, PROTOCOL, root / f"single_{i}", calculator,
                                  record)
            single.append(record)
    return batched, single


def _doc(cell, record) -> MDRunDoc:
    protocol = PROTOCOL.with_changes(temperatures=(record.temperature,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_md_run_doc("sevennet", cell, cell, [record], protocol,
                               parameters={"device": "cpu"})


@pytest.mark.parametrize("engine", ["sevennet", "chgnet"])
def test_step0_energies_and_forces_equal_the_ase_calculator(cells, engine):
    rng = np.random.default_rng(0)
    atoms_list = []
    for cell in cells:
        atoms = cell.to_ase_atoms()
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
        atoms_list.append(atoms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        energies, forces = load_batched_potential(engine, "cpu")(atoms_list)
        calculator = load_calculator(engine, "cpu")
        for atoms, energy, force in zip(atoms_list, energies, forces, strict=True):
            atoms.calc = calculator
            assert energy / len(atoms) == pytest.approx(
                atoms.get_potential_energy() / len(atoms), abs=1e-4
            )
            np.testing.assert_allclose(force, atoms.get_forces(), atol=1e-3)


def _same_run_fields(description: dict) -> dict:
    """A chunk file's description without its run id (a fresh uuid per run)."""
    return {key: value for key, value in description.items() if key != "run_id"}


def test_trajectories_equal_the_one_structure_engine(both_engines):
    """Same seeds, same integrators: the frames agree up to float32 round-off."""
    batched, single = both_engines
    for b, s in zip(batched, single, strict=True):
        assert b.error is None and s.error is None
        assert (b.production_steps, b.chunks, b.equilibration_steps) == (
            s.production_steps, s.chunks, s.equilibration_steps
        ) == (12, 2, s.equilibration_steps)
        assert b.equilibration_steps >= 6
        assert b.equilibrated == s.equilibrated and b.stop_reason == s.stop_reason
        assert b.equilibration_mean_temperature_K == pytest.approx(
            s.equilibration_mean_temperature_K, abs=1.0
        )
        assert len(b.files) == len(s.files) == 2
        for fb, fs in zip(b.files, s.files, strict=True):
            with Trajectory(fb) as tb, Trajectory(fs) as ts:
                assert _same_run_fields(tb.description) == _same_run_fields(ts.description)
                frames_b, frames_s = list(tb), list(ts)
            assert len(frames_b) == len(frames_s) == 4  # steps 0, 2, 4, 6
            for ab, as_ in zip(frames_b, frames_s, strict=True):
                np.testing.assert_allclose(ab.positions, as_.positions, atol=1e-3)
                np.testing.assert_allclose(ab.get_momenta(), as_.get_momenta(), atol=1e-3)
                assert ab.get_potential_energy() / len(ab) == pytest.approx(
                    as_.get_potential_energy() / len(as_), abs=1e-4
                )


def test_temperatures_reach_their_targets(cells, both_engines):
    batched, single = both_engines
    ratios, weights = [], []
    for cell, b, s in zip(cells, batched, single, strict=True):
        mean_b = float(np.mean(read_production(b).kinetic_temperatures))
        mean_s = float(np.mean(read_production(s).kinetic_temperatures))
        assert mean_b == pytest.approx(mean_s, abs=1.0)
        ratios.append(mean_b / b.temperature)
        weights.append(len(cell))
    assert abs(np.average(ratios, weights=weights) - 1.0) <= TEMPERATURE_TOLERANCE


def test_documents_and_verdicts_equal_the_one_structure_engine(cells, both_engines):
    batched, single = both_engines
    for cell, b, s in zip(cells, batched, single, strict=True):
        run = read_production(b)  # the analysis reads the files without options
        assert run.time_step_fs == pytest.approx(4.0) and run.temperature_K == b.temperature
        assert run.n_frames == 7 and run.energies is not None  # 2 chunks, restart frame dropped
        doc_b, doc_s = _doc(cell, b), _doc(cell, s)
        MDRunDoc.model_validate(doc_b.model_dump())
        assert doc_b.status == doc_s.status
        assert doc_b.n_atoms == len(cell) and doc_b.engine == "sevennet"
        (rb,), (rs,) = doc_b.runs, doc_s.runs
        same = ("status", "n_frames", "discarded_frames", "li_hops", "diffusive",
                "stop_reason", "production_steps", "equilibration_steps", "step_skip",
                "equilibrated", "temperature_within_tolerance")
        assert {k: getattr(rb, k) for k in same} == {k: getattr(rs, k) for k in same}
        assert rb.framework.stable == rs.framework.stable
        assert rb.mean_temperature_K == pytest.approx(rs.mean_temperature_K, abs=1.0)
        assert rb.min_distance_A == pytest.approx(rs.min_distance_A, abs=1e-3)
        assert not rb.diffusive  # a Li2O crystal in 24 fs
        filled = {k for k, v in rs.model_dump().items() if v is not None}
        assert {k for k, v in rb.model_dump().items() if v is not None} == filled


class _FailOne:
    """The real potential, except: the 6-atom structure raises from the 4th call on, and a
    structure whose cell is 2 % expanded gets NaN energies from the 6th."""

    engine = "sevennet"

    def __init__(self, potential, expanded_volume):
        self.potential, self.calls, self.expanded_volume = potential, 0, expanded_volume

    def __call__(self, atoms_list):
        self.calls += 1
        if self.calls >= 4 and any(len(a) == 6 for a in atoms_list):
            raise RuntimeError("simulated engine crash")
        energies, forces = self.potential(atoms_list)
        if self.calls >= 6:
            for i, atoms in enumerate(atoms_list):
                if atoms.get_volume() == pytest.approx(self.expanded_volume):
                    energies[i] = np.nan
        return energies, forces


def test_a_failed_structure_fails_alone(cells, tmp_path):
    protocol = PROTOCOL.with_changes(equilibration_steps=4, production_steps=6, chunk_steps=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        potential = _FailOne(load_batched_potential("sevennet"), cells[2].volume)
        records = run_batched_md(cells, TEMPERATURES, protocol, tmp_path, potential=potential,
                                 structures_per_pass=ONE_PASS)  # bisection finds the culprits
    crashed, good, nan = records
    assert "simulated engine crash" in crashed.error and crashed.stop_reason == "engine error"
    assert "non-finite" in nan.error and nan.stop_reason == "engine error"
    assert crashed.files == [] and nan.files == []
    assert good.error is None and good.production_steps == 6 and len(good.files) == 1
    assert good.stop_reason == "fixed length"
    assert len(read_production(good).energies) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        docs = [make_md_run_doc("sevennet", cell, cell, [record],
                                protocol.with_changes(temperatures=(record.temperature,)))
                for cell, record in zip(cells, records, strict=True)]
    assert [doc.status for doc in docs] == ["failed", "ok", "failed"]
    assert "simulated engine crash" in docs[0].reason


def test_mismatched_inputs_are_errors(cells, tmp_path):
    with pytest.raises(ValueError, match="temperatures"):
        run_batched_md(cells, [1000.0], PROTOCOL, tmp_path)
    with pytest.raises(ValueError, match="max_batch_atoms"):
        run_batched_md(cells, [1000.0] * 3, PROTOCOL, tmp_path, max_batch_atoms=0)
    assert default_max_batch_atoms("sevennet", "cpu") == CPU_MAX_BATCH_ATOMS


class _Harmonic:
    """A cheap stand-in potential: every atom tied to its starting site (no Li hops)."""

    engine = "sevennet"

    def __init__(self, cells, k=5.0):
        self.sites = {len(cell): cell.cart_coords for cell in cells}  # cells differ in size
        self.k = k

    def __call__(self, atoms_list):
        energies, forces = [], []
        for atoms in atoms_list:
            displacement = atoms.positions - self.sites[len(atoms)]
            energies.append(0.5 * self.k * float((displacement**2).sum()))
            forces.append(-self.k * displacement)
        return np.array(energies), forces


def test_materials_run_hottest_first_and_skip_colder_without_hops(cells, tmp_path):
    from sse_flows.md.batched import run_batched_materials
    from sse_flows.md.continuation import SKIPPED

    protocol = PROTOCOL.with_changes(temperatures=(800.0, 1200.0), production_steps=40,
                                     chunk_steps=20, equilibration_steps=10)
    materials = cells[:2]  # 6 and 12 atoms
    workdirs = [tmp_path / "a", tmp_path / "b"]
    per_material = run_batched_materials(materials, protocol, workdirs,
                                         potential=_Harmonic(materials, k=20.0))
    for cell, workdir, (cold, hot) in zip(materials, workdirs, per_material, strict=True):
        assert (cold.temperature, hot.temperature) == (800.0, 1200.0)
        assert hot.error is None and hot.production_steps == 40 and hot.chunks == 2
        assert hot.li_hops == 0 and hot.stop_reason == "fixed length"
        assert cold.stop_reason == SKIPPED and cold.files == []
        assert all(Path(f).parent == workdir.resolve() for f in hot.files)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc = make_md_run_doc("sevennet", cell, cell, [cold, hot], protocol)
        assert doc.status == "ok" and [run.status for run in doc.runs] == ["skipped", "ok"]


class _HarmonicCalculator:
    """The harmonic stand-in as an ASE calculator, for the one-structure engine."""

    def __new__(cls, potential):
        from ase.calculators.calculator import Calculator, all_changes

        class Harmonic(Calculator):
            implemented_properties = ("energy", "forces")

            def calculate(self, atoms=None, properties=None, system_changes=all_changes):
                super().calculate(atoms, properties, system_changes)
                energies, forces = potential([self.atoms])
                self.results = {"energy": float(energies[0]), "forces": forces[0]}

        return Harmonic()


@pytest.mark.parametrize("thermostat", ["nose-hoover-chain", "bussi"])
def test_thermostats_equal_ase_step_for_step(cells, tmp_path, thermostat):
    """With the same float64 forces (a harmonic stand-in) the batched integrators are ASE's:
    Langevin equilibration, then Nose-Hoover chain or Bussi production, frames equal to
    1e-10 in both chunks."""
    protocol = PROTOCOL.with_changes(thermostat=thermostat, production_steps=20,
                                     chunk_steps=10, equilibration_steps=10)
    potential = _Harmonic(cells[:2])
    batched = run_batched_md(cells[:2], [900.0, 900.0], protocol, tmp_path / "b",
                             potential=potential)
    for i, (cell, record) in enumerate(zip(cells[:2], batched, strict=True)):
        single = None
        while single is None or single.stop_reason is None:
            single = md_chunk(cell, 900.0, protocol, tmp_path / f"s{i}",
                              _HarmonicCalculator(potential), single)
        assert record.error is None and record.production_steps == single.production_steps
        assert record.equilibration_steps == single.equilibration_steps
        for fb, fs in zip(record.files, single.files, strict=True):
            with Trajectory(fb) as tb, Trajectory(fs) as ts:
                assert _same_run_fields(tb.description) == _same_run_fields(ts.description)
                for ab, as_ in zip(list(tb), list(ts), strict=True):
                    np.testing.assert_allclose(ab.positions, as_.positions, atol=1e-10)
                    np.testing.assert_allclose(ab.get_momenta(), as_.get_momenta(),
                                               atol=1e-10)


class _Tethered:
    """Harmonic tethers keyed by cell volume (two cells may have the same size); the cell
    whose volume is ``fails`` returns NaN forces from its ``after``-th call on. Records the
    (atoms, volume) of every structure of every call."""

    engine = "sevennet"

    def __init__(self, cells, fails: float, after: int) -> None:
        self.sites = {round(cell.volume, 3): cell.cart_coords for cell in cells}
        self.fails, self.after, self.calls, self.seen = round(fails, 3), after, [], 0

    def __call__(self, atoms_list):
        energies, forces, call = [], [], []
        for atoms in atoms_list:
            volume = round(atoms.get_volume(), 3)
            call.append((len(atoms), volume))
            displacement = atoms.positions - self.sites[volume]
            energies.append(0.5 * 5.0 * float((displacement**2).sum()))
            forces.append(-5.0 * displacement)
            if volume == self.fails:
                self.seen += 1
                if self.seen >= self.after:
                    forces[-1] = forces[-1] * np.nan
        self.calls.append(call)
        return np.array(energies), forces


def test_continuous_batching_refills_a_freed_budget_at_once(cells, tmp_path):
    """Budget 18 atoms, pairs of 6, 12 and 12 atoms: the larger 12 and the 6 start; when the
    12 fails (NaN forces) the other 12 starts at once, while the 6 is still running,
    instead of waiting for the end of a batch; the atoms in flight never exceed 18."""
    protocol = PROTOCOL.with_changes(production_steps=20, chunk_steps=10,
                                     equilibration_steps=10)
    small, first, second = cells  # 6, 12 and 12 (expanded) atoms
    potential = _Tethered(cells, fails=first.volume, after=5)
    records = run_batched_md(cells, [900.0] * 3, protocol, tmp_path, max_batch_atoms=18,
                             potential=potential, structures_per_pass=ONE_PASS)
    assert max(sum(n for n, _ in call) for call in potential.calls) <= 18
    assert "non-finite" in records[1].error and records[1].stop_reason == "engine error"
    assert records[0].error is None and records[2].error is None
    assert records[0].production_steps == records[2].production_steps == 20
    second_volume = round(second.volume, 3)
    start = next(k for k, call in enumerate(potential.calls)
                 if any(v == second_volume for _, v in call))
    small_volume = round(small.volume, 3)
    together = [call for call in potential.calls[start:]
                if {v for _, v in call} == {small_volume, second_volume}]
    assert start < 12 and len(together) > 10  # refilled early, and ran side by side


@pytest.mark.parametrize("engine_path", ["batched", "one-structure"])
def test_a_fallback_temperature_runs_only_when_the_others_give_no_fit(
    cells, tmp_path, monkeypatch, engine_path
):
    """Both force-field engines, three materials: 1000 K (the fallback) runs for the one whose
    1200 K run ends "host unstable" and for the one where only 1200 K is diffusive (no
    Arrhenius fit without it); it is skipped, with its reason, for the one where 800 K and
    1200 K are both diffusive."""
    from sse_flows.md import batched, continuation, driver, forcefield
    from sse_flows.md.continuation import FALLBACK_NOT_NEEDED

    protocol = PROTOCOL.with_changes(
        temperatures=(800.0, 1200.0), fallback_temperatures=(1000.0,), production_steps=20,
        chunk_steps=20, equilibration_steps=10, skip_colder_without_hops=False,
        min_lattice_length=1.0,  # the cells as they are (the one-structure engine builds one)
    )
    workdirs = [tmp_path / "melts", tmp_path / "lonely", tmp_path / "both"]
    decide = continuation.production_decision

    def stand_in_analysis(record, protocol, time_step_fs=None):
        """The harmonic stand-in never diffuses: say what the analysis would of each case."""
        decided = decide(record, protocol, time_step_fs)
        case = Path(record.files[0]).parent.name
        if record.temperature == 1200.0 and case == "melts":
            decided.stop_reason = "host unstable"  # as the analysis says of a molten host
        decided.diffusive = (case == "lonely" and record.temperature == 1200.0) or (
            case == "both")
        return decided

    monkeypatch.setattr(driver, "production_decision", stand_in_analysis)
    potential = _Tethered(cells, fails=-1.0, after=0)  # tethered by volume; none fails
    if engine_path == "batched":
        per_material = batched.run_batched_materials(cells, protocol, workdirs,
                                                     potential=potential)
    else:
        monkeypatch.setattr(forcefield, "load_calculator",
                            lambda *args: _HarmonicCalculator(potential))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            docs = [forcefield.run_forcefield_md(cell, protocol, workdir)
                    for cell, workdir in zip(cells, workdirs, strict=True)]
        per_material = [[_read_back(run) for run in doc.runs] for doc in docs]
    melts, lonely, both = per_material
    assert [r.temperature for r in melts] == [800.0, 1000.0, 1200.0]
    cold, fallback, hot = melts
    assert hot.stop_reason == "host unstable"
    assert fallback.stop_reason == "fixed length" and fallback.production_steps == 20
    assert fallback.files and Path(fallback.files[0]).parent == workdirs[0].resolve()
    assert cold.stop_reason == "fixed length"  # colder runs are not skipped here
    assert lonely[1].stop_reason == "fixed length" and lonely[1].production_steps == 20
    assert lonely[2].stop_reason == "fixed length"  # an intact host: the fit lacks a point
    cold2, fallback2, hot2 = both
    assert hot2.stop_reason == "fixed length" and cold2.stop_reason == "fixed length"
    assert fallback2.stop_reason == FALLBACK_NOT_NEEDED and not fallback2.files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = make_md_run_doc("sevennet", cells[2], cells[2], [cold2, fallback2, hot2],
                              protocol)
    assert [run.status for run in doc.runs] == ["ok", "skipped", "ok"]
    assert "fallback" in doc.runs[1].reasons[0]
    assert [t.T for t in doc.diffusion.temperatures] == [800.0, 1200.0]


def _read_back(run):
    """The ProductionRecord fields a test compares, from a document's run."""
    from sse_flows.md.schemas import ProductionRecord

    return ProductionRecord(temperature=run.temperature, stop_reason=run.stop_reason,
                            production_steps=run.production_steps,
                            files=run.trajectory_files)


def test_a_raised_length_limit_extends_finished_runs_from_their_checkpoints(
    cells, tmp_path, monkeypatch
):
    """Run again with a higher ``max_production_steps``, a pair that stopped at the old limit
    continues from its last chunk (its chunks kept, no new equilibration); with a limit below
    what it ran, it starts afresh (the old run is not a prefix of the new protocol's)."""
    from sse_flows.md import driver

    def limits_only(record, protocol, time_step_fs=None):
        """Stop at the length limit only (the tethered stand-in never diffuses)."""
        decided = record.model_copy()
        if record.production_steps >= protocol.production_limit:
            decided.stop_reason = "maximum length reached"
        return decided

    monkeypatch.setattr(driver, "production_decision", limits_only)
    cell = cells[0]
    calls = []

    class Counting(_Harmonic):
        def __call__(self, atoms_list):
            calls.append(len(atoms_list))
            return super().__call__(atoms_list)

    potential = Counting([cell])
    short = PROTOCOL.with_changes(production_steps=10, max_production_steps=20,
                                  chunk_steps=10, equilibration_steps=10)
    (first,) = run_batched_md([cell], [900.0], short, tmp_path, potential=potential)
    assert (first.production_steps, first.chunks) == (20, 2)
    assert first.stop_reason == "maximum length reached"
    kept = {f: Path(f).stat().st_mtime_ns for f in first.files}
    last = Trajectory(first.files[-1])[-1]

    calls.clear()
    longer = short.with_changes(max_production_steps=40, target_d_relative_error=0.1)
    (extended,) = run_batched_md([cell], [900.0], longer, tmp_path, potential=potential)
    assert (extended.production_steps, extended.chunks) == (40, 4)
    assert extended.stop_reason == "maximum length reached"
    assert extended.files[:2] == first.files
    assert {f: Path(f).stat().st_mtime_ns for f in first.files} == kept
    assert extended.equilibration_steps == first.equilibration_steps == 10  # not run again
    assert len(calls) <= 20 + 2  # 20 new steps (and a force call to start), nothing more
    # chunk 3 starts where chunk 2 ended (its first frame is that one), then moves on
    chunk3 = Trajectory(extended.files[2])
    np.testing.assert_allclose(chunk3[0].positions, last.positions, atol=1e-10)
    np.testing.assert_allclose(chunk3[0].get_momenta(), last.get_momenta(), atol=1e-10)
    assert np.abs(chunk3[-1].positions - last.positions).max() > 1e-3

    calls.clear()
    shorter = short.with_changes(max_production_steps=10)
    (again,) = run_batched_md([cell], [900.0], shorter, tmp_path, potential=potential)
    assert (again.production_steps, again.chunks) == (10, 1)
    assert again.equilibration_steps == 10 and len(calls) >= 20  # afresh, equilibration too
