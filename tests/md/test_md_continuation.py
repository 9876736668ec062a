"""Continue-until: production stops when D is known well enough, at the limit, or when the
host melts; the decision reads the chunks with the analysis stage's own code."""

from __future__ import annotations

import numpy as np
import pytest
from md_synthetic import save_run, vibrating_run

from sse_flows.analysis.synthetic import random_walk_run
from sse_flows.md.continuation import production_decision
from sse_flows.md.protocol import MDProtocol
from sse_flows.md.schemas import ProductionRecord


def _walk_record(tmp_path, rate, n_frames, steps, seed=0) -> ProductionRecord:
    walk = random_walk_run(rate, temperature=1000.0, n_cells=3, n_frames=n_frames,
                           time_step_fs=100.0, seed=seed)
    return ProductionRecord(temperature=1000.0, production_steps=steps, chunks=1,
                            files=[save_run(walk, tmp_path / f"walk{seed}.json")])


CONTINUING = MDProtocol(production_steps=5000, max_production_steps=20000, chunk_steps=5000,
                        trajectory_interval=50, target_d_relative_error=0.3)


def test_fast_diffusion_stops_at_the_target_error(tmp_path):
    record = production_decision(_walk_record(tmp_path, 2.0, 300, 5000), CONTINUING)
    assert record.stop_reason == "target error reached"
    assert record.d_relative_error <= 0.3 and record.li_hops > 100


def test_few_hops_continue_until_the_limit(tmp_path):
    record = production_decision(_walk_record(tmp_path, 0.05, 100, 5000), CONTINUING)
    assert record.stop_reason is None  # D not yet known to 30 %: one more chunk
    assert record.d_relative_error > 0.3
    record.production_steps = 20000
    assert production_decision(record, CONTINUING).stop_reason == "maximum length reached"


def test_a_run_without_hops_stops_after_the_minimum_length(tmp_path, li2o_cubic):
    """A vibrating crystal (a poor conductor) is not run to the maximum length: at its rate
    of hops (none) the limit could not make it diffusive."""
    run = vibrating_run(li2o_cubic, n_frames=100, time_step_fs=100.0)
    record = ProductionRecord(temperature=1000.0, production_steps=5000, chunks=1,
                              files=[save_run(run, tmp_path / "crystal.json")])
    decided = production_decision(record, CONTINUING)
    assert decided.stop_reason == "too few hops" and decided.li_hops == 0
    record.production_steps = 4000  # below the minimum length: keep going
    assert production_decision(record, CONTINUING).stop_reason is None


def test_the_hop_count_limit_is_the_poisson_upper_confidence_limit():
    from scipy.stats import poisson

    from sse_flows.md.continuation import hop_count_upper_limit

    assert hop_count_upper_limit(0) == pytest.approx(-np.log(1 - 0.84), rel=1e-9)
    for hops in (0, 2, 10, 50):
        upper = hop_count_upper_limit(hops, 0.95)
        # the mean at which seeing <= hops has probability 5 %
        assert poisson.cdf(hops, upper) == pytest.approx(0.05, abs=1e-9)
        assert upper > hops
    with pytest.raises(ValueError, match="negative"):
        hop_count_upper_limit(-1)


