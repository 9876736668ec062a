"""Parameter errors and the command-line names of parameters, below every stage.

:class:`ParameterError` is what every stage raises for a bad user parameter; the option
tables let it name the command-line option. This module imports nothing of the package, so
any stage can raise it without an import cycle (:mod:`sse_flows.validation` re-exports it).
"""

from __future__ import annotations

import click

#: DiscoveryFlowMaker field -> command-line option of ``submit`` / ``demo``
DISCOVERY_OPTIONS = {
    "source": "--source",
    "training_path": "--training",
    "algorithms": "--algorithms",
    "evaluation_splits": "--evaluation-splits",
    "grouped_evaluation": "--grouped",
    "evaluation_cluster_repeats": "--evaluation-cluster-repeats",
    "vote_splits": "--vote-splits",
    "md_processes": "--md-processes",
    "min_votes": "--min-votes",
    "recipe": "--recipe",
    "max_md": "--max-md",
    "md_scope": "--md-scope",
    "md_top": "--md-top",
    "control_formula": "--control",
    "negative_control_formula": "--negative-control",
    "structures_dir": "--structures-dir",
    "md_engine": "--md-engine",
    "md_protocol": "--temperatures/--steps/...",
    "md_device": "--md-device",
    "md_max_atoms": "--md-max-atoms",
}

#: MDProtocol field -> command-line option (``md``, ``submit``, ``demo``)
PROTOCOL_OPTIONS = {
    "temperatures": "--temperatures",
    "fallback_temperatures": "--fallback-temperatures",
    "max_production_steps": "--max-steps",
    "production_steps": "--steps",
    "equilibration_steps": "--equil-steps",
    "chunk_steps": "--chunk-steps",
    "min_lattice_length": "--min-lattice-length",
    "trajectory_interval": "--trajectory-interval",
    "thermostat": "--thermostat",
}


class ParameterError(ValueError):
    """A user parameter is invalid; the message names it, the problem and the fix.

    Parameters
    ----------
    name
        The parameter (Python name, e.g. ``"evaluation_splits"``).
    problem
        What is wrong with it and how to fix it (e.g. ``"must be >= 2, got 0"``).
    option
        Its command-line option (e.g. ``"--evaluation-splits"``); derived from ``name``
        when not given.
    """

    def __init__(self, name: str, problem: str, option: str | None = None) -> None:
        self.name = name
        self.problem = problem
        self.option = option or DISCOVERY_OPTIONS.get(name) or "--" + name.replace("_", "-")
        super().__init__(f"invalid {name}: {problem}")

    def to_click(self) -> click.UsageError:
        """The same message as a click usage error (exit code 2) naming the option."""
        return click.BadParameter(self.problem, param_hint=f"'{self.option}'")
