"""jobflow job (and Maker) of the diffusion analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jobflow import job

from sse_flows.analysis.core import analyze_trajectories
from sse_flows.analysis.schemas import DiffusionDoc
from sse_flows.jobs_common import StageMaker

__all__ = ["DiffusionAnalysisMaker", "analyze_diffusion_job"]


#: The diffusion-analysis job: :func:`~sse_flows.analysis.core.analyze_trajectories` (MD
#: runs at several temperatures, as files, folders, :class:`TemperatureRun` objects or
#: their dicts, e.g. an upstream MD job's output) into a :class:`DiffusionDoc`.
analyze_diffusion_job = job(
    analyze_trajectories, name="analyze_diffusion_job", output_schema=DiffusionDoc
)


@dataclass
class DiffusionAnalysisMaker(StageMaker):
    """Maker of the diffusion-analysis job.

    Parameters
    ----------
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
        return self.named_job(
            analyze_diffusion_job,
            trajectories,
            exclude=("analysis_kwargs",),
            temperatures=temperatures,
            material_id=material_id,
            **self.analysis_kwargs,
        )