def test_two_counted_hops_are_not_proof_of_a_poor_conductor(tmp_path):
    """The Li3InCl6 case: two hops in the first quarter of the maximum length. Scaled as a
    point value (8 < 10) they stopped the run; their Poisson upper limit (4.6 x 4) does not."""
    from sse_flows.md.continuation import diffusion_out_of_reach

    record = _walk_record(tmp_path, 0.01, 100, 5000, seed=4)
    decided = production_decision(record, CONTINUING)
    assert decided.li_hops == 2 and 2 * 20000 / 5000 < 10
    assert decided.stop_reason is None
    # the same count a quarter as far from the limit: the run stops
    record.production_steps = 16000
    assert production_decision(record, CONTINUING).stop_reason == "too few hops"
    # the MSD has a vote too: few hops with a linear MSD above the detection limit go on
    from types import SimpleNamespace

    from sse_flows.analysis.diffusion import DiffusionSettings

    settings = DiffusionSettings()
    entry = SimpleNamespace(li_hops=0, D_cm2_s=1e-5, D_detection_limit=1e-5, msd_exponent=0.9)
    assert not diffusion_out_of_reach(entry, 5000, 10000, settings)
    caged = SimpleNamespace(li_hops=0, D_cm2_s=1e-5, D_detection_limit=1e-5, msd_exponent=0.3)
    assert diffusion_out_of_reach(caged, 5000, 10000, settings)
    slow = SimpleNamespace(li_hops=0, D_cm2_s=1e-7, D_detection_limit=1e-5, msd_exponent=0.9)
    assert diffusion_out_of_reach(slow, 5000, 10000, settings)


def test_colder_runs_are_skipped_only_after_a_hottest_run_without_hops():
    from sse_flows.md.continuation import SKIPPED, skip_colder

    def hottest(**fields):
        return ProductionRecord(temperature=1200.0, production_steps=5000, **fields)

    poor = hottest(stop_reason="too few hops", li_hops=2)
    assert skip_colder(800.0, poor, CONTINUING).stop_reason == SKIPPED
    assert skip_colder(800.0, hottest(stop_reason="fixed length", li_hops=0),
                       CONTINUING).stop_reason == SKIPPED
    # a diffusing, melted, crashed or undecided hottest run: the colder runs are needed
    for record in (hottest(stop_reason="target error reached", li_hops=300),
                   hottest(stop_reason="maximum length reached", li_hops=40),
                   hottest(stop_reason="host unstable", li_hops=0),
                   hottest(stop_reason="engine error", error="crash", li_hops=0),
                   hottest(stop_reason="maximum length reached", li_hops=None)):
        assert skip_colder(800.0, record, CONTINUING) is None
    assert skip_colder(1200.0, poor, CONTINUING) is None  # never the hottest itself
    off = MDProtocol(skip_colder_without_hops=False)
    assert skip_colder(800.0, poor, off) is None


def test_fallback_temperatures_run_when_the_others_give_no_arrhenius_fit():
    """600/1000 K with an 800 K fallback: it runs when 1000 K melted, or when 1000 K alone
    diffuses (600 K saw too few hops, or no linear MSD, in its length); not when 600 K
    diffuses too, nor when 1000 K does not (600 K sees less)."""
    from sse_flows.md.continuation import FALLBACK_NOT_NEEDED, fallback_needed, skip_colder

    protocol = MDProtocol(temperatures=(600, 1000), fallback_temperatures=(800,))

    def records(hot: dict, cold: dict | None = None):
        out = {1000.0: ProductionRecord(temperature=1000.0, production_steps=1000, **hot)}
        if cold is not None:
            out[600.0] = ProductionRecord(temperature=600.0, production_steps=1000, **cold)
        return out

    diffusive = {"stop_reason": "maximum length reached", "li_hops": 41, "diffusive": True}
    frozen = {"stop_reason": "too few hops", "li_hops": 0, "diffusive": False}
    melted = {"stop_reason": "host unstable", "li_hops": 30, "diffusive": True}
    assert fallback_needed(records(melted, diffusive), protocol)
    assert fallback_needed(records(diffusive, frozen), protocol)  # Li3P: 41 hops vs none
    assert fallback_needed(records(diffusive, {**diffusive, "diffusive": False}), protocol)
    assert not fallback_needed(records(diffusive, diffusive), protocol)
    assert not fallback_needed(records(frozen), protocol)
    assert not fallback_needed({}, protocol)
    # skip_colder: with only the hottest record, a diffusive hottest alone asks for it
    hot = records(diffusive)[1000.0]
    assert skip_colder(800.0, hot, protocol) is None
    both = records(diffusive, diffusive)
    assert skip_colder(800.0, hot, protocol, both).stop_reason == FALLBACK_NOT_NEEDED


