"""jobflow job (and Maker) of the diffusion analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobflow import Maker, job

from sse_flows.analysis.core import analyze_runs
from sse_flows.analysis.readers import read_run
from sse_flows.analysis.runs import TemperatureRun
from sse_flows.analysis.schemas import DiffusionDoc

__all__ = ["DiffusionAnalysisMaker", "analyze_diffusion_job", "runs_from_inputs"]


def runs_from_inputs(
    trajectories: Sequence[str | Path | TemperatureRun | dict[str, Any]],
    temperatures: Sequence[float] | None = None,
    time_step_fs: float | None = None,
) -> list[TemperatureRun]:
    """Turn file paths, ``TemperatureRun`` objects or their ``as_dict`` dicts into runs.

    Parameters
    ----------
    trajectories
        One entry per temperature: a trajectory file, a run, or a serialized run.
    temperatures
        Optional temperature per entry (overrides what the files say).
    time_step_fs
        Time between frames for file formats that do not store it.
    """
    if temperatures is not None and len(temperatures) != len(trajectories):
        raise ValueError(
            f"{len(temperatures)} temperatures for {len(trajectories)} trajectories; "
            "give one temperature per trajectory"
        )
    runs = []
    for i, item in enumerate(trajectories):
        temp = None if temperatures is None else float(temperatures[i])
        if isinstance(item, TemperatureRun):
            run = item
        elif isinstance(item, dict):
            run = TemperatureRun.from_dict(item)
        else:
            run = read_run(item, temperature=temp, time_step_fs=time_step_fs)
        if temp is not None:
            run.temperature_K = temp
        runs.append(run)
    return runs


@job(output_schema=DiffusionDoc)
def analyze_diffusion_job(
    trajectories: Sequence[str | Path | TemperatureRun | dict[str, Any]],
    temperatures: Sequence[float] | None = None,
    specie: str = "Li",
    material_id: str | None = None,
    time_step_fs: float | None = None,
    **analysis_kwargs: Any,
) -> DiffusionDoc:
    """Analyse MD runs at several temperatures into a :class:`DiffusionDoc`.

    Parameters
    ----------
    trajectories
        One per temperature: trajectory files (DiffusionAnalyzer / pymatgen Trajectory JSON,
        vasprun.xml, XDATCAR, ASE .traj), :class:`TemperatureRun` objects or their dicts
        (e.g. the output of an upstream MD job).
    temperatures
        Temperatures (K) per trajectory; ``None`` reads them from the files.
    specie
        Diffusing element.
    material_id
        Stored on the document.
    time_step_fs
        Time between frames for formats that do not record it.
    **analysis_kwargs
        Passed to :func:`~sse_flows.analysis.core.analyze_runs` (``min_hops``, ``z``, ...).
    """
    runs = runs_from_inputs(trajectories, temperatures, time_step_fs)
    return analyze_runs(runs, specie=specie, material_id=material_id, **analysis_kwargs)


@dataclass
class DiffusionAnalysisMaker(Maker):
    """Maker of the diffusion-analysis job.

    Parameters
    ----------
    name
        Job name.
    specie
        Diffusing element.
    analysis_kwargs
        Extra keyword arguments of :func:`~sse_flows.analysis.core.analyze_runs`.
    """

    name: str = "diffusion analysis"
    specie: str = "Li"
    analysis_kwargs: dict[str, Any] = field(default_factory=dict)

    def make(
        self,
        trajectories: Sequence[Any],
        temperatures: Sequence[float] | None = None,
        material_id: str | None = None,
    ):
        """The job analysing ``trajectories`` (files, runs or run dicts, one per T)."""
        new_job = analyze_diffusion_job(
            trajectories,
            temperatures=temperatures,
            specie=self.specie,
            material_id=material_id,
            **self.analysis_kwargs,
        )
        new_job.name = self.name
        return new_job
