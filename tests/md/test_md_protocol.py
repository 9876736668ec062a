"""One MDProtocol everywhere: validation, derived `reduced`, chunk plans, and the two bugs
that two naming schemes caused (a VASP maker that could not be built, a reduced run
documented as the paper's)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.util.testing import MatSciTest

from sse_flows.md.makers import AimdProtocolMaker, ForceFieldMdProtocolMaker, md_maker
from sse_flows.md.protocol import MDProtocol, make_md_supercell, supercell_scaling


def test_defaults_are_the_papers_protocol():
    protocol = MDProtocol()
    assert protocol.temperatures == (600.0, 800.0, 1000.0, 1200.0)
    assert (protocol.time_step_fs, protocol.equilibration_steps, protocol.production_steps) == (
        2.0, 3000, 10000,
    )
    assert protocol.planned_chunks() == [2500] * 4 and not protocol.continues
    assert protocol.reduced is False and protocol.min_lattice_length == 10.0
    assert MDProtocol.reduced_cpu().reduced is True
    assert MDProtocol(min_lattice_length=8.0).reduced is True  # smaller cells are reduced too


def test_chunks_continue_until_the_limit():
    protocol = MDProtocol(production_steps=2000, max_production_steps=5000, chunk_steps=1500)
    assert protocol.planned_chunks() == [1500, 500]  # cut at the guaranteed length
    assert protocol.next_chunk_steps(2000) == 1500
    assert protocol.next_chunk_steps(3500) == 1500
    assert protocol.next_chunk_steps(5000) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"temperatures": (-300.0, 0.0)}, "temperatures"),
        ({"temperatures": (1e6,)}, "temperatures"),
        ({"temperatures": (800.0, 800.0)}, "differ"),
        ({"production_steps": 0}, "production_steps"),
        ({"max_production_steps": 10}, "max_production_steps"),
        ({"trajectory_interval": 0}, "trajectory_interval"),
        ({"trajectory_interval": 20000}, "no frames"),
        ({"min_lattice_length": -10}, "min_lattice_length"),
        ({"thermostat": "berendsen"}, "thermostat"),
        ({"fallback_temperatures": (1300.0,)}, "below the hottest"),
        ({"fallback_temperatures": (800.0,)}, "differ from every other"),
        ({"fallback_temperatures": (900.0, 900.0)}, "fallback_temperatures"),
        ({"fallback_temperatures": ("hot",)}, "fallback_temperatures must be numbers"),
    ],
)
def test_nonsense_is_refused_with_a_named_reason(changes, message):
    with pytest.raises(ValueError, match=message):
        MDProtocol(**changes)


def test_round_trip_and_unknown_keys():
    protocol = MDProtocol.reduced_cpu(temperatures=(900, 1100))
    assert MDProtocol.from_dict(protocol.as_dict()) == protocol
    assert MDProtocol.from_dict({**protocol.as_dict(), "reduced": False}).reduced is True
    with pytest.raises(ValueError, match="unknown MD protocol parameter"):
        MDProtocol.from_dict({"steps": 100})


def test_fallback_temperatures_join_the_records_but_not_the_pair_key():
    protocol = MDProtocol(temperatures=(600, 1000), fallback_temperatures=(800,))
    assert protocol.run_temperatures == (600.0, 800.0, 1000.0)
    assert MDProtocol.from_dict(protocol.as_dict()) == protocol
    assert "800 K if the others give no Arrhenius fit" in protocol.describe()
    # a checkpoint of the 600 K or 1000 K run stays valid when only the fallbacks change
    assert protocol.pair_key() == MDProtocol(temperatures=(600, 1000)).pair_key()
    assert protocol.pair_key() != MDProtocol(temperatures=(600, 1200)).pair_key()
    # nor when the continue-until limits change (a finished run is extended); a trajectory
    # setting changes it
    assert protocol.pair_key() == protocol.with_changes(
        max_production_steps=50000, target_d_relative_error=0.1).pair_key()
    assert protocol.pair_key() != protocol.with_changes(chunk_steps=1000).pair_key()


def test_force_field_maker_chains_a_fallback_on_the_protocol_runs(li2o):
    protocol = MDProtocol(temperatures=(800, 1200), fallback_temperatures=(1000,),
                          skip_colder_without_hops=False)
    flow = ForceFieldMdProtocolMaker(protocol=protocol, engine="sevennet").make(li2o, "x")
    jobs = {job.name: job for job in flow.jobs}
    hot, fallback = jobs["sevennet md x 1200K chunk 1"], jobs["sevennet md x 1000K chunk 1"]
    cold = jobs["sevennet md x 800K chunk 1"]
    assert fallback.function_kwargs["hotter"].uuid == hot.uuid  # waits, even without skips
    # ... and for every protocol temperature: it runs when they leave no Arrhenius fit
    assert [r.uuid for r in fallback.function_kwargs["earlier"]] == [cold.uuid, hot.uuid]
    assert cold.function_kwargs["hotter"] is None and cold.function_kwargs["earlier"] is None
    records = jobs["sevennet collect x"].function_kwargs["records"]
    assert [r.uuid for r in records][1:] == [fallback.uuid, hot.uuid]  # ascending T
    # the AIMD flow keeps it: one job that waits for both decisions and adds the chain only
    # when needed (run with mocked VASP in test_md_vasp_aimd.py)
    aimd = md_maker("vasp", protocol)
    assert aimd.protocol.fallback_temperatures == (1000.0,)
    vasp_jobs = {job.name: job for job in aimd.make(li2o).jobs}
    assert not any(name.startswith("aimd production 1000K") for name in vasp_jobs)
    earlier = vasp_jobs["aimd fallback 1000K"].function_args[3]
    assert [r.uuid for r in earlier] == [vasp_jobs["aimd decide 800K"].uuid,
                                         vasp_jobs["aimd decide 1200K"].uuid]


def test_vasp_maker_takes_any_protocol_field(li2o):
    """Was: AimdProtocolMaker(trajectory_interval=5) raised TypeError on the worker."""
    protocol = MDProtocol.reduced_cpu(temperatures=(900.0,), trajectory_interval=5)
    maker = md_maker("vasp", protocol)
    assert isinstance(maker, AimdProtocolMaker) and maker.protocol is protocol
    flow = maker.make(li2o)
    names = [job.name for job in flow.jobs]
    assert names[0] == "aimd equilibration 900K"
    assert [n for n in names if n.startswith("aimd production")] == ["aimd production 900K 1",
                                                                      "aimd production 900K 2"]
    assert names[-2:] == ["aimd decide 900K", "aimd check"]
    incar = maker.input_set_generator(900.0, 500).get_input_set(li2o, potcar_spec=True).incar
    assert incar["NSW"] == 500 and incar["POTIM"] == 2 and incar["TEBEG"] == 900


def test_discovery_flow_passes_the_protocol_it_was_given():
    """Was: the discovery flow's MD documents said reduced_protocol=False for reduced runs."""
    from sse_flows.flows.discovery import DiscoveryFlowMaker

    protocol = MDProtocol.reduced_cpu(temperatures=(800.0, 1200.0))
    flow = DiscoveryFlowMaker(md_engine="vasp", md_protocol=protocol).make()
    jobs = {job.name: job for job in flow.jobs}
    validate, rank = jobs["md validation"], jobs["rank candidates"]
    assert MDProtocol.from_dict(validate.function_args[2]) == protocol
    assert validate.function_args[1] == "vasp"
    assert rank.function_kwargs["reduced_protocol"] is True
    assert "REDUCED" in rank.function_kwargs["protocol"]


