"""jobflow jobs of the screening stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Job, job

from sse_flows.jobs_common import StageMaker
from sse_flows.screening.criteria import ScreeningCriteria
from sse_flows.screening.schemas import ScreeningDoc


@job(data=["survivors", "on_hull", "stage_members"], output_schema=ScreeningDoc)
def screen_pool_job(
    source_name: str = "snapshot",
    criteria: ScreeningCriteria | dict[str, Any] | None = None,
) -> ScreeningDoc:
    """Run the four-step funnel over a source's Li-containing materials.

    Parameters
    ----------
    source_name
        ``'snapshot'`` (offline MP 2019) or ``'mp'`` (live Materials Project).
    criteria
        Thresholds and element rule (a ``ScreeningCriteria`` or its dict); paper defaults.

    Returns
    -------
    ScreeningDoc
        Funnel counts, survivors (sent to the ``data`` store with the on-hull table and
        the members of every stage), anion classes, hull agreement and provenance.
    """
    from sse_flows.screening.funnel import screen_source
    from sse_flows.sources import get_source

    if criteria is not None and not isinstance(criteria, ScreeningCriteria):
        criteria = ScreeningCriteria.model_validate(criteria)
    return screen_source(get_source(source_name), criteria, progress=False)


@dataclass
class ScreeningMaker(StageMaker):
    """Maker of the screening job.

    Parameters
    ----------
    source_name
        Materials source: ``'snapshot'`` or ``'mp'``.
    criteria
        Thresholds and element rule of the funnel.
    """

    name: str = "screen"
    source_name: str = "snapshot"
    criteria: ScreeningCriteria = field(default_factory=ScreeningCriteria)

    def make(self) -> Job:
        """The screening job; its output is a :class:`ScreeningDoc`."""
        return self.named_job(screen_pool_job, criteria=self.criteria.model_dump(mode="json"))