def test_fixed_length_and_engine_errors(tmp_path):
    fixed = MDProtocol(production_steps=5000, chunk_steps=5000)
    record = production_decision(_walk_record(tmp_path, 0.05, 100, 5000), fixed)
    assert record.stop_reason == "fixed length"
    crashed = ProductionRecord(temperature=1000.0, error="MD crashed: boom")
    assert production_decision(crashed, CONTINUING).stop_reason == "engine error"


def test_a_melting_host_stops_production(tmp_path, li2o_cubic):
    run = vibrating_run(li2o_cubic, n_frames=100, time_step_fs=100.0)
    rng = np.random.default_rng(3)
    host = [i for i, s in enumerate(run.species) if s != "Li"]
    walk = np.cumsum(rng.normal(0, 0.15, (100, len(host), 3)), axis=0)  # liquid-like host
    run.frac_coords[:, host] += walk @ np.linalg.inv(run.lattice)
    record = ProductionRecord(temperature=1000.0, production_steps=5000, chunks=1,
                              files=[save_run(run, tmp_path / "melt.json")])
    decided = production_decision(record, CONTINUING)
    assert decided.stop_reason == "host unstable"
    # a host that breaks in the last chunk is reported as such, not as the length limit
    # (LiZnPS4's Zn left its sites in the last 1000 K chunk; its fallback was skipped)
    record.production_steps = CONTINUING.production_limit
    assert production_decision(record, CONTINUING).stop_reason == "host unstable"
    fixed = MDProtocol(production_steps=5000, chunk_steps=5000, trajectory_interval=50)
    assert production_decision(record.model_copy(update={"production_steps": 5000}),
                               fixed).stop_reason == "host unstable"