def test_force_field_maker_builds_one_chain_per_temperature(li2o):
    maker = ForceFieldMdProtocolMaker(protocol=MDProtocol(temperatures=(800, 1200)),
                                      engine="sevennet")
    flow = maker.make(li2o, material_id="mp-1960")
    assert [job.name for job in flow.jobs] == [
        "sevennet prepare mp-1960", "sevennet md mp-1960 1200K chunk 1",
        "sevennet md mp-1960 800K chunk 1", "sevennet collect mp-1960",
    ]
    # the colder chain waits for the hottest (it may be skipped), the hottest for nothing
    hot, cold = flow.jobs[1], flow.jobs[2]
    assert cold.function_kwargs["hotter"].uuid == hot.uuid
    assert hot.function_kwargs["hotter"] is None
    # the collected records stay in the protocol's temperature order
    collect = flow.jobs[-1]
    assert [r.uuid for r in collect.function_kwargs["records"]] == [cold.uuid, hot.uuid]
    side_by_side = ForceFieldMdProtocolMaker(
        protocol=MDProtocol(temperatures=(800, 1200), skip_colder_without_hops=False)
    ).make(li2o)
    assert side_by_side.jobs[2].function_kwargs["hotter"] is None
    with pytest.raises(ValueError, match="engine"):
        md_maker("lammps")


