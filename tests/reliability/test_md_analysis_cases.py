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