@pytest.mark.parametrize("thermostat", ["bussi", "langevin", "nose-hoover-chain"])
def test_thermostats_hold_the_target_temperature(thermostat):
    """EMT copper (fast, no ML): equilibration settles and production stays within 5 %."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from sse_flows.md.forcefield import _dynamics, equilibrate

    atoms = bulk("Cu", cubic=True).repeat((3, 3, 2))
    atoms.calc = EMT()
    protocol = MDProtocol(equilibration_steps=300, thermostat=thermostat, time_step_fs=2.0,
                          thermostat_time_fs=50.0)
    steps, mean, settled = equilibrate(atoms, 600.0, protocol)
    assert settled and abs(mean - 600.0) < 30.0 and steps in (300, 600, 900)
    dyn = _dynamics(atoms, thermostat, 600.0, protocol, seed=1)
    temps = []
    dyn.attach(lambda: temps.append(atoms.get_temperature()), interval=2)
    dyn.run(2000)  # 4 ps: the mean of a 72-atom run is known to ~2 %
    assert abs(np.mean(temps) - 600.0) < 0.05 * 600.0


def test_the_stop_decision_reads_the_window_the_document_analyses(tmp_path, li2o_cubic):
    """Each host atom moves 2.5 A (random directions, no net drift) while the run is still
    50 % too hot (its first quarter), then vibrates on its sites at the target temperature.
    The document leaves that start out (``settled_start``) and finds the host intact; the
    stop decision reads the same window, so it does not stop the run as "host unstable" on
    frames the document drops."""
    from sse_flows.analysis.diffusion import analyze_temperature
    from sse_flows.md.continuation import read_production
    from sse_flows.md.documents import make_md_run_doc

    n_frames, unsettled = 120, 30
    run = vibrating_run(li2o_cubic, n_frames=n_frames, time_step_fs=40.0)
    host = [i for i, s in enumerate(run.species) if s != "Li"]
    directions = np.random.default_rng(5).normal(size=(len(host), 3))
    directions *= 2.5 / np.linalg.norm(directions, axis=1, keepdims=True)
    directions -= directions.mean(axis=0)  # no drift of the host as a whole
    weight = np.zeros(n_frames)
    weight[:unsettled] = np.linspace(1.0, 0.0, unsettled)
    shift = weight[:, None, None] * directions[None]
    run.frac_coords[:, host] += shift @ np.linalg.inv(run.lattice)
    run.kinetic_temperatures[:unsettled] = 1500.0
    protocol = MDProtocol(temperatures=(1000.0,), production_steps=4800,
                          max_production_steps=48000, chunk_steps=4800,
                          trajectory_interval=10, equilibration_steps=0)
    record = ProductionRecord(temperature=1000.0, production_steps=4800, chunks=1,
                              files=[save_run(run, tmp_path / "hot_start.json")])
    # the whole run, start included, looks like a host that left its sites
    assert not analyze_temperature(read_production(record)).framework_stable
    decided = production_decision(record, protocol)
    assert decided.stop_reason != "host unstable"
    doc = make_md_run_doc("chgnet", li2o_cubic, li2o_cubic,
                          [decided.model_copy(update={"stop_reason": "fixed length"})],
                          protocol)
    (run_doc,) = doc.runs
    assert run_doc.discarded_frames >= unsettled and run_doc.framework.stable


def test_an_undetermined_verdict_earns_a_chunk_at_the_limiting_temperature():
    """Two short Arrhenius points 200 K apart leave a wide interval ("undetermined"): the
    coldest run, whose longer run narrows it most, gets one more chunk past the limit; a
    decided verdict, a host that broke, or no rounds left get none."""
    from sse_flows.analysis import analyze_runs
    from sse_flows.analysis.synthetic import arrhenius_hop_rate
    from sse_flows.analysis.verdict import diffusion_verdict
    from sse_flows.md.continuation import extension_protocol, extension_temperature

    runs = [random_walk_run(arrhenius_hop_rate(t, 0.3), temperature=t, n_frames=200,
                            time_step_fs=25.0, n_cells=3, seed=i)
            for i, t in enumerate((800.0, 1000.0))]
    doc = analyze_runs(runs)
    assert doc.n_fit == 2 and diffusion_verdict(doc) == "undetermined"
    protocol = MDProtocol(temperatures=(800.0, 1000.0), production_steps=500,
                          max_production_steps=1000, chunk_steps=250, trajectory_interval=5,
                          extension_chunks=2)
    records = {t: ProductionRecord(temperature=t, production_steps=1000, chunks=4,
                                   stop_reason="maximum length reached") for t in (800, 1000)}
    assert extension_temperature(doc, records, protocol) == 800.0
    longer = extension_protocol(records[800.0], protocol)
    assert longer.max_production_steps == 1250 and longer.extension_chunks == 1
    assert longer.pair_key() == protocol.pair_key()  # the checkpoint stays valid
    assert longer.next_chunk_steps(1000) == 250  # exactly one more chunk
    # no rounds left, or the limiting run's host broke: nothing more
    assert extension_temperature(doc, records, protocol.with_changes(extension_chunks=0)) is None
    records[800.0].stop_reason = "host unstable"
    assert extension_temperature(doc, records, protocol) is None


def test_extension_rounds_leave_earlier_flows_unchanged():
    """extension_chunks = 0 is absent from the protocol's dict: flows and cells hashed
    before the field existed keep their hash."""
    assert "extension_chunks" not in MDProtocol().as_dict()
    assert MDProtocol(extension_chunks=2).as_dict()["extension_chunks"] == 2
    assert MDProtocol.from_dict(MDProtocol(extension_chunks=2).as_dict()).extension_chunks == 2
    with pytest.raises(ValueError, match="extension_chunks"):
        MDProtocol(extension_chunks=-1)