def test_md_supercell_lengths_and_orientation():
    for name in ("Li2O", "LiFePO4"):
        structure = MatSciTest.get_structure(name)
        supercell = make_md_supercell(structure, 10.0)
        scaling = supercell_scaling(structure, 10.0)
        assert min(supercell.lattice.abc) >= 10.0
        # the smallest such diagonal supercell: one fewer repeat along any axis is too short
        for axis, n in enumerate(scaling):
            assert n == 1 or structure.lattice.abc[axis] * (n - 1) < 10.0
        matrix = supercell.lattice.matrix
        assert np.allclose(np.tril(matrix, -1), 0.0)  # upper triangular, as ASE needs
        assert (np.diag(matrix) > 0).all()
        reference = structure * scaling
        np.testing.assert_allclose(
            np.sort(supercell.distance_matrix.ravel()),
            np.sort(reference.distance_matrix.ravel()),
            atol=1e-8,
        )


def test_one_flag_name_per_parameter_old_spellings_still_parse():
    """`--min-lattice-length` and `--trajectory-interval` are the names shown; the old
    `--min-length` and `--traj-interval` still parse to the same parameters, unlisted."""
    from pathlib import Path

    from click.testing import CliRunner

    from sse_flows.cli import cli
    from sse_flows.md.commands import md

    shown = CliRunner().invoke(cli, ["md", "--help"]).output
    assert "--min-lattice-length" in shown and "--trajectory-interval" in shown
    assert "--min-length" not in shown and "--traj-interval" not in shown
    structure = Path(__file__).resolve().parents[2] / "sse_flows/data/structures/Li3PO4.json"
    ctx = md.make_context("md", [str(structure), "--min-length", "9", "--traj-interval", "4"])
    assert ctx.params["min_lattice_length"] == 9.0 and ctx.params["trajectory_interval"] == 4


def test_demo_fallback_keeps_most_of_the_lever():
    """The demo's fallback replaces a lost coldest run: with the hottest temperature it must
    keep at least half the protocol's 1/T lever, or Ea from two 4-ps runs is too loose to
    decide a verdict (800 K beside 600/1000 K keeps 38 %, and an LGPS seed that lost
    600 K came out undetermined)."""
    from sse_flows.md.protocol import DEMO_PROTOCOL

    hottest, coldest = max(DEMO_PROTOCOL.temperatures), min(DEMO_PROTOCOL.temperatures)
    (fallback,) = DEMO_PROTOCOL.fallback_temperatures
    assert coldest < fallback < hottest
    kept = (1 / fallback - 1 / hottest) / (1 / coldest - 1 / hottest)
    assert kept >= 0.5


def test_fallback_temperatures_option():
    """`--fallback-temperatures 900` sets them, `none` clears the demo's fallback, and a
    value above the hottest temperature is a usage error that names the option."""
    import click

    from sse_flows.md.commands import protocol_from_options
    from sse_flows.md.protocol import DEMO_PROTOCOL

    assert DEMO_PROTOCOL.fallback_temperatures
    assert protocol_from_options(DEMO_PROTOCOL, {"fallback_temperatures": "900"}
                                 ).fallback_temperatures == (900.0,)
    assert protocol_from_options(DEMO_PROTOCOL, {"fallback_temperatures": "none"}
                                 ).fallback_temperatures == ()
    with pytest.raises(click.UsageError, match="--fallback-temperatures must lie below"):
        protocol_from_options(DEMO_PROTOCOL, {"fallback_temperatures": "1200"})
