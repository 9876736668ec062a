"""Diffusion analysis: trajectories -> D(T) -> Arrhenius -> sigma_RT with uncertainty.

Public API::

    from sse_flows.analysis import analyze_runs, load_runs, DiffusionDoc, TemperatureRun
"""

from sse_flows.analysis.core import analyze_runs, analyze_trajectories
from sse_flows.analysis.diffusion import DiffusionSettings
from sse_flows.analysis.readers import TrajectoryReadError, load_runs, read_run
from sse_flows.analysis.runs import TemperatureRun
from sse_flows.analysis.schemas import DiffusionDoc, TemperatureDiffusion

__all__ = [
    "DiffusionDoc",
    "DiffusionSettings",
    "TemperatureDiffusion",
    "TemperatureRun",
    "TrajectoryReadError",
    "analyze_runs",
    "analyze_trajectories",
    "load_runs",
    "plot_arrhenius",
    "read_run",
]


def plot_arrhenius(*args, **kwargs):
    """Arrhenius plot of one or several DiffusionDocs (see :mod:`sse_flows.analysis.plotting`)."""
    from sse_flows.analysis.plotting import plot_arrhenius as _plot

    return _plot(*args, **kwargs)
