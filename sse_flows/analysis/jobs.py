"""jobflow job (and Maker) of the diffusion analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jobflow import Maker, job

from sse_flows.analysis.core import analyze_trajectories
from sse_flows.analysis.readers import RunInput
from sse_flows.analysis.schemas import DiffusionDoc

__all__ = ["DiffusionAnalysisMaker", "analyze_diffusion_job"]


@job(output_schema=DiffusionDoc)
def analyze_diffusion_job(
    trajectories: Sequence[RunInput],
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
        Trajectory files or folders (DiffusionAnalyzer / pymatgen Trajectory JSON,
        vasprun.xml, XDATCAR, ASE .traj), :class:`TemperatureRun` objects or their dicts
        (e.g. the output of an upstream MD job), read as by ``sse-flows analyze``: chunks
        of one run id are joined, other runs at one temperature are replicas
        (``join_chunks=True`` in ``analysis_kwargs`` joins all of them).
    temperatures
        One temperature (K) per trajectory found; ``None`` reads them from the files.
    specie
        Diffusing element.
    material_id
        Stored on the document.
    time_step_fs
        Time between frames for formats that do not record it.
    **analysis_kwargs
        Passed to :func:`~sse_flows.analysis.core.analyze_runs` (``min_hops``, ``z``, ...).
    """
    return analyze_trajectories(
        trajectories, temperatures, time_step_fs, specie, material_id, **analysis_kwargs
    )


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
